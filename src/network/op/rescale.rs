//! `rescale`: every value `round(x · multiplier / divisor) + zero_point` — an input transform
//! such as an image quantized to int8 as `rint(x · 127 / 255)` (`multiplier = 127`,
//! `divisor = 255`, `rounding = "half_even"`). The float model's values are real numbers, which
//! a change of integer scale leaves as they are: its forward is the identity.

use super::{keys, need, plain, Built, EvalCtx, Kind, Registered, Site};
use crate::network::{group, Layer, Range, Rounding};
use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescale {
    pub multiplier: i64,
    pub divisor: i64,
    pub rounding: Rounding,
    pub zero_point: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    multiplier: Option<i64>,
    divisor: Option<i64>,
    rounding: Option<String>,
    zero_point: Option<i64>,
}

pub(crate) const REGISTERED: Registered = Registered {
    name: "rescale",
    keys: &[&["multiplier", "divisor", "rounding", "zero_point"]],
    parameters: false,
    many_inputs: false,
    build,
};

/// The same shape; the range's ends rescaled (the map is monotone).
fn build(site: &Site, table: toml::Table) -> Result<Built> {
    let wh = site.wh;
    let k: Keys = keys(site, table)?;
    let multiplier = need(site, k.multiplier, "multiplier")?;
    let divisor = k.divisor.unwrap_or(1);
    if multiplier < 1 || divisor < 1 {
        bail!("{wh}: multiplier = {multiplier}, divisor = {divisor}: both at least 1");
    }
    let rounding = match k.rounding.as_deref() {
        None if divisor == 1 => Rounding::Floor,
        None => bail!("{wh}: missing key `rounding` (divisor = {divisor} divides)"),
        Some(name) => Rounding::from_name(name).ok_or_else(|| {
            anyhow!(
                "{wh}: rounding = {name:?} is not a rounding rule; the known ones: {}",
                Rounding::names()
            )
        })?,
    };
    let zero_point = k.zero_point.unwrap_or(0);
    let x = site.range;
    let fits = |v: i128| (i64::MIN as i128 / 2..=i64::MAX as i128 / 2).contains(&v);
    let (lo, hi) = (x.min * multiplier as i128, x.max * multiplier as i128);
    if !fits(lo) || !fits(hi) || !fits(zero_point as i128) {
        bail!("{wh}: x · multiplier reaches {}..{}, beyond 63 bits", group(lo), group(hi));
    }
    let op = Rescale { multiplier, divisor, rounding, zero_point };
    let out = Range { min: op.apply(x.min as i64) as i128, max: op.apply(x.max as i64) as i128 };
    Ok(Built { op: super::Op::Rescale(op), output: site.input, bounds: plain(out) })
}

impl Rescale {
    #[inline]
    fn apply(&self, x: i64) -> i64 {
        self.rounding
            .div(x.saturating_mul(self.multiplier), self.divisor)
            .saturating_add(self.zero_point)
    }
}

impl Kind for Rescale {
    fn name(&self) -> &'static str {
        "rescale"
    }

    fn eval<'x>(&self, _l: &Layer, x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        Cow::Owned(x.iter().map(|&v| self.apply(v)).collect())
    }

    fn forward(&self, _l: &Layer, x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        x
    }
}
