//! The golden model: `docs/fixed-point.md` in integers, every layer returned.

use crate::memfile::{QuantWeights, CONV_CH, FC_IN, FC_OUT, K};
use crate::mnist::{Image, SIDE};

/// conv1 output side (28 − 7 + 1).
pub const CONV_SIDE: usize = SIDE - K + 1;
/// pool1 output side.
pub const POOL_SIDE: usize = CONV_SIDE / 2;
/// conv1 elements per image (3 × 22 × 22).
pub const CONV_LEN: usize = CONV_CH * CONV_SIDE * CONV_SIDE;
/// pool1 elements per image (3 × 11 × 11), also the fc input length.
pub const POOL_LEN: usize = CONV_CH * POOL_SIDE * POOL_SIDE;
const _: () = assert!(POOL_LEN == FC_IN);

/// Every layer of one image. Element order: channel, row, column (PyTorch's), which for
/// `pool1` is exactly the fc input order `p[n]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    pub conv1: [i32; CONV_LEN],
    pub pool1: [i32; POOL_LEN],
    pub fc1: [i32; FC_OUT],
    pub class: u8,
}

/// Index of `[channel][row][col]` in a layer of side `side`.
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

/// Runs the fixed-point network on one image.
pub fn run(w: &QuantWeights, x: &Image) -> Layers {
    let mut conv1 = [0i32; CONV_LEN];
    for k in 0..CONV_CH {
        let wk = &w.conv_w[k];
        for r in 0..CONV_SIDE {
            for c in 0..CONV_SIDE {
                let mut acc = 0i32;
                for i in 0..K {
                    let row = &x[(r + i) * SIDE + c..(r + i) * SIDE + c + K];
                    let wrow = &wk[i * K..(i + 1) * K];
                    for j in 0..K {
                        acc += row[j] as i32 * wrow[j] as i32;
                    }
                }
                // >> on i32 is arithmetic: floor division by 256.
                conv1[idx(CONV_SIDE, k, r, c)] = (acc >> 8) + w.conv_b[k] as i32;
            }
        }
    }
    let mut pool1 = [0i32; POOL_LEN];
    for k in 0..CONV_CH {
        for r in 0..POOL_SIDE {
            for c in 0..POOL_SIDE {
                let mut m = 0; // ReLU folded in: max(0, …)
                for (di, dj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    m = m.max(conv1[idx(CONV_SIDE, k, 2 * r + di, 2 * c + dj)]);
                }
                pool1[idx(POOL_SIDE, k, r, c)] = m;
            }
        }
    }
    let mut fc1 = [0i32; FC_OUT];
    for (o, out) in fc1.iter_mut().enumerate() {
        // Fits in i32 for any s8 weights (|sum| < 2^29, docs/fixed-point.md).
        let mut acc = w.fc_b[o] as i32 * 128;
        for (p, &wf) in pool1.iter().zip(w.fc_w[o].iter()) {
            acc += p * wf as i32;
        }
        *out = acc >> 7;
    }
    Layers { conv1, pool1, fc1, class: argmax(&fc1) }
}
