//! The network description (`docs/network-format.md`): the input, the layers in order with
//! their fixed-point arithmetic, which layer outputs are tapped, and where each layer's weights
//! live. Parsed from TOML with serde; every error is one line naming the file and, where it
//! has one, the `line:column` and the layer or key.
//!
//! [`Network::load`] also derives every layer's shape and the exact bounds of its products,
//! accumulator and output ([`Bounds`]) and rejects a description whose declared widths can
//! overflow, so the reference (computed in `i64`) is exact for every network that loads.

mod arith;
mod description;
mod kernel;
pub mod op;
mod requant;
mod rounding;
mod site;

pub use arith::{Arith, Loaded, LoadedRequant, Param};
pub use kernel::Prepared;
pub use op::{FlattenOrder, Op, Tensors};
pub use requant::{Requant, Scheme};
pub use rounding::{rdbpot, srdhm, Overflow, Rounding};

use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the project's own descriptions live (`--net NAME` looks there).
pub const NETWORKS_DIR: &str = "vectors/networks";
/// The default network.
pub const DEFAULT_NET: &str = "seed";
/// The seed network's description, compiled in so the default needs no file.
const SEED_TOML: &str = include_str!("../vectors/networks/seed.toml");

/// A layer's output (or input) shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Channels × height × width, element `(c, r, col)` at `(c·h + r)·w + col`.
    Map { c: usize, h: usize, w: usize },
    /// A vector of `n` values.
    Vector(usize),
}

impl Shape {
    pub fn len(self) -> usize {
        match self {
            Shape::Map { c, h, w } => c * h * w,
            Shape::Vector(n) => n,
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// How a tap of this shape leaves the RTL: (values per beat, beats per image). A map
    /// comes as one beat per raster position carrying every channel; a vector as one beat.
    pub fn beats(self) -> (usize, usize) {
        match self {
            Shape::Map { c, h, w } => (c, h * w),
            Shape::Vector(n) => (n, 1),
        }
    }

    /// The (channel, row, col) of element `i`; a vector's element `o` is channel `o`.
    pub fn coords(self, i: usize) -> (usize, usize, usize) {
        match self {
            Shape::Map { h, w, .. } => (i / (h * w), (i / w) % h, i % w),
            Shape::Vector(_) => (i, 0, 0),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Map { c, h, w } => write!(f, "{c}×{h}×{w}"),
            Shape::Vector(n) => write!(f, "{n}"),
        }
    }
}

/// An integer type: width and signedness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntType {
    pub bits: u32,
    pub signed: bool,
}

impl IntType {
    pub fn min(self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    pub fn max(self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    pub fn holds(self, v: i128) -> bool {
        (self.min()..=self.max()).contains(&v)
    }

    /// The narrowest type holding `min..=max` (signed only when `min < 0`).
    pub fn needed(min: i128, max: i128) -> IntType {
        let signed = min < 0;
        let mut bits = 1;
        while !(IntType { bits, signed }).holds(min) || !(IntType { bits, signed }).holds(max) {
            bits += 1;
        }
        IntType { bits, signed }
    }
}

impl fmt::Display for IntType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bits {}", self.bits, if self.signed { "signed" } else { "unsigned" })
    }
}

/// Where a parameter tensor's values are stored, in `.mem` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// File name, relative to the weight directory. `{o}` (or `{o+1}`) makes one file per
    /// output channel/neuron, numbered from 0 (from 1); `{i}` (or `{i+1}`), weights only, one
    /// file per input channel (conv2d) or input (linear); both, one file per pair.
    pub pattern: String,
    /// Values per line when writing (reading accepts any line breaks).
    pub per_line: usize,
}

/// The placeholders of a file pattern.
pub const PLACEHOLDERS: [&str; 4] = ["{o}", "{o+1}", "{i}", "{i+1}"];

impl Files {
    /// A checked pattern: its only placeholders are `{o}`, `{o+1}` and — where `inputs`
    /// (a weight tensor) — `{i}`, `{i+1}`; it is a plain file name (no directory, no `..`).
    /// `Err` says what is wrong, for the caller to name the file and key.
    pub fn new(pattern: &str, per_line: Option<usize>, inputs: bool) -> Result<Files, String> {
        if pattern.trim().is_empty() {
            return Err("the file name is empty".into());
        }
        if pattern.contains('/') || pattern.contains('\\') || pattern.contains("..") {
            return Err(format!("{pattern:?} is not a plain file name (no directories)"));
        }
        let mut rest = pattern.to_string();
        for p in PLACEHOLDERS {
            rest = rest.replace(p, "");
        }
        if rest.contains('{') || rest.contains('}') {
            return Err(format!(
                "{pattern:?}: the only placeholders are {{o}}, {{o+1}}, {{i}} and {{i+1}}"
            ));
        }
        let files = Files { pattern: pattern.to_string(), per_line: per_line.unwrap_or(1).max(1) };
        if files.per_input() && !inputs {
            return Err(format!(
                "{pattern:?}: a bias has one value per output; {{i}} and {{i+1}} number input \
                 channels, which only a weight tensor has"
            ));
        }
        Ok(files)
    }

    /// Whether the pattern splits the tensor into one file per output.
    pub fn per_output(&self) -> bool {
        self.pattern.contains("{o}") || self.pattern.contains("{o+1}")
    }

    /// Whether the pattern splits the tensor into one file per input channel.
    pub fn per_input(&self) -> bool {
        self.pattern.contains("{i}") || self.pattern.contains("{i+1}")
    }

    /// The file name of output `o` and input `i` (placeholders that are absent ignore theirs).
    pub fn name(&self, o: usize, i: usize) -> String {
        self.pattern
            .replace("{o}", &o.to_string())
            .replace("{o+1}", &(o + 1).to_string())
            .replace("{i}", &i.to_string())
            .replace("{i+1}", &(i + 1).to_string())
    }

    /// Every file of a tensor of `outputs` × `inputs` × `inner` values (PyTorch's order:
    /// conv2d weights `[out][in][kh·kw]`, linear weights `[out][in]` with `inner` 1, a bias
    /// `[out]` with `inputs` = `inner` = 1), with the index ranges of the tensor each holds,
    /// in the order the file lists them: a file holds its (output, input) slices in tensor
    /// order.
    pub fn layout(
        &self,
        outputs: usize,
        inputs: usize,
        inner: usize,
    ) -> Vec<(String, Vec<std::ops::Range<usize>>)> {
        let (by_o, by_i) = (self.per_output(), self.per_input());
        let os: Vec<Option<usize>> =
            if by_o { (0..outputs).map(Some).collect() } else { vec![None] };
        let is: Vec<Option<usize>> =
            if by_i { (0..inputs).map(Some).collect() } else { vec![None] };
        let mut files = Vec::with_capacity(os.len() * is.len());
        for &o in &os {
            for &i in &is {
                let mut ranges = Vec::new();
                let o_range = o.map_or(0..outputs, |o| o..o + 1);
                for oo in o_range {
                    let start = oo * inputs * inner;
                    match i {
                        Some(i) => ranges.push(start + i * inner..start + (i + 1) * inner),
                        None => ranges.push(start..start + inputs * inner),
                    }
                }
                // Adjacent slices (one file per output, or the whole tensor) as one range.
                let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
                for r in ranges {
                    match merged.last_mut() {
                        Some(last) if last.end == r.start => last.end = r.end,
                        _ => merged.push(r),
                    }
                }
                files.push((self.name(o.unwrap_or(0), i.unwrap_or(0)), merged));
            }
        }
        files
    }
}

/// The exact range of a quantity over any weights and inputs of the declared widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: i128,
    pub max: i128,
}

impl Range {
    pub fn needed(self) -> IntType {
        IntType::needed(self.min, self.max)
    }
}

/// A layer's derived bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    /// One product `x·w` (conv2d, linear).
    pub product: Option<Range>,
    /// `Σ (x − z)·w + (b << bias_shift)` (conv2d, linear).
    pub acc: Option<Range>,
    /// The requantized accumulator (zero point added) before any saturation or wrap
    /// (conv2d, linear).
    pub rounded: Option<Range>,
    /// The layer's output.
    pub out: Range,
}

/// One layer, validated, with its shapes and bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub name: String,
    pub op: Op,
    /// Compared against the RTL.
    pub tap: bool,
    /// safetensors name prefix of its parameters (`{param}.weight`, `{param}.bias`).
    pub param: String,
    /// The layers whose outputs it takes, by index: the previous one unless the description
    /// names others (`input`, an add's `inputs`); empty for the first layer (the image).
    pub sources: Vec<usize>,
    pub input: Shape,
    pub output: Shape,
    pub bounds: Bounds,
}

impl Layer {
    /// A conv2d or linear layer's weight tensor as (outputs, inputs, values per (output,
    /// input) pair): conv2d `[out][in][kh·kw]`, linear `[out][in]` (one value per pair).
    pub fn weight_pairs(&self) -> Option<(usize, usize, usize)> {
        self.op.kind().weight_pairs(self.input)
    }
}

/// The data set the images come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged, expecting = "expected \"mnist\" or a table { images = FILE, labels = FILE }")]
pub enum DataSet {
    /// The 10,000 MNIST test images (and the 60,000 training images for `train`).
    Mnist(MnistName),
    /// An images file and a labels file (IDX or `.npy`), paths relative to the project.
    Files { images: PathBuf, labels: PathBuf },
}

/// The one name `dataset` takes as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum MnistName {
    #[serde(rename = "mnist")]
    Mnist,
}

/// A validated network description.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub name: String,
    /// Where it was read from (a path, or `built-in seed`), for messages.
    pub source: String,
    pub input: Shape,
    pub input_type: IntType,
    /// The float model's input is `value / float_divisor` (MNIST's bytes: 255).
    pub float_divisor: f32,
    pub dataset: DataSet,
    pub layers: Vec<Layer>,
    /// Default weight directory (relative to the project), if the description names one.
    pub weights: Option<PathBuf>,
    /// The description's training recipe (`[train]`): what `train` uses where its options
    /// do not say; unset values are the notebook's.
    pub recipe: Recipe,
}

/// A training recipe's values, each optional (the notebook's where unset).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub lr: Option<f64>,
    pub momentum: Option<f64>,
    /// The learning rate is multiplied by `lr_decay` after every epoch.
    pub lr_decay: Option<f64>,
    /// SGD's L2 penalty (PyTorch's `weight_decay`).
    pub weight_decay: Option<f64>,
    pub seed: Option<u64>,
}

/// A tapped layer: what the RTL brings out and the reports show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tap {
    pub name: String,
    /// Index into [`Network::layers`].
    pub layer: usize,
    pub shape: Shape,
    /// The class (the final argmax).
    pub is_class: bool,
    /// The bounds the description's arithmetic derives for its values (the class:
    /// 0..classes−1).
    pub bounds: Range,
}

impl Network {
    /// Whether every layer takes the previous one's output (the notebook family's chain).
    pub fn is_chain(&self) -> bool {
        self.layers.iter().enumerate().all(|(i, l)| match i {
            0 => l.sources.is_empty(),
            _ => l.sources == [i - 1],
        })
    }

    /// `--net NAME|FILE`: a path to a `.toml` file, or the name of one of the project's own
    /// descriptions (`vectors/networks/NAME.toml`; `seed` is built in).
    pub fn find(spec: &str) -> Result<Network> {
        let looks_like_path = spec.contains('/') || spec.ends_with(".toml");
        if looks_like_path {
            return Network::load(Path::new(spec));
        }
        let path = Path::new(NETWORKS_DIR).join(format!("{spec}.toml"));
        if path.is_file() {
            return Network::load(&path);
        }
        if spec == DEFAULT_NET {
            return Network::parse("built-in seed", SEED_TOML);
        }
        let known = std::fs::read_dir(NETWORKS_DIR)
            .map(|d| {
                let mut v: Vec<String> = d
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        e.path().file_name()?.to_str()?.strip_suffix(".toml").map(String::from)
                    })
                    .collect();
                v.sort();
                v.join(", ")
            })
            .unwrap_or_default();
        bail!(
            "--net {spec}: no such network (not a file; {} holds: {known})",
            Path::new(NETWORKS_DIR).display()
        )
    }

    /// The seed network (the notebook's), from the built-in description.
    pub fn seed() -> Network {
        Network::parse("built-in seed", SEED_TOML).expect("the built-in seed description is valid")
    }

    /// Reads and validates a description file.
    pub fn load(path: &Path) -> Result<Network> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("{}: cannot read network description ({e})", path.display()))?;
        Network::parse(&path.display().to_string(), &text)
    }

    /// Parses and validates description text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Network> {
        description::parse(source, text)
    }

    /// The tapped layers in pipeline order; the class comes last.
    pub fn taps(&self) -> Vec<Tap> {
        self.layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.tap || l.op.is_argmax())
            .map(|(i, l)| Tap {
                name: l.name.clone(),
                layer: i,
                shape: l.output,
                is_class: l.op.is_argmax(),
                bounds: if l.op.is_argmax() {
                    Range { min: 0, max: l.input.len() as i128 - 1 }
                } else {
                    l.bounds.out
                },
            })
            .collect()
    }

    /// Number of classes (the argmax's input length).
    pub fn classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.input.len())
    }

    /// Elements per input image.
    pub fn input_len(&self) -> usize {
        self.input.len()
    }

    /// An image as the float model's input: each value divided by `float_divisor`.
    pub fn float_input<P: crate::image::Pixel>(&self, image: &[P]) -> Vec<f32> {
        image.iter().map(|&p| p.value() as f32 / self.float_divisor).collect()
    }

    /// Whether the input is MNIST's: one 28×28 channel of 8 bits unsigned.
    pub fn takes_mnist_images(&self) -> bool {
        self.input == (Shape::Map { c: 1, h: 28, w: 28 })
            && self.input_type == (IntType { bits: 8, signed: false })
    }

    /// Two tensor slices this description stores under one file name, said in words:
    /// they could not be told apart (`{o+1}{i+1}` names both (0, 10) and (10, 0) `111`).
    pub fn file_clash(&self) -> Option<String> {
        let mut seen: std::collections::HashMap<String, String> = Default::default();
        for l in &self.layers {
            let (Some((outs, ins, _)), Some(a)) = (l.weight_pairs(), l.op.arith()) else {
                continue;
            };
            let tensors = [("weight", Some(&a.weight), ins), ("bias", a.bias.as_ref(), 1)];
            for (what, param, ins) in tensors {
                let Some(f) = param.map(|p| &p.files) else { continue };
                let os = if f.per_output() { outs } else { 1 };
                let is = if f.per_input() { ins } else { 1 };
                for o in 0..os {
                    for i in 0..is {
                        let slice = match (f.per_output(), f.per_input()) {
                            (true, true) => format!("{}.{what} (output {o}, input {i})", l.name),
                            (true, false) => format!("{}.{what} (output {o})", l.name),
                            (false, true) => format!("{}.{what} (input {i})", l.name),
                            (false, false) => format!("{}.{what}", l.name),
                        };
                        let name = f.name(o, i);
                        if let Some(first) = seen.get(&name) {
                            return Some(format!(
                                "{first} and {slice} are both stored in {name:?}; give each \
                                 its own file name"
                            ));
                        }
                        seen.insert(name, slice);
                    }
                }
            }
        }
        None
    }

    /// The table `net show` prints: shapes and bounds of every layer.
    pub fn show(&self) -> String {
        let mut s = format!(
            "network {} ({}): input {} {} from {}\n",
            self.name,
            self.source,
            self.input,
            self.input_type,
            match &self.dataset {
                DataSet::Mnist(_) => "MNIST".to_string(),
                DataSet::Files { images, .. } => images.display().to_string(),
            }
        );
        s += &format!(
            "{:<10} {:<ow$} {:<10} {:<10} {:<22} {:>16} {:>16}  {}\n",
            "layer",
            "op",
            "in",
            "out",
            "quantity",
            "min",
            "max",
            "needs / declared",
            ow = self.layers.iter().map(|l| l.op.name().len()).max().unwrap_or(0).max(8)
        );
        // The op column is as wide as the longest op name (8 for the notebook's family).
        let ow = self.layers.iter().map(|l| l.op.name().len()).max().unwrap_or(0).max(8);
        for l in &self.layers {
            let rows = l.op.kind().bound_rows(l);
            for (i, (q, r, bits)) in rows.iter().enumerate() {
                let (name, op, i_s, o_s) = if i == 0 {
                    let tap = if l.tap || l.op.is_argmax() { "*" } else { "" };
                    (
                        format!("{}{tap}", l.name),
                        l.op.name().to_string(),
                        l.input.to_string(),
                        l.output.to_string(),
                    )
                } else {
                    Default::default()
                };
                s += &format!(
                    "{name:<10} {op:<ow$} {i_s:<10} {o_s:<10} {q:<22} {:>16} {:>16}  {bits}\n",
                    group(r.min),
                    group(r.max)
                );
            }
        }
        s += "* tapped: compared with the RTL\n";
        s
    }
}

/// `1,234,567`.
pub fn group(v: i128) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `:line:column` of byte offset `at` (1-based).
pub(crate) fn line_col(text: &str, at: usize) -> String {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!(":{line}:{col}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_widths() {
        assert_eq!(IntType::needed(-32_640, 32_385), IntType { bits: 16, signed: true });
        assert_eq!(IntType::needed(-32_769, 0), IntType { bits: 17, signed: true });
        assert_eq!(IntType::needed(0, 6325), IntType { bits: 13, signed: false });
        assert_eq!(IntType::needed(0, 9), IntType { bits: 4, signed: false });
        assert_eq!(IntType::needed(-8192, 8191), IntType { bits: 14, signed: true });
    }

    #[test]
    // A file's slices are a list of ranges; most files hold one.
    #[allow(clippy::single_range_in_vec_init)]
    fn file_patterns_split_a_tensor_by_output_input_or_both() {
        let f = |p: &str| Files::new(p, None, true).unwrap();
        // A [2][3][4] tensor (2 outputs, 3 inputs, 4 values per pair).
        assert_eq!(f("w.mem").layout(2, 3, 4), [("w.mem".to_string(), vec![0..24])]);
        assert_eq!(f("w{o+1}.mem").layout(2, 3, 4)[1], ("w2.mem".to_string(), vec![12..24]));
        let pairs = f("w_{o}{i+1}.mem").layout(2, 3, 4);
        assert_eq!(pairs.len(), 6);
        assert_eq!(pairs[4], ("w_12.mem".to_string(), vec![16..20]));
        // One input channel's slice of every output: strided.
        assert_eq!(f("w_{i}.mem").layout(2, 3, 4)[2], ("w_2.mem".to_string(), vec![8..12, 20..24]));
        assert!(Files::new("b_{i}.mem", None, false).unwrap_err().contains("only a weight tensor"));
        assert!(Files::new("w_{x}.mem", None, true).unwrap_err().contains("only placeholders"));
        assert!(Files::new("d/w.mem", None, true).unwrap_err().contains("plain file name"));
        assert!(Files::new(" ", None, true).unwrap_err().contains("empty"));
    }

    #[test]
    fn group_thousands() {
        assert_eq!(group(-1_599_360), "-1,599,360");
        assert_eq!(group(999), "999");
        assert_eq!(group(0), "0");
    }
}
