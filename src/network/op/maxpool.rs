//! `maxpool`: the largest value of each square window, per channel.

use super::{keys, plain, window, Built, EvalCtx, Kind, Pair, Registered, Site};
use crate::network::{Layer, Shape};
use anyhow::Result;
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxPool {
    pub kernel: usize,
    pub stride: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    kernel: Option<Pair>,
    stride: Option<usize>,
}

pub(crate) const REGISTERED: Registered = Registered {
    name: "maxpool",
    keys: &[&["kernel", "stride"]],
    parameters: false,
    many_inputs: false,
    build,
};

/// `c × ((h − k)/s + 1) × ((w − k)/s + 1)`; the stride defaults to the kernel. Its values
/// are its input's: the bounds pass through.
fn build(site: &Site, table: toml::Table) -> Result<Built> {
    let k: Keys = keys(site, table)?;
    let (kernel, stride, output) = window(site, "maxpool", k.kernel, k.stride)?;
    Ok(Built {
        op: super::Op::MaxPool(MaxPool { kernel, stride }),
        output,
        bounds: plain(site.range),
    })
}

impl MaxPool {
    fn run<T: Copy>(&self, l: &Layer, x: &[T], max: impl Fn(T, T) -> T) -> Vec<T> {
        let (Shape::Map { c, h, w }, Shape::Map { h: oh, w: ow, .. }) = (l.input, l.output) else {
            unreachable!("validated: a maxpool maps a map to a map")
        };
        maxpool(x, (c, h, w), self.kernel, self.stride, (oh, ow), max)
    }
}

impl Kind for MaxPool {
    fn name(&self) -> &'static str {
        "maxpool"
    }

    fn eval<'x>(&self, l: &Layer, x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        Cow::Owned(self.run(l, x, i64::max))
    }

    fn forward(&self, l: &Layer, x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        self.run(l, &x, f32::max)
    }
}

/// Max-pools each of `c` planes of `h × w` with a `k × k` window and stride `s` into
/// `oh × ow` (channel, row, column order); `max` is the value type's maximum.
#[allow(clippy::too_many_arguments)]
pub fn maxpool<T: Copy>(
    x: &[T],
    (c, h, w): (usize, usize, usize),
    k: usize,
    s: usize,
    (oh, ow): (usize, usize),
    max: impl Fn(T, T) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(c * oh * ow);
    for plane in x.chunks_exact(h * w).take(c) {
        for r in 0..oh {
            if k == 2 && s == 2 {
                // The common 2×2/2 window: two rows side by side.
                let (a, b) = (&plane[2 * r * w..][..2 * ow], &plane[(2 * r + 1) * w..][..2 * ow]);
                out.extend(
                    a.chunks_exact(2)
                        .zip(b.chunks_exact(2))
                        .map(|(p, q)| max(max(p[0], p[1]), max(q[0], q[1]))),
                );
                continue;
            }
            for col in 0..ow {
                let mut m = plane[r * s * w + col * s];
                for dr in 0..k {
                    for &v in &plane[(r * s + dr) * w + col * s..][..k] {
                        m = max(m, v);
                    }
                }
                out.push(m);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_by_hand() {
        // One 4×4 plane 0..15 with a 99 in the corner: 2×2/2 and 3×3/1 windows.
        let x: Vec<i64> = (0..16).map(|v| if v == 0 { 99 } else { v }).collect();
        assert_eq!(maxpool(&x, (1, 4, 4), 2, 2, (2, 2), i64::max), [99, 7, 13, 15]);
        assert_eq!(maxpool(&x, (1, 4, 4), 3, 1, (2, 2), i64::max), [99, 11, 14, 15]);
        let f: Vec<f32> = vec![-1.0, -3.0, -2.0, -4.0];
        assert_eq!(maxpool(&f, (1, 2, 2), 2, 2, (1, 1), f32::max), [-1.0]);
    }
}
