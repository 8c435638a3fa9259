//! `global_avgpool`: each channel's rounded average over its whole plane, a `c × 1 × 1` map
//! (PyTorch's `AdaptiveAvgPool2d(1)`); divided exactly by `h·w` (or a declared `divisor`), or by
//! a fixed-point reciprocal as hardware does it ([`Divide`]).

use super::avgpool::{window_bounds, window_rows, Divide, DivideKeys, DIVIDE_KEYS};
use super::{keys, Built, EvalCtx, Kind, Registered, Site};
use crate::network::{Layer, Range, Shape};
use anyhow::{bail, Result};
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalAvgPool {
    pub divide: Divide,
}

pub(crate) const REGISTERED: Registered = Registered {
    name: "global_avgpool",
    keys: &[&DIVIDE_KEYS],
    parameters: false,
    many_inputs: false,
    build,
};

fn build(site: &Site, table: toml::Table) -> Result<Built> {
    let d: DivideKeys = keys(site, table)?;
    let Shape::Map { c, h, w } = site.input else {
        bail!("{}: its input is a vector; global_avgpool needs channels × rows × columns", site.wh);
    };
    let divide = d.divide(site, h * w)?;
    Ok(Built {
        op: super::Op::GlobalAvgPool(GlobalAvgPool { divide }),
        output: Shape::Map { c, h: 1, w: 1 },
        bounds: window_bounds(divide, site.range, h * w),
    })
}

impl Kind for GlobalAvgPool {
    fn name(&self) -> &'static str {
        "global_avgpool"
    }

    fn bound_rows(&self, l: &Layer) -> Vec<(String, Range, String)> {
        window_rows(self.divide, l, l.input.len() / l.output.len())
    }

    fn eval<'x>(&self, l: &Layer, x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        let n = l.input.len() / l.output.len();
        Cow::Owned(x.chunks_exact(n).map(|p| self.divide.apply(p.iter().sum())).collect())
    }

    fn forward(&self, l: &Layer, x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        let n = l.input.len() / l.output.len();
        x.chunks_exact(n).map(|p| self.divide.float(p.iter().sum(), n)).collect()
    }
}
