//! `flatten`: a map as a vector, in channel-row-column (PyTorch's) or row-column-channel
//! order.

use super::{keys, plain, Built, EvalCtx, Kind, Registered, Site};
use crate::network::{Layer, Shape};
use anyhow::Result;
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flatten {
    pub order: FlattenOrder,
}

/// Element order of a flatten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FlattenOrder {
    /// Channel, row, column (PyTorch's `flatten`).
    #[serde(rename = "chw")]
    Chw,
    /// Row, column, channel.
    #[serde(rename = "hwc")]
    Hwc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    order: Option<FlattenOrder>,
}

pub(crate) const REGISTERED: Registered = Registered {
    name: "flatten",
    keys: &[&["order"]],
    parameters: false,
    many_inputs: false,
    build,
};

/// A vector of `c·h·w`; the values pass through.
fn build(site: &Site, table: toml::Table) -> Result<Built> {
    let k: Keys = keys(site, table)?;
    let order = k.order.unwrap_or(FlattenOrder::Chw);
    Ok(Built {
        op: super::Op::Flatten(Flatten { order }),
        output: Shape::Vector(site.input.len()),
        bounds: plain(site.range),
    })
}

impl Kind for Flatten {
    fn name(&self) -> &'static str {
        "flatten"
    }

    fn eval<'x>(&self, l: &Layer, x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        match (self.order, l.input) {
            (FlattenOrder::Hwc, Shape::Map { c, h, w }) => Cow::Owned(flatten_hwc(x, (c, h, w))),
            // Channel-row-column order is the map's own: the values stay put.
            _ => Cow::Borrowed(x),
        }
    }

    fn forward(&self, l: &Layer, x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        match (self.order, l.input) {
            (FlattenOrder::Hwc, Shape::Map { c, h, w }) => flatten_hwc(&x, (c, h, w)),
            _ => x,
        }
    }
}

/// A `c × h × w` map (channel, row, column order) flattened in row, column, channel order.
pub fn flatten_hwc<T: Copy>(x: &[T], (c, h, w): (usize, usize, usize)) -> Vec<T> {
    let mut out = Vec::with_capacity(c * h * w);
    for r in 0..h {
        for col in 0..w {
            out.extend((0..c).map(|ch| x[(ch * h + r) * w + col]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn flatten_by_hand() {
        // 2 channels × 1 × 2: chw [a0 a1 b0 b1] → hwc [a0 b0 a1 b1].
        assert_eq!(super::flatten_hwc(&[1, 2, 3, 4], (2, 1, 2)), [1, 3, 2, 4]);
    }
}
