//! Trains the float network the way the notebook does, with candle's autograd on the CPU.
//!
//! `Conv2d(1,3,7)` → `MaxPool2d(2)` → `ReLU` → flatten → `Linear(363,10)` → `log_softmax`, NLL
//! loss averaged over the batch; PyTorch's default init; SGD (lr 0.01, momentum 0.5, PyTorch's
//! momentum rule); batches of 64 from a training set reshuffled every epoch, the last partial
//! batch included; 9 epochs. After every epoch the 10,000 test images are scored with
//! [`FloatWeights::logits`].
//!
//! Three places deliberately do not use candle's stock layer:
//! * candle's `max_pool2d` backward multiplies the gradient by the fraction of window elements
//!   equal to the max (¼ for a unique max), where PyTorch routes the whole gradient to the first
//!   max of the window. The pool here picks each window's first max from the values and
//!   `gather`s it, so the gradient is scattered back to exactly that element, as in PyTorch.
//! * candle's `relu` passes the gradient at exactly 0; PyTorch does not. ReLU here is a multiply
//!   by the (constant) mask `x > 0`.
//! * conv1 is an im2col matmul whose backward skips the gradient of the constant patches
//!   (`ConstLhsMatmul`); candle's `conv2d`/`matmul` backward always compute the input's
//!   gradient too, which was most of the training time. Gradients of the parameters are still
//!   all candle autograd (`Var`, `backward`).
//!
//! Speed: each batch is split into micro-batches of 32 that run forward/backward in parallel on
//! rayon's pool; about 2 s per epoch (training + test scoring) on 2 cores, release build.
//!
//! Determinism: everything random (init, shuffles) comes from one `ChaCha8Rng` seeded with
//! [`TrainConfig::seed`], drawn with this module's own sampling code (not `rand`'s distributions,
//! whose algorithms may change between versions). Micro-batch gradients are summed in
//! micro-batch order, and candle's CPU matmul (gemm) splits work across threads only by output
//! block, so the weights are bit-identical from run to run and for any `RAYON_NUM_THREADS`
//! (checked: 1 and 2 threads give byte-identical weight files). They are tied to the candle /
//! gemm versions in `Cargo.lock` and to the CPU's float kernels (FMA vs not), not to PyTorch's
//! stream: the same seed does not reproduce a PyTorch run.

use crate::float_model::{
    argmax, FloatWeights, CHANNELS, CLASSES, CONV_SIDE, FC_IN, KERNEL, POOL_SIDE,
};
use crate::mnist::{Dataset, Image, SIDE};
use anyhow::{bail, Context, Result};
use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Tensor, Var, D};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::fmt;
use std::io::IsTerminal;
use std::time::Instant;

/// Training hyper-parameters. [`Default`] is the notebook's, with the seed whose weights are
/// committed as `vectors/weights/model.safetensors`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub momentum: f64,
    pub seed: u64,
}

/// Seed of the committed weights (`vectors/weights/model.safetensors`).
pub const DEFAULT_SEED: u64 = 8;

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 9, batch_size: 64, lr: 0.01, momentum: 0.5, seed: DEFAULT_SEED }
    }
}

/// One epoch's test-set result.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    /// Mean NLL over the test set (sum of per-image NLL / `total`).
    pub test_loss: f64,
    pub correct: usize,
    pub total: usize,
    /// Wall time of the epoch: training plus test evaluation.
    pub seconds: f64,
}

impl EpochStats {
    /// Test accuracy in percent.
    pub fn accuracy(&self) -> f64 {
        100.0 * self.correct as f64 / self.total.max(1) as f64
    }
}

/// The notebook's line: `Test set: Average loss: 0.0874, Accuracy: 9735/10000 (97.35%)`.
impl fmt::Display for EpochStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Test set: Average loss: {:.4}, Accuracy: {}/{} ({:.2}%)",
            self.test_loss,
            self.correct,
            self.total,
            self.accuracy()
        )
    }
}

/// Scores `weights` on `data`: (sum over images of the NLL of the true class, images classified
/// correctly). Uses the plain forward pass; parallel, and deterministic (per-image losses are
/// summed in image order).
pub fn evaluate(weights: &FloatWeights, data: &Dataset) -> (f64, usize) {
    let per_image: Vec<(f64, bool)> = data
        .images
        .par_iter()
        .zip(data.labels.par_iter())
        .map(|(img, &label)| {
            let z = weights.logits(img);
            let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
            let lse = m + z.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
            (lse - z[label as usize] as f64, argmax(&z) == label as usize)
        })
        .collect();
    let loss = per_image.iter().map(|p| p.0).sum();
    let correct = per_image.iter().filter(|p| p.1).count();
    (loss, correct)
}

/// Trains a fresh network on `train`, scoring it on `test` after every epoch and handing the
/// result to `on_epoch` (print it with `{}` for the notebook's line). Draws a progress bar on
/// stderr when `progress` is set and stderr is a terminal.
pub fn train(
    train: &Dataset,
    test: &Dataset,
    cfg: &TrainConfig,
    progress: bool,
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<FloatWeights> {
    if train.is_empty() {
        bail!("training set is empty");
    }
    if test.is_empty() {
        bail!("test set is empty");
    }
    if cfg.batch_size == 0 {
        bail!("batch size must be at least 1");
    }
    if !(cfg.lr.is_finite() && cfg.momentum.is_finite()) {
        bail!("learning rate and momentum must be finite");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let net = Net::new(&init_weights(&mut rng))?;
    let mut momentum_bufs: Vec<Option<Tensor>> = vec![None; 4];
    let mut order: Vec<usize> = (0..train.len()).collect();
    let batches = train.len().div_ceil(cfg.batch_size);
    let show = progress && std::io::stderr().is_terminal();

    for epoch in 1..=cfg.epochs {
        let start = Instant::now();
        shuffle(&mut order, &mut rng);
        let bar = if show {
            let bar = ProgressBar::new(batches as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg} ({eta})",
                )
                .context("progress bar template")?
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{epoch}/{}", cfg.epochs));
            Some(bar)
        } else {
            None
        };
        for (i, idx) in order.chunks(cfg.batch_size).enumerate() {
            let loss = net.sgd_step(train, idx, cfg, &mut momentum_bufs)?;
            if let Some(bar) = &bar {
                bar.inc(1);
                if i % 50 == 0 {
                    bar.set_message(format!("{loss:.4}"));
                }
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let weights = net.weights()?;
        let (loss_sum, correct) = evaluate(&weights, test);
        let stats = EpochStats {
            epoch,
            test_loss: loss_sum / test.len() as f64,
            correct,
            total: test.len(),
            seconds: start.elapsed().as_secs_f64(),
        };
        on_epoch(&stats);
    }
    net.weights()
}

/// PyTorch's default init for `Conv2d(1,3,7)` and `Linear(363,10)`: weights and biases
/// `U(−1/√fan_in, 1/√fan_in)` (`kaiming_uniform_(a=√5)` reduces to that), drawn in the order
/// conv1.weight, conv1.bias, fc_1.weight, fc_1.bias.
fn init_weights(rng: &mut ChaCha8Rng) -> FloatWeights {
    let mut uniform = |n: usize, fan_in: usize| -> Vec<f32> {
        let bound = 1.0 / (fan_in as f64).sqrt();
        (0..n).map(|_| ((2.0 * unit(rng) - 1.0) * bound) as f32).collect()
    };
    let conv_fan_in = KERNEL * KERNEL;
    FloatWeights {
        conv1_weight: uniform(CHANNELS * conv_fan_in, conv_fan_in),
        conv1_bias: uniform(CHANNELS, conv_fan_in),
        fc_weight: uniform(CLASSES * FC_IN, FC_IN),
        fc_bias: uniform(CLASSES, FC_IN),
    }
}

/// Uniform in [0, 1) with 53 random bits.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in 0..n (n ≥ 1), unbiased by rejection.
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let zone = u64::MAX - (u64::MAX % n + 1) % n; // largest multiple of n, minus 1
    loop {
        let v = rng.next_u64();
        if v <= zone {
            return v % n;
        }
    }
}

/// Fisher–Yates.
fn shuffle(v: &mut [usize], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

/// Images per independent forward/backward pass. A batch is split into micro-batches that run
/// in parallel (rayon) and whose gradients are summed in micro-batch order, so the result does
/// not depend on the thread count. 32 also keeps every elementwise candle op below candle's
/// 64K-element threshold for its spinning barrier thread pool, which on 2 busy cores made
/// training 2× slower, not faster.
const MICRO_BATCH: usize = 32;

/// The trainable network: four candle variables.
pub(crate) struct Net {
    conv_w: Var,
    conv_b: Var,
    fc_w: Var,
    fc_b: Var,
}

impl Net {
    pub(crate) fn new(w: &FloatWeights) -> Result<Net> {
        let dev = Device::Cpu;
        let var = |v: &Vec<f32>, shape: &[usize]| -> Result<Var> {
            Ok(Var::from_tensor(&Tensor::from_vec(v.clone(), shape, &dev)?)?)
        };
        Ok(Net {
            conv_w: var(&w.conv1_weight, &[CHANNELS, 1, KERNEL, KERNEL])?,
            conv_b: var(&w.conv1_bias, &[CHANNELS])?,
            fc_w: var(&w.fc_weight, &[CLASSES, FC_IN])?,
            fc_b: var(&w.fc_bias, &[CLASSES])?,
        })
    }

    fn vars(&self) -> [&Var; 4] {
        [&self.conv_w, &self.conv_b, &self.fc_w, &self.fc_b]
    }

    pub(crate) fn weights(&self) -> Result<FloatWeights> {
        let get = |v: &Var| -> Result<Vec<f32>> { Ok(v.as_tensor().flatten_all()?.to_vec1()?) };
        Ok(FloatWeights {
            conv1_weight: get(&self.conv_w)?,
            conv1_bias: get(&self.conv_b)?,
            fc_weight: get(&self.fc_w)?,
            fc_bias: get(&self.fc_b)?,
        })
    }

    /// Logits `[B, 10]` for `images`, as a differentiable candle graph.
    pub(crate) fn forward(&self, images: &[&Image]) -> Result<Tensor> {
        let b = images.len();
        let dev = Device::Cpu;
        // conv1 as a matmul over im2col patches: [B·484, 49] × [49, 3], + bias.
        let taps = KERNEL * KERNEL;
        let plane = CONV_SIDE * CONV_SIDE;
        let mut patches = Vec::with_capacity(b * plane * taps);
        for img in images {
            let x: Vec<f32> = img.iter().map(|&p| p as f32 / 255.0).collect();
            for r in 0..CONV_SIDE {
                for c in 0..CONV_SIDE {
                    for i in 0..KERNEL {
                        let row = (r + i) * SIDE + c;
                        patches.extend_from_slice(&x[row..row + KERNEL]);
                    }
                }
            }
        }
        let patches = Tensor::from_vec(patches, (b * plane, taps), &dev)?;
        let kernel_t = self.conv_w.as_tensor().reshape((CHANNELS, taps))?.t()?.contiguous()?;
        let conv = kernel_t
            .apply_op1(ConstLhsMatmul { lhs: patches })?
            .broadcast_add(self.conv_b.as_tensor())?
            .reshape((b, plane * CHANNELS))?; // [B, 22·22·3], (row, col, channel)

        // MaxPool2d(2) as PyTorch: the first max of each window, scanning row-major. The window
        // choice is a constant index; gather's backward scatters the gradient to it alone.
        // The index order (channel, row, col) is PyTorch's flatten order.
        let vals: Vec<f32> = conv.flatten_all()?.to_vec1()?;
        let at = |r: usize, c: usize, k: usize| (r * CONV_SIDE + c) * CHANNELS + k;
        let mut idx = Vec::with_capacity(b * FC_IN);
        let mut relu = Vec::with_capacity(b * FC_IN);
        for img in vals.chunks_exact(CHANNELS * plane) {
            for k in 0..CHANNELS {
                for r in 0..POOL_SIDE {
                    for c in 0..POOL_SIDE {
                        let (r2, c2) = (2 * r, 2 * c);
                        let mut best = at(r2, c2, k);
                        for cand in [at(r2, c2 + 1, k), at(r2 + 1, c2, k), at(r2 + 1, c2 + 1, k)] {
                            if img[cand] > img[best] {
                                best = cand;
                            }
                        }
                        idx.push(best as u32);
                        relu.push(if img[best] > 0.0 { 1f32 } else { 0.0 });
                    }
                }
            }
        }
        let idx = Tensor::from_vec(idx, (b, FC_IN), &dev)?;
        let relu = Tensor::from_vec(relu, (b, FC_IN), &dev)?;
        let pooled = conv.gather(&idx, 1)?.mul(&relu)?; // [B, 363], (channel, row, col)

        Ok(pooled.matmul(&self.fc_w.as_tensor().t()?)?.broadcast_add(self.fc_b.as_tensor())?)
    }

    /// Forward and backward over one micro-batch. The loss is the micro-batch's summed NLL
    /// divided by the whole batch's size, so micro-batch gradients add up to the batch mean's.
    /// Returns (that loss, the gradients in [`vars`](Self::vars) order).
    fn micro_grads(
        &self,
        data: &Dataset,
        idx: &[usize],
        batch_len: usize,
    ) -> Result<(f32, Vec<Tensor>)> {
        let images: Vec<&Image> = idx.iter().map(|&i| &data.images[i]).collect();
        let labels: Vec<u32> = idx.iter().map(|&i| data.labels[i] as u32).collect();
        let labels = Tensor::from_vec(labels, (idx.len(), 1), &Device::Cpu)?;
        let logp = log_softmax(&self.forward(&images)?)?;
        let loss = logp.gather(&labels, 1)?.sum_all()?.affine(-1.0 / batch_len as f64, 0.0)?;
        let grads = loss.backward()?;
        let g = self
            .vars()
            .iter()
            .map(|v| {
                let g = grads.get(v.as_tensor()).context("no gradient for a parameter")?;
                Ok(g.detach())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((loss.to_scalar()?, g))
    }

    /// One SGD step on the images `idx` of `data`; returns the batch's mean NLL.
    fn sgd_step(
        &self,
        data: &Dataset,
        idx: &[usize],
        cfg: &TrainConfig,
        bufs: &mut [Option<Tensor>],
    ) -> Result<f32> {
        let parts = idx
            .par_chunks(MICRO_BATCH)
            .map(|chunk| self.micro_grads(data, chunk, idx.len()))
            .collect::<Result<Vec<_>>>()?;
        let mut loss = 0f32;
        let mut grads: Vec<Tensor> = Vec::new();
        for (l, g) in parts {
            loss += l;
            grads = if grads.is_empty() {
                g
            } else {
                grads.iter().zip(&g).map(|(a, b)| a + b).collect::<candle_core::Result<_>>()?
            };
        }
        for ((var, buf), g) in self.vars().into_iter().zip(bufs.iter_mut()).zip(grads) {
            // PyTorch SGD: buf = momentum·buf + grad (buf = grad on the first step);
            // p = p − lr·buf.
            let b = match buf.take() {
                None => g,
                Some(prev) => (prev.affine(cfg.momentum, 0.0)? + g)?,
            };
            var.set(&(var.as_tensor().detach() - b.affine(cfg.lr, 0.0)?)?)?;
            *buf = Some(b);
        }
        Ok(loss)
    }
}

/// `lhs × arg` for a constant `lhs`. Same as `lhs.matmul(arg)`, except that backward computes
/// only the gradient of `arg` (`lhsᵀ × grad`): candle's matmul backward also computes the
/// gradient of the constant `lhs` (here the [B·484, 49] im2col patches), which was half of
/// the training time. (candle's `conv2d` has the same problem, through a slow direct
/// `conv_transpose2d` for the input gradient.)
struct ConstLhsMatmul {
    lhs: Tensor,
}

impl CustomOp1 for ConstLhsMatmul {
    fn name(&self) -> &'static str {
        "const-lhs-matmul"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("const-lhs-matmul: expected f32")
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("const-lhs-matmul: expected a contiguous argument")
        };
        let rhs = Tensor::from_slice(&data[start..end], layout.shape(), &Device::Cpu)?;
        let out = self.lhs.matmul(&rhs)?;
        let shape = out.shape().clone();
        Ok((CpuStorage::F32(out.flatten_all()?.to_vec1()?), shape))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.lhs.t()?.matmul(grad_res)?))
    }
}

/// log-softmax over the last dim. The max subtracted for stability is detached: it cancels
/// exactly in the maths, so only the rounding-noise gradient through it is dropped.
fn log_softmax(x: &Tensor) -> Result<Tensor> {
    let diff = x.broadcast_sub(&x.max_keepdim(D::Minus1)?.detach())?;
    let lse = diff.exp()?.sum_keepdim(D::Minus1)?.log()?;
    Ok(diff.broadcast_sub(&lse)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mnist::PIXELS;

    fn tiny_dataset(n: usize, seed: u64) -> Dataset {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut images = Vec::with_capacity(n);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let label = (i % 10) as u8;
            let mut img = [0u8; PIXELS];
            // A class-dependent bar plus noise: learnable in a few steps.
            for (p, px) in img.iter_mut().enumerate() {
                let (r, c) = (p / SIDE, p % SIDE);
                let on = r / 3 == label as usize || c / 3 == label as usize;
                let noise = below(&mut rng, 40) as u8;
                *px = if on { 200 + noise } else { noise };
            }
            images.push(img);
            labels.push(label);
        }
        Dataset { images, labels }
    }

    #[test]
    fn init_bounds_and_determinism() {
        let a = init_weights(&mut ChaCha8Rng::seed_from_u64(3));
        let b = init_weights(&mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(a, b);
        let c = init_weights(&mut ChaCha8Rng::seed_from_u64(4));
        assert_ne!(a, c);
        let conv_bound = 1.0 / 7.0;
        let fc_bound = 1.0 / (363f32).sqrt();
        assert!(a.conv1_weight.iter().all(|w| w.abs() <= conv_bound));
        assert!(a.conv1_bias.iter().all(|w| w.abs() <= conv_bound));
        assert!(a.fc_weight.iter().all(|w| w.abs() <= fc_bound));
        assert!(a.fc_bias.iter().all(|w| w.abs() <= fc_bound));
        // Spread over the whole range, not a corner of it.
        let max = a.fc_weight.iter().fold(0f32, |m, w| m.max(w.abs()));
        assert!(max > 0.95 * fc_bound);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<usize> = (0..1000).collect();
        shuffle(&mut v, &mut ChaCha8Rng::seed_from_u64(1));
        assert_ne!(v, (0..1000).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..1000).collect::<Vec<_>>());
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        assert!((0..1000).all(|_| below(&mut rng, 3) < 3));
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn training_forward_matches_plain_forward() {
        let data = tiny_dataset(8, 5);
        let w = init_weights(&mut ChaCha8Rng::seed_from_u64(11));
        let net = Net::new(&w).unwrap();
        let imgs: Vec<&Image> = data.images.iter().collect();
        let got: Vec<Vec<f32>> = net.forward(&imgs).unwrap().to_vec2().unwrap();
        for (img, row) in data.images.iter().zip(&got) {
            let want = w.logits(img);
            for (a, b) in row.iter().zip(want) {
                assert!((a - b).abs() < 1e-4, "{row:?} vs {want:?}");
            }
        }
    }

    /// The pool's gradient goes, whole, to the first max of its window (PyTorch), and ReLU
    /// blocks it where the pooled value is ≤ 0.
    #[test]
    fn conv_bias_gradient_matches_pytorch_rule() {
        // All-zero image: every conv output equals its channel's bias, so every 2×2 window is a
        // four-way tie. PyTorch sends each pooled gradient to one element: d(sum of logits)/d
        // conv_b[k] = 121 · Σ_o fc_w[o][k-th block] if b_k > 0, else 0.
        let mut w = init_weights(&mut ChaCha8Rng::seed_from_u64(2));
        w.conv1_bias = vec![0.5, -0.5, 0.25];
        let net = Net::new(&w).unwrap();
        let img = [0u8; PIXELS];
        let sum = net.forward(&[&img]).unwrap().sum_all().unwrap();
        let grads = sum.backward().unwrap();
        let g: Vec<f32> = grads.get(net.conv_b.as_tensor()).unwrap().to_vec1().unwrap();
        for k in 0..CHANNELS {
            let block: f32 = (0..CLASSES)
                .flat_map(|o| {
                    let row = &w.fc_weight[o * FC_IN..(o + 1) * FC_IN];
                    row[k * 121..(k + 1) * 121].to_vec()
                })
                .sum();
            let want = if w.conv1_bias[k] > 0.0 { block } else { 0.0 };
            assert!((g[k] - want).abs() < 1e-4, "channel {k}: {} vs {want}", g[k]);
        }
    }

    #[test]
    fn const_lhs_matmul_matches_matmul() {
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut rand = |n: usize| -> Vec<f32> { (0..n).map(|_| unit(&mut rng) as f32).collect() };
        let lhs = Tensor::from_vec(rand(40 * 49), (40, 49), &dev).unwrap();
        let w = Var::from_tensor(&Tensor::from_vec(rand(49 * 3), (49, 3), &dev).unwrap()).unwrap();
        let weight = Tensor::from_vec(rand(40 * 3), (40, 3), &dev).unwrap();
        let custom = w.as_tensor().apply_op1(ConstLhsMatmul { lhs: lhs.clone() }).unwrap();
        let stock = lhs.matmul(w.as_tensor()).unwrap();
        let (c, s): (Vec<Vec<f32>>, Vec<Vec<f32>>) =
            (custom.to_vec2().unwrap(), stock.to_vec2().unwrap());
        assert_eq!(c, s);
        let grad = |t: &Tensor| -> Vec<Vec<f32>> {
            let g = (t * &weight).unwrap().sum_all().unwrap().backward().unwrap();
            g.get(w.as_tensor()).unwrap().to_vec2().unwrap()
        };
        assert_eq!(grad(&custom), grad(&stock));
    }

    #[test]
    fn training_learns_and_is_deterministic() {
        let train_set = tiny_dataset(300, 1);
        let test_set = tiny_dataset(100, 2);
        let cfg = TrainConfig { epochs: 3, batch_size: 64, lr: 0.05, momentum: 0.5, seed: 7 };
        let mut lines = Vec::new();
        let a = train(&train_set, &test_set, &cfg, false, &mut |s| lines.push(s.clone())).unwrap();
        let b = train(&train_set, &test_set, &cfg, false, &mut |_| {}).unwrap();
        assert_eq!(a, b, "same seed must give bit-identical weights");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2].epoch, 3);
        assert_eq!(lines[2].total, 100);
        assert!(lines[2].correct >= 90, "{}", lines[2]);
        assert!(lines[2].test_loss < lines[0].test_loss);
        let c = train(&train_set, &test_set, &TrainConfig { seed: 8, ..cfg }, false, &mut |_| {})
            .unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn stats_line_matches_notebook() {
        let s =
            EpochStats { epoch: 9, test_loss: 0.087_44, correct: 9735, total: 10000, seconds: 1.0 };
        assert_eq!(s.to_string(), "Test set: Average loss: 0.0874, Accuracy: 9735/10000 (97.35%)");
    }
}
