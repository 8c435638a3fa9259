//! `linear`: a fully connected layer with the conv2d/linear arithmetic ([`Arith`]). Weights
//! `[out][in]`, bias `[out]`.

use super::{keys, need, take, Built, EvalCtx, Kind, Registered, Site, Tensors};
use crate::network::arith;
use crate::network::kernel::{self, Prepared};
use crate::network::{Arith, Layer, Range, Shape};
use anyhow::{bail, Result};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linear {
    pub inputs: usize,
    pub outputs: usize,
    pub arith: Arith,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    #[serde(rename = "in")]
    inputs: Option<usize>,
    #[serde(rename = "out")]
    outputs: Option<usize>,
}

const OWN_KEYS: [&str; 2] = ["in", "out"];

pub(crate) const REGISTERED: Registered = Registered {
    name: "linear",
    keys: &[&OWN_KEYS, &arith::KEYS, &arith::OUTPUT_KEYS],
    parameters: true,
    many_inputs: false,
    build,
};

/// A vector of `out`.
fn build(site: &Site, mut table: toml::Table) -> Result<Built> {
    let wh = site.wh;
    let k: Keys = keys(site, take(&mut table, &OWN_KEYS))?;
    let inputs = need(site, k.inputs, "in")?;
    let outputs = need(site, k.outputs, "out")?;
    let input = site.input;
    let Shape::Vector(n) = input else {
        bail!("{wh}: its input is {input}; a linear layer needs a vector (add a flatten)");
    };
    if n != inputs {
        bail!("{wh}: in = {inputs}, but the layer before it gives {n} values");
    }
    if outputs == 0 {
        bail!("{wh}: out must be at least 1");
    }
    let n = inputs as i128;
    let (arith, bounds) = arith::arithmetic(site, &mut table, false, (n, n), outputs)?;
    Ok(Built {
        op: super::Op::Linear(Linear { inputs, outputs, arith }),
        output: Shape::Vector(outputs),
        bounds,
    })
}

impl Kind for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn arith(&self) -> Option<&Arith> {
        Some(&self.arith)
    }

    fn bound_rows(&self, l: &Layer) -> Vec<(String, Range, String)> {
        self.arith.bound_rows(&l.bounds)
    }

    fn weight_pairs(&self, _input: Shape) -> Option<(usize, usize, usize)> {
        Some((self.outputs, self.inputs, 1))
    }

    fn prepare<'a>(&self, l: &Layer, x: Range, t: Tensors<'a, '_>) -> Option<Prepared<'a>> {
        let product = l.bounds.product?;
        let requant = self.arith.requant_with(t.multiplier, t.shift);
        let a = &self.arith;
        Some(Prepared::new(a, (product, self.inputs), None, x, (t.weight.into(), t.bias), requant))
    }

    fn eval<'x>(&self, _l: &Layer, x: &'x [i64], cx: &EvalCtx) -> Cow<'x, [i64]> {
        let p = cx.prepared.expect("a linear layer has parameters");
        let xz = kernel::less_zero_point(x, &self.arith);
        debug_assert_eq!(xz.len(), self.inputs);
        Cow::Owned(kernel::linear(p, &xz, self.inputs, cx.trusted, &self.arith, cx.overflowed))
    }

    fn forward(
        &self,
        _l: &Layer,
        x: Vec<f32>,
        weight: Option<&[f32]>,
        bias: Option<&[f32]>,
    ) -> Vec<f32> {
        let wt = weight.expect("a linear layer has weights");
        let mut y = linear(wt, &x, self.inputs, self.outputs);
        if let Some(b) = bias {
            for (y, b) in y.iter_mut().zip(b) {
                *y += b;
            }
        }
        y
    }
}

/// `y[o] = Σ_k wt[o][k] · x[k]`, each sum from −0.0 in k order (what `Iterator::sum` does),
/// eight outputs at a time so their additions overlap instead of waiting on one another.
fn linear(wt: &[f32], x: &[f32], inputs: usize, outputs: usize) -> Vec<f32> {
    const LANES: usize = 8;
    let x = &x[..inputs];
    let mut y = vec![-0.0f32; outputs];
    for (o0, out) in (0..outputs).step_by(LANES).zip(y.chunks_mut(LANES)) {
        // Lanes past the last output repeat the chunk's first row; their sums are dropped.
        let rows: [&[f32]; LANES] = std::array::from_fn(|l| {
            let o = if l < out.len() { o0 + l } else { o0 };
            &wt[o * inputs..][..inputs]
        });
        let mut acc = [-0.0f32; LANES];
        for (k, &xk) in x.iter().enumerate() {
            for (a, row) in acc.iter_mut().zip(&rows) {
                *a += row[k] * xk;
            }
        }
        out.copy_from_slice(&acc[..out.len()]);
    }
    y
}
