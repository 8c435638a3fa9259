//! A network's integer weights: one weight and one bias tensor per conv2d/linear layer,
//! loaded from and saved to the `.mem` files its description names ([`crate::network::Files`]),
//! and quantized from float weights.
//!
//! Tensors are kept in PyTorch's order: conv2d weights `[out][in][kh][kw]`, linear weights
//! `[out][in]`, biases `[out]`. A file pattern with `{o}`/`{o+1}` holds one output's slice.

use crate::float_model::FloatWeights;
use crate::memfile::{self, Rounding};
use crate::network::{Arith, Layer, Network, Op, Param};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// One parametrized layer's values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayerParams {
    pub weight: Vec<i64>,
    /// Empty when the layer has no bias.
    pub bias: Vec<i64>,
}

/// Every layer's parameters, indexed like [`Network::layers`] (`None` for layers without).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub layers: Vec<Option<LayerParams>>,
}

/// Which tensor of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Weight,
    Bias,
}

/// A value that did not fit its declared width and was clamped (`export`).
#[derive(Debug, Clone, PartialEq)]
pub struct Saturation {
    pub file: String,
    pub index: usize,
    /// The integer before clamping.
    pub value: i64,
}

/// (outputs, weights per output) of a parametrized layer.
pub fn weight_dims(op: &Op, input_channels: usize) -> Option<(usize, usize)> {
    match op {
        Op::Conv2d { out_channels, kh, kw, .. } => Some((*out_channels, input_channels * kh * kw)),
        Op::Linear { inputs, outputs, .. } => Some((*outputs, *inputs)),
        _ => None,
    }
}

fn input_channels(net: &Network, layer: usize) -> usize {
    match net.layers[layer].input {
        crate::network::Shape::Map { c, .. } => c,
        crate::network::Shape::Vector(_) => 1,
    }
}

/// The parametrized layers: (index, layer, outputs, weights per output, arithmetic).
fn parametrized(net: &Network) -> impl Iterator<Item = (usize, &Layer, usize, usize, &Arith)> {
    net.layers.iter().enumerate().filter_map(move |(i, l)| {
        let (outs, per) = weight_dims(&l.op, input_channels(net, i))?;
        Some((i, l, outs, per, l.op.arith()?))
    })
}

/// Every file of one tensor: (file name, range of the tensor it holds).
fn files_of(p: &Param, outputs: usize, per_output: usize) -> Vec<(String, std::ops::Range<usize>)> {
    if p.files.per_output() {
        (0..outputs).map(|o| (p.files.name(o), o * per_output..(o + 1) * per_output)).collect()
    } else {
        vec![(p.files.name(0), 0..outputs * per_output)]
    }
}

impl Params {
    /// Fills every tensor with `f(layer, which, index)`, in layer order, weights then bias.
    pub fn generate(net: &Network, mut f: impl FnMut(usize, Which, usize) -> i64) -> Params {
        let layers = net
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let (outs, per) = weight_dims(&l.op, input_channels(net, i))?;
                let a = l.op.arith()?;
                let weight = (0..outs * per).map(|n| f(i, Which::Weight, n)).collect();
                let bias = match a.bias {
                    Some(_) => (0..outs).map(|n| f(i, Which::Bias, n)).collect(),
                    None => Vec::new(),
                };
                Some(LayerParams { weight, bias })
            })
            .collect();
        Params { layers }
    }

    /// Every value of every tensor set to `v`, clamped to each tensor's declared range.
    pub fn filled(net: &Network, v: i64) -> Params {
        Params::generate(net, |i, which, _| {
            let ty = param(net, i, which).ty;
            v.clamp(ty.min() as i64, ty.max() as i64)
        })
    }

    /// Loads every file the description names from `dir`; each must hold exactly its
    /// tensor's values, each within its declared width.
    pub fn load(net: &Network, dir: &Path) -> Result<Params> {
        if !dir.is_dir() {
            bail!("{}: weight directory not found", dir.display());
        }
        let mut out = Params { layers: vec![None; net.layers.len()] };
        for (i, l, outs, per, a) in parametrized(net) {
            let mut lp = LayerParams { weight: vec![0; outs * per], bias: Vec::new() };
            for (name, range) in files_of(&a.weight, outs, per) {
                let v = memfile::read_values(&dir.join(&name), range.len(), a.weight.ty)
                    .with_context(|| format!("layer {:?} weights", l.name))?;
                lp.weight[range].copy_from_slice(&v);
            }
            if let Some(b) = &a.bias {
                lp.bias = vec![0; outs];
                for (name, range) in files_of(b, outs, 1) {
                    let v = memfile::read_values(&dir.join(&name), range.len(), b.ty)
                        .with_context(|| format!("layer {:?} bias", l.name))?;
                    lp.bias[range].copy_from_slice(&v);
                }
            }
            out.layers[i] = Some(lp);
        }
        Ok(out)
    }

    /// Writes every file into `dir` (created if missing), each through a temporary file.
    pub fn save(&self, net: &Network, dir: &Path) -> Result<Vec<String>> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create weight directory", dir.display()))?;
        let mut written = Vec::new();
        for (i, _, outs, per, a) in parametrized(net) {
            let Some(lp) = &self.layers[i] else { continue };
            let mut tensors = vec![(&a.weight, &lp.weight, per)];
            if let Some(b) = &a.bias {
                tensors.push((b, &lp.bias, 1));
            }
            for (p, values, per) in tensors {
                for (name, range) in files_of(p, outs, per) {
                    let text = memfile::format_values(&values[range], p.ty, p.files.per_line);
                    memfile::write_atomic(&dir.join(&name), &text)?;
                    written.push(name);
                }
            }
        }
        Ok(written)
    }

    /// Quantizes float weights (`q = round(w · 2^frac_bits)`, clamped to the declared
    /// width), returning every clamped value.
    pub fn quantize(
        net: &Network,
        fw: &FloatWeights,
        rounding: Rounding,
    ) -> Result<(Params, Vec<Saturation>)> {
        let mut sat = Vec::new();
        let mut out = Params { layers: vec![None; net.layers.len()] };
        for (i, l, outs, per, a) in parametrized(net) {
            let mut q = |p: &Param, suffix: &str, per: usize| -> Result<Vec<i64>> {
                let name = format!("{}.{suffix}", l.param);
                let src = fw.tensor(&name).with_context(|| {
                    format!("layer {:?}: the float weights have no tensor {name:?}", l.name)
                })?;
                if src.len() != outs * per {
                    bail!(
                        "layer {:?}: float tensor {name:?} holds {} values, the layer needs {}",
                        l.name,
                        src.len(),
                        outs * per
                    );
                }
                let files = files_of(p, outs, per);
                Ok(src
                    .iter()
                    .enumerate()
                    .map(|(n, &w)| {
                        let (v, over) = memfile::quantize_to(w, p.frac_bits, p.ty, rounding);
                        if let Some(value) = over {
                            let (file, r) =
                                files.iter().find(|(_, r)| r.contains(&n)).expect("covers all");
                            sat.push(Saturation { file: file.clone(), index: n - r.start, value });
                        }
                        v
                    })
                    .collect())
            };
            let weight = q(&a.weight, "weight", per)?;
            let bias = match &a.bias {
                Some(b) => q(b, "bias", 1)?,
                None => Vec::new(),
            };
            out.layers[i] = Some(LayerParams { weight, bias });
        }
        Ok((out, sat))
    }

    /// The parameters of layer `i` (panics for a layer without: the network says which have).
    pub fn layer(&self, i: usize) -> &LayerParams {
        self.layers[i].as_ref().expect("a parametrized layer")
    }
}

/// The declared type etc. of one tensor of layer `i`.
pub fn param(net: &Network, i: usize, which: Which) -> &Param {
    let a = net.layers[i].op.arith().expect("a parametrized layer");
    match which {
        Which::Weight => &a.weight,
        Which::Bias => a.bias.as_ref().expect("a layer with a bias"),
    }
}
