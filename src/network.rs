//! The network description (`docs/network-format.md`): the input, the layers in order with
//! their fixed-point arithmetic, which layer outputs are tapped, and where each layer's weights
//! live. Parsed from TOML with serde; every error is one line naming the file and, where it
//! has one, the `line:column` and the layer or key.
//!
//! [`Network::load`] also derives every layer's shape and the exact bounds of its products,
//! accumulator and output ([`Bounds`]) and rejects a description whose declared widths can
//! overflow, so the reference (computed in `i64`) is exact for every network that loads.

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

/// `round(acc / 2^shift)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Toward −∞ (an arithmetic shift right).
    Floor,
    /// Toward zero.
    Trunc,
    /// To nearest, halves toward +∞ (add half, then floor).
    HalfUp,
    /// To nearest, halves to the even neighbour.
    HalfEven,
}

impl Rounding {
    /// `round(v / 2^shift)`; exact for any `i64` and `shift < 63`.
    #[inline]
    pub fn apply(self, v: i64, shift: u32) -> i64 {
        if shift == 0 {
            return v;
        }
        let floor = v >> shift;
        let rem = v - (floor << shift); // 0 ≤ rem < 2^shift
        let half = 1i64 << (shift - 1);
        match self {
            Rounding::Floor => floor,
            Rounding::Trunc => floor + (v < 0 && rem != 0) as i64,
            Rounding::HalfUp => floor + (rem >= half) as i64,
            Rounding::HalfEven => floor + (rem > half || (rem == half && floor & 1 == 1)) as i64,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Rounding::Floor => "floor",
            Rounding::Trunc => "trunc",
            Rounding::HalfUp => "half_up",
            Rounding::HalfEven => "half_even",
        }
    }
}

/// What happens to a result outside its declared width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Clamp to the width's range.
    Saturate,
    /// Keep the low bits (two's complement for a signed result).
    Wrap,
}

impl Overflow {
    #[inline]
    pub fn apply(self, v: i64, t: IntType) -> i64 {
        match self {
            Overflow::Saturate => v.clamp(t.min() as i64, t.max() as i64),
            Overflow::Wrap => {
                let sh = 64 - t.bits;
                if t.signed {
                    (v << sh) >> sh
                } else {
                    ((v as u64) << sh >> sh) as i64
                }
            }
        }
    }
}

/// Element order of a flatten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FlattenOrder {
    /// Channel, row, column (PyTorch's `flatten`).
    #[serde(rename = "chw")]
    Chw,
    /// Row, column, channel.
    #[serde(rename = "hwc")]
    Hwc,
}

/// Where a parameter tensor's values are stored, in `.mem` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// File name, relative to the weight directory. `{o}` (or `{o+1}`) makes one file per
    /// output channel/neuron, numbered from 0 (from 1).
    pub pattern: String,
    /// Values per line when writing (reading accepts any line breaks).
    pub per_line: usize,
}

impl Files {
    /// Whether the pattern splits the tensor into one file per output.
    pub fn per_output(&self) -> bool {
        self.pattern.contains("{o}") || self.pattern.contains("{o+1}")
    }

    /// The file name of output `o` (or the one file).
    pub fn name(&self, o: usize) -> String {
        self.pattern.replace("{o}", &o.to_string()).replace("{o+1}", &(o + 1).to_string())
    }
}

/// A parameter tensor: its integer type, its float→integer scale and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub ty: IntType,
    /// Quantization: `q = round(w · 2^frac_bits)` (`export`, `train`).
    pub frac_bits: u32,
    pub files: Files,
}

/// The arithmetic of a conv2d or linear layer:
/// `acc = Σ x·w + (b << bias_shift)`, `y = round(acc / 2^shift)`, then `y` must fit `out`
/// (or is saturated/wrapped into it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arith {
    pub weight: Param,
    /// `None`: the layer has no bias.
    pub bias: Option<Param>,
    pub bias_shift: u32,
    /// Declared accumulator width (signed), checked against the bound when given.
    pub acc_bits: Option<u32>,
    pub shift: u32,
    pub rounding: Rounding,
    pub out: IntType,
    pub overflow: Option<Overflow>,
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Conv2d {
        out_channels: usize,
        kh: usize,
        kw: usize,
        stride: usize,
        padding: usize,
        arith: Arith,
    },
    MaxPool {
        kernel: usize,
        stride: usize,
    },
    Relu,
    Flatten {
        order: FlattenOrder,
    },
    Linear {
        inputs: usize,
        outputs: usize,
        arith: Arith,
    },
    /// The class: index of the largest input, ties to the lowest index.
    Argmax,
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv2d { .. } => "conv2d",
            Op::MaxPool { .. } => "maxpool",
            Op::Relu => "relu",
            Op::Flatten { .. } => "flatten",
            Op::Linear { .. } => "linear",
            Op::Argmax => "argmax",
        }
    }

    pub fn arith(&self) -> Option<&Arith> {
        match self {
            Op::Conv2d { arith, .. } | Op::Linear { arith, .. } => Some(arith),
            _ => None,
        }
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
    /// `Σ x·w + (b << bias_shift)` (conv2d, linear).
    pub acc: Option<Range>,
    /// `round(acc / 2^shift)` before any saturation or wrap (conv2d, linear).
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
    pub input: Shape,
    pub output: Shape,
    pub bounds: Bounds,
}

/// The data set the images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DataSet {
    /// The 10,000 MNIST test images (and the 60,000 training images for `train`).
    #[serde(rename = "mnist")]
    Mnist,
}

/// A validated network description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub name: String,
    /// Where it was read from (a path, or `built-in seed`), for messages.
    pub source: String,
    pub input: Shape,
    pub input_type: IntType,
    pub dataset: DataSet,
    pub layers: Vec<Layer>,
    /// Default weight directory (relative to the project), if the description names one.
    pub weights: Option<PathBuf>,
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
}

impl Network {
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
        let raw: RawNetwork = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| line_col(text, s.start)).unwrap_or_default();
            anyhow!("{source}{at}: {}", e.message().trim())
        })?;
        build(source, text, raw)
    }

    /// The tapped layers in pipeline order; the class comes last.
    pub fn taps(&self) -> Vec<Tap> {
        self.layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.tap || l.op == Op::Argmax)
            .map(|(i, l)| Tap {
                name: l.name.clone(),
                layer: i,
                shape: l.output,
                is_class: l.op == Op::Argmax,
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

    /// The table `net show` prints: shapes and bounds of every layer.
    pub fn show(&self) -> String {
        let mut s = format!(
            "network {} ({}): input {} {} from {}\n",
            self.name,
            self.source,
            self.input,
            self.input_type,
            match self.dataset {
                DataSet::Mnist => "MNIST",
            }
        );
        s += &format!(
            "{:<10} {:<8} {:<10} {:<10} {:<22} {:>16} {:>16}  {}\n",
            "layer", "op", "in", "out", "quantity", "min", "max", "needs / declared"
        );
        for l in &self.layers {
            let mut rows: Vec<(String, Range, String)> = Vec::new();
            if let Some(a) = l.op.arith() {
                let b = &l.bounds;
                let p = b.product.expect("conv/linear have a product bound");
                rows.push(("product x·w".into(), p, p.needed().to_string()));
                let acc = b.acc.expect("conv/linear have an accumulator bound");
                let decl = a.acc_bits.map(|n| format!(" / {n} bits signed")).unwrap_or_default();
                let acc_name = if a.bias.is_some() {
                    format!("acc Σx·w + b<<{}", a.bias_shift)
                } else {
                    "acc Σx·w".to_string()
                };
                rows.push((acc_name, acc, format!("{}{decl}", acc.needed())));
                let r = b.rounded.expect("conv/linear have a rounded bound");
                rows.push((
                    format!("{}(acc/2^{})", a.rounding.name(), a.shift),
                    r,
                    r.needed().to_string(),
                ));
                let how = match a.overflow {
                    None => "",
                    Some(Overflow::Saturate) => ", saturated",
                    Some(Overflow::Wrap) => ", wrapped",
                };
                rows.push(("output".into(), b.out, format!("{} / {}{how}", b.out.needed(), a.out)));
            } else {
                rows.push(("output".into(), l.bounds.out, l.bounds.out.needed().to_string()));
            }
            for (i, (q, r, bits)) in rows.iter().enumerate() {
                let (name, op, i_s, o_s) = if i == 0 {
                    let tap = if l.tap || l.op == Op::Argmax { "*" } else { "" };
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
                    "{name:<10} {op:<8} {i_s:<10} {o_s:<10} {q:<22} {:>16} {:>16}  {bits}\n",
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

// ---- The TOML form ---------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    name: String,
    #[serde(default)]
    #[allow(dead_code)] // free text for people; not used
    description: Option<String>,
    weights: Option<PathBuf>,
    input: RawInput,
    #[serde(rename = "layer")]
    layers: Vec<toml::Spanned<RawLayer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    shape: [usize; 3],
    bits: u32,
    signed: bool,
    dataset: DataSet,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(untagged)]
enum Pair {
    One(usize),
    Two([usize; 2]),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    bits: u32,
    signed: bool,
    frac_bits: u32,
    file: String,
    #[serde(default)]
    per_line: Option<usize>,
    /// Bias only: `b << shift` joins the accumulator.
    #[serde(default)]
    shift: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    name: String,
    op: String,
    #[serde(default)]
    tap: bool,
    param: Option<String>,
    // conv2d
    in_channels: Option<usize>,
    out_channels: Option<usize>,
    kernel: Option<Pair>,
    stride: Option<usize>,
    padding: Option<usize>,
    // linear
    #[serde(rename = "in")]
    inputs: Option<usize>,
    #[serde(rename = "out")]
    outputs: Option<usize>,
    // arithmetic (conv2d, linear)
    weight: Option<RawParam>,
    bias: Option<RawParam>,
    acc_bits: Option<u32>,
    shift: Option<u32>,
    rounding: Option<Rounding>,
    out_bits: Option<u32>,
    out_signed: Option<bool>,
    overflow: Option<Overflow>,
    // flatten
    order: Option<FlattenOrder>,
    // argmax
    ties: Option<String>,
}

/// Keys each op accepts besides name/op/tap.
fn allowed(op: &str) -> &'static [&'static str] {
    const ARITH: [&str; 8] =
        ["weight", "bias", "acc_bits", "shift", "rounding", "out_bits", "out_signed", "overflow"];
    match op {
        "conv2d" => &[
            "param",
            "in_channels",
            "out_channels",
            "kernel",
            "stride",
            "padding",
            ARITH[0],
            ARITH[1],
            ARITH[2],
            ARITH[3],
            ARITH[4],
            ARITH[5],
            ARITH[6],
            ARITH[7],
        ],
        "linear" => &[
            "param", "in", "out", ARITH[0], ARITH[1], ARITH[2], ARITH[3], ARITH[4], ARITH[5],
            ARITH[6], ARITH[7],
        ],
        "maxpool" => &["kernel", "stride"],
        "flatten" => &["order"],
        "argmax" => &["ties"],
        _ => &[],
    }
}

impl RawLayer {
    /// The optional keys this layer sets.
    fn present(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |set: bool, k: &'static str| {
            if set {
                v.push(k)
            }
        };
        add(self.param.is_some(), "param");
        add(self.in_channels.is_some(), "in_channels");
        add(self.out_channels.is_some(), "out_channels");
        add(self.kernel.is_some(), "kernel");
        add(self.stride.is_some(), "stride");
        add(self.padding.is_some(), "padding");
        add(self.inputs.is_some(), "in");
        add(self.outputs.is_some(), "out");
        add(self.weight.is_some(), "weight");
        add(self.bias.is_some(), "bias");
        add(self.acc_bits.is_some(), "acc_bits");
        add(self.shift.is_some(), "shift");
        add(self.rounding.is_some(), "rounding");
        add(self.out_bits.is_some(), "out_bits");
        add(self.out_signed.is_some(), "out_signed");
        add(self.overflow.is_some(), "overflow");
        add(self.order.is_some(), "order");
        add(self.ties.is_some(), "ties");
        v
    }
}

/// Builds layer by layer, deriving shapes and bounds.
fn build(source: &str, text: &str, raw: RawNetwork) -> Result<Network> {
    let [c, h, w] = raw.input.shape;
    let input = Shape::Map { c, h, w };
    let input_type = IntType { bits: raw.input.bits, signed: raw.input.signed };
    match raw.input.dataset {
        DataSet::Mnist => {
            if raw.input.shape != [1, 28, 28] || input_type != (IntType { bits: 8, signed: false })
            {
                bail!(
                    "{source}: [input]: MNIST images are 1×28×28, 8 bits unsigned; the \
                     description says {input}, {input_type}"
                );
            }
        }
    }
    if raw.layers.is_empty() {
        bail!("{source}: no [[layer]] given");
    }
    let mut layers: Vec<Layer> = Vec::new();
    let mut shape = input;
    let mut range = Range { min: input_type.min(), max: input_type.max() };
    let n = raw.layers.len();
    for (i, spanned) in raw.layers.into_iter().enumerate() {
        let at = line_col(text, spanned.span().start);
        let l = spanned.into_inner();
        let wh = format!("{source}{at}: layer {:?} ({})", l.name, l.op);
        if layers.iter().any(|p| p.name == l.name) {
            bail!("{wh}: the name is used by an earlier layer");
        }
        if !["conv2d", "maxpool", "relu", "flatten", "linear", "argmax"].contains(&l.op.as_str()) {
            bail!(
                "{source}{at}: layer {:?}: unknown op {:?} (conv2d, maxpool, relu, flatten, \
                 linear or argmax)",
                l.name,
                l.op
            );
        }
        for k in l.present() {
            if !allowed(&l.op).contains(&k) {
                bail!("{wh}: key `{k}` does not apply to {}", l.op);
            }
        }
        let (op, out_shape, bounds) = layer(&wh, &l, shape, range)?;
        if op == Op::Argmax && i + 1 != n {
            bail!("{wh}: argmax must be the last layer");
        }
        if op != Op::Argmax && i + 1 == n {
            bail!("{wh}: the last layer must be an argmax (the class)");
        }
        if op == Op::Argmax && l.tap {
            bail!("{wh}: `tap` does not apply to the argmax: the class is always compared");
        }
        range = bounds.out;
        shape = out_shape;
        layers.push(Layer {
            param: l.param.clone().unwrap_or_else(|| l.name.clone()),
            name: l.name,
            op,
            tap: l.tap,
            input: match layers.last() {
                Some(p) => p.output,
                None => input,
            },
            output: out_shape,
            bounds,
        });
    }
    Ok(Network {
        name: raw.name,
        source: source.to_string(),
        input,
        input_type,
        dataset: raw.input.dataset,
        layers,
        weights: raw.weights,
    })
}

fn need<T: Copy>(wh: &str, v: Option<T>, key: &str) -> Result<T> {
    v.ok_or_else(|| anyhow!("{wh}: missing key `{key}`"))
}

fn pair(p: Option<Pair>) -> Option<(usize, usize)> {
    p.map(|p| match p {
        Pair::One(k) => (k, k),
        Pair::Two([a, b]) => (a, b),
    })
}

/// One layer's op, output shape and bounds, from its input shape and range.
fn layer(wh: &str, l: &RawLayer, input: Shape, x: Range) -> Result<(Op, Shape, Bounds)> {
    let plain = |out: Range| Bounds { product: None, acc: None, rounded: None, out };
    match l.op.as_str() {
        "conv2d" => {
            let Shape::Map { c, h, w } = input else {
                bail!(
                    "{wh}: its input is a vector of {}, conv2d needs channels × rows × columns",
                    input.len()
                );
            };
            let in_ch = need(wh, l.in_channels, "in_channels")?;
            if in_ch != c {
                bail!("{wh}: in_channels = {in_ch}, but its input has {c} channels ({input})");
            }
            let out_channels = need(wh, l.out_channels, "out_channels")?;
            let (kh, kw) = need(wh, pair(l.kernel), "kernel")?;
            let stride = l.stride.unwrap_or(1);
            let padding = l.padding.unwrap_or(0);
            if out_channels == 0 || kh == 0 || kw == 0 || stride == 0 {
                bail!("{wh}: out_channels, kernel and stride must be at least 1");
            }
            if kh > h + 2 * padding || kw > w + 2 * padding {
                bail!("{wh}: a {kh}×{kw} kernel does not fit its {input} input with padding {padding}");
            }
            let out = Shape::Map {
                c: out_channels,
                h: (h + 2 * padding - kh) / stride + 1,
                w: (w + 2 * padding - kw) / stride + 1,
            };
            // Zero padding only adds zero terms: the extremes are those of a full window.
            let terms = (in_ch * kh * kw) as i128;
            let x = if padding > 0 { Range { min: x.min.min(0), max: x.max.max(0) } } else { x };
            let (arith, bounds) = arithmetic(wh, l, x, terms)?;
            Ok((Op::Conv2d { out_channels, kh, kw, stride, padding, arith }, out, bounds))
        }
        "linear" => {
            let inputs = need(wh, l.inputs, "in")?;
            let outputs = need(wh, l.outputs, "out")?;
            let Shape::Vector(n) = input else {
                bail!("{wh}: its input is {input}; a linear layer needs a vector (add a flatten)");
            };
            if n != inputs {
                bail!("{wh}: in = {inputs}, but the layer before it gives {n} values");
            }
            if outputs == 0 {
                bail!("{wh}: out must be at least 1");
            }
            let (arith, bounds) = arithmetic(wh, l, x, inputs as i128)?;
            Ok((Op::Linear { inputs, outputs, arith }, Shape::Vector(outputs), bounds))
        }
        "maxpool" => {
            let Shape::Map { c, h, w } = input else {
                bail!("{wh}: its input is a vector; maxpool needs channels × rows × columns");
            };
            let kernel = match need(wh, pair(l.kernel), "kernel")? {
                (a, b) if a == b => a,
                (a, b) => bail!("{wh}: only square pooling windows are supported, not {a}×{b}"),
            };
            let stride = l.stride.unwrap_or(kernel);
            if kernel == 0 || stride == 0 || kernel > h || kernel > w {
                bail!("{wh}: a {kernel}×{kernel} window with stride {stride} does not fit {input}");
            }
            let out = Shape::Map { c, h: (h - kernel) / stride + 1, w: (w - kernel) / stride + 1 };
            Ok((Op::MaxPool { kernel, stride }, out, plain(x)))
        }
        "relu" => Ok((Op::Relu, input, plain(Range { min: x.min.max(0), max: x.max.max(0) }))),
        "flatten" => {
            let order = l.order.unwrap_or(FlattenOrder::Chw);
            Ok((Op::Flatten { order }, Shape::Vector(input.len()), plain(x)))
        }
        "argmax" => {
            if let Some(t) = &l.ties {
                if t != "lowest" {
                    bail!(
                        "{wh}: ties = {t:?}: only \"lowest\" (the lowest index wins) is supported"
                    );
                }
            }
            let Shape::Vector(n) = input else {
                bail!("{wh}: its input is {input}; argmax needs a vector");
            };
            if n == 0 || n > 256 {
                bail!("{wh}: argmax over {n} values (1..256 supported)");
            }
            Ok((Op::Argmax, Shape::Vector(1), plain(Range { min: 0, max: n as i128 - 1 })))
        }
        other => bail!("{wh}: unknown op {other:?}"),
    }
}

fn param(wh: &str, key: &str, p: &RawParam) -> Result<Param> {
    if p.bits == 0 || p.bits > 32 {
        bail!("{wh}: {key}.bits = {}: 1..32 supported", p.bits);
    }
    if p.file.is_empty() {
        bail!("{wh}: {key}.file is empty");
    }
    let rest = p.file.replace("{o}", "").replace("{o+1}", "");
    if rest.contains('{') || rest.contains('}') {
        bail!("{wh}: {key}.file {:?}: the only placeholders are {{o}} and {{o+1}}", p.file);
    }
    if p.frac_bits > 30 {
        bail!("{wh}: {key}.frac_bits = {}: at most 30", p.frac_bits);
    }
    Ok(Param {
        ty: IntType { bits: p.bits, signed: p.signed },
        frac_bits: p.frac_bits,
        files: Files { pattern: p.file.clone(), per_line: p.per_line.unwrap_or(1).max(1) },
    })
}

/// The arithmetic of a conv2d/linear with `terms` products per output, input range `x`.
fn arithmetic(wh: &str, l: &RawLayer, x: Range, terms: i128) -> Result<(Arith, Bounds)> {
    let weight = param(
        wh,
        "weight",
        l.weight.as_ref().ok_or_else(|| anyhow!("{wh}: missing key `weight`"))?,
    )?;
    if l.weight.as_ref().is_some_and(|w| w.shift.is_some()) {
        bail!("{wh}: weight.shift does not exist (bias.shift aligns the bias)");
    }
    let bias = l.bias.as_ref().map(|b| param(wh, "bias", b)).transpose()?;
    let bias_shift = l.bias.as_ref().and_then(|b| b.shift).unwrap_or(0);
    let shift = l.shift.unwrap_or(0);
    if shift > 62 || bias_shift > 62 {
        bail!("{wh}: shift and bias.shift must be below 63");
    }
    let rounding = match (shift, l.rounding) {
        (0, Some(r)) => bail!(
            "{wh}: rounding = {:?} with shift = 0 is impossible: nothing is divided, so nothing \
             is rounded (drop `rounding` or set `shift`)",
            r.name()
        ),
        (0, None) => Rounding::Floor,
        (_, Some(r)) => r,
        (_, None) => {
            bail!("{wh}: missing key `rounding` (shift = {shift} divides the accumulator)")
        }
    };
    let out = IntType {
        bits: need(wh, l.out_bits, "out_bits")?,
        signed: need(wh, l.out_signed, "out_signed")?,
    };
    if out.bits == 0 || out.bits > 62 {
        bail!("{wh}: out_bits = {}: 1..62 supported", out.bits);
    }
    if let Some(a) = l.acc_bits {
        if a == 0 || a > 64 {
            bail!("{wh}: acc_bits = {a}: 1..64 supported");
        }
    }
    let arith = Arith {
        weight,
        bias,
        bias_shift,
        acc_bits: l.acc_bits,
        shift,
        rounding,
        out,
        overflow: l.overflow,
    };
    // Exact extremes: every product takes its extreme independently.
    let (wmin, wmax) = (arith.weight.ty.min(), arith.weight.ty.max());
    let corners = [x.min * wmin, x.min * wmax, x.max * wmin, x.max * wmax];
    let product = Range {
        min: *corners.iter().min().unwrap_or(&0),
        max: *corners.iter().max().unwrap_or(&0),
    };
    let (bmin, bmax) = match &arith.bias {
        Some(b) => (b.ty.min() << bias_shift, b.ty.max() << bias_shift),
        None => (0, 0),
    };
    let acc = Range { min: terms * product.min + bmin, max: terms * product.max + bmax };
    let i64_range = IntType { bits: 64, signed: true };
    if !i64_range.holds(acc.min) || !i64_range.holds(acc.max) {
        bail!(
            "{wh}: the accumulator can reach {}..{}, beyond 64 bits: narrow the weights or inputs",
            group(acc.min),
            group(acc.max)
        );
    }
    if let Some(a) = arith.acc_bits {
        let t = IntType { bits: a, signed: true };
        if !t.holds(acc.min) || !t.holds(acc.max) {
            bail!(
                "{wh}: acc_bits = {a} can overflow: the accumulator reaches {}..{}, which needs {}",
                group(acc.min),
                group(acc.max),
                acc.needed()
            );
        }
    }
    let rounded = Range {
        min: rounding.apply(acc.min as i64, shift) as i128,
        max: rounding.apply(acc.max as i64, shift) as i128,
    };
    let out_range = match arith.overflow {
        None => {
            if !out.holds(rounded.min) || !out.holds(rounded.max) {
                bail!(
                    "{wh}: out_bits = {} ({}) can overflow: the output reaches {}..{}, which \
                     needs {} (or set overflow = \"saturate\" or \"wrap\")",
                    out.bits,
                    if out.signed { "signed" } else { "unsigned" },
                    group(rounded.min),
                    group(rounded.max),
                    rounded.needed()
                );
            }
            rounded
        }
        Some(Overflow::Saturate) => Range {
            min: rounded.min.clamp(out.min(), out.max()),
            max: rounded.max.clamp(out.min(), out.max()),
        },
        Some(Overflow::Wrap) => {
            if out.holds(rounded.min) && out.holds(rounded.max) {
                rounded
            } else {
                Range { min: out.min(), max: out.max() }
            }
        }
    };
    Ok((
        arith,
        Bounds { product: Some(product), acc: Some(acc), rounded: Some(rounded), out: out_range },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_modes() {
        // -5/4 = -1.25, -6/4 = -1.5, 6/4 = 1.5, 10/4 = 2.5, -10/4 = -2.5
        let f = |r: Rounding, v| r.apply(v, 2);
        assert_eq!([-5, -6, 6, 10, -10].map(|v| f(Rounding::Floor, v)), [-2, -2, 1, 2, -3]);
        assert_eq!([-5, -6, 6, 10, -10].map(|v| f(Rounding::Trunc, v)), [-1, -1, 1, 2, -2]);
        assert_eq!([-5, -6, 6, 10, -10].map(|v| f(Rounding::HalfUp, v)), [-1, -1, 2, 3, -2]);
        assert_eq!([-5, -6, 6, 10, -10].map(|v| f(Rounding::HalfEven, v)), [-1, -2, 2, 2, -2]);
        assert_eq!(Rounding::HalfEven.apply(7, 0), 7);
    }

    #[test]
    fn overflow_modes() {
        let s12 = IntType { bits: 12, signed: true };
        assert_eq!(Overflow::Saturate.apply(5000, s12), 2047);
        assert_eq!(Overflow::Saturate.apply(-5000, s12), -2048);
        assert_eq!(Overflow::Wrap.apply(2048, s12), -2048);
        assert_eq!(Overflow::Wrap.apply(-2049, s12), 2047);
        let u4 = IntType { bits: 4, signed: false };
        assert_eq!(Overflow::Wrap.apply(17, u4), 1);
        assert_eq!(Overflow::Wrap.apply(-1, u4), 15);
    }

    #[test]
    fn needed_widths() {
        assert_eq!(IntType::needed(-32_640, 32_385), IntType { bits: 16, signed: true });
        assert_eq!(IntType::needed(-32_769, 0), IntType { bits: 17, signed: true });
        assert_eq!(IntType::needed(0, 6325), IntType { bits: 13, signed: false });
        assert_eq!(IntType::needed(0, 9), IntType { bits: 4, signed: false });
        assert_eq!(IntType::needed(-8192, 8191), IntType { bits: 14, signed: true });
    }

    #[test]
    fn group_thousands() {
        assert_eq!(group(-1_599_360), "-1,599,360");
        assert_eq!(group(999), "999");
        assert_eq!(group(0), "0");
    }
}
