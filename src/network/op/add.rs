//! `add`: the element-wise sum of two or more earlier layers of one shape, each rescaled to a
//! common scale, then requantized — a residual connection, as TFLite's ADD computes it:
//!
//! ```text
//! v_i = (x_i − zero_point_i) · 2^left_shift
//! r_i = round(v_i · M_i / 2^s_i)                (each input's `rescale`)
//! y   = round(Σ r_i · M / 2^s) + out_zero_point, then `overflow` into `out_bits`
//! ```
//!
//! with one `rounding` for every step (a named rule, or `tflite`: TFLite's two steps on
//! `int32`, where `left_shift` is its 20).

use super::{keys, take, Built, EvalCtx, Kind, Registered, Site};
use crate::network::arith::{
    output_range, requant, scaling_fits, OneOrMany, OutputKeys, RequantKeys, OUTPUT_KEYS,
};
use crate::network::{group, IntType, Layer, Overflow, Range, Requant, Scheme};
use anyhow::{bail, Result};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    /// Per input: its zero point and rescaling.
    pub rescale: Vec<(i64, Requant)>,
    pub left_shift: u32,
    /// The sum's requantization (its zero point the output's).
    pub requant: Requant,
    pub out: IntType,
    pub overflow: Option<Overflow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    rescale: Option<Vec<Rescale>>,
    left_shift: Option<u32>,
}

const OWN_KEYS: [&str; 2] = ["rescale", "left_shift"];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rescale {
    zero_point: Option<i64>,
    multiplier: Option<i64>,
    shift: Option<u32>,
}

pub(crate) const REGISTERED: Registered = Registered {
    name: "add",
    keys: &[&OWN_KEYS, &OUTPUT_KEYS],
    parameters: false,
    many_inputs: true,
    build,
};

/// The inputs' shape; the bounds of every step.
fn build(site: &Site, mut table: toml::Table) -> Result<Built> {
    let wh = site.wh;
    let o: OutputKeys = keys(site, take(&mut table, &OUTPUT_KEYS))?;
    let k: Keys = keys(site, table)?;
    let names = site.names.unwrap_or_default();
    let name = |i: usize| names.get(i).map_or(format!("input {i}"), |n| format!("{n:?}"));
    let (shape, _) = site.inputs[0];
    for (i, (s, _)) in site.inputs.iter().enumerate().skip(1) {
        if *s != shape {
            bail!(
                "{wh}: an add of layers with different shapes: {} is {shape}, {} is {s}",
                name(0),
                name(i)
            );
        }
    }
    let rescales = match k.rescale {
        None => (0..site.inputs.len()).map(|_| Rescale::default()).collect(),
        Some(r) if r.len() != site.inputs.len() => bail!(
            "{wh}: rescale lists {} entries; give one per input ({})",
            r.len(),
            site.inputs.len()
        ),
        Some(r) => r,
    };
    let left_shift = k.left_shift.unwrap_or(0);
    if left_shift > 31 {
        bail!("{wh}: left_shift = {left_shift}: 0..31");
    }
    let rounding = o.rounding.as_deref();
    let tflite = rounding == Some("tflite");
    let fits = |v: Range, bits: u32| {
        let t = IntType { bits, signed: true };
        t.holds(v.min) && t.holds(v.max)
    };
    let width = if tflite { 32 } else { 64 };
    let mut rescale = Vec::new();
    let mut sum = Range { min: 0, max: 0 };
    for (i, (r, (_, x))) in rescales.iter().zip(site.inputs).enumerate() {
        let z = r.zero_point.unwrap_or(0);
        if z.unsigned_abs() >= 1 << 62 {
            bail!("{wh}: rescale {i}: zero_point = {z}: beyond ±2^62");
        }
        let m = r.multiplier.map(OneOrMany::One);
        let s = r.shift.map(OneOrMany::One);
        let keys = RequantKeys {
            multiplier: m.as_ref(),
            shift: s.as_ref(),
            rounding: if r.multiplier.is_none() && r.shift.is_none() { None } else { rounding },
            zero_point: None,
        };
        let q = requant(&format!("{wh}: rescale of {}", name(i)), &keys, 1)?;
        let v = Range {
            min: (x.min - z as i128) << left_shift,
            max: (x.max - z as i128) << left_shift,
        };
        if !fits(v, width) {
            bail!(
                "{wh}: {} less its zero point, shifted left by {left_shift}, reaches {}..{}, \
                 beyond {width} bits",
                name(i),
                group(v.min),
                group(v.max)
            );
        }
        scaling_fits(&format!("{wh}: rescale of {}", name(i)), &q, v, 1)?;
        let r = q.range(v, 1);
        sum = Range { min: sum.min + r.min, max: sum.max + r.max };
        rescale.push((z, q));
    }
    if !fits(sum, width) {
        bail!(
            "{wh}: the rescaled inputs' sum reaches {}..{}, beyond {width} bits",
            group(sum.min),
            group(sum.max)
        );
    }
    let (requant, loaded, out, overflow) = o.build(wh, 1)?;
    if loaded.any() {
        bail!("{wh}: an add has no weights to load its requantization with: give its values");
    }
    scaling_fits(wh, &requant, sum, 1)?;
    let rounded = requant.range(sum, 1);
    let out_range = output_range(wh, out, overflow, rounded)?;
    Ok(Built {
        op: super::Op::Add(Add { rescale, left_shift, requant, out, overflow }),
        output: shape,
        bounds: crate::network::Bounds {
            product: None,
            acc: Some(sum),
            rounded: Some(rounded),
            out: out_range,
        },
    })
}

impl Add {
    /// Input `i`'s value `x` rescaled.
    #[inline]
    fn rescaled(&self, i: usize, x: i64) -> i64 {
        let (z, q) = &self.rescale[i];
        q.apply(x.wrapping_sub(*z).wrapping_shl(self.left_shift), 0)
    }
}

impl Kind for Add {
    fn name(&self) -> &'static str {
        "add"
    }

    fn bound_rows(&self, l: &Layer) -> Vec<(String, Range, String)> {
        let b = &l.bounds;
        let sum = b.acc.expect("an add has a sum bound");
        let r = b.rounded.expect("an add has a rounded bound");
        let how = match self.overflow {
            None => "",
            Some(Overflow::Saturate) => ", saturated",
            Some(Overflow::SaturateSymmetric) => ", saturated symmetrically",
            Some(Overflow::Wrap) => ", wrapped",
        };
        let scheme = match self.requant.scheme {
            Scheme::Single(r) => r.name(),
            Scheme::Tflite => "tflite",
        };
        vec![
            (
                format!("sum of {} rescaled ({scheme})", self.rescale.len()),
                sum,
                sum.needed().to_string(),
            ),
            (self.requant.label().replace("acc", "Σ"), r, r.needed().to_string()),
            ("output".into(), b.out, format!("{} / {}{how}", b.out.needed(), self.out)),
        ]
    }

    fn eval<'x>(&self, l: &Layer, _x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        unreachable!("{}: an add takes several inputs", l.name)
    }

    fn eval_many(&self, _l: &Layer, xs: &[&[i64]], cx: &EvalCtx) -> Vec<i64> {
        let n = xs[0].len();
        let mut out = Vec::with_capacity(n);
        for e in 0..n {
            let sum: i64 = xs.iter().enumerate().map(|(i, x)| self.rescaled(i, x[e])).sum();
            let y = self.requant.apply(sum, 0);
            out.push(match self.overflow {
                None => y,
                Some(ov) => {
                    let z = ov.apply(y, self.out);
                    cx.overflowed.note(y, z);
                    z
                }
            });
        }
        out
    }

    fn forward(&self, l: &Layer, _x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        unreachable!("{}: an add takes several inputs", l.name)
    }

    /// The float model's residual: the plain sum.
    fn forward_many(&self, _l: &Layer, xs: &[&[f32]]) -> Vec<f32> {
        (0..xs[0].len()).map(|e| xs.iter().map(|x| x[e]).sum()).collect()
    }
}
