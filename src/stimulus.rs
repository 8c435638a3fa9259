//! Seeded constrained-random stimulus: weight sets over the full s8 range with a share of
//! extremes, and u8 images with a share of edge patterns. Everything is a pure function of
//! (seed, set, image), so any one image can be regenerated alone.

use crate::memfile::{QuantWeights, FC_OUT};
use crate::mnist::{Image, PIXELS, SIDE};
use rand::{Rng, SeedableRng};
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

/// Weight set `set` of the campaign seeded with `seed`, and its kind.
pub fn weight_set(seed: u64, set: u64) -> (QuantWeights, &'static str) {
    let kind = WEIGHT_KINDS[(set % WEIGHT_KINDS.len() as u64) as usize];
    let mut r = rng(seed, set, u64::MAX);
    let mut w = QuantWeights::filled(0);
    let mut fill = |f: &mut dyn FnMut(usize, &mut ChaCha8Rng) -> i8| {
        let mut n = 0;
        for ch in w.conv_w.iter_mut() {
            for v in ch.iter_mut() {
                *v = f(n, &mut r);
                n += 1;
            }
        }
        for v in w.conv_b.iter_mut() {
            *v = f(n, &mut r);
            n += 1;
        }
        for row in w.fc_w.iter_mut() {
            for v in row.iter_mut() {
                *v = f(n, &mut r);
                n += 1;
            }
        }
        for v in w.fc_b.iter_mut() {
            *v = f(n, &mut r);
            n += 1;
        }
    };
    match kind {
        "all+127" => fill(&mut |_, _| 127),
        "all-128" => fill(&mut |_, _| -128),
        "alternating" => fill(&mut |n, _| if n % 2 == 0 { 127 } else { -128 }),
        "sparse" => fill(&mut |_, r| if r.random_bool(0.1) { r.random() } else { 0 }),
        "uniform-with-extremes" => fill(&mut |_, r| match r.random_range(0..4) {
            0 => 127,
            1 => -128,
            _ => r.random(),
        }),
        _ => fill(&mut |_, r| r.random()),
    }
    match kind {
        // Every fc row and bias equal: all ten logits tie, the class must be 0.
        "ties-all" => {
            let row = w.fc_w[0];
            w.fc_w.iter_mut().for_each(|r| *r = row);
            w.fc_b = [w.fc_b[0]; FC_OUT];
        }
        // Two equal rows with the largest bias: logits 2 and 7 tie, often at the top.
        "ties-pair" => {
            w.fc_w[7] = w.fc_w[2];
            w.fc_b = [-128; FC_OUT];
            w.fc_b[2] = 127;
            w.fc_b[7] = 127;
        }
        _ => {}
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
