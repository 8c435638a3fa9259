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
use crate::network::{Arith, Layer, Loaded, Network, Param, Tensors};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// One parametrized layer's values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayerParams {
    pub weight: Vec<i64>,
    /// Empty when the layer has no bias.
    pub bias: Vec<i64>,
    /// Per output channel, when the description loads the multiplier with the weights
    /// ([`crate::network::LoadedRequant`]); empty otherwise.
    pub multiplier: Vec<i64>,
    /// Per output channel, when loaded; empty otherwise.
    pub shift: Vec<i64>,
}

impl LayerParams {
    /// The tensors as the reference takes them.
    pub fn tensors(&self) -> Tensors<'_, '_> {
        Tensors {
            weight: &self.weight,
            bias: &self.bias,
            multiplier: &self.multiplier,
            shift: &self.shift,
        }
    }
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
    /// A loaded per-channel requantization multiplier.
    Multiplier,
    /// A loaded per-channel requantization shift.
    Shift,
}

/// The range of values tensor `which` of layer `i` may hold (its declared width, or a loaded
/// value's declared range).
pub fn range(net: &Network, i: usize, which: Which) -> (i64, i64) {
    match which {
        Which::Weight | Which::Bias => {
            let ty = param(net, i, which).ty;
            (ty.min() as i64, ty.max() as i64)
        }
        Which::Multiplier | Which::Shift => {
            let l = loaded(net, i, which).expect("a loaded requantization value");
            (l.min, l.max)
        }
    }
}

/// The declaration of a loaded requantization value of layer `i`, if it is loaded.
pub fn loaded(net: &Network, i: usize, which: Which) -> Option<&Loaded> {
    let a = net.layers[i].op.arith()?;
    match which {
        Which::Multiplier => a.loaded.multiplier.as_ref(),
        Which::Shift => a.loaded.shift.as_ref(),
        _ => None,
    }
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
pub(crate) type FileRanges = Vec<(String, Vec<std::ops::Range<usize>>)>;

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
                let mut per_channel = |which, loaded: &Option<Loaded>| match loaded {
                    Some(_) => (0..outs).map(|n| f(i, which, n)).collect(),
                    None => Vec::new(),
                };
                let multiplier = per_channel(Which::Multiplier, &a.loaded.multiplier);
                let shift = per_channel(Which::Shift, &a.loaded.shift);
                Some(LayerParams { weight, bias, multiplier, shift })
            })
            .collect();
        Params { layers }
    }

    /// Every value of every tensor set to `v`, clamped to each tensor's declared range.
    pub fn filled(net: &Network, v: i64) -> Params {
        Params::generate(net, |i, which, _| {
            let (min, max) = range(net, i, which);
            v.clamp(min, max)
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
            let mut lp = LayerParams { weight: vec![0; p.outs * p.per()], ..Default::default() };
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
            for (dst, loaded, key) in [
                (&mut lp.multiplier, &a.loaded.multiplier, "multiplier"),
                (&mut lp.shift, &a.loaded.shift, "shift"),
            ] {
                let Some(l) = loaded else { continue };
                *dst = vec![0; p.outs];
                read(dst, l.files.layout(p.outs, 1, 1), l.ty, key)?;
                if let Some(n) = dst.iter().position(|v| !(l.min..=l.max).contains(v)) {
                    let (name, index) = locate(&l.files.layout(p.outs, 1, 1), n);
                    bail!(
                        "{}: value {index} is {}, outside the {key} range {}..{} that layer \
                         {:?} declares",
                        dir.join(name).display(),
                        dst[n],
                        l.min,
                        l.max,
                        p.layer.name
                    );
                }
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
            let a = p.arith;
            let mut tensors =
                vec![(a.weight.ty, a.weight.files.per_line, &lp.weight, files_of(&p, false))];
            if let Some(b) = &a.bias {
                tensors.push((b.ty, b.files.per_line, &lp.bias, files_of(&p, true)));
            }
            for (l, values) in
                [(&a.loaded.multiplier, &lp.multiplier), (&a.loaded.shift, &lp.shift)]
            {
                if let Some(l) = l {
                    tensors.push((l.ty, 1, values, l.files.layout(p.outs, 1, 1)));
                }
            }
            for (ty, per_line, values, files) in tensors {
                for (name, ranges) in files {
                    let slice: Vec<i64> =
                        ranges.into_iter().flat_map(|r| values[r].iter().copied()).collect();
                    let text = memfile::format_values(&slice, ty, per_line);
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
            if a.loaded.any() {
                bail!(
                    "layer {:?} loads its requantization with the weights: its values come \
                     from calibration (`train --net {}`), not from float weights alone",
                    l.name,
                    net.name
                );
            }
            let mut q = |param: &Param, suffix: &str, files: FileRanges| -> Result<Vec<i64>> {
                let name = format!("{}.{suffix}", l.param);
                let Some(frac_bits) = param.frac_bits else {
                    bail!(
                        "layer {:?}: {suffix} has no frac_bits, so no fixed scale to quantize \
                         float weights with",
                        l.name
                    );
                };
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
                        let (v, over) = memfile::quantize_to(w, frac_bits, param.ty, rounding);
                        if let Some(value) = over {
                            let (file, index) = locate(&files, n);
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
            out.layers[p.index] = Some(LayerParams { weight, bias, ..Default::default() });
        }
        Ok((out, sat))
    }

    /// The parameters of layer `i` (panics for a layer without: the network says which have).
    pub fn layer(&self, i: usize) -> &LayerParams {
        self.layers[i].as_ref().expect("a parametrized layer")
    }
}

/// The file holding element `n` of a tensor stored in `files`, and `n`'s position in it.
pub(crate) fn locate(files: &FileRanges, n: usize) -> (String, usize) {
    files
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
        .expect("the files cover the tensor")
}

/// The declared type etc. of one tensor of layer `i`.
pub fn param(net: &Network, i: usize, which: Which) -> &Param {
    let a = net.layers[i].op.arith().expect("a parametrized layer");
    match which {
        Which::Weight => &a.weight,
        Which::Bias => a.bias.as_ref().expect("a layer with a bias"),
        Which::Multiplier | Which::Shift => panic!("a loaded requantization value has no Param"),
    }
}

/// Default weights when a network description names none.
pub const DEFAULT_WEIGHTS: &str = "vectors/weights";

/// A network's weight directory: `weights` when given (`--weights`), else the one its
/// description names, else [`DEFAULT_WEIGHTS`].
pub fn dir(net: &Network, weights: Option<&Path>) -> PathBuf {
    match weights {
        Some(w) => w.to_path_buf(),
        None => net.weights.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_WEIGHTS)),
    }
}
