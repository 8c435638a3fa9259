//! The arithmetic of a conv2d or linear layer (`docs/network-format.md`, "Arithmetic of
//! conv2d and linear"): its weight and bias tensors, accumulator, requantization and output
//! width — their keys, and the exact bounds of each step over any weights and inputs of the
//! declared widths.

use super::site::{keys, take, Site};
use super::{group, Bounds, Files, IntType, Overflow, Range, Requant, Rounding, Scheme};
use anyhow::{anyhow, bail, Result};
use serde::Deserialize;

/// A parameter tensor: its integer type, its float→integer scale and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub ty: IntType,
    /// Quantization: `q = round(w · 2^frac_bits)` (`export`, `train`); `None` when the
    /// scale comes from calibration (a network that loads its multipliers).
    pub frac_bits: Option<u32>,
    pub files: Files,
}

/// The arithmetic of a conv2d or linear layer:
/// `acc = Σ (x − in_zero_point)·w + (b << bias_shift)`, `y` its [`Requant`]
/// (`round(acc · M / 2^shift) + zero_point`), then `y` must fit `out` (or is saturated or
/// wrapped into it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arith {
    pub weight: Param,
    /// `None`: the layer has no bias.
    pub bias: Option<Param>,
    pub bias_shift: u32,
    /// Declared accumulator width (signed), checked against the bound when given.
    pub acc_bits: Option<u32>,
    /// Subtracted from every input before its product (padding pads `x − z` with 0).
    pub in_zero_point: i64,
    /// The requantization. With values loaded from the weight set ([`Arith::loaded`]) it
    /// holds the corners of their declared ranges (the bounds' extremes), one per "channel";
    /// [`Arith::requant_with`] gives the loaded set's own.
    pub requant: Requant,
    /// Multiplier and shift loaded per output channel with the weights, when the
    /// description names files for them instead of values.
    pub loaded: LoadedRequant,
    pub out: IntType,
    pub overflow: Option<Overflow>,
}

/// A requantization value loaded with the weights, one per output channel: its files, the
/// unsigned width of its `.mem` values, and the range the description declares for them
/// (the bounds hold for any values in it; a loaded value outside it is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub files: Files,
    pub ty: IntType,
    pub min: i64,
    pub max: i64,
}

/// Which requantization values come with the weights.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadedRequant {
    pub multiplier: Option<Loaded>,
    pub shift: Option<Loaded>,
}

impl LoadedRequant {
    pub fn any(&self) -> bool {
        self.multiplier.is_some() || self.shift.is_some()
    }
}

impl Arith {
    /// The requantization with a weight set's loaded `multiplier` and `shift` (one per
    /// output channel; ignored, and may be empty, for values the description gives).
    pub fn requant_with(&self, multiplier: &[i64], shift: &[i64]) -> Requant {
        if !self.loaded.any() {
            return self.requant.clone();
        }
        let r = &self.requant;
        Requant {
            multiplier: match self.loaded.multiplier {
                Some(_) => multiplier.to_vec(),
                None => vec![r.multiplier[0]],
            },
            shift: match self.loaded.shift {
                Some(_) => shift.iter().map(|&s| s as u32).collect(),
                None => vec![r.shift[0]],
            },
            ..r.clone()
        }
    }

    /// `net show`'s rows for a layer with this arithmetic and bounds `b`: one product, the
    /// accumulator, the requantized value and the output, each with the bits it needs.
    pub(crate) fn bound_rows(&self, b: &Bounds) -> Vec<(String, Range, String)> {
        let a = self;
        let mut rows = Vec::new();
        let p = b.product.expect("conv/linear have a product bound");
        let acc = b.acc.expect("conv/linear have an accumulator bound");
        let decl = a.acc_bits.map(|n| format!(" / {n} bits signed")).unwrap_or_default();
        let x = match a.in_zero_point {
            0 => "x".to_string(),
            z if z > 0 => format!("(x−{z})"),
            z => format!("(x+{})", -z),
        };
        rows.push((format!("product {x}·w"), p, p.needed().to_string()));
        let acc_name = if a.bias.is_some() {
            format!("acc Σ{x}·w + b<<{}", a.bias_shift)
        } else {
            format!("acc Σ{x}·w")
        };
        rows.push((acc_name, acc, format!("{}{decl}", acc.needed())));
        let r = b.rounded.expect("conv/linear have a rounded bound");
        rows.push((a.requant.label(), r, r.needed().to_string()));
        let how = match a.overflow {
            None => "",
            Some(Overflow::Saturate) => ", saturated",
            Some(Overflow::SaturateSymmetric) => ", saturated symmetrically",
            Some(Overflow::Wrap) => ", wrapped",
        };
        rows.push(("output".into(), b.out, format!("{} / {}{how}", b.out.needed(), a.out)));
        rows
    }
}

/// The keys of a conv2d's or linear's accumulator.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArithKeys {
    weight: Option<RawParam>,
    bias: Option<RawParam>,
    acc_bits: Option<u32>,
    in_zero_point: Option<i64>,
}

/// The names of [`ArithKeys`]' keys.
pub(crate) const KEYS: [&str; 4] = ["weight", "bias", "acc_bits", "in_zero_point"];

/// The keys of a result's requantization and width, shared by conv2d, linear and add.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputKeys {
    multiplier: Option<Loadable<i64>>,
    shift: Option<Loadable<u32>>,
    pub rounding: Option<String>,
    out_zero_point: Option<i64>,
    out_bits: Option<u32>,
    out_signed: Option<bool>,
    overflow: Option<Overflow>,
}

/// The names of [`OutputKeys`]' keys.
pub(crate) const OUTPUT_KEYS: [&str; 7] =
    ["multiplier", "shift", "rounding", "out_zero_point", "out_bits", "out_signed", "overflow"];

impl OutputKeys {
    /// The requantization of `outputs` channels (with loaded values: the corners of their
    /// ranges, see [`Arith::requant`]), what it loads with the weights, the output's type and
    /// its overflow rule.
    pub(crate) fn build(
        &self,
        wh: &str,
        outputs: usize,
    ) -> Result<(Requant, LoadedRequant, IntType, Option<Overflow>)> {
        let loaded = LoadedRequant {
            multiplier: self
                .multiplier
                .as_ref()
                .and_then(|m| m.loaded(wh, "multiplier"))
                .transpose()?,
            shift: self.shift.as_ref().and_then(|s| s.loaded(wh, "shift")).transpose()?,
        };
        let requant = if loaded.any() {
            envelope(wh, self, &loaded)?
        } else {
            let keys = RequantKeys {
                multiplier: self.multiplier.as_ref().and_then(Loadable::given),
                shift: self.shift.as_ref().and_then(Loadable::given),
                rounding: self.rounding.as_deref(),
                zero_point: self.out_zero_point,
            };
            requant(wh, &keys, outputs)?
        };
        let out = IntType {
            bits: need(wh, self.out_bits, "out_bits")?,
            signed: need(wh, self.out_signed, "out_signed")?,
        };
        if out.bits == 0 || out.bits > 62 {
            bail!("{wh}: out_bits = {}: 1..62 supported", out.bits);
        }
        Ok((requant, loaded, out, self.overflow))
    }
}

/// The requantization of loaded values: one "channel" per corner of their declared ranges
/// (each corner checked as a value written in the description would be). Every step is
/// monotone in the multiplier and the shift, so the corners hold the extremes.
fn envelope(wh: &str, o: &OutputKeys, loaded: &LoadedRequant) -> Result<Requant> {
    let ends =
        |l: &Option<Loaded>, given: Option<&OneOrMany<i64>>, key: &str| -> Result<Vec<i64>> {
            Ok(match (l, given) {
                (Some(l), _) => vec![l.min, l.max],
                (None, None) => Vec::new(),
                (None, Some(OneOrMany::One(v))) => vec![*v],
                (None, Some(OneOrMany::Many(_))) => bail!(
                    "{wh}: {key} lists per-channel values while the other requantization value \
                 comes from a file: load both from files, or give {key} one value"
                ),
            })
        };
    let m = o.multiplier.as_ref().and_then(Loadable::given);
    let s = o.shift.as_ref().and_then(Loadable::given).map(|s| match s {
        OneOrMany::One(v) => OneOrMany::One(*v as i64),
        OneOrMany::Many(v) => OneOrMany::Many(v.iter().map(|&v| v as i64).collect()),
    });
    let ms = ends(&loaded.multiplier, m, "multiplier")?;
    let ss = ends(&loaded.shift, s.as_ref(), "shift")?;
    let mut corners: Vec<Requant> = Vec::new();
    for &m in if ms.is_empty() { &[1][..] } else { &ms } {
        for &s in if ss.is_empty() { &[0][..] } else { &ss } {
            let (mm, sm) = (OneOrMany::One(m), OneOrMany::One(s as u32));
            let keys = RequantKeys {
                multiplier: Some(&mm),
                shift: Some(&sm),
                rounding: o.rounding.as_deref(),
                zero_point: o.out_zero_point,
            };
            corners.push(requant(wh, &keys, 1).map_err(|e| {
                anyhow!("{e} (a value the loaded multipliers' and shifts' declared ranges allow)")
            })?);
        }
    }
    Ok(Requant {
        multiplier: corners.iter().map(|c| c.multiplier[0]).collect(),
        shift: corners.iter().map(|c| c.shift[0]).collect(),
        ..corners[0].clone()
    })
}

/// A requantization value as a description gives it: one value, one per output channel, or
/// a file of one per output channel loaded with the weights.
#[derive(Deserialize, Clone)]
#[serde(
    untagged,
    expecting = "expected an integer, an array of integers (one per output channel), or a \
                 table { file, bits, min, max } (loaded with the weights)"
)]
pub(crate) enum Loadable<T> {
    Given(OneOrMany<T>),
    File(RawLoaded),
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLoaded {
    file: String,
    bits: u32,
    min: Option<i64>,
    max: Option<i64>,
}

impl<T> Loadable<T> {
    fn given(&self) -> Option<&OneOrMany<T>> {
        match self {
            Loadable::Given(v) => Some(v),
            Loadable::File(_) => None,
        }
    }

    /// The loaded value's declaration, checked (`key` names it in errors).
    fn loaded(&self, wh: &str, key: &str) -> Option<Result<Loaded>> {
        let Loadable::File(f) = self else { return None };
        Some((|| {
            if f.bits == 0 || f.bits > 32 {
                bail!("{wh}: {key}.bits = {}: 1..32 supported", f.bits);
            }
            let ty = IntType { bits: f.bits, signed: false };
            let (min, max) = (f.min.unwrap_or(0), f.max.unwrap_or(ty.max() as i64));
            if min > max || !ty.holds(min as i128) || !ty.holds(max as i128) {
                bail!(
                    "{wh}: {key}: min = {min}, max = {max}: need min ≤ max, both within {} \
                     bits unsigned",
                    f.bits
                );
            }
            let files =
                Files::new(&f.file, None, false).map_err(|e| anyhow!("{wh}: {key}.file: {e}"))?;
            Ok(Loaded { files, ty, min, max })
        })())
    }
}

fn need<T: Copy>(wh: &str, v: Option<T>, key: &str) -> Result<T> {
    v.ok_or_else(|| anyhow!("{wh}: missing key `{key}`"))
}

/// A value for the whole tensor, or one per output channel.
#[derive(Deserialize, Clone)]
#[serde(
    untagged,
    expecting = "expected an integer, or an array of integers (one per output channel)"
)]
pub(crate) enum OneOrMany<T> {
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
    #[serde(default)]
    frac_bits: Option<u32>,
    file: String,
    #[serde(default)]
    per_line: Option<usize>,
    /// Bias only: `b << shift` joins the accumulator.
    #[serde(default)]
    shift: Option<u32>,
}

fn param(wh: &str, key: &str, p: &RawParam) -> Result<Param> {
    if p.bits == 0 || p.bits > 32 {
        bail!("{wh}: {key}.bits = {}: 1..32 supported", p.bits);
    }
    let files = Files::new(&p.file, p.per_line, key == "weight")
        .map_err(|e| anyhow!("{wh}: {key}.file: {e}"))?;
    if let Some(f) = p.frac_bits.filter(|&f| f > 30) {
        bail!("{wh}: {key}.frac_bits = {f}: at most 30");
    }
    Ok(Param { ty: IntType { bits: p.bits, signed: p.signed }, frac_bits: p.frac_bits, files })
}

/// The arithmetic of a conv2d/linear, its keys taken from `table`, whose outputs sum
/// `terms` products (fewest, most: a sparsely connected conv's outputs differ), input range
/// `site.range` (`padded`: some window terms are padding) and `outputs` output channels.
pub(crate) fn arithmetic(
    site: &Site,
    table: &mut toml::Table,
    padded: bool,
    (fewest, most): (i128, i128),
    outputs: usize,
) -> Result<(Arith, Bounds)> {
    let (wh, x) = (site.wh, site.range);
    let l: ArithKeys = keys(site, take(table, &KEYS))?;
    let o: OutputKeys = keys(site, take(table, &OUTPUT_KEYS))?;
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
    let (requant, loaded, out, overflow) = o.build(wh, outputs)?;
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
        loaded,
        out,
        overflow,
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
    // Each output's extremes are its own count of products at their extremes.
    let acc = Range {
        min: (fewest * product.min).min(most * product.min) + bmin,
        max: (fewest * product.max).max(most * product.max) + bmax,
    };
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
    // Loaded values: the requantization's channels are their ranges' corners.
    let channels = if arith.loaded.any() { arith.requant.multiplier.len() } else { outputs };
    scaling_fits(wh, &arith.requant, acc, channels)?;
    let rounded = arith.requant.range(acc, channels);
    let out_range = output_range(wh, out, arith.overflow, rounded)?;
    Ok((
        arith,
        Bounds { product: Some(product), acc: Some(acc), rounded: Some(rounded), out: out_range },
    ))
}

/// The range of a result whose value can reach `rounded`, put into `out` by `overflow`;
/// without an overflow rule, refused when it can leave `out`.
pub(crate) fn output_range(
    wh: &str,
    out: IntType,
    overflow: Option<Overflow>,
    rounded: Range,
) -> Result<Range> {
    Ok(match overflow {
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
    })
}

/// The keys of a requantization, wherever they come from.
pub(crate) struct RequantKeys<'a> {
    pub multiplier: Option<&'a OneOrMany<i64>>,
    pub shift: Option<&'a OneOrMany<u32>>,
    pub rounding: Option<&'a str>,
    pub zero_point: Option<i64>,
}

/// A requantization of `outputs` channels from its keys.
pub(crate) fn requant(wh: &str, l: &RequantKeys, outputs: usize) -> Result<Requant> {
    let per_channel = |key: &str, n: usize| -> Result<()> {
        if n != 1 && n != outputs || n == 0 {
            bail!("{wh}: {key} lists {n} values; give one, or one per output channel ({outputs})");
        }
        Ok(())
    };
    let multiplier = l.multiplier.map_or(vec![1], |m| m.values());
    let shift = l.shift.map_or(vec![0], |s| s.values());
    if matches!(l.multiplier, Some(OneOrMany::Many(_))) {
        per_channel("multiplier", multiplier.len())?;
    }
    if matches!(l.shift, Some(OneOrMany::Many(_))) {
        per_channel("shift", shift.len())?;
    }
    let scheme = match l.rounding {
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
    let zero_point = l.zero_point.unwrap_or(0);
    if zero_point.unsigned_abs() >= 1 << 62 {
        bail!("{wh}: out_zero_point = {zero_point}: beyond ±2^62");
    }
    Ok(Requant { multiplier, shift, scheme, zero_point })
}

/// Refuses a requantization whose scaling can overflow on an accumulator in `acc`: the
/// product `acc · M` beyond 64 bits, or TFLite's `int32` steps overflowing.
pub(crate) fn scaling_fits(wh: &str, r: &Requant, acc: Range, outputs: usize) -> Result<()> {
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
