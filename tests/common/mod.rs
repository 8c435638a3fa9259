//! Test helpers: the seed network's hand-written weights struct and reference as they were
//! before the network became a description. They are the oracle the generic code is proved
//! against (tests/oracle.rs) and the fixtures older tests are written in.
#![allow(dead_code)]

use anyhow::{bail, Context, Result};
use cnn_cosim::image::Pixel;
use cnn_cosim::memfile::{quantize, read_file, savetxt, savetxt_1d, write_atomic, Rounding};
use cnn_cosim::mnist::SIDE;
use cnn_cosim::network::Network;
use cnn_cosim::weights::{LayerParams, Params};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// conv1 channels.
pub const CONV_CH: usize = 3;
/// conv1 kernel side.
pub const K: usize = 7;
/// fc inputs (3 × 11 × 11).
pub const FC_IN: usize = 363;
/// fc outputs (classes).
pub const FC_OUT: usize = 10;

/// The six files, in the order the RTL loads them.
pub const FILES: [&str; 6] = [
    "conv1_weight_1.mem",
    "conv1_weight_2.mem",
    "conv1_weight_3.mem",
    "conv1_bias.mem",
    "fc_weight.mem",
    "fc_bias.mem",
];

/// Quantized weights, `q = trunc(w·128)` as s8, in the layouts of `docs/fixed-point.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantWeights {
    /// `conv_w[k][i*7 + j]`
    pub conv_w: [[i8; K * K]; CONV_CH],
    pub conv_b: [i8; CONV_CH],
    /// `fc_w[o][n]`
    pub fc_w: Vec<[i8; FC_IN]>,
    pub fc_b: [i8; FC_OUT],
}

impl QuantWeights {
    /// Every weight and bias set to `v`.
    pub fn filled(v: i8) -> Self {
        QuantWeights {
            conv_w: [[v; K * K]; CONV_CH],
            conv_b: [v; CONV_CH],
            fc_w: vec![[v; FC_IN]; FC_OUT],
            fc_b: [v; FC_OUT],
        }
    }

    /// Loads the six files from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("{}: weight directory not found", dir.display());
        }
        let mut w = QuantWeights::filled(0);
        for (k, ch) in w.conv_w.iter_mut().enumerate() {
            ch.copy_from_slice(&read_file(&dir.join(FILES[k]), K * K)?);
        }
        w.conv_b.copy_from_slice(&read_file(&dir.join(FILES[3]), CONV_CH)?);
        let fc = read_file(&dir.join(FILES[4]), FC_OUT * FC_IN)?;
        for (row, chunk) in w.fc_w.iter_mut().zip(fc.chunks_exact(FC_IN)) {
            row.copy_from_slice(chunk);
        }
        w.fc_b.copy_from_slice(&read_file(&dir.join(FILES[5]), FC_OUT)?);
        Ok(w)
    }

    /// Writes the six files into `dir` (created if missing) in the notebook's exact format.
    /// Each file is written to a temporary name and renamed, so no half-written file remains.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create weight directory", dir.display()))?;
        for (k, ch) in self.conv_w.iter().enumerate() {
            let rows: Vec<&[i8]> = ch.chunks(K).collect();
            write_atomic(&dir.join(FILES[k]), &savetxt(&rows))?;
        }
        write_atomic(&dir.join(FILES[3]), &savetxt_1d(&self.conv_b))?;
        let rows: Vec<&[i8]> = self.fc_w.iter().map(|r| &r[..]).collect();
        write_atomic(&dir.join(FILES[4]), &savetxt(&rows))?;
        write_atomic(&dir.join(FILES[5]), &savetxt_1d(&self.fc_b))?;
        Ok(())
    }
}

/// A value that did not fit in s8 and was clamped.
#[derive(Debug, Clone, PartialEq)]
pub struct Saturation {
    pub file: &'static str,
    pub index: usize,
    pub value: i64,
}

/// The old float weights (four tensors by field).
pub struct OldFloat {
    pub conv1_weight: Vec<f32>,
    pub conv1_bias: Vec<f32>,
    pub fc_weight: Vec<f32>,
    pub fc_bias: Vec<f32>,
}

/// Quantizes float weights; returns them with every saturated value.
pub fn quantize_all(f: &OldFloat, rounding: Rounding) -> (QuantWeights, Vec<Saturation>) {
    let mut sat = Vec::new();
    let mut q = |file: &'static str, src: &[f32], dst: &mut [i8]| {
        for (index, (&w, d)) in src.iter().zip(dst.iter_mut()).enumerate() {
            let (v, over) = quantize(w, rounding);
            *d = v;
            if let Some(value) = over {
                sat.push(Saturation { file, index, value });
            }
        }
    };
    let mut out = QuantWeights::filled(0);
    for ((file, src), dst) in
        FILES.iter().zip(f.conv1_weight.chunks_exact(K * K)).zip(out.conv_w.iter_mut())
    {
        q(file, src, dst);
    }
    q(FILES[3], &f.conv1_bias, &mut out.conv_b);
    let mut fc = vec![0i8; FC_OUT * FC_IN];
    q(FILES[4], &f.fc_weight, &mut fc);
    for (row, chunk) in out.fc_w.iter_mut().zip(fc.chunks_exact(FC_IN)) {
        row.copy_from_slice(chunk);
    }
    q(FILES[5], &f.fc_bias, &mut out.fc_b);
    (out, sat)
}

impl QuantWeights {
    /// The same values as the generic [`Params`] of the seed network.
    pub fn to_params(&self, net: &Network) -> Params {
        let mut layers = vec![None; net.layers.len()];
        let conv = net.layers.iter().position(|l| l.name == "conv1").expect("seed conv1");
        let fc = net.layers.iter().position(|l| l.name == "fc1").expect("seed fc1");
        layers[conv] = Some(LayerParams {
            weight: self.conv_w.iter().flatten().map(|&v| v as i64).collect(),
            bias: self.conv_b.iter().map(|&v| v as i64).collect(),
            ..Default::default()
        });
        layers[fc] = Some(LayerParams {
            weight: self.fc_w.iter().flatten().map(|&v| v as i64).collect(),
            bias: self.fc_b.iter().map(|&v| v as i64).collect(),
            ..Default::default()
        });
        Params { layers }
    }
}

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
pub fn run<P: Pixel>(w: &QuantWeights, x: &[P]) -> Layers {
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
                        acc += row[j].value() as i32 * wrow[j] as i32;
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

// ---- The random weight sets as src/stimulus.rs drew them for the seed network ----

fn rng(seed: u64, set: u64, image: u64) -> ChaCha8Rng {
    // Distinct streams per (set, image); image u64::MAX is the weight set's own stream.
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(set.wrapping_mul(0x1_0000_0001) ^ image.rotate_left(32));
    r
}

/// The kinds of weight set, in the order the first sets of a campaign take them.
const OLD_WEIGHT_KINDS: [&str; 8] = [
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
pub fn old_weight_set(seed: u64, set: u64) -> (QuantWeights, &'static str) {
    let kind = OLD_WEIGHT_KINDS[(set % OLD_WEIGHT_KINDS.len() as u64) as usize];
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

/// The generic reference on the seed network, in the old [`Layers`] form (so the
/// hand-computed tests of tests/reference.rs check the generic code).
pub fn generic_run<P: Pixel>(w: &QuantWeights, x: &[P]) -> Layers {
    let net = Network::seed();
    let out = cnn_cosim::reference::run(&net, &w.to_params(&net), x);
    let mut l =
        Layers { conv1: [0; CONV_LEN], pool1: [0; POOL_LEN], fc1: [0; FC_OUT], class: out.class };
    for (d, &s) in l.conv1.iter_mut().zip(&out.taps[0]) {
        *d = s as i32;
    }
    for (d, &s) in l.pool1.iter_mut().zip(&out.taps[1]) {
        *d = s as i32;
    }
    for (d, &s) in l.fc1.iter_mut().zip(&out.taps[2]) {
        *d = s as i32;
    }
    l
}

// ---- The float forward pass as src/float_model.rs had it for the seed network ----

const F_CHANNELS: usize = 3;
const F_KERNEL: usize = 7;
const F_CONV_SIDE: usize = 22;
const F_POOL_SIDE: usize = 11;
const F_FC_IN: usize = 363;

impl OldFloat {
    /// From the generic float weights of the seed network.
    pub fn from_generic(f: &cnn_cosim::float_model::FloatWeights) -> OldFloat {
        let t = |n: &str| f.tensor(n).expect("seed tensor").to_vec();
        OldFloat {
            conv1_weight: t("conv1.weight"),
            conv1_bias: t("conv1.bias"),
            fc_weight: t("fc_1.weight"),
            fc_bias: t("fc_1.bias"),
        }
    }

    /// The network's ten outputs (before log-softmax) for one image, in f32 like PyTorch.
    pub fn logits<P: Pixel>(&self, image: &[P]) -> [f32; 10] {
        let mut x = [0f32; SIDE * SIDE];
        for (d, &p) in x.iter_mut().zip(image.iter()) {
            *d = p.value() as f32 / 255.0;
        }
        // conv1 (valid, stride 1) + bias.
        let mut conv = [0f32; F_CHANNELS * F_CONV_SIDE * F_CONV_SIDE];
        for k in 0..F_CHANNELS {
            let w = &self.conv1_weight[k * F_KERNEL * F_KERNEL..(k + 1) * F_KERNEL * F_KERNEL];
            let out = &mut conv[k * F_CONV_SIDE * F_CONV_SIDE..(k + 1) * F_CONV_SIDE * F_CONV_SIDE];
            out.fill(self.conv1_bias[k]);
            for i in 0..F_KERNEL {
                for j in 0..F_KERNEL {
                    let wij = w[i * F_KERNEL + j];
                    for r in 0..F_CONV_SIDE {
                        let src = &x[(r + i) * SIDE + j..(r + i) * SIDE + j + F_CONV_SIDE];
                        let dst = &mut out[r * F_CONV_SIDE..(r + 1) * F_CONV_SIDE];
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d += s * wij;
                        }
                    }
                }
            }
        }
        // 2×2 max-pool, then ReLU, flattened (channel, row, col).
        let mut p = [0f32; F_FC_IN];
        for k in 0..F_CHANNELS {
            let c = &conv[k * F_CONV_SIDE * F_CONV_SIDE..];
            for r in 0..F_POOL_SIDE {
                for col in 0..F_POOL_SIDE {
                    let at = |dr: usize, dc: usize| c[(2 * r + dr) * F_CONV_SIDE + 2 * col + dc];
                    let m = at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
                    p[(k * F_POOL_SIDE + r) * F_POOL_SIDE + col] = m.max(0.0);
                }
            }
        }
        // fc.
        let mut out = [0f32; 10];
        for (o, y) in out.iter_mut().enumerate() {
            let w = &self.fc_weight[o * F_FC_IN..(o + 1) * F_FC_IN];
            *y = w.iter().zip(&p).map(|(a, b)| a * b).sum::<f32>() + self.fc_bias[o];
        }
        out
    }
}
