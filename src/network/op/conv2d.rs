//! `conv2d`: a 2-D convolution with zero padding and the conv2d/linear arithmetic
//! ([`Arith`]). Weights `[out][in / groups][kh][kw]`, bias `[out]`. `groups` splits the
//! channels into groups convolved apart (depthwise: groups = in = out), as PyTorch's; a
//! `connections` table (out × in, 0/1) leaves some (output, input) pairs out while their
//! weights stay stored dense (LeNet-5's C3): a masked pair contributes nothing, whatever its
//! stored weights.

use super::{keys, need, take, Built, EvalCtx, Kind, Pair, Registered, Site, Tensors};
use crate::network::arith;
use crate::network::kernel::{self, ConvGeom, Prepared};
use crate::network::{Arith, Layer, Range, Shape};
use anyhow::{bail, Result};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conv2d {
    pub out_channels: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub padding: usize,
    /// Channel groups (1: every output sees every input).
    pub groups: usize,
    /// `connections[o][i]`: whether output `o` sums input channel `i` (`None`: all do).
    pub connections: Option<Vec<Vec<bool>>>,
    pub arith: Arith,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    in_channels: Option<usize>,
    out_channels: Option<usize>,
    kernel: Option<Pair>,
    stride: Option<usize>,
    padding: Option<usize>,
    groups: Option<usize>,
    connections: Option<Vec<Vec<u8>>>,
}

const OWN_KEYS: [&str; 7] =
    ["in_channels", "out_channels", "kernel", "stride", "padding", "groups", "connections"];

pub(crate) const REGISTERED: Registered = Registered {
    name: "conv2d",
    keys: &[&OWN_KEYS, &arith::KEYS, &arith::OUTPUT_KEYS],
    parameters: true,
    many_inputs: false,
    build,
};

/// `out_channels × ((h + 2p − kh)/s + 1) × ((w + 2p − kw)/s + 1)`.
fn build(site: &Site, mut table: toml::Table) -> Result<Built> {
    let wh = site.wh;
    let own = take(&mut table, &OWN_KEYS);
    let k: Keys = keys(site, own)?;
    let input = site.input;
    let Shape::Map { c, h, w } = input else {
        bail!(
            "{wh}: its input is a vector of {}, conv2d needs channels × rows × columns",
            input.len()
        );
    };
    let in_ch = need(site, k.in_channels, "in_channels")?;
    if in_ch != c {
        bail!("{wh}: in_channels = {in_ch}, but its input has {c} channels ({input})");
    }
    let out_channels = need(site, k.out_channels, "out_channels")?;
    let (kh, kw) = need(site, k.kernel, "kernel")?.dims();
    let stride = k.stride.unwrap_or(1);
    let padding = k.padding.unwrap_or(0);
    if out_channels == 0 || kh == 0 || kw == 0 || stride == 0 {
        bail!("{wh}: out_channels, kernel and stride must be at least 1");
    }
    if kh > h + 2 * padding || kw > w + 2 * padding {
        bail!("{wh}: a {kh}×{kw} kernel does not fit its {input} input with padding {padding}");
    }
    let output = Shape::Map {
        c: out_channels,
        h: (h + 2 * padding - kh) / stride + 1,
        w: (w + 2 * padding - kw) / stride + 1,
    };
    let groups = k.groups.unwrap_or(1);
    if groups == 0 || in_ch % groups != 0 || out_channels % groups != 0 {
        bail!(
            "{wh}: groups = {groups} must divide in_channels ({in_ch}) and out_channels \
             ({out_channels})"
        );
    }
    let connections = match &k.connections {
        None => None,
        Some(_) if groups > 1 => bail!("{wh}: give `groups` or `connections`, not both"),
        Some(rows) => Some(connection_table(wh, rows, out_channels, in_ch)?),
    };
    // Products per output: its connected input channels' windows.
    let per_output: Vec<usize> = (0..out_channels)
        .map(|o| match &connections {
            Some(t) => t[o].iter().filter(|&&c| c).count(),
            None => in_ch / groups,
        })
        .collect();
    let window = (kh * kw) as i128;
    let fewest = *per_output.iter().min().unwrap_or(&0) as i128 * window;
    let most = *per_output.iter().max().unwrap_or(&0) as i128 * window;
    let (arith, bounds) =
        arith::arithmetic(site, &mut table, padding > 0, (fewest, most), out_channels)?;
    let op = super::Op::Conv2d(Conv2d {
        out_channels,
        kh,
        kw,
        stride,
        padding,
        groups,
        connections,
        arith,
    });
    Ok(Built { op, output, bounds })
}

/// A connection table: `out` rows of `ins` zeros and ones.
fn connection_table(wh: &str, rows: &[Vec<u8>], out: usize, ins: usize) -> Result<Vec<Vec<bool>>> {
    if rows.len() != out {
        bail!(
            "{wh}: connections has {} rows; it needs one per output channel ({out}), each of \
             {ins} zeros and ones",
            rows.len()
        );
    }
    rows.iter()
        .enumerate()
        .map(|(o, row)| {
            if row.len() != ins {
                bail!(
                    "{wh}: connections row {o} has {} entries; it needs one per input channel \
                     ({ins})",
                    row.len()
                );
            }
            row.iter()
                .map(|&v| match v {
                    0 => Ok(false),
                    1 => Ok(true),
                    v => bail!("{wh}: connections row {o} holds {v}; only 0 and 1"),
                })
                .collect()
        })
        .collect()
}

impl Conv2d {
    /// Whether output channel `o` sums input channel `ci` (of `c`).
    pub fn connected(&self, o: usize, ci: usize, c: usize) -> bool {
        let group = |ch: usize, n: usize| ch / (n / self.groups);
        group(ci, c) == group(o, self.out_channels)
            && self.connections.as_ref().is_none_or(|t| t[o][ci])
    }

    /// Whether every output sums every input (no groups, no table).
    fn dense(&self) -> bool {
        self.groups == 1 && self.connections.is_none()
    }

    /// The stored weights `[out][c / groups][kh][kw]` as the dense `[out][c][kh][kw]` the
    /// convolution runs on, zero where a pair is not connected.
    pub fn dense_weights<T: Copy + Default>(&self, w: &[T], c: usize) -> Vec<T> {
        let k = self.kh * self.kw;
        let per = c / self.groups;
        let mut out = vec![T::default(); self.out_channels * c * k];
        for o in 0..self.out_channels {
            for ci in 0..c {
                if self.connected(o, ci, c) {
                    let src = &w[(o * per + ci % per) * k..][..k];
                    out[(o * c + ci) * k..][..k].copy_from_slice(src);
                }
            }
        }
        out
    }

    fn geometry(&self, l: &Layer) -> ConvGeom {
        let (Shape::Map { c, h, w }, Shape::Map { h: oh, w: ow, .. }) = (l.input, l.output) else {
            unreachable!("validated: a conv2d maps a map to a map")
        };
        ConvGeom {
            c,
            h,
            w,
            oc: self.out_channels,
            kh: self.kh,
            kw: self.kw,
            stride: self.stride,
            pad: self.padding,
            oh,
            ow,
        }
    }
}

impl Kind for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d"
    }

    fn arith(&self) -> Option<&Arith> {
        Some(&self.arith)
    }

    fn bound_rows(&self, l: &Layer) -> Vec<(String, Range, String)> {
        self.arith.bound_rows(&l.bounds)
    }

    fn weight_pairs(&self, input: Shape) -> Option<(usize, usize, usize)> {
        let ins = match input {
            Shape::Map { c, .. } => c,
            Shape::Vector(_) => 1,
        };
        Some((self.out_channels, ins / self.groups, self.kh * self.kw))
    }

    fn prepare<'a>(&self, l: &Layer, x: Range, t: Tensors<'a, '_>) -> Option<Prepared<'a>> {
        let (_, ins, inner) = self.weight_pairs(l.input)?;
        let product = l.bounds.product?;
        let weight = if self.dense() {
            t.weight.into()
        } else {
            self.dense_weights(t.weight, ins * self.groups).into()
        };
        let requant = self.arith.requant_with(t.multiplier, t.shift);
        let a = &self.arith;
        Some(Prepared::new(a, (product, ins * inner), Some(self.kw), x, (weight, t.bias), requant))
    }

    fn eval<'x>(&self, l: &Layer, x: &'x [i64], cx: &EvalCtx) -> Cow<'x, [i64]> {
        let p = cx.prepared.expect("a conv2d has parameters");
        let xz = kernel::less_zero_point(x, &self.arith);
        let g = self.geometry(l);
        Cow::Owned(kernel::conv2d(p, &xz, &g, cx.trusted, &self.arith, cx.overflowed))
    }

    fn forward(
        &self,
        l: &Layer,
        x: Vec<f32>,
        weight: Option<&[f32]>,
        bias: Option<&[f32]>,
    ) -> Vec<f32> {
        let stored = weight.expect("a conv2d has weights");
        let ConvGeom { c, h, w, oc, kh, kw, stride, pad: padding, oh, ow } = self.geometry(l);
        let dense;
        let wt = if self.dense() {
            stored
        } else {
            dense = self.dense_weights(stored, c);
            &dense[..]
        };
        let mut out = vec![0f32; oc * oh * ow];
        if stride == 1 && padding == 0 {
            // Sums on a oh × w grid (the input's row pitch): one long multiply-add per
            // weight, which vectorizes whatever the widths; each element still gets the bias
            // first, then the taps in (channel, row, column) order, so the sums are those of
            // the plain loop.
            let len = (oh - 1) * w + ow;
            let mut wide = vec![0f32; len];
            for o in 0..oc {
                wide.fill(bias.map_or(0.0, |b| b[o]));
                let taps = &wt[o * c * kh * kw..(o + 1) * c * kh * kw];
                conv_wide(&mut wide, &x, (c, h, w), (kh, kw), taps);
                for r in 0..oh {
                    out[(o * oh + r) * ow..][..ow].copy_from_slice(&wide[r * w..r * w + ow]);
                }
            }
            return out;
        }
        for o in 0..oc {
            let dst = &mut out[o * oh * ow..(o + 1) * oh * ow];
            dst.fill(bias.map_or(0.0, |b| b[o]));
            for ci in 0..c {
                let plane = &x[ci * h * w..(ci + 1) * h * w];
                for i in 0..kh {
                    for j in 0..kw {
                        let wij = wt[((o * c + ci) * kh + i) * kw + j];
                        for r in 0..oh {
                            let Some(y) = (r * stride + i).checked_sub(padding).filter(|&y| y < h)
                            else {
                                continue;
                            };
                            let row = &mut dst[r * ow..(r + 1) * ow];
                            for (col, d) in row.iter_mut().enumerate() {
                                if let Some(xc) =
                                    (col * stride + j).checked_sub(padding).filter(|&xc| xc < w)
                                {
                                    *d += plane[y * w + xc] * wij;
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// `wide[p] += Σ x[ci][p + i·w + j] · taps[ci][i][j]`, one tap at a time in (channel, row,
/// column) order: each element gets exactly the multiply and add of the plain loop, in the
/// same order, whatever the vector width the loop runs at (no fused multiply-add).
fn conv_wide(
    wide: &mut [f32],
    x: &[f32],
    chw: (usize, usize, usize),
    k: (usize, usize),
    taps: &[f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { conv_wide_avx2(wide, x, chw, k, taps) };
    }
    conv_wide_plain(wide, x, chw, k, taps)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn conv_wide_avx2(
    wide: &mut [f32],
    x: &[f32],
    chw: (usize, usize, usize),
    k: (usize, usize),
    taps: &[f32],
) {
    conv_wide_plain(wide, x, chw, k, taps)
}

#[inline(always)]
fn conv_wide_plain(
    wide: &mut [f32],
    x: &[f32],
    (c, h, w): (usize, usize, usize),
    (kh, kw): (usize, usize),
    taps: &[f32],
) {
    // Blocks of 32 sums stay in registers through every tap; the rest one tap at a time.
    const B: usize = 32;
    let mut offsets = Vec::with_capacity(c * kh * kw);
    for ci in 0..c {
        for i in 0..kh {
            offsets.extend((0..kw).map(|j| ci * h * w + i * w + j));
        }
    }
    let full = wide.len() / B * B;
    for (p, block) in (0..full).step_by(B).zip(wide.chunks_exact_mut(B)) {
        let mut acc: [f32; B] = block.try_into().expect("a full block");
        for (&off, &wt) in offsets.iter().zip(taps) {
            let src: &[f32; B] = x[off + p..][..B].try_into().expect("a full block");
            for (a, s) in acc.iter_mut().zip(src) {
                *a += s * wt;
            }
        }
        block.copy_from_slice(&acc);
    }
    let rest = &mut wide[full..];
    for (&off, &wt) in offsets.iter().zip(taps) {
        for (d, s) in rest.iter_mut().zip(&x[off + full..]) {
            *d += s * wt;
        }
    }
}
