//! The ops a description can name. Each op is one file here holding its keys, its shape
//! rule and exact bounds ([`Registered::build`]), its integer reference ([`Kind::eval`]) and
//! its float forward ([`Kind::forward`]); this file is the registry that lists them. Adding an
//! op is adding a file, a variant of [`Op`], a row in [`REGISTRY`] and a row in
//! `docs/network-format.md` (and, to train it, its case in `src/train.rs`).

mod add;
mod argmax;
mod avgpool;
mod clamp;
mod conv2d;
mod flatten;
mod global_avgpool;
mod linear;
mod maxpool;
mod pad;
mod relu;
mod rescale;

pub use add::Add;
pub use argmax::{argmax, Argmax};
pub use avgpool::{AvgPool, Divide};
pub use clamp::Clamp;
pub use conv2d::Conv2d;
pub use flatten::{flatten_hwc, Flatten, FlattenOrder};
pub use global_avgpool::GlobalAvgPool;
pub use linear::Linear;
pub use maxpool::{maxpool, MaxPool};
pub use pad::Pad;
pub use relu::Relu;
pub use rescale::Rescale;

use super::kernel::Prepared;
pub(crate) use super::site::{keys, take, Site};
use super::{Arith, Bounds, Layer, Range, Shape};
use anyhow::{anyhow, Result};
use std::borrow::Cow;
use std::cell::Cell;

/// One layer's operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Pad(Pad),
    Rescale(Rescale),
    Conv2d(Conv2d),
    MaxPool(MaxPool),
    AvgPool(AvgPool),
    GlobalAvgPool(GlobalAvgPool),
    Relu(Relu),
    Clamp(Clamp),
    Flatten(Flatten),
    Linear(Linear),
    Add(Add),
    /// The class: index of the largest input, ties to the lowest index.
    Argmax(Argmax),
}

/// A weight set's tensors of one layer.
#[derive(Clone, Copy)]
pub struct Tensors<'a, 'b> {
    pub weight: &'a [i64],
    pub bias: &'b [i64],
    /// Loaded per-channel multipliers (empty unless the description names their file).
    pub multiplier: &'b [i64],
    /// Loaded per-channel shifts (likewise).
    pub shift: &'b [i64],
}

/// What the integer reference hands an op besides its input.
pub struct EvalCtx<'a, 'p> {
    /// The layer's prepared parameters (conv2d, linear).
    pub prepared: Option<&'a Prepared<'p>>,
    /// Whether the input is the reference's own value of the layer before (then within its
    /// bounds by construction); the layer-local path feeds the RTL's own values.
    pub trusted: bool,
    /// Counts the values the layer's overflow rule changed.
    pub overflowed: &'a OverflowCount,
}

/// The values a layer's overflow rule changed on one evaluation, by the rail they were past.
#[derive(Debug, Default)]
pub struct OverflowCount {
    low: Cell<u64>,
    high: Cell<u64>,
}

impl OverflowCount {
    /// `y` became `z` under the overflow rule: past the low rail when the rule raised it
    /// (saturated up, or wrapped from below), past the high one when it lowered it.
    #[inline(always)]
    pub fn note(&self, y: i64, z: i64) {
        self.low.set(self.low.get() + (z > y) as u64);
        self.high.set(self.high.get() + (z < y) as u64);
    }

    pub fn get(&self) -> Rails {
        Rails { low: self.low.get(), high: self.high.get() }
    }
}

/// How many values an overflow rule changed, by rail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rails {
    /// Below the output type's minimum (saturated to it, or wrapped).
    pub low: u64,
    /// Above its maximum.
    pub high: u64,
}

impl Rails {
    pub fn total(&self) -> u64 {
        self.low + self.high
    }

    pub fn add(&mut self, o: Rails) {
        self.low += o.low;
        self.high += o.high;
    }
}

/// What every op does.
pub trait Kind {
    /// The name in a description (`op = …`).
    fn name(&self) -> &'static str;

    /// The conv2d/linear arithmetic, for ops that have one.
    fn arith(&self) -> Option<&Arith> {
        None
    }

    /// A parametrized op's tensors as (outputs, inputs, values per (output, input) pair) for
    /// input `input`: conv2d `[out][in][kh·kw]`, linear `[out][in]`.
    fn weight_pairs(&self, _input: Shape) -> Option<(usize, usize, usize)> {
        None
    }

    /// A parametrized op's weights, bias and loaded requantization values (multipliers,
    /// shifts; empty when the description gives them) prepared for many images, for inputs
    /// in `x`.
    fn prepare<'a>(&self, _l: &Layer, _x: Range, _t: Tensors<'a, '_>) -> Option<Prepared<'a>> {
        None
    }

    /// `net show`'s rows for layer `l`: (quantity, its exact range, the bits it needs and
    /// what was declared). The output's alone unless the op has steps worth a row.
    fn bound_rows(&self, l: &Layer) -> Vec<(String, Range, String)> {
        vec![("output".into(), l.bounds.out, l.bounds.out.needed().to_string())]
    }

    /// The integer reference: layer `l`'s output for input `x` (`Cow::Borrowed` when the op
    /// leaves the values as they are).
    fn eval<'x>(&self, l: &Layer, x: &'x [i64], cx: &EvalCtx) -> Cow<'x, [i64]>;

    /// The integer reference of an op of several inputs (add), one slice per input.
    fn eval_many(&self, l: &Layer, _xs: &[&[i64]], _cx: &EvalCtx) -> Vec<i64> {
        unreachable!("{} takes one input", l.name)
    }

    /// The float forward of an op of several inputs.
    fn forward_many(&self, l: &Layer, _xs: &[&[f32]]) -> Vec<f32> {
        unreachable!("{} takes one input", l.name)
    }

    /// The float forward (PyTorch's op in `f32`), given the layer's float weight and bias.
    fn forward(
        &self,
        l: &Layer,
        x: Vec<f32>,
        weight: Option<&[f32]>,
        bias: Option<&[f32]>,
    ) -> Vec<f32>;
}

impl Op {
    /// The op's behaviour: the one place that lists every op's type.
    pub fn kind(&self) -> &dyn Kind {
        match self {
            Op::Pad(o) => o,
            Op::Rescale(o) => o,
            Op::Conv2d(o) => o,
            Op::MaxPool(o) => o,
            Op::AvgPool(o) => o,
            Op::GlobalAvgPool(o) => o,
            Op::Relu(o) => o,
            Op::Clamp(o) => o,
            Op::Flatten(o) => o,
            Op::Linear(o) => o,
            Op::Add(o) => o,
            Op::Argmax(o) => o,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    pub fn arith(&self) -> Option<&Arith> {
        self.kind().arith()
    }

    pub fn arith_mut(&mut self) -> Option<&mut Arith> {
        match self {
            Op::Conv2d(o) => Some(&mut o.arith),
            Op::Linear(o) => Some(&mut o.arith),
            _ => None,
        }
    }

    /// Whether this is the class (the final argmax).
    pub fn is_argmax(&self) -> bool {
        matches!(self, Op::Argmax(_))
    }
}

/// A built layer: its op, output shape and derived bounds.
pub(crate) struct Built {
    pub op: Op,
    pub output: Shape,
    pub bounds: Bounds,
}

/// An op as a description names it: its name, its keys, and how a layer is built from them.
pub(crate) struct Registered {
    pub name: &'static str,
    /// Every key the op takes besides `name`, `op`, `tap`, `input(s)` (and `param`, when
    /// `parameters`), in groups (its own, and those of the arithmetic it shares).
    pub keys: &'static [&'static [&'static str]],
    /// Whether the op has weights (and so a `param` safetensors prefix).
    pub parameters: bool,
    /// Whether it takes several layers (`inputs`) rather than one (`input`).
    pub many_inputs: bool,
    pub build: fn(&Site, toml::Table) -> Result<Built>,
}

impl Registered {
    /// Whether the op takes key `k`.
    pub fn takes(&self, k: &str) -> bool {
        self.keys.iter().any(|g| g.contains(&k))
    }
}

/// Every op, in the order the docs list them.
pub(crate) const REGISTRY: [Registered; 12] = [
    pad::REGISTERED,
    rescale::REGISTERED,
    conv2d::REGISTERED,
    maxpool::REGISTERED,
    avgpool::REGISTERED,
    global_avgpool::REGISTERED,
    relu::REGISTERED,
    clamp::REGISTERED,
    flatten::REGISTERED,
    linear::REGISTERED,
    add::REGISTERED,
    argmax::REGISTERED,
];

/// The registered op named `name`.
pub(crate) fn registered(name: &str) -> Option<&'static Registered> {
    REGISTRY.iter().find(|r| r.name == name)
}

/// A square window or kernel: `k` or `[kh, kw]`.
#[derive(serde::Deserialize, Clone, Copy)]
#[serde(untagged, expecting = "expected an integer, or [height, width]")]
pub(crate) enum Pair {
    One(usize),
    Two([usize; 2]),
}

impl Pair {
    pub fn dims(self) -> (usize, usize) {
        match self {
            Pair::One(k) => (k, k),
            Pair::Two([a, b]) => (a, b),
        }
    }
}

/// A pooling window: (kernel, stride, output shape) of a square `kernel` with `stride`
/// (default: the kernel) over the site's map.
pub(crate) fn window(
    site: &Site,
    op: &str,
    kernel: Option<Pair>,
    stride: Option<usize>,
) -> Result<(usize, usize, Shape)> {
    let wh = site.wh;
    let Shape::Map { c, h, w } = site.input else {
        anyhow::bail!("{wh}: its input is a vector; {op} needs channels × rows × columns");
    };
    let kernel = match need(site, kernel, "kernel")?.dims() {
        (a, b) if a == b => a,
        (a, b) => anyhow::bail!("{wh}: only square pooling windows are supported, not {a}×{b}"),
    };
    let stride = stride.unwrap_or(kernel);
    if kernel == 0 || stride == 0 || kernel > h || kernel > w {
        anyhow::bail!(
            "{wh}: a {kernel}×{kernel} window with stride {stride} does not fit {}",
            site.input
        );
    }
    let output = Shape::Map { c, h: (h - kernel) / stride + 1, w: (w - kernel) / stride + 1 };
    Ok((kernel, stride, output))
}

/// `v`, or the error `missing key`.
pub(crate) fn need<T>(site: &Site, v: Option<T>, key: &str) -> Result<T> {
    v.ok_or_else(|| anyhow!("{}: missing key `{key}`", site.wh))
}

/// Bounds of an op without arithmetic: only its output's.
pub(crate) fn plain(out: Range) -> Bounds {
    Bounds { product: None, acc: None, rounded: None, out }
}
