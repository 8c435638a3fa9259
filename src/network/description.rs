//! The description's TOML form and its validation: each layer's keys checked against its
//! op, shapes chained, and every conv2d/linear layer's exact bounds derived (and the
//! description refused when a declared width can overflow).

use super::{
    group, line_col, Arith, Bounds, DataSet, Files, FlattenOrder, IntType, Layer, Network, Op,
    Overflow, Param, Range, Requant, Rounding, Scheme, Shape,
};
use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use std::path::PathBuf;

/// Parses and validates description text; `source` names it in errors.
pub(super) fn parse(source: &str, text: &str) -> Result<Network> {
    let raw: RawNetwork = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line_col(text, s.start)).unwrap_or_default();
        anyhow!("{source}{at}: {}", e.message().trim())
    })?;
    build(source, text, raw)
}

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

/// A value for the whole tensor, or one per output channel.
#[derive(Deserialize, Clone)]
#[serde(untagged, expecting = "an integer, or an array of integers (one per output channel)")]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    fn values(&self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
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
    in_zero_point: Option<i64>,
    multiplier: Option<OneOrMany<i64>>,
    shift: Option<OneOrMany<u32>>,
    rounding: Option<String>,
    out_zero_point: Option<i64>,
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
    match op {
        "conv2d" => &[
            "param",
            "in_channels",
            "out_channels",
            "kernel",
            "stride",
            "padding",
            "weight",
            "bias",
            "acc_bits",
            "in_zero_point",
            "multiplier",
            "shift",
            "rounding",
            "out_zero_point",
            "out_bits",
            "out_signed",
            "overflow",
        ],
        "linear" => &[
            "param",
            "in",
            "out",
            "weight",
            "bias",
            "acc_bits",
            "in_zero_point",
            "multiplier",
            "shift",
            "rounding",
            "out_zero_point",
            "out_bits",
            "out_signed",
            "overflow",
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
        add(self.in_zero_point.is_some(), "in_zero_point");
        add(self.multiplier.is_some(), "multiplier");
        add(self.shift.is_some(), "shift");
        add(self.rounding.is_some(), "rounding");
        add(self.out_zero_point.is_some(), "out_zero_point");
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
    let net = Network {
        name: raw.name,
        source: source.to_string(),
        input,
        input_type,
        dataset: raw.input.dataset,
        layers,
        weights: raw.weights,
    };
    if let Some(clash) = net.file_clash() {
        bail!("{source}: {clash}");
    }
    Ok(net)
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
            let terms = (in_ch * kh * kw) as i128;
            let (arith, bounds) = arithmetic(wh, l, x, padding > 0, terms, out_channels)?;
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
            let (arith, bounds) = arithmetic(wh, l, x, false, inputs as i128, outputs)?;
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
    let files = Files::new(&p.file, p.per_line, key == "weight")
        .map_err(|e| anyhow!("{wh}: {key}.file: {e}"))?;
    if p.frac_bits > 30 {
        bail!("{wh}: {key}.frac_bits = {}: at most 30", p.frac_bits);
    }
    Ok(Param { ty: IntType { bits: p.bits, signed: p.signed }, frac_bits: p.frac_bits, files })
}

/// The arithmetic of a conv2d/linear with `terms` products per output, input range `x`
/// (`padded`: some window terms are padding) and `outputs` output channels.
fn arithmetic(
    wh: &str,
    l: &RawLayer,
    x: Range,
    padded: bool,
    terms: i128,
    outputs: usize,
) -> Result<(Arith, Bounds)> {
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
    if bias_shift > 62 {
        bail!("{wh}: bias.shift must be below 63");
    }
    let requant = requantization(wh, l, outputs)?;
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
    let in_zero_point = l.in_zero_point.unwrap_or(0);
    if in_zero_point.unsigned_abs() >= 1 << 62 {
        bail!("{wh}: in_zero_point = {in_zero_point}: beyond ±2^62");
    }
    let arith = Arith {
        weight,
        bias,
        bias_shift,
        acc_bits: l.acc_bits,
        in_zero_point,
        requant,
        out,
        overflow: l.overflow,
    };
    // The product's left factor is x − z; padding pads it with 0 (TFLite's padding with the
    // input zero point), a zero term.
    let z = in_zero_point as i128;
    let x = Range { min: x.min - z, max: x.max - z };
    let x = if padded { Range { min: x.min.min(0), max: x.max.max(0) } } else { x };
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
    scaling_fits(wh, &arith.requant, acc, outputs)?;
    let rounded = arith.requant.range(acc, outputs);
    let out_range = match arith.overflow {
        None => {
            if !out.holds(rounded.min) || !out.holds(rounded.max) {
                bail!(
                    "{wh}: out_bits = {} ({}) can overflow: the output reaches {}..{}, which \
                     needs {} (or set overflow = \"saturate\", \"saturate_symmetric\" or \
                     \"wrap\")",
                    out.bits,
                    if out.signed { "signed" } else { "unsigned" },
                    group(rounded.min),
                    group(rounded.max),
                    rounded.needed()
                );
            }
            rounded
        }
        Some(ov @ (Overflow::Saturate | Overflow::SaturateSymmetric)) => {
            let (lo, hi) = ov.rails(out);
            let (lo, hi) = (lo as i128, hi as i128);
            Range { min: rounded.min.clamp(lo, hi), max: rounded.max.clamp(lo, hi) }
        }
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

/// The layer's requantization from `multiplier`, `shift`, `rounding` and `out_zero_point`.
fn requantization(wh: &str, l: &RawLayer, outputs: usize) -> Result<Requant> {
    let per_channel = |key: &str, n: usize| -> Result<()> {
        if n != 1 && n != outputs || n == 0 {
            bail!("{wh}: {key} lists {n} values; give one, or one per output channel ({outputs})");
        }
        Ok(())
    };
    let multiplier = l.multiplier.as_ref().map_or(vec![1], |m| m.values());
    let shift = l.shift.as_ref().map_or(vec![0], |s| s.values());
    if matches!(l.multiplier, Some(OneOrMany::Many(_))) {
        per_channel("multiplier", multiplier.len())?;
    }
    if matches!(l.shift, Some(OneOrMany::Many(_))) {
        per_channel("shift", shift.len())?;
    }
    let scheme = match l.rounding.as_deref() {
        Some("tflite") => Scheme::Tflite,
        Some(name) => Scheme::Single(Rounding::from_name(name).ok_or_else(|| {
            anyhow!(
                "{wh}: rounding = {name:?} is not a rounding rule; the known ones: {}, and \
                 tflite (TFLite's two-step requantization)",
                Rounding::names()
            )
        })?),
        None if shift.iter().all(|&s| s == 0) => Scheme::Single(Rounding::Floor),
        None => bail!(
            "{wh}: missing key `rounding` (shift = {} divides the accumulator)",
            shift.iter().max().copied().unwrap_or(0)
        ),
    };
    match scheme {
        Scheme::Single(r) => {
            if shift.iter().any(|&s| s > 62) {
                bail!("{wh}: shift must be below 63");
            }
            if l.rounding.is_some() && shift.iter().all(|&s| s == 0) {
                bail!(
                    "{wh}: rounding = {:?} with shift = 0 is impossible: nothing is divided, so \
                     nothing is rounded (drop `rounding` or set `shift`)",
                    r.name()
                );
            }
            if let Some(m) = multiplier.iter().find(|&&m| m < 1) {
                bail!("{wh}: multiplier = {m}: a multiplier is at least 1");
            }
        }
        Scheme::Tflite => {
            if let Some(s) = shift.iter().find(|&&s| !(1..=62).contains(&s)) {
                bail!(
                    "{wh}: shift = {s} with rounding = \"tflite\": 1..62 (TFLite's shift \
                     exponent 31 − shift must lie in −31..30)"
                );
            }
            if let Some(m) = multiplier.iter().find(|&&m| !(1..=i32::MAX as i64).contains(&m)) {
                bail!(
                    "{wh}: multiplier = {m} overflows TFLite's multiplier, an int32 in \
                     1..2,147,483,647"
                );
            }
        }
    }
    let zero_point = l.out_zero_point.unwrap_or(0);
    if zero_point.unsigned_abs() >= 1 << 62 {
        bail!("{wh}: out_zero_point = {zero_point}: beyond ±2^62");
    }
    Ok(Requant { multiplier, shift, scheme, zero_point })
}

/// Refuses a requantization whose scaling can overflow on an accumulator in `acc`: the
/// product `acc · M` beyond 64 bits, or TFLite's `int32` steps overflowing.
fn scaling_fits(wh: &str, r: &Requant, acc: Range, outputs: usize) -> Result<()> {
    let channels = if r.per_channel() { outputs } else { 1 };
    for o in 0..channels {
        let (m, s) = r.channel(o);
        let ch = if r.per_channel() { format!(" (output channel {o})") } else { String::new() };
        match r.scheme {
            Scheme::Single(_) => {
                let (lo, hi) = (acc.min * m as i128, acc.max * m as i128);
                if !(IntType { bits: 64, signed: true }).holds(lo)
                    || !(IntType { bits: 64, signed: true }).holds(hi)
                {
                    bail!(
                        "{wh}: the multiplier {m}{ch} overflows: acc·M reaches {}..{}, beyond \
                         64 bits",
                        group(lo),
                        group(hi)
                    );
                }
            }
            Scheme::Tflite => {
                let left = 31i32 - s as i32;
                let scaled = |v: i128| v << left.max(0);
                let i32_range = IntType { bits: 32, signed: true };
                if !i32_range.holds(scaled(acc.min)) || !i32_range.holds(scaled(acc.max)) {
                    bail!(
                        "{wh}: rounding = \"tflite\" works on int32, but the accumulator{} \
                         reaches {}..{}{ch}",
                        if left > 0 { format!(" shifted left by {left}") } else { String::new() },
                        group(scaled(acc.min)),
                        group(scaled(acc.max))
                    );
                }
            }
        }
    }
    Ok(())
}
