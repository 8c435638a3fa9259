//! `argmax`: the class, the index of the largest input, ties to the lowest index. It is the
//! last layer of every description and always compared.

use super::{keys, plain, Built, EvalCtx, Kind, Registered, Site};
use crate::network::{Layer, Range, Shape};
use anyhow::{bail, Result};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argmax;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    ties: Option<String>,
}

pub(crate) const REGISTERED: Registered =
    Registered { name: "argmax", keys: &[&["ties"]], parameters: false, many_inputs: false, build };

/// One value, `0..n−1`.
fn build(site: &Site, table: toml::Table) -> Result<Built> {
    let wh = site.wh;
    let k: Keys = keys(site, table)?;
    if let Some(t) = &k.ties {
        if t != "lowest" {
            bail!("{wh}: ties = {t:?}: only \"lowest\" (the lowest index wins) is supported");
        }
    }
    let Shape::Vector(n) = site.input else {
        bail!("{wh}: its input is {}; argmax needs a vector", site.input);
    };
    if n == 0 || n > 256 {
        bail!("{wh}: argmax over {n} values (1..256 supported)");
    }
    Ok(Built {
        op: super::Op::Argmax(Argmax),
        output: Shape::Vector(1),
        bounds: plain(Range { min: 0, max: n as i128 - 1 }),
    })
}

impl Kind for Argmax {
    fn name(&self) -> &'static str {
        "argmax"
    }

    fn eval<'x>(&self, _l: &Layer, x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        Cow::Owned(vec![argmax(x) as i64])
    }

    /// The logits themselves: the float model's class is their argmax.
    fn forward(&self, _l: &Layer, x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        x
    }
}

/// argmax with ties to the lowest index.
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> u8 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate().skip(1) {
        if x > v[best] {
            best = i;
        }
    }
    best as u8
}
