//! `pad`: a map padded to a larger size with a constant (zero unless given), centred: an input
//! transform such as LeNet-5's MNIST padded from 28×28 to 32×32.

use super::{keys, need, plain, Built, EvalCtx, Kind, Registered, Site};
use crate::network::{Layer, Range, Shape};
use anyhow::{bail, Result};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pad {
    /// Rows above, columns to the left (the rest goes below and to the right).
    pub top: usize,
    pub left: usize,
    pub value: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    to: Option<[usize; 2]>,
    value: Option<i64>,
}

pub(crate) const REGISTERED: Registered = Registered {
    name: "pad",
    keys: &[&["to", "value"]],
    parameters: false,
    many_inputs: false,
    build,
};

/// `c × to[0] × to[1]`; the range gains the padding value.
fn build(site: &Site, table: toml::Table) -> Result<Built> {
    let wh = site.wh;
    let k: Keys = keys(site, table)?;
    let Shape::Map { c, h, w } = site.input else {
        bail!("{wh}: its input is a vector; pad needs channels × rows × columns");
    };
    let [th, tw] = need(site, k.to, "to")?;
    if th < h || tw < w {
        bail!("{wh}: to = [{th}, {tw}] is smaller than its {} input", site.input);
    }
    let value = k.value.unwrap_or(0);
    let x = site.range;
    let v = value as i128;
    Ok(Built {
        op: super::Op::Pad(Pad { top: (th - h) / 2, left: (tw - w) / 2, value }),
        output: Shape::Map { c, h: th, w: tw },
        bounds: plain(Range { min: x.min.min(v), max: x.max.max(v) }),
    })
}

impl Pad {
    fn run<T: Copy>(&self, l: &Layer, x: &[T], value: T) -> Vec<T> {
        let (Shape::Map { c, h, w }, Shape::Map { h: oh, w: ow, .. }) = (l.input, l.output) else {
            unreachable!("validated: a pad maps a map to a map")
        };
        let mut out = vec![value; c * oh * ow];
        for ch in 0..c {
            for r in 0..h {
                let dst = &mut out[(ch * oh + r + self.top) * ow + self.left..][..w];
                dst.copy_from_slice(&x[(ch * h + r) * w..][..w]);
            }
        }
        out
    }
}

impl Kind for Pad {
    fn name(&self) -> &'static str {
        "pad"
    }

    fn eval<'x>(&self, l: &Layer, x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        Cow::Owned(self.run(l, x, self.value))
    }

    /// The float model pads with zero: a padded pixel is black.
    fn forward(&self, l: &Layer, x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        self.run(l, &x, 0.0)
    }
}
