//! Seeded constrained-random stimulus: weight sets over every tensor's full declared range
//! with a share of extremes, and images of the network's input shape and type with a share of
//! edge patterns. Everything is a pure function of
//! (seed, set, image), so any one image can be regenerated alone.

use crate::image::Image;
use crate::network::{IntType, Network, Op, Shape};
use crate::weights::{self, Params, Which};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rng(seed: u64, set: u64, image: u64) -> ChaCha8Rng {
    // Distinct streams per (set, image); image u64::MAX is the weight set's own stream.
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(set.wrapping_mul(0x1_0000_0001) ^ image.rotate_left(32));
    r
}

/// The kinds of weight set, in the order the first sets of a campaign take them.
pub const WEIGHT_KINDS: [&str; 8] = [
    "all+127",
    "all-128",
    "alternating",
    "sparse",
    "ties-all",
    "ties-pair",
    "uniform",
    "uniform-with-extremes",
];

/// A uniformly random value of `ty` (for 8 bits signed exactly `rand`'s `random::<i8>()`).
fn random_value(r: &mut ChaCha8Rng, ty: IntType) -> i64 {
    let raw = if ty.bits <= 32 { r.next_u32() as u64 } else { r.next_u64() };
    let sh = 64 - ty.bits;
    if ty.signed {
        ((raw << sh) as i64) >> sh
    } else {
        (raw << sh >> sh) as i64
    }
}

/// Weight set `set` of the campaign seeded with `seed` for `net`, and its kind. Every
/// parametrized layer's weights, then its bias, in layer order, draw from one stream.
pub fn weight_set(net: &Network, seed: u64, set: u64) -> (Params, &'static str) {
    let kind = WEIGHT_KINDS[(set % WEIGHT_KINDS.len() as u64) as usize];
    let mut r = rng(seed, set, u64::MAX);
    let mut n = 0usize;
    let mut w = Params::generate(net, |layer, which, _| {
        let (min, max) = weights::range(net, layer, which);
        if matches!(which, Which::Multiplier | Which::Shift) {
            // A loaded requantization value: its declared range's ends, or within it.
            let v = match kind {
                "all+127" => max,
                "all-128" => min,
                "alternating" if n.is_multiple_of(2) => max,
                "alternating" => min,
                _ => r.random_range(min..=max),
            };
            n += 1;
            return v;
        }
        let ty = weights::param(net, layer, which).ty;
        let v = match kind {
            "all+127" => max,
            "all-128" => min,
            "alternating" => {
                if n.is_multiple_of(2) {
                    max
                } else {
                    min
                }
            }
            "sparse" => {
                if r.random_bool(0.1) {
                    random_value(&mut r, ty)
                } else {
                    0
                }
            }
            "uniform-with-extremes" => match r.random_range(0..4) {
                0 => max,
                1 => min,
                _ => random_value(&mut r, ty),
            },
            _ => random_value(&mut r, ty),
        };
        n += 1;
        v
    });
    // The last linear layer decides the class.
    let last = net.layers.iter().rposition(|l| matches!(l.op, Op::Linear(_)));
    if let Some(i) = last {
        let Op::Linear(linear) = &net.layers[i].op else { unreachable!() };
        let (inputs, outputs) = (linear.inputs, linear.outputs);
        let has_bias = net.layers[i].op.arith().is_some_and(|a| a.bias.is_some());
        let lp = w.layers[i].as_mut().expect("a linear layer has parameters");
        match kind {
            // Every row and bias equal: all logits tie, the class must be 0.
            "ties-all" => {
                let row: Vec<i64> = lp.weight[..inputs].to_vec();
                for o in 1..outputs {
                    lp.weight[o * inputs..(o + 1) * inputs].copy_from_slice(&row);
                }
                if has_bias {
                    let b0 = lp.bias[0];
                    lp.bias.iter_mut().for_each(|b| *b = b0);
                }
            }
            // Two equal rows with the largest bias: those two logits tie, often at the top.
            "ties-pair" if outputs >= 2 => {
                let (a, b) = if outputs > 7 { (2, 7) } else { (0, outputs - 1) };
                let row: Vec<i64> = lp.weight[a * inputs..(a + 1) * inputs].to_vec();
                lp.weight[b * inputs..(b + 1) * inputs].copy_from_slice(&row);
                if has_bias {
                    let ty = weights::param(net, i, Which::Bias).ty;
                    lp.bias.iter_mut().for_each(|v| *v = ty.min() as i64);
                    lp.bias[a] = ty.max() as i64;
                    lp.bias[b] = ty.max() as i64;
                }
            }
            _ => {}
        }
    }
    (w, kind)
}

/// The kinds of image, by `image % 10`, for an input of type `ty`: its extremes
/// (`all-0`/`all-255` for MNIST's bytes, `all-min`/`all-max` otherwise), a checkerboard of
/// them, one hot element, sparse and uniform values.
pub fn image_kind(ty: IntType, image: u64) -> &'static str {
    let bytes = ty == U8;
    match image % 10 {
        0 if bytes => "all-0",
        0 => "all-min",
        1 if bytes => "all-255",
        1 => "all-max",
        2 => "checkerboard",
        3 => "hot-pixel",
        4 => "sparse",
        _ => "uniform",
    }
}

const U8: IntType = IntType { bits: 8, signed: false };

/// Image `image` of weight set `set` in the campaign seeded with `seed`, of `net`'s input
/// shape and type. An input of bytes draws them as MNIST-shaped campaigns always have (the
/// same values for the same seed, set and image); any other type draws each value within
/// its width, the extremes included.
pub fn image(net: &Network, seed: u64, set: u64, image: u64) -> Image {
    let ty = net.input_type;
    let n = net.input_len();
    let (h, w) = match net.input {
        Shape::Map { h, w, .. } => (h, w),
        Shape::Vector(v) => (1, v),
    };
    // Whether element i is a light square of a checkerboard of `cell`-sized squares.
    let light = |i: usize, cell: usize| {
        let p = i % (h * w);
        ((p / w) / cell + (p % w) / cell).is_multiple_of(2)
    };
    let mut r = rng(seed, set, image);
    let kind = image_kind(ty, image);
    if ty == U8 {
        let mut x = vec![0u8; n];
        match kind {
            "all-0" => {}
            "all-255" => x.fill(255),
            "checkerboard" => {
                let cell = r.random_range(1..=4);
                for (i, p) in x.iter_mut().enumerate() {
                    *p = if light(i, cell) { 255 } else { 0 };
                }
            }
            "hot-pixel" => x[r.random_range(0..n)] = r.random_range(1..=255),
            "sparse" => {
                x.iter_mut().for_each(|p| *p = if r.random_bool(0.2) { r.random() } else { 0 })
            }
            _ => r.fill(&mut x[..]),
        }
        return x.into_iter().map(i32::from).collect();
    }
    let (lo, hi) = (ty.min() as i64, ty.max() as i64);
    let mut x = vec![0i64; n];
    match kind {
        "all-min" => x.fill(lo),
        "all-max" => x.fill(hi),
        "checkerboard" => {
            let cell = r.random_range(1..=4);
            for (i, p) in x.iter_mut().enumerate() {
                *p = if light(i, cell) { hi } else { lo };
            }
        }
        "hot-pixel" => x[r.random_range(0..n)] = random_value(&mut r, ty),
        "sparse" => x
            .iter_mut()
            .for_each(|p| *p = if r.random_bool(0.2) { random_value(&mut r, ty) } else { 0 }),
        _ => x.iter_mut().for_each(|p| *p = random_value(&mut r, ty)),
    }
    x.into_iter().map(|v| v as i32).collect()
}
