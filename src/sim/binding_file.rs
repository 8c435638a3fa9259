//! The binding file's TOML form (`docs/binding-format.md`), with no dependency on the rest
//! of the crate: `build.rs` reads it too (`#[path]`), to generate the compiled-in model's glue
//! from the project's own `rtl/binding.toml`. [`crate::sim::binding`] checks it against the
//! network; [`crate::sim::glue`] turns it into C++.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One or several signals: a port, a hierarchical path (`u_conv.sum_q`), a list (one per
/// lane), or an unpacked-array range `name[a..b]` (expanded to `name[a]` … `name[b]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Signals {
    One(String),
    Many(Vec<String>),
}

impl Signals {
    /// The individual signals, ranges expanded.
    pub fn expand(&self) -> Result<Vec<String>, String> {
        let list: Vec<&String> = match self {
            Signals::One(s) => vec![s],
            Signals::Many(v) => v.iter().collect(),
        };
        let mut out = Vec::new();
        for s in list {
            out.extend(expand_range(s)?);
        }
        Ok(out)
    }
}

/// `name[a..b]` → `name[a]`, …, `name[b]` (inclusive); anything else as it is.
fn expand_range(s: &str) -> Result<Vec<String>, String> {
    let Some(open) = s.rfind('[') else { return Ok(vec![s.to_string()]) };
    let Some(inner) = s[open + 1..].strip_suffix(']') else { return Ok(vec![s.to_string()]) };
    let Some((a, b)) = inner.split_once("..") else { return Ok(vec![s.to_string()]) };
    let (a, b): (usize, usize) = match (a.trim().parse(), b.trim().parse()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Err(format!("{s:?}: a range is written name[FIRST..LAST] with whole numbers")),
    };
    if b < a {
        return Err(format!("{s:?}: the range runs backwards"));
    }
    Ok((a..=b).map(|i| format!("{}[{i}]", &s[..open])).collect())
}

/// Which level holds the design in reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    High,
}

/// How the design finds its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightLoad {
    /// A plusarg naming the weight directory (`arg`, with a `{weights}` placeholder).
    Plusarg,
    /// A top-level parameter set to the weight directory (`arg` names the parameter).
    Parameter,
    /// Fixed file names its `$readmemh` opens relative to the working directory: the
    /// harness runs it in a directory holding the weight files.
    Workdir,
    /// Written by the host over the bus (a host-driven design's, never written in a file).
    Bus,
}

/// The design's sources and how to elaborate them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Design {
    /// Globs relative to the binding file (a directory with testbenches and other tops
    /// works: only `top` and what it instantiates is elaborated).
    pub sources: Vec<String>,
    pub top: String,
    #[serde(default)]
    pub include_dirs: Vec<String>,
    #[serde(default)]
    pub defines: BTreeMap<String, String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub plusargs: Vec<String>,
    /// Extra Verilator flags (a warning the design needs waived, say).
    #[serde(default)]
    pub verilator_flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    pub port: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    pub port: String,
    pub active: Level,
    /// Cycles the reset is held.
    #[serde(default = "two")]
    pub cycles: u32,
    /// Wait for `ready` to rise after reset before the first pixel.
    #[serde(default)]
    pub wait_for_ready: bool,
}

fn two() -> u32 {
    2
}

fn one() -> usize {
    1
}

/// The pixel stream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub data: Signals,
    /// Without one, the design takes one beat every clock from `start_after_reset`.
    pub valid: Option<String>,
    /// With one, a beat counts only in a cycle with valid && ready.
    pub ready: Option<String>,
    /// Pixels per beat.
    #[serde(default = "one")]
    pub lanes: usize,
    /// Cycles after reset before the first pixel is taken.
    #[serde(default)]
    pub start_after_reset: u32,
}

/// What the design needs between images (the default of `--between`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    #[serde(default = "back_to_back")]
    pub between: String,
    /// Cycles after an image's last pixel within which its class must come, and the most
    /// cycles in a row a pixel may wait for ready (default 4 × the image's pixels).
    #[serde(default)]
    pub timeout: Option<u64>,
}

pub fn back_to_back() -> String {
    "back-to-back".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub load: WeightLoad,
    /// plusarg: the argument (`+weights={weights}`); parameter: the parameter's name;
    /// workdir: unused.
    #[serde(default)]
    pub arg: Option<String>,
    /// Files the design reads in another layout than the network description's, by
    /// `"layer.weight"` / `"layer.bias"`.
    #[serde(default)]
    pub files: BTreeMap<String, FileLayout>,
}

/// A tensor's files as the design reads them (the network description's layout language).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLayout {
    /// File name; `{o}` / `{o+1}` for one file per output, `{i}` / `{i+1}` (weights) per
    /// input channel, both per (output, input) pair.
    pub file: String,
    /// Values per line.
    #[serde(default)]
    pub per_line: Option<usize>,
}

/// Which of a tap's beats of an image are its layer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Beats {
    /// Exactly the layer's count by the time the class comes; more or fewer is a protocol
    /// problem of the image.
    #[default]
    Exact,
    /// The layer's first N; later ones until the class are ignored (counted, never
    /// compared): a free-running strobe that keeps pulsing after the layer's beats.
    First,
}

/// When a valid makes a beat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edge {
    /// Every cycle it is high.
    #[default]
    Level,
    /// The first cycle of each stretch it is high: a valid held for several cycles is one
    /// beat.
    Rising,
}

/// One tapped layer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapBinding {
    /// The network layer it carries.
    pub layer: String,
    pub valid: String,
    /// One packed signal (`lanes × bits`, lane `k` at bits `[k·bits +: bits]`) or one signal
    /// per lane.
    pub data: Signals,
    /// Values per beat: a map's channels (beats in raster order), or a divisor of a
    /// vector's length (beats in index order).
    pub lanes: usize,
    pub bits: u32,
    pub signed: bool,
    #[serde(default)]
    pub beats: Beats,
    #[serde(default)]
    pub edge: Edge,
    /// Beats count only in cycles where this signal equals a value (a shared engine's stage
    /// register).
    #[serde(default)]
    pub when: Option<When>,
    /// Each beat's place, read from signals beside the data, instead of its arrival order.
    #[serde(default)]
    pub at: Option<At>,
}

/// `when = { signal = "stage_q", equals = 1 }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    pub signal: String,
    pub equals: u64,
}

/// `at = { channel = "ch_q", row = "row_q", col = "col_q" }` for a map, `at = { index =
/// "idx_q" }` for a vector (or a map, its channel-major flat index).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct At {
    pub channel: Option<String>,
    pub row: Option<String>,
    pub col: Option<String>,
    pub index: Option<String>,
}

impl At {
    /// The coordinate signals in the order the glue appends them to a beat: channel, row,
    /// col, index (those given).
    pub fn signals(&self) -> Vec<(&'static str, &str)> {
        [("channel", &self.channel), ("row", &self.row), ("col", &self.col), ("index", &self.index)]
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassBinding {
    pub valid: String,
    pub data: String,
    #[serde(default)]
    pub edge: Edge,
}

/// A whole binding file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub network: String,
    pub design: Design,
    pub clock: Clock,
    pub reset: Reset,
    /// The pixel stream (a streaming design; a host-driven one has `[bus]` instead).
    #[serde(default)]
    pub input: Option<Input>,
    #[serde(default)]
    pub stream: Option<Stream>,
    /// How a streaming design finds its weights (a host-driven one is written them).
    #[serde(default)]
    pub weights: Option<Weights>,
    #[serde(default, rename = "tap")]
    pub taps: Vec<toml::Spanned<TapBinding>>,
    /// A streaming design's class.
    #[serde(default)]
    pub class: Option<ClassBinding>,
    /// A host-driven design: the bus the harness, as the host, drives.
    #[serde(default)]
    pub bus: Option<toml::Spanned<BusFile>>,
    /// A host-driven design: when weights go in, and how an image starts, ends and yields
    /// its class.
    #[serde(default)]
    pub host: Option<toml::Spanned<HostFile>>,
    /// A host-driven design's memory map: where each tensor is written.
    #[serde(default, rename = "region")]
    pub regions: Vec<toml::Spanned<RegionFile>>,
}

/// `[bus]`: its protocol and its signals by role (each protocol's roles:
/// `docs/binding-format.md`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BusFile {
    pub protocol: String,
    /// The signals by role, and `data_bits`.
    #[serde(flatten)]
    pub signals: BTreeMap<String, toml::Value>,
}

/// When the host writes the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightsWhen {
    /// After each reset, once for every image that follows (a weight set's images).
    #[default]
    Once,
    /// Before every image.
    EveryImage,
}

/// `[host]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostFile {
    #[serde(default)]
    pub weights: WeightsWhen,
    /// `{ port = "start_i" }` (a one-cycle pulse) or `{ write = ADDRESS, value = V }`.
    pub start: Access,
    /// `{ port = "done_o", edge = "level" | "rising" }` or `{ read = ADDRESS, mask = M }`
    /// (polled until every bit of the mask is set).
    pub done: Access,
    /// `{ port = "class_o" }` (sampled when done comes) or `{ read = ADDRESS, mask = M }`.
    pub class: Access,
    /// Cycles an image may take from its start to its done, and a bus transaction to
    /// complete (default 100 × the image's values).
    #[serde(default)]
    pub timeout: Option<u64>,
}

/// A port, or a register over the bus (its keys are checked by [`crate`]'s binding, which
/// says which combination each use takes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    pub port: Option<String>,
    #[serde(default)]
    pub edge: Option<Edge>,
    pub write: Option<u64>,
    pub value: Option<u64>,
    pub read: Option<u64>,
    pub mask: Option<u64>,
    /// A load port's select value for the write.
    pub select: Option<u64>,
}

/// Which element of a bus word comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ByteOrder {
    /// Element 0 in the lowest bits.
    #[default]
    Little,
    /// Element 0 in the highest bits.
    Big,
}

/// `[[region]]`: one tensor's place in the design's memory map.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionFile {
    /// `input`, or `LAYER.weight`, `LAYER.bias`, `LAYER.multiplier`, `LAYER.shift`.
    pub tensor: String,
    /// The first word's address (bytes on OBI and AXI4-Lite, words on a load port).
    #[serde(default)]
    pub base: u64,
    /// A load port's select (bank) value for this tensor.
    #[serde(default)]
    pub select: Option<u64>,
    /// Element order: `CHW`/`HWC` (the input), `OIHW`/`OHWI`/`HWIO`/`IHWO` (conv weights),
    /// `OI`/`IO` (linear weights); default the network's own (CHW, OIHW, OI).
    #[serde(default)]
    pub order: Option<String>,
    /// Bits per element in the bus word (default: the tensor's type rounded up to 8, 16 or
    /// 32).
    #[serde(default)]
    pub bits: Option<u32>,
    /// Elements per bus word (default: as many as fit).
    #[serde(default)]
    pub per_word: Option<u32>,
    #[serde(default)]
    pub byte_order: ByteOrder,
    /// The region's size in address units; the tensor must fit (default: what it takes).
    #[serde(default)]
    pub size: Option<u64>,
}

/// Parses a binding file's text (the errors carry a byte span for `line:column`).
pub fn parse(text: &str) -> Result<File, toml::de::Error> {
    toml::from_str(text)
}
