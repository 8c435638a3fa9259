//! `clamp`: `min(max(x, min), max)` — ReLU6, TFLite's fused activation range, or any rail
//! written as its own layer. The integer rails do not say the float model's, so the float
//! forward clamps to `float_min`/`float_max` when given (ReLU6: 0.0 and 6.0) and passes the
//! values through otherwise.

use super::{keys, plain, Built, EvalCtx, Kind, Registered, Site};
use crate::network::{Layer, Range};
use anyhow::{bail, Result};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub struct Clamp {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub float_min: Option<f32>,
    pub float_max: Option<f32>,
}

// The float rails are finite (checked when built).
impl Eq for Clamp {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    min: Option<i64>,
    max: Option<i64>,
    float_min: Option<f32>,
    float_max: Option<f32>,
}

pub(crate) const REGISTERED: Registered = Registered {
    name: "clamp",
    keys: &[&["min", "max", "float_min", "float_max"]],
    parameters: false,
    many_inputs: false,
    build,
};

/// The same shape; the range clamped to the rails.
fn build(site: &Site, table: toml::Table) -> Result<Built> {
    let wh = site.wh;
    let k: Keys = keys(site, table)?;
    if k.min.is_none() && k.max.is_none() {
        bail!("{wh}: give `min`, `max` or both");
    }
    if let (Some(lo), Some(hi)) = (k.min, k.max) {
        if lo > hi {
            bail!("{wh}: min = {lo} is above max = {hi}");
        }
    }
    for (key, v) in [("float_min", k.float_min), ("float_max", k.float_max)] {
        if v.is_some_and(|v| !v.is_finite()) {
            bail!("{wh}: {key} must be a finite number");
        }
    }
    let x = site.range;
    let lo = k.min.map_or(i128::MIN, |v| v as i128);
    let hi = k.max.map_or(i128::MAX, |v| v as i128);
    let out = Range { min: x.min.clamp(lo, hi), max: x.max.clamp(lo, hi) };
    Ok(Built {
        op: super::Op::Clamp(Clamp {
            min: k.min,
            max: k.max,
            float_min: k.float_min,
            float_max: k.float_max,
        }),
        output: site.input,
        bounds: plain(out),
    })
}

impl Kind for Clamp {
    fn name(&self) -> &'static str {
        "clamp"
    }

    fn eval<'x>(&self, _l: &Layer, x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        let (lo, hi) = (self.min.unwrap_or(i64::MIN), self.max.unwrap_or(i64::MAX));
        Cow::Owned(x.iter().map(|&v| v.clamp(lo, hi)).collect())
    }

    fn forward(&self, _l: &Layer, x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        let lo = self.float_min.unwrap_or(f32::NEG_INFINITY);
        let hi = self.float_max.unwrap_or(f32::INFINITY);
        x.iter().map(|&v| v.max(lo).min(hi)).collect()
    }
}
