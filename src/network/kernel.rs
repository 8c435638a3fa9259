//! The integer compute of conv2d and linear layers: their sums in the narrowest exact tier
//! (16-bit products summed in `i32` through `pmaddwd`, `i32`, or `i64`), chosen once per
//! layer from its derived bounds, then requantization and the overflow rule ([`finish`]).
//! Every tier is exact for inputs within the layer's input range; values outside it (the
//! RTL's own, on the layer-local path) take the `i64` tier.

use super::op::OverflowCount;
use super::{Arith, IntType, Range, Requant, Rounding};
use std::borrow::Cow;
use std::ops::{AddAssign, Mul};
use wide::{i16x8, i32x4};

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

/// A conv2d/linear layer's parameters prepared once for many images: weights narrowed to
/// the layer's kernel tier, biases pre-shifted.
pub struct Prepared<'a> {
    kernel: Kernel,
    /// The weights, dense (the `i64` tier's).
    weight: Cow<'a, [i64]>,
    /// `b << bias_shift` per output (empty without a bias).
    pub(crate) bias: Vec<i64>,
    /// The requantization, with the weight set's loaded values.
    requant: Requant,
    /// The range of the layer's input less its zero point.
    input_range: Range,
}

impl<'a> Prepared<'a> {
    /// A layer with arithmetic `a` whose outputs each sum at most `terms` products (one
    /// product in `product`), inputs in `x` (before the zero point), `weight` dense
    /// (`[out][in][kh][kw]` or `[out][in]`, a masked pair's weights zero) and `bias`;
    /// `conv_kw` is a conv2d's kernel width (its rows are padded for the 16-bit tier);
    /// `requant` the requantization with the weight set's loaded values.
    pub fn new(
        a: &Arith,
        (product, terms): (Range, usize),
        conv_kw: Option<usize>,
        x: Range,
        (weight, bias): (Cow<'a, [i64]>, &[i64]),
        requant: Requant,
    ) -> Prepared<'a> {
        let z = a.in_zero_point as i128;
        let input_range = Range { min: x.min - z, max: x.max - z };
        Prepared {
            kernel: kernel(a, (product, terms as i128), conv_kw, input_range, &weight),
            weight,
            bias: bias.iter().map(|&b| b << a.bias_shift).collect(),
            requant,
            input_range,
        }
    }

    /// The kernel for input `x`: the prepared one when `x` lies within the layer's input
    /// range (always, on the reference's own path: `trusted`), else `i64`.
    fn kernel_for(&self, x: &[i64], trusted: bool) -> &Kernel {
        let r = self.input_range;
        let inside = |v: &i64| (r.min..=r.max).contains(&(*v as i128));
        match &self.kernel {
            Kernel::I64 => &Kernel::I64,
            k if trusted || x.iter().all(inside) => k,
            _ => &Kernel::I64,
        }
    }

    /// Every layer on the `i64` tier (tests hold the fast tiers against it).
    #[doc(hidden)]
    pub fn force_i64(&mut self) {
        self.kernel = Kernel::I64;
    }

    /// Whether the prepared tier is the 16-bit one.
    #[doc(hidden)]
    pub fn is_i16(&self) -> bool {
        matches!(self.kernel, Kernel::I16(_))
    }
}

/// A conv2d's output (channel, row, column order) for input `x` (already less its zero
/// point); `trusted` when `x` is the reference's own value of the layer before.
pub(crate) fn conv2d(
    p: &Prepared,
    x: &[i64],
    g: &ConvGeom,
    trusted: bool,
    a: &Arith,
    overflowed: &OverflowCount,
) -> Vec<i64> {
    let per = g.oh * g.ow;
    let f = Finish { bias: &p.bias, requant: &p.requant, a, overflowed };
    match p.kernel_for(x, trusted) {
        Kernel::I16(w) => f.run(&conv16(x, w, g), per),
        Kernel::I32(w) => f.run(&conv(&narrow(x), w, g, mul::<i32, i32>), per),
        Kernel::I64 => f.run(&conv(x, &p.weight, g, mul::<i64, i64>), per),
    }
}

/// A linear layer's `n`-input outputs for input `x` (already less its zero point).
pub(crate) fn linear(
    p: &Prepared,
    x: &[i64],
    n: usize,
    trusted: bool,
    a: &Arith,
    overflowed: &OverflowCount,
) -> Vec<i64> {
    fn rows<X: Copy, A: Copy + Default + AddAssign>(
        x: &[X],
        w: &[X],
        n: usize,
        mul: impl Fn(X, X) -> A + Copy,
    ) -> Vec<A> {
        w.chunks_exact(n).map(|row| dot(x, row, mul)).collect()
    }
    let f = Finish { bias: &p.bias, requant: &p.requant, a, overflowed };
    match p.kernel_for(x, trusted) {
        Kernel::I16(w) => {
            let x = narrow::<i16>(x);
            let sums: Vec<i32> = w.chunks_exact(n).map(|row| dot16(&x, row)).collect();
            f.run(&sums, 1)
        }
        Kernel::I32(w) => f.run(&rows(&narrow(x), w, n, mul::<i32, i32>), 1),
        Kernel::I64 => f.run(&rows(x, &p.weight, n, mul::<i64, i64>), 1),
    }
}

/// The narrowest exact kernel for sums of `terms` products each within `p`, inputs in `x`
/// and weights `w` (a conv2d's rows, `conv_kw` wide, padded for the 16-bit tier).
fn kernel(
    a: &Arith,
    (p, terms): (Range, i128),
    conv_kw: Option<usize>,
    x: Range,
    w: &[i64],
) -> Kernel {
    let fits = |bits: u32, v: i128| IntType { bits, signed: true }.holds(v);
    // Partial sums lie between the sum of the negative and of the positive extremes.
    let sums32 = fits(32, p.min)
        && fits(32, p.max)
        && fits(32, terms * p.min.min(0))
        && fits(32, terms * p.max.max(0));
    let (wt, xt) = (a.weight.ty, x);
    let in16 = fits(16, wt.min()) && fits(16, wt.max()) && fits(16, xt.min) && fits(16, xt.max);
    if sums32 && in16 {
        let w16 = w.iter().map(|&v| v as i16);
        match conv_kw {
            Some(kw) => {
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

/// `x − z` for a layer with an input zero point `z`; `x` itself otherwise.
pub(crate) fn less_zero_point<'x>(x: &'x [i64], a: &Arith) -> Cow<'x, [i64]> {
    match a.in_zero_point {
        0 => Cow::Borrowed(x),
        z => Cow::Owned(x.iter().map(|&v| v.wrapping_sub(z)).collect()),
    }
}

/// `v` as `T` (the caller checked every value fits).
fn narrow<T: TryFrom<i64> + Default>(v: &[i64]) -> Vec<T> {
    v.iter().map(|&x| T::try_from(x).unwrap_or_default()).collect()
}

/// A layer's last steps: the (pre-shifted) bias, the requantization and the overflow rule.
struct Finish<'r> {
    bias: &'r [i64],
    requant: &'r Requant,
    a: &'r Arith,
    overflowed: &'r OverflowCount,
}

impl Finish<'_> {
    /// Adds the bias, requantizes and applies the overflow rule; `per` sums per output
    /// channel. The rounding and overflow rule are chosen once per layer, not per value.
    #[inline(never)]
    fn run<T: Copy + Into<i64>>(&self, sums: &[T], per: usize) -> Vec<i64> {
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
        let (bias, requant, out, overflowed) =
            (self.bias, self.requant, self.a.out, self.overflowed);
        macro_rules! with_requant {
            ($ov:expr) => {
                match requant.plain() {
                    Some((shift, Rounding::Floor)) => go(sums, per, bias, |_, v| $ov(v >> shift)),
                    Some((shift, r)) => go(sums, per, bias, |_, v| $ov(r.apply(v, shift))),
                    None => go(sums, per, bias, |o, v| $ov(requant.apply(v, o))),
                }
            };
        }
        match self.a.overflow {
            // Proven to fit by the bounds check.
            None => with_requant!(|y: i64| y),
            Some(ov) => with_requant!(|y: i64| {
                let z = ov.apply(y, out);
                overflowed.note(y, z);
                z
            }),
        }
    }
}

pub(crate) struct ConvGeom {
    pub(crate) c: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) oc: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) stride: usize,
    pub(crate) pad: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
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
    let at = |r: usize, col: usize| &xp[r * g.stride * pitch + col * g.stride..];
    // With AVX2 the pairs of neighbouring outputs go 16 lanes at a time (below); the last
    // column of an odd-width row stays here.
    #[cfg(target_arch = "x86_64")]
    let pairs_done = std::arch::is_x86_feature_detected!("avx2") && {
        let wide: Vec<[[i16; 8]; 4]> = w8.iter().map(|b| b.map(|v| v.to_array())).collect();
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { conv16_pairs_avx2(&xp, &offsets, &wide, g, pitch, &mut out) };
        true
    };
    #[cfg(not(target_arch = "x86_64"))]
    let pairs_done = false;
    let mut store = |pos: usize, blk: usize, acc: [i32x4; 4]| {
        for (l, &a) in acc.iter().enumerate().take(g.oc - 4 * blk) {
            out[(4 * blk + l) * per + pos] = sum4(a, 0);
        }
    };
    for r in 0..g.oh {
        // Two neighbouring outputs at a time share each weight load.
        let mut col = if pairs_done { g.ow - g.ow % 2 } else { 0 };
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

/// [`conv16`]'s pairs of neighbouring outputs (columns `2k`, `2k + 1` of every row) on AVX2:
/// both windows' 8-value chunks in one 16-lane register (the first in the low half), each
/// block weight chunk in both halves, so one `vpmaddwd` serves the two outputs; the four
/// channels' partial sums are then folded by three `vphaddd`s into the two outputs' four
/// sums. The integer sums are those of the 8-lane path in another order, which is exact
/// (the tier's bounds keep every partial sum inside `i32`). `wb` is `[block][chunk][lane]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn conv16_pairs_avx2(
    xp: &[i16],
    offsets: &[usize],
    wb: &[[[i16; 8]; 4]],
    g: &ConvGeom,
    pitch: usize,
    out: &mut [i32],
) {
    use std::arch::x86_64::*;
    let load = |v: &[i16]| -> __m128i {
        let v: &[i16; 8] = v[..8].try_into().expect("8 values");
        // SAFETY: `v` holds 8 i16 (16 bytes); the load is unaligned.
        unsafe { _mm_loadu_si128(v.as_ptr().cast()) }
    };
    let n = offsets.len();
    let both: Vec<[__m256i; 4]> =
        wb.iter().map(|b| b.map(|w| _mm256_broadcastsi128_si256(load(&w)))).collect();
    let per = g.oh * g.ow;
    for r in 0..g.oh {
        for col in (0..g.ow - g.ow % 2).step_by(2) {
            let a = &xp[r * g.stride * pitch + col * g.stride..];
            let b = &xp[r * g.stride * pitch + (col + 1) * g.stride..];
            for (blk, w) in both.chunks_exact(n).enumerate() {
                let mut acc = [_mm256_setzero_si256(); 4];
                for (&off, w) in offsets.iter().zip(w) {
                    let x = _mm256_set_m128i(load(&b[off..]), load(&a[off..]));
                    for (acc, &w) in acc.iter_mut().zip(w) {
                        *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(x, w));
                    }
                }
                let h = _mm256_hadd_epi32(
                    _mm256_hadd_epi32(acc[0], acc[1]),
                    _mm256_hadd_epi32(acc[2], acc[3]),
                );
                let mut sums = [0i32; 8];
                // SAFETY: `sums` holds 8 i32 (32 bytes); the store is unaligned.
                unsafe { _mm256_storeu_si256(sums.as_mut_ptr().cast(), h) };
                for l in 0..(g.oc - 4 * blk).min(4) {
                    let o = (4 * blk + l) * per + r * g.ow + col;
                    out[o] = sums[l];
                    out[o + 1] = sums[4 + l];
                }
            }
        }
    }
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
