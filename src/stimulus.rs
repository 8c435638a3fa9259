//! Seeded constrained-random stimulus: weight sets over the full s8 range with a share of
//! extremes, and u8 images with a share of edge patterns. Everything is a pure function of
//! (seed, set, image), so any one image can be regenerated alone.

use crate::mnist::{Image, PIXELS, SIDE};
use crate::network::{IntType, Network, Op};
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

/// The kinds of image, by `image % 10`.
pub fn image_kind(image: u64) -> &'static str {
    match image % 10 {
        0 => "all-0",
        1 => "all-255",
        2 => "checkerboard",
        3 => "hot-pixel",
        4 => "sparse",
        _ => "uniform",
    }
}

/// Image `image` of weight set `set` in the campaign seeded with `seed`.
pub fn image(seed: u64, set: u64, image: u64) -> Image {
    let mut r = rng(seed, set, image);
    let mut x = [0u8; PIXELS];
    match image_kind(image) {
        "all-0" => {}
        "all-255" => x = [255; PIXELS],
        "checkerboard" => {
            let cell = r.random_range(1..=4);
            for (i, p) in x.iter_mut().enumerate() {
                *p =
                    if ((i / SIDE) / cell + (i % SIDE) / cell).is_multiple_of(2) { 255 } else { 0 };
            }
        }
        "hot-pixel" => x[r.random_range(0..PIXELS)] = r.random_range(1..=255),
        "sparse" => x.iter_mut().for_each(|p| *p = if r.random_bool(0.2) { r.random() } else { 0 }),
        _ => r.fill(&mut x[..]),
    }
    x
}
