//! The golden model: interprets a [`Network`] description in integers and returns every
//! tapped layer (`docs/network-format.md` defines each op's arithmetic).
//!
//! Values are `i64` between layers. Inside a conv2d/linear the products are summed in `i32`
//! when the layer's derived bounds ([`crate::network::Bounds`]) prove every product and
//! partial sum fits, and in `i64` otherwise; both are exact (the description was rejected if
//! the accumulator could exceed 64 bits).

use crate::network::{Arith, FlattenOrder, Network, Op, Rounding, Shape};
use crate::weights::Params;
use std::ops::{AddAssign, Mul};

/// Every tapped layer of one image, in [`Network::taps`] order (the class last, as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// `taps[t]` in the layer's element order (channel, row, column for a map).
    pub taps: Vec<Vec<i64>>,
    /// The argmax's input.
    pub logits: Vec<i64>,
    pub class: u8,
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

/// A network with its weights, ready to run: weights narrowed to `i32` once for the layers
/// whose bounds allow it, biases pre-shifted.
pub struct Model<'a> {
    pub net: &'a Network,
    pub params: &'a Params,
    /// Per layer: `i32` weights when the `i32` kernel is exact there.
    w32: Vec<Option<Vec<i32>>>,
    /// Per layer: `b << bias_shift` per output (empty for layers without parameters).
    bias: Vec<Vec<i64>>,
}

impl<'a> Model<'a> {
    pub fn new(net: &'a Network, params: &'a Params) -> Model<'a> {
        let mut w32 = Vec::with_capacity(net.layers.len());
        let mut bias = Vec::with_capacity(net.layers.len());
        for (i, l) in net.layers.iter().enumerate() {
            match (l.op.arith(), params.layers.get(i).and_then(|p| p.as_ref())) {
                (Some(a), Some(p)) => {
                    w32.push(fits_i32(l).then(|| narrow(&p.weight)));
                    bias.push(p.bias.iter().map(|&b| b << a.bias_shift).collect());
                }
                _ => {
                    w32.push(None);
                    bias.push(Vec::new());
                }
            }
        }
        Model { net, params, w32, bias }
    }

    /// Runs the network on one image (`net.input_len()` values).
    pub fn run(&self, image: &[u8]) -> Outputs {
        let mut x: Vec<i64> = image.iter().map(|&p| p as i64).collect();
        let mut taps = Vec::new();
        let mut logits = Vec::new();
        let mut class = 0;
        for (i, l) in self.net.layers.iter().enumerate() {
            if l.op == Op::Argmax {
                class = argmax(&x);
                logits = x;
                taps.push(vec![class as i64]);
                break;
            }
            x = self.apply(i, &x);
            if l.tap {
                taps.push(x.clone());
            }
        }
        Outputs { taps, logits, class }
    }

    /// Runs layers `from..=to` on `x`, the input of layer `from`; returns layer `to`'s
    /// output (for the argmax, the class as one value). The layer-local verdict: a layer's
    /// reference computed from the RTL's own previous tap.
    pub fn run_layers(&self, from: usize, to: usize, x: &[i64]) -> Vec<i64> {
        let mut cur = x.to_vec();
        for i in from..=to {
            cur = self.apply(i, &cur);
        }
        cur
    }

    /// Layer `i` on its input `x`.
    fn apply(&self, i: usize, x: &[i64]) -> Vec<i64> {
        let l = &self.net.layers[i];
        match &l.op {
            Op::Conv2d { out_channels, kh, kw, stride, padding, arith } => {
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
                match &self.w32[i] {
                    Some(w) => finish(&conv::<i32>(&narrow(x), w, &g), oh * ow, &self.bias[i], arith),
                    None => finish(&conv::<i64>(x, &self.params.layer(i).weight, &g), oh * ow, &self.bias[i], arith),
                }
            }
            Op::Linear { inputs, outputs, arith } => match &self.w32[i] {
                Some(w) => {
                    let x = narrow(x);
                    let sums: Vec<i32> =
                        w.chunks_exact(*inputs).take(*outputs).map(|row| dot::<i32>(&x, row)).collect();
                    finish(&sums, 1, &self.bias[i], arith)
                }
                None => {
                    let w = &self.params.layer(i).weight;
                    let sums: Vec<i64> =
                        w.chunks_exact(*inputs).take(*outputs).map(|row| dot::<i64>(x, row)).collect();
                    finish(&sums, 1, &self.bias[i], arith)
                }
            },
            Op::MaxPool { kernel, stride } => {
                let Shape::Map { c, h, w } = l.input else {
                    unreachable!("validated: pool input is a map")
                };
                let Shape::Map { h: oh, w: ow, .. } = l.output else {
                    unreachable!("pool output is a map")
                };
                let mut out = Vec::with_capacity(c * oh * ow);
                for ch in 0..c {
                    let plane = &x[ch * h * w..(ch + 1) * h * w];
                    for r in 0..oh {
                        for col in 0..ow {
                            let mut m = i64::MIN;
                            for dr in 0..*kernel {
                                let row = &plane[(r * stride + dr) * w + col * stride..];
                                for &v in &row[..*kernel] {
                                    m = m.max(v);
                                }
                            }
                            out.push(m);
                        }
                    }
                }
                out
            }
            Op::Relu => x.iter().map(|&v| v.max(0)).collect(),
            Op::Flatten { order: FlattenOrder::Chw } => x.to_vec(),
            Op::Flatten { order: FlattenOrder::Hwc } => match l.input {
                Shape::Map { c, h, w } => {
                    let mut out = Vec::with_capacity(x.len());
                    for r in 0..h {
                        for col in 0..w {
                            for ch in 0..c {
                                out.push(x[(ch * h + r) * w + col]);
                            }
                        }
                    }
                    out
                }
                Shape::Vector(_) => x.to_vec(),
            },
            Op::Argmax => vec![argmax(x) as i64],
        }
    }
}

/// Runs the network on one image (prepares a [`Model`] each call: use one for many images).
pub fn run(net: &Network, params: &Params, image: &[u8]) -> Outputs {
    Model::new(net, params).run(image)
}

/// Whether every product and partial sum of a conv2d/linear fits `i32` (then the `i32`
/// kernel gives the same sums as `i64`).
fn fits_i32(l: &crate::network::Layer) -> bool {
    let i32r = crate::network::IntType { bits: 32, signed: true };
    let Some(p) = l.bounds.product else { return false };
    // Partial sums lie between the sum of the negative and of the positive extremes.
    let terms = match &l.op {
        Op::Conv2d { kh, kw, .. } => match l.input {
            Shape::Map { c, .. } => (c * kh * kw) as i128,
            Shape::Vector(_) => return false,
        },
        Op::Linear { inputs, .. } => *inputs as i128,
        _ => return false,
    };
    i32r.holds(p.min)
        && i32r.holds(p.max)
        && i32r.holds(terms * p.min.min(0))
        && i32r.holds(terms * p.max.max(0))
}

fn narrow(v: &[i64]) -> Vec<i32> {
    v.iter().map(|&x| x as i32).collect()
}

/// Adds the (pre-shifted) bias, requantizes and applies the overflow rule; `per` sums per
/// output channel. The rounding and overflow rule are chosen once per layer, not per value.
fn finish<T: Copy + Into<i64>>(sums: &[T], per: usize, bias: &[i64], a: &Arith) -> Vec<i64> {
    fn go<T: Copy + Into<i64>>(
        sums: &[T],
        per: usize,
        bias: &[i64],
        f: impl Fn(i64) -> i64,
    ) -> Vec<i64> {
        let mut out = Vec::with_capacity(sums.len());
        for (o, chunk) in sums.chunks(per).enumerate() {
            let b = bias.get(o).copied().unwrap_or(0);
            out.extend(chunk.iter().map(|&v| f(v.into() + b)));
        }
        out
    }
    let (shift, out) = (a.shift, a.out);
    macro_rules! with_rounding {
        ($ov:expr) => {
            match a.rounding {
                Rounding::Floor => go(sums, per, bias, |v| $ov(v >> shift)),
                r => go(sums, per, bias, |v| $ov(r.apply(v, shift))),
            }
        };
    }
    match a.overflow {
        // Proven to fit by the bounds check.
        None => with_rounding!(|y: i64| y),
        Some(ov) => with_rounding!(|y: i64| ov.apply(y, out)),
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

/// `Σ x·w` per output element, weights `[oc][c][kh][kw]`, zero padding.
fn conv<T>(x: &[T], wt: &[T], g: &ConvGeom) -> Vec<T>
where
    T: Copy + Default + AddAssign + Mul<Output = T> + PartialEq,
{
    let zero = T::default();
    let mut out = vec![zero; g.oc * g.oh * g.ow];
    for o in 0..g.oc {
        let acc = &mut out[o * g.oh * g.ow..(o + 1) * g.oh * g.ow];
        for ci in 0..g.c {
            let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let wv = wt[((o * g.c + ci) * g.kh + i) * g.kw + j];
                    if wv == zero {
                        continue;
                    }
                    for r in 0..g.oh {
                        let Some(y) = (r * g.stride + i).checked_sub(g.pad).filter(|&y| y < g.h)
                        else {
                            continue;
                        };
                        let dst = &mut acc[r * g.ow..(r + 1) * g.ow];
                        if g.stride == 1 && g.pad == 0 {
                            let src = &plane[y * g.w + j..y * g.w + j + g.ow];
                            for (d, &s) in dst.iter_mut().zip(src) {
                                *d += s * wv;
                            }
                        } else {
                            for (col, d) in dst.iter_mut().enumerate() {
                                if let Some(xc) =
                                    (col * g.stride + j).checked_sub(g.pad).filter(|&xc| xc < g.w)
                                {
                                    *d += plane[y * g.w + xc] * wv;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn dot<T>(x: &[T], w: &[T]) -> T
where
    T: Copy + Default + AddAssign + Mul<Output = T>,
{
    let mut acc = T::default();
    for (&a, &b) in x.iter().zip(w) {
        acc += a * b;
    }
    acc
}
