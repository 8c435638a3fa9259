//! `relu`: `max(0, x)`.

use super::{keys, plain, Built, EvalCtx, Kind, Registered, Site};
use crate::network::{Layer, Range};
use anyhow::Result;
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relu;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {}

pub(crate) const REGISTERED: Registered =
    Registered { name: "relu", keys: &[], parameters: false, many_inputs: false, build };

/// The same shape; the range's negative part becomes 0.
fn build(site: &Site, table: toml::Table) -> Result<Built> {
    let Keys {} = keys(site, table)?;
    let x = site.range;
    Ok(Built {
        op: super::Op::Relu(Relu),
        output: site.input,
        bounds: plain(Range { min: x.min.max(0), max: x.max.max(0) }),
    })
}

impl Kind for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }

    fn eval<'x>(&self, _l: &Layer, x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        Cow::Owned(x.iter().map(|&v| v.max(0)).collect())
    }

    fn forward(&self, _l: &Layer, x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        x.iter().map(|&v| v.max(0.0)).collect()
    }
}
