//! The golden model: interprets a [`Network`] description in integers and returns every
//! tapped layer (`docs/network-format.md` defines each op's arithmetic).
//!
//! Values are `i64` between layers. Inside a conv2d/linear the products are taken from
//! 16-bit values and summed in `i32` when the layer's derived bounds
//! ([`crate::network::Bounds`]) prove inputs and weights fit 16 bits and every partial sum
//! fits 32, in `i32` when products and sums fit 32 bits, and in `i64` otherwise; all are
//! exact (the description was rejected if the accumulator could exceed 64 bits).

use crate::network::{Arith, FlattenOrder, IntType, Network, Op, Range, Rounding, Shape};
use crate::weights::Params;
use std::borrow::Cow;
use std::cell::Cell;
use std::ops::{AddAssign, Mul};
use wide::{i16x8, i32x4};

/// Every tapped layer of one image, in [`Network::taps`] order (the class last, as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// `taps[t]` in the layer's element order (channel, row, column for a map).
    pub taps: Vec<Vec<i64>>,
    /// The argmax's input.
    pub logits: Vec<i64>,
    pub class: u8,
    /// Per layer of the network: how many of its values the overflow rule changed
    /// (saturated or wrapped) on this image; 0 for layers without one.
    pub overflowed: Vec<u64>,
}

impl Outputs {
    /// Whether the largest logit is shared by several outputs (an argmax tie).
    pub fn tie(&self) -> bool {
        let top = self.logits[self.class as usize];
        self.logits.iter().filter(|&&v| v == top).count() > 1
    }
}

/// Index of `[channel][row][col]` in a map of side `side` (square maps).
pub fn idx(side: usize, ch: usize, r: usize, c: usize) -> usize {
    (ch * side + r) * side + c
}

/// argmax with ties to the lowest index.
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> u8 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate().skip(1) {
        if x > v[best] {
            best = i;
        }
    }
    best as u8
}

/// How a conv2d/linear layer's sums are computed; every tier is exact for inputs within the
/// layer's derived input range (checked per call, so the layer-local path, which feeds
/// the RTL's own values, falls back to `i64` when they are out of range).
enum Kernel {
    /// Inputs and weights fit `i16`, every partial sum fits `i32`: pairs of 16-bit products
    /// summed in 32 bits (`pmaddwd`). A conv2d's weights are stored with each kernel row
    /// zero-padded to a multiple of 8 ([`conv16`]).
    I16(Vec<i16>),
    /// Products and partial sums fit `i32`.
    I32(Vec<i32>),
    /// Anything else (the bounds check guarantees 64 bits suffice).
    I64,
}

/// A network with its weights, ready to run: weights narrowed once to the narrowest exact
/// kernel per layer, biases pre-shifted.
pub struct Model<'a> {
    pub net: &'a Network,
    pub params: &'a Params,
    kernels: Vec<Kernel>,
    /// Per layer: the range its input can take.
    input_range: Vec<Range>,
    /// Per layer: `b << bias_shift` per output (empty for layers without parameters).
    bias: Vec<Vec<i64>>,
}

impl<'a> Model<'a> {
    pub fn new(net: &'a Network, params: &'a Params) -> Model<'a> {
        let mut kernels = Vec::with_capacity(net.layers.len());
        let mut bias = Vec::with_capacity(net.layers.len());
        let mut input_range = Vec::with_capacity(net.layers.len());
        let mut x = Range { min: net.input_type.min(), max: net.input_type.max() };
        for (i, l) in net.layers.iter().enumerate() {
            // A conv2d/linear multiplies its inputs less their zero point.
            let z = l.op.arith().map_or(0, |a| a.in_zero_point as i128);
            let xz = Range { min: x.min - z, max: x.max - z };
            input_range.push(xz);
            match (l.op.arith(), params.layers.get(i).and_then(|p| p.as_ref())) {
                (Some(a), Some(p)) => {
                    kernels.push(kernel(l, a, xz, &p.weight));
                    bias.push(p.bias.iter().map(|&b| b << a.bias_shift).collect());
                }
                _ => {
                    kernels.push(Kernel::I64);
                    bias.push(Vec::new());
                }
            }
            x = l.bounds.out;
        }
        Model { net, params, kernels, input_range, bias }
    }

    /// Runs the network on one image (`net.input_len()` values).
    pub fn run(&self, image: &[u8]) -> Outputs {
        let mut x: Vec<i64> = image.iter().map(|&p| p as i64).collect();
        let mut taps: Vec<Vec<i64>> = Vec::new();
        let mut overflowed = vec![0u64; self.net.layers.len()];
        // Whether the current value is the last tap (moved there, not copied).
        let mut in_taps = false;
        for (i, l) in self.net.layers.iter().enumerate() {
            let input = match (in_taps, taps.last()) {
                (true, Some(t)) => t.as_slice(),
                _ => x.as_slice(),
            };
            if l.op == Op::Argmax {
                let (class, logits) = (argmax(input), input.to_vec());
                taps.push(vec![class as i64]);
                return Outputs { taps, logits, class, overflowed };
            }
            let n = Cell::new(0);
            let y = self.apply(i, input, true, &n);
            overflowed[i] = n.get();
            match (y, l.tap) {
                // An identity (flatten in channel-row-column order): the value stays put.
                (Cow::Borrowed(_), false) => {}
                (y, true) => {
                    let y = y.into_owned();
                    taps.push(y);
                    in_taps = true;
                }
                (Cow::Owned(y), false) => {
                    x = y;
                    in_taps = false;
                }
            }
        }
        unreachable!("validated: the last layer is the argmax")
    }

    /// Runs layers `from..=to` on `x`, the input of layer `from`; returns layer `to`'s
    /// output (for the argmax, the class as one value). The layer-local verdict: a layer's
    /// reference computed from the RTL's own previous tap.
    pub fn run_layers(&self, from: usize, to: usize, x: &[i64]) -> Vec<i64> {
        let mut cur = x.to_vec();
        for i in from..=to {
            cur = self.apply(i, &cur, false, &Cell::new(0)).into_owned();
        }
        cur
    }

    /// Layer `i` on its input `x`; `trusted` when `x` is the reference's own value of the
    /// layer before (then within its bounds by construction). Adds to `overflowed` the
    /// values its overflow rule changed.
    fn apply<'x>(
        &self,
        i: usize,
        x: &'x [i64],
        trusted: bool,
        overflowed: &Cell<u64>,
    ) -> Cow<'x, [i64]> {
        let l = &self.net.layers[i];
        Cow::Owned(match &l.op {
            Op::Conv2d { out_channels, kh, kw, stride, padding, arith } => {
                let xz = less_zero_point(x, arith);
                let x = &*xz;
                let Shape::Map { c, h, w } = l.input else {
                    unreachable!("validated: conv input is a map")
                };
                let Shape::Map { h: oh, w: ow, .. } = l.output else {
                    unreachable!("conv output is a map")
                };
                let g = ConvGeom {
                    c,
                    h,
                    w,
                    oc: *out_channels,
                    kh: *kh,
                    kw: *kw,
                    stride: *stride,
                    pad: *padding,
                    oh,
                    ow,
                };
                let per = oh * ow;
                let b = &self.bias[i];
                match self.kernel(i, x, trusted) {
                    Kernel::I16(w) => finish(&conv16(x, w, &g), per, b, arith, overflowed),
                    Kernel::I32(w) => {
                        finish(&conv(&narrow(x), w, &g, mul::<i32, i32>), per, b, arith, overflowed)
                    }
                    Kernel::I64 => {
                        let w = &self.params.layer(i).weight;
                        finish(&conv(x, w, &g, mul::<i64, i64>), per, b, arith, overflowed)
                    }
                }
            }
            Op::Linear { inputs, outputs, arith } => {
                fn rows<X: Copy, A: Copy + Default + AddAssign>(
                    x: &[X],
                    w: &[X],
                    n: usize,
                    mul: impl Fn(X, X) -> A + Copy,
                ) -> Vec<A> {
                    w.chunks_exact(n).map(|row| dot(x, row, mul)).collect()
                }
                let xz = less_zero_point(x, arith);
                let x = &*xz;
                let (n, b) = (*inputs, &self.bias[i]);
                debug_assert_eq!(self.params.layer(i).weight.len(), n * outputs);
                match self.kernel(i, x, trusted) {
                    Kernel::I16(w) => {
                        let x = narrow::<i16>(x);
                        finish(
                            &w.chunks_exact(n).map(|row| dot16(&x, row)).collect::<Vec<_>>(),
                            1,
                            b,
                            arith,
                            overflowed,
                        )
                    }
                    Kernel::I32(w) => {
                        finish(&rows(&narrow(x), w, n, mul::<i32, i32>), 1, b, arith, overflowed)
                    }
                    Kernel::I64 => {
                        let w = &self.params.layer(i).weight;
                        finish(&rows(x, w, n, mul::<i64, i64>), 1, b, arith, overflowed)
                    }
                }
            }
            Op::MaxPool { kernel, stride } => {
                let Shape::Map { c, h, w } = l.input else {
                    unreachable!("validated: pool input is a map")
                };
                let Shape::Map { h: oh, w: ow, .. } = l.output else {
                    unreachable!("pool output is a map")
                };
                crate::ops::maxpool(x, (c, h, w), *kernel, *stride, (oh, ow), i64::max)
            }
            Op::Relu => x.iter().map(|&v| v.max(0)).collect(),
            Op::Flatten { order: FlattenOrder::Chw } => return Cow::Borrowed(x),
            Op::Flatten { order: FlattenOrder::Hwc } => match l.input {
                Shape::Map { c, h, w } => crate::ops::flatten_hwc(x, (c, h, w)),
                Shape::Vector(_) => return Cow::Borrowed(x),
            },
            Op::Argmax => vec![argmax(x) as i64],
        })
    }
}

impl Model<'_> {
    /// Layer `i`'s kernel for input `x`: the prepared one when `x` lies within the layer's
    /// input range (always, on the reference's own path), else `i64`.
    fn kernel(&self, i: usize, x: &[i64], trusted: bool) -> &Kernel {
        let r = self.input_range[i];
        let inside = |v: &i64| (r.min..=r.max).contains(&(*v as i128));
        match &self.kernels[i] {
            Kernel::I64 => &Kernel::I64,
            k if trusted || x.iter().all(inside) => k,
            _ => &Kernel::I64,
        }
    }
}

/// The narrowest exact kernel for layer `l` with inputs in `x` and weights `w`.
fn kernel(l: &crate::network::Layer, a: &Arith, x: Range, w: &[i64]) -> Kernel {
    let fits = |bits: u32, v: i128| IntType { bits, signed: true }.holds(v);
    let Some(p) = l.bounds.product else { return Kernel::I64 };
    // Partial sums lie between the sum of the negative and of the positive extremes.
    let terms = match (&l.op, l.input) {
        (Op::Conv2d { kh, kw, .. }, Shape::Map { c, .. }) => (c * kh * kw) as i128,
        (Op::Linear { inputs, .. }, _) => *inputs as i128,
        _ => return Kernel::I64,
    };
    let sums32 = fits(32, p.min)
        && fits(32, p.max)
        && fits(32, terms * p.min.min(0))
        && fits(32, terms * p.max.max(0));
    let (wt, xt) = (a.weight.ty, x);
    let in16 = fits(16, wt.min()) && fits(16, wt.max()) && fits(16, xt.min) && fits(16, xt.max);
    if sums32 && in16 {
        let w16 = w.iter().map(|&v| v as i16);
        match l.op {
            Op::Conv2d { kw, .. } => {
                // Each kernel row padded with zero weights to a multiple of 8.
                let kwp = kw.next_multiple_of(8);
                let mut padded = Vec::with_capacity(w.len() / kw * kwp);
                for row in w16.collect::<Vec<_>>().chunks_exact(kw) {
                    padded.extend_from_slice(row);
                    padded.resize(padded.len() + kwp - kw, 0);
                }
                Kernel::I16(padded)
            }
            _ => Kernel::I16(w16.collect()),
        }
    } else if sums32 {
        Kernel::I32(w.iter().map(|&v| v as i32).collect())
    } else {
        Kernel::I64
    }
}

/// Runs the network on one image (prepares a [`Model`] each call: use one for many images).
pub fn run(net: &Network, params: &Params, image: &[u8]) -> Outputs {
    Model::new(net, params).run(image)
}

/// `x − z` for a layer with an input zero point `z`; `x` itself otherwise.
fn less_zero_point<'x>(x: &'x [i64], a: &Arith) -> Cow<'x, [i64]> {
    match a.in_zero_point {
        0 => Cow::Borrowed(x),
        z => Cow::Owned(x.iter().map(|&v| v.wrapping_sub(z)).collect()),
    }
}

/// `v` as `T` (the caller checked every value fits).
fn narrow<T: TryFrom<i64> + Default>(v: &[i64]) -> Vec<T> {
    v.iter().map(|&x| T::try_from(x).unwrap_or_default()).collect()
}

/// Adds the (pre-shifted) bias, requantizes and applies the overflow rule; `per` sums per
/// output channel. The rounding and overflow rule are chosen once per layer, not per value.
#[inline(never)]
fn finish<T: Copy + Into<i64>>(
    sums: &[T],
    per: usize,
    bias: &[i64],
    a: &Arith,
    overflowed: &Cell<u64>,
) -> Vec<i64> {
    fn go<T: Copy + Into<i64>>(
        sums: &[T],
        per: usize,
        bias: &[i64],
        f: impl Fn(usize, i64) -> i64,
    ) -> Vec<i64> {
        let mut out = Vec::with_capacity(sums.len());
        for (o, chunk) in sums.chunks(per).enumerate() {
            let b = bias.get(o).copied().unwrap_or(0);
            out.extend(chunk.iter().map(|&v| f(o, v.into() + b)));
        }
        out
    }
    let out = a.out;
    macro_rules! with_requant {
        ($ov:expr) => {
            match a.requant.plain() {
                Some((shift, Rounding::Floor)) => go(sums, per, bias, |_, v| $ov(v >> shift)),
                Some((shift, r)) => go(sums, per, bias, |_, v| $ov(r.apply(v, shift))),
                None => go(sums, per, bias, |o, v| $ov(a.requant.apply(v, o))),
            }
        };
    }
    match a.overflow {
        // Proven to fit by the bounds check.
        None => with_requant!(|y: i64| y),
        Some(ov) => with_requant!(|y: i64| {
            let z = ov.apply(y, out);
            overflowed.set(overflowed.get() + (z != y) as u64);
            z
        }),
    }
}

struct ConvGeom {
    c: usize,
    h: usize,
    w: usize,
    oc: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    pad: usize,
    oh: usize,
    ow: usize,
}

/// `x·w` in `A`.
#[inline(always)]
fn mul<X: Into<A>, A: Mul<Output = A>>(x: X, w: X) -> A {
    x.into() * w.into()
}

/// `Σ x·w` of 16-bit values in 32 bits, 8 at a time in pairs (`pmaddwd` through `wide`).
/// Wrapping adds: exact whenever every partial sum fits `i32`, which the caller proved.
fn dot16(x: &[i16], w: &[i16]) -> i32 {
    let mut acc = i32x4::ZERO;
    let (xc, xt) = x.as_chunks::<8>();
    let (wc, wt) = w.as_chunks::<8>();
    for (a, b) in xc.iter().zip(wc) {
        acc += i16x8::new(*a).dot(i16x8::new(*b));
    }
    let tail = xt.iter().zip(wt).fold(0i32, |s, (&a, &b)| s.wrapping_add(a as i32 * b as i32));
    sum4(acc, tail)
}

/// `t + Σ lanes of v`, wrapping.
#[inline(always)]
fn sum4(v: i32x4, t: i32) -> i32 {
    v.to_array().iter().fold(t, |s, &x| s.wrapping_add(x))
}

/// For each of `P` windows (slices starting at a window's top-left corner), the 4 channels'
/// partial sums over the chunks at `offsets` with the block's weights `wb` (`[chunk][4]`).
#[inline(always)]
fn window_sums<const P: usize>(
    windows: [&[i16]; P],
    offsets: &[usize],
    wb: &[[i16x8; 4]],
) -> [[i32x4; 4]; P] {
    let mut acc = [[i32x4::ZERO; 4]; P];
    for (&off, w) in offsets.iter().zip(wb) {
        for (a, win) in acc.iter_mut().zip(windows) {
            let xv = i16x8::from_slice_unaligned(&win[off..]);
            for l in 0..4 {
                a[l] += xv.dot(w[l]);
            }
        }
    }
    acc
}

/// A conv2d on 16-bit inputs and weights with 32-bit sums, any stride and padding. The input
/// is copied once into a zero-bordered plane whose rows have room for a whole padded kernel
/// row past the last window (`pitch = w + 2·pad + kwp − kw`), so every window row is one
/// fixed 8-wide `pmaddwd` step per 8 weights, with the padding weights multiplying zeros or
/// in-plane values by 0. `wt` is `[oc][c][kh][kwp]` (see [`kernel`]).
#[inline(never)]
fn conv16(x: &[i64], wt: &[i16], g: &ConvGeom) -> Vec<i32> {
    let kwp = g.kw.next_multiple_of(8);
    let (ph, pitch) = (g.h + 2 * g.pad, g.w + 2 * g.pad + kwp - g.kw);
    let mut xp = vec![0i16; g.c * ph * pitch];
    for ci in 0..g.c {
        for y in 0..g.h {
            let dst = &mut xp[(ci * ph + y + g.pad) * pitch + g.pad..][..g.w];
            let src = &x[(ci * g.h + y) * g.w..][..g.w];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s as i16;
            }
        }
    }
    // Offset of every 8-wide window chunk from the window's top-left corner, in the order
    // of each output channel's chunks in `wt`.
    let offsets: Vec<usize> = (0..g.c * g.kh)
        .flat_map(|row| (0..kwp / 8).map(move |q| ((row / g.kh) * ph + row % g.kh) * pitch + 8 * q))
        .collect();
    // The output channels in blocks of 4 (the last padded with zero weights), each block's
    // weights chunk-major (`[block][chunk][4]`): each input chunk is loaded once per block
    // and the block's 4 sums stay in registers.
    let chunks = wt.as_chunks::<8>().0;
    let n = offsets.len();
    let blocks = g.oc.div_ceil(4);
    let w8: Vec<[i16x8; 4]> = (0..blocks * n)
        .map(|bk| {
            let (blk, k) = (bk / n, bk % n);
            std::array::from_fn(|l| {
                let o = 4 * blk + l;
                if o < g.oc {
                    i16x8::new(chunks[o * n + k])
                } else {
                    i16x8::ZERO
                }
            })
        })
        .collect();
    let per = g.oh * g.ow;
    let mut out = vec![0i32; g.oc * per];
    let mut store = |pos: usize, blk: usize, acc: [i32x4; 4]| {
        for (l, &a) in acc.iter().enumerate().take(g.oc - 4 * blk) {
            out[(4 * blk + l) * per + pos] = sum4(a, 0);
        }
    };
    let at = |r: usize, col: usize| &xp[r * g.stride * pitch + col * g.stride..];
    for r in 0..g.oh {
        // Two neighbouring outputs at a time share each weight load.
        let mut col = 0;
        while col + 1 < g.ow {
            for (blk, wb) in w8.chunks_exact(n).enumerate() {
                let [a, b] = window_sums([at(r, col), at(r, col + 1)], &offsets, wb);
                store(r * g.ow + col, blk, a);
                store(r * g.ow + col + 1, blk, b);
            }
            col += 2;
        }
        if col < g.ow {
            for (blk, wb) in w8.chunks_exact(n).enumerate() {
                let [a] = window_sums([at(r, col)], &offsets, wb);
                store(r * g.ow + col, blk, a);
            }
        }
    }
    out
}

/// `Σ x·w` per output element, weights `[oc][c][kh][kw]`, zero padding, values stored as
/// `X` and summed as `A` (`mul` forms one product).
fn conv<X, A>(x: &[X], wt: &[X], g: &ConvGeom, mul: impl Fn(X, X) -> A + Copy) -> Vec<A>
where
    X: Copy,
    A: Copy + Default + AddAssign,
{
    if g.pad == 0 && g.stride == 1 {
        conv_rows(x, wt, g, mul)
    } else {
        conv_general(x, wt, g, mul)
    }
}

/// Stride 1, no padding. The sums are formed on a `oh × w` grid (the input's row pitch), so
/// for each weight one long contiguous multiply-add covers the whole plane and vectorizes;
/// the columns past `ow` are discarded at the end. The loop length `(oh−1)·w + ow` keeps
/// every read inside the input plane.
fn conv_rows<X, A>(x: &[X], wt: &[X], g: &ConvGeom, mul: impl Fn(X, X) -> A + Copy) -> Vec<A>
where
    X: Copy,
    A: Copy + Default + AddAssign,
{
    let len = (g.oh - 1) * g.w + g.ow;
    let mut wide = vec![A::default(); len];
    let mut out = Vec::with_capacity(g.oc * g.oh * g.ow);
    for o in 0..g.oc {
        wide.fill(A::default());
        for ci in 0..g.c {
            let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
            for i in 0..g.kh {
                let wrow = &wt[((o * g.c + ci) * g.kh + i) * g.kw..][..g.kw];
                for (j, &wv) in wrow.iter().enumerate() {
                    let src = &plane[i * g.w + j..][..len];
                    for (d, &s) in wide.iter_mut().zip(src) {
                        *d += mul(s, wv);
                    }
                }
            }
        }
        for r in 0..g.oh {
            out.extend_from_slice(&wide[r * g.w..r * g.w + g.ow]);
        }
    }
    out
}

/// Any stride and zero padding: skips the padded (zero) terms.
fn conv_general<X, A>(x: &[X], wt: &[X], g: &ConvGeom, mul: impl Fn(X, X) -> A + Copy) -> Vec<A>
where
    X: Copy,
    A: Copy + Default + AddAssign,
{
    let mut out = vec![A::default(); g.oc * g.oh * g.ow];
    for o in 0..g.oc {
        let acc = &mut out[o * g.oh * g.ow..(o + 1) * g.oh * g.ow];
        for ci in 0..g.c {
            let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let wv = wt[((o * g.c + ci) * g.kh + i) * g.kw + j];
                    for r in 0..g.oh {
                        let Some(y) = (r * g.stride + i).checked_sub(g.pad).filter(|&y| y < g.h)
                        else {
                            continue;
                        };
                        let dst = &mut acc[r * g.ow..(r + 1) * g.ow];
                        for (col, d) in dst.iter_mut().enumerate() {
                            if let Some(xc) =
                                (col * g.stride + j).checked_sub(g.pad).filter(|&xc| xc < g.w)
                            {
                                *d += mul(plane[y * g.w + xc], wv);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn dot<X: Copy, A: Copy + Default + AddAssign>(x: &[X], w: &[X], mul: impl Fn(X, X) -> A) -> A {
    let mut acc = A::default();
    for (&a, &b) in x.iter().zip(w) {
        acc += mul(a, b);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stimulus;

    /// The same network with every layer on the `i64` kernel.
    fn all_i64<'a>(net: &'a Network, params: &'a Params) -> Model<'a> {
        let mut m = Model::new(net, params);
        m.kernels.iter_mut().for_each(|k| *k = Kernel::I64);
        m
    }

    const PADDED: &str = r#"
name = "padded"
[input]
shape = [1, 28, 28]
bits = 8
signed = false
dataset = "mnist"
[[layer]]
name = "c1"
op = "conv2d"
tap = true
in_channels = 1
out_channels = 2
kernel = [3, 4]
stride = 2
padding = 1
weight = { bits = 8, signed = true, frac_bits = 7, file = "c1_{o}.mem" }
bias = { bits = 8, signed = true, frac_bits = 7, shift = 3, file = "c1_b.mem" }
shift = 4
rounding = "half_even"
out_bits = 10
out_signed = true
overflow = "wrap"
[[layer]]
name = "p"
op = "maxpool"
kernel = 2
stride = 1
[[layer]]
name = "f"
op = "flatten"
order = "hwc"
[[layer]]
name = "l"
op = "linear"
tap = true
in = 338
out = 10
weight = { bits = 16, signed = true, frac_bits = 12, file = "l.mem" }
shift = 2
rounding = "trunc"
out_bits = 32
out_signed = true
[[layer]]
name = "class"
op = "argmax"
"#;

    /// Five output channels (a full block of 4 and one of 1), a 9-wide kernel (two 8-wide
    /// chunks per row), an odd output width (a single-column tail).
    const WIDE: &str = r#"
name = "wide"
[input]
shape = [1, 28, 28]
bits = 8
signed = false
dataset = "mnist"
[[layer]]
name = "c1"
op = "conv2d"
tap = true
in_channels = 1
out_channels = 5
kernel = [3, 9]
weight = { bits = 8, signed = true, frac_bits = 7, file = "c1_{o}.mem" }
bias = { bits = 8, signed = true, frac_bits = 7, file = "c1_b.mem" }
shift = 3
rounding = "floor"
out_bits = 16
out_signed = true
overflow = "saturate"
[[layer]]
name = "f"
op = "flatten"
order = "chw"
[[layer]]
name = "l"
op = "linear"
tap = true
in = 2600
out = 10
weight = { bits = 8, signed = true, frac_bits = 7, file = "l.mem" }
shift = 7
rounding = "floor"
out_bits = 32
out_signed = true
overflow = "wrap"
[[layer]]
name = "class"
op = "argmax"
"#;

    #[test]
    fn every_kernel_tier_equals_the_i64_one() {
        let padded = Network::parse("padded", PADDED).unwrap();
        let wide = Network::parse("wide", WIDE).unwrap();
        // The requantization fixture: input zero points, per-channel multipliers, TFLite's steps.
        let requant = Network::find("vectors/fixtures/requant.toml").unwrap();
        for net in [Network::seed(), Network::find("two_conv").unwrap(), padded, wide, requant] {
            for set in 0..8 {
                let (params, kind) = stimulus::weight_set(&net, 11, set);
                let (fast, slow) = (Model::new(&net, &params), all_i64(&net, &params));
                // The first conv2d of every one of these networks takes the 16-bit path.
                assert!(matches!(fast.kernels[0], Kernel::I16(_)), "{}", net.name);
                for i in 0..10 {
                    let img = stimulus::image(11, set, i);
                    assert_eq!(
                        fast.run(&img),
                        slow.run(&img),
                        "{} set {set} ({kind}) image {i}",
                        net.name
                    );
                }
            }
        }
    }

    #[test]
    fn rtl_values_outside_the_bounds_fall_back_to_i64() {
        // The layer-local path feeds the RTL's own values, which a broken design can put
        // outside the declared range: the narrow kernels must not be used on them.
        let net = Network::seed();
        let params = Params::filled(&net, 127);
        let m = Model::new(&net, &params);
        let fc = net.layers.iter().position(|l| l.name == "fc1").unwrap();
        let mut pool = vec![0i64; 363];
        pool[0] = 1 << 40; // far outside 0..6325
        let got = m.run_layers(fc, fc, &pool);
        let want = (((1i64 << 40) * 127) + (127 << 7)) >> 7;
        assert_eq!(got[0], want);
    }
}
