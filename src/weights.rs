//! A network's integer weights: one weight and one bias tensor per conv2d/linear layer,
//! loaded from and saved to the `.mem` files its description names ([`crate::network::Files`]),
//! and quantized from float weights.
//!
//! Tensors are kept in PyTorch's order: conv2d weights `[out][in][kh][kw]`, linear weights
//! `[out][in]`, biases `[out]`. A file pattern with `{o}`/`{o+1}` holds one output's slice,
//! with `{i}`/`{i+1}` one input channel's, with both one (output, input) pair's (a conv
//! kernel's `[kh][kw]`, a linear layer's one value).

use crate::float_model::FloatWeights;
use crate::memfile::{self, Rounding};
use crate::network::{Arith, Layer, Network, Param};
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

/// A parametrized layer: its index, the layer, its weight tensor's (outputs, inputs, values
/// per pair) and its arithmetic.
struct Parametrized<'a> {
    index: usize,
    layer: &'a Layer,
    outs: usize,
    ins: usize,
    inner: usize,
    arith: &'a Arith,
}

impl Parametrized<'_> {
    /// Weights per output.
    fn per(&self) -> usize {
        self.ins * self.inner
    }
}

/// The parametrized layers, in order.
fn parametrized(net: &Network) -> impl Iterator<Item = Parametrized<'_>> {
    net.layers.iter().enumerate().filter_map(move |(index, layer)| {
        let (outs, ins, inner) = layer.weight_pairs()?;
        Some(Parametrized { index, layer, outs, ins, inner, arith: layer.op.arith()? })
    })
}

/// Every file of one tensor: (file name, ranges of the tensor it holds, in its order).
type FileRanges = Vec<(String, Vec<std::ops::Range<usize>>)>;

/// The files of layer `p`'s weights (`bias` false) or bias.
fn files_of(p: &Parametrized, bias: bool) -> FileRanges {
    match (bias, &p.arith.bias) {
        (false, _) => p.arith.weight.files.layout(p.outs, p.ins, p.inner),
        (true, Some(b)) => b.files.layout(p.outs, 1, 1),
        (true, None) => Vec::new(),
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
                let (outs, ins, inner) = l.weight_pairs()?;
                let a = l.op.arith()?;
                let weight = (0..outs * ins * inner).map(|n| f(i, Which::Weight, n)).collect();
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
        for p in parametrized(net) {
            let a = p.arith;
            let mut lp = LayerParams { weight: vec![0; p.outs * p.per()], bias: Vec::new() };
            let read = |dst: &mut [i64], files: FileRanges, ty, what: &str| -> Result<()> {
                for (name, ranges) in files {
                    let n = ranges.iter().map(|r| r.len()).sum();
                    let v = memfile::read_values(&dir.join(&name), n, ty)
                        .with_context(|| format!("layer {:?} {what}", p.layer.name))?;
                    let mut at = 0;
                    for r in ranges {
                        let len = r.len();
                        dst[r].copy_from_slice(&v[at..at + len]);
                        at += len;
                    }
                }
                Ok(())
            };
            read(&mut lp.weight, files_of(&p, false), a.weight.ty, "weights")?;
            if let Some(b) = &a.bias {
                lp.bias = vec![0; p.outs];
                read(&mut lp.bias, files_of(&p, true), b.ty, "bias")?;
            }
            out.layers[p.index] = Some(lp);
        }
        Ok(out)
    }

    /// Writes every file into `dir` (created if missing), each through a temporary file.
    pub fn save(&self, net: &Network, dir: &Path) -> Result<Vec<String>> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create weight directory", dir.display()))?;
        let mut written = Vec::new();
        for p in parametrized(net) {
            let Some(lp) = &self.layers[p.index] else { continue };
            let mut tensors = vec![(&p.arith.weight, &lp.weight, files_of(&p, false))];
            if let Some(b) = &p.arith.bias {
                tensors.push((b, &lp.bias, files_of(&p, true)));
            }
            for (param, values, files) in tensors {
                for (name, ranges) in files {
                    let slice: Vec<i64> =
                        ranges.into_iter().flat_map(|r| values[r].iter().copied()).collect();
                    let text = memfile::format_values(&slice, param.ty, param.files.per_line);
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
        for p in parametrized(net) {
            let (l, a) = (p.layer, p.arith);
            let mut q = |param: &Param, suffix: &str, files: FileRanges| -> Result<Vec<i64>> {
                let name = format!("{}.{suffix}", l.param);
                let len: usize = files.iter().flat_map(|(_, r)| r).map(|r| r.len()).sum();
                let src = fw.tensor(&name).with_context(|| {
                    format!("layer {:?}: the float weights have no tensor {name:?}", l.name)
                })?;
                if src.len() != len {
                    bail!(
                        "layer {:?}: float tensor {name:?} holds {} values, the layer needs {len}",
                        l.name,
                        src.len(),
                    );
                }
                Ok(src
                    .iter()
                    .enumerate()
                    .map(|(n, &w)| {
                        let (v, over) =
                            memfile::quantize_to(w, param.frac_bits, param.ty, rounding);
                        if let Some(value) = over {
                            // The file holding element n, and n's position in it.
                            let (file, index) = files
                                .iter()
                                .find_map(|(f, ranges)| {
                                    let mut at = 0;
                                    for r in ranges {
                                        if r.contains(&n) {
                                            return Some((f.clone(), at + n - r.start));
                                        }
                                        at += r.len();
                                    }
                                    None
                                })
                                .expect("the files cover the tensor");
                            sat.push(Saturation { file, index, value });
                        }
                        v
                    })
                    .collect())
            };
            let weight = q(&a.weight, "weight", files_of(&p, false))?;
            let bias = match &a.bias {
                Some(b) => q(b, "bias", files_of(&p, true))?,
                None => Vec::new(),
            };
            out.layers[p.index] = Some(LayerParams { weight, bias });
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
