//! Trains the float network of any description ([`Network`]) the way the notebook trains the
//! seed network, with candle's autograd on the CPU.
//!
//! The layers run in the described order: conv2d (any channels, kernel, stride, zero padding),
//! max-pool (square window, stride), ReLU, flatten (`chw` is PyTorch's order, `hwc` row,
//! column, channel), linear; the final argmax becomes `log_softmax` and the NLL loss averaged
//! over the batch. PyTorch's default init; SGD (lr 0.01, momentum 0.5, PyTorch's momentum
//! rule); batches of 64 from a training set reshuffled every epoch, the last partial batch
//! included; 9 epochs. After every epoch the 10,000 test images are scored with
//! [`FloatWeights::logits`].
//!
//! Inside the graph an activation is a `[B, n]` tensor, one row per image; a map's elements
//! are in (channel, row, col) or in (row, col, channel) order, whichever the op that made it
//! produces (a conv's matmul gives the latter), and the ops that read a map index it
//! accordingly. Three places deliberately do not use candle's stock layer:
//! * candle's `max_pool2d` backward multiplies the gradient by the fraction of window elements
//!   equal to the max (¼ for a unique max), where PyTorch routes the whole gradient to the first
//!   max of the window. The pool here picks each window's first max from the values and
//!   `gather`s it, so the gradient is scattered back to exactly that element, as in PyTorch.
//! * candle's `relu` passes the gradient at exactly 0; PyTorch does not. ReLU here is a multiply
//!   by the (constant) mask `x > 0`.
//! * A conv is an im2col matmul. When its input depends on no parameter (the image, or ops on
//!   the image alone), the patches are a constant and the matmul's backward skips their
//!   gradient (`ConstLhsMatmul`); candle's `conv2d`/`matmul` backward always compute the
//!   input's gradient too, which was most of the training time. A later conv (its input comes
//!   from a parameter) is `Im2colMatmul`, whose backward gives the input's gradient as well
//!   (col2im); it is the maths of candle's matmul on gathered patches without their
//!   `[B·oh·ow, taps]` gradient tensor, whose elementwise adds cross candle's 64K-element
//!   threshold for its barrier thread pool (4–5× slower for two_conv). A linear layer on a
//!   constant input uses `ConstLhsMatmul` too. Gradients of the parameters are still all candle
//!   autograd (`Var`, `backward`).
//!
//! Speed: each batch is split into micro-batches of 32 that run forward/backward in parallel on
//! rayon's pool; about 2 s per epoch (training + test scoring) for the seed network and
//! 2.5 s for two_conv on 2 cores, release build.
//!
//! Determinism: everything random (init, shuffles) comes from one `ChaCha8Rng` seeded with
//! [`TrainConfig::seed`], drawn with this module's own sampling code (not `rand`'s distributions,
//! whose algorithms may change between versions). Micro-batch gradients are summed in
//! micro-batch order, and candle's CPU matmul (gemm) splits work across threads only by output
//! block, so the weights are bit-identical from run to run and for any `RAYON_NUM_THREADS`
//! (checked: 1 and 2 threads give byte-identical weight files). They are tied to the candle /
//! gemm versions in `Cargo.lock` and to the CPU's float kernels (FMA vs not), not to PyTorch's
//! stream: the same seed does not reproduce a PyTorch run. For the seed network the graph is
//! op for op the one the fixed seed trainer built, so `TrainConfig::default()` still
//! reproduces the committed `vectors/weights/model.safetensors` byte for byte.

use crate::float_model::{self, argmax, FloatWeights};
use crate::mnist::{Dataset, Image, PIXELS};
use crate::network::op::{AvgPool, Conv2d, Pad};
use crate::network::{FlattenOrder, Layer, Network, Op, Shape as NetShape};
use anyhow::{anyhow, bail, Context, Result};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Device, Layout, Shape, Tensor, Var, D};
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
    /// The learning rate is multiplied by this after every epoch (1: constant).
    pub lr_decay: f64,
    /// L2 penalty, PyTorch SGD's `weight_decay`: `grad + weight_decay · p` (0: none).
    pub weight_decay: f64,
    pub seed: u64,
}

/// Seed of the committed weights (`vectors/weights/model.safetensors`).
pub const DEFAULT_SEED: u64 = 8;

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 9,
            batch_size: 64,
            lr: 0.01,
            momentum: 0.5,
            lr_decay: 1.0,
            weight_decay: 0.0,
            seed: DEFAULT_SEED,
        }
    }
}

impl TrainConfig {
    /// `net`'s recipe (its `[train]` table over the notebook's), then `epochs` and `seed`
    /// where given.
    pub fn for_network(net: &Network, epochs: Option<usize>, seed: Option<u64>) -> TrainConfig {
        let d = TrainConfig::default();
        let r = net.recipe;
        TrainConfig {
            epochs: epochs.or(r.epochs).unwrap_or(d.epochs),
            batch_size: r.batch_size.unwrap_or(d.batch_size),
            lr: r.lr.unwrap_or(d.lr),
            momentum: r.momentum.unwrap_or(d.momentum),
            lr_decay: r.lr_decay.unwrap_or(d.lr_decay),
            weight_decay: r.weight_decay.unwrap_or(d.weight_decay),
            seed: seed.or(r.seed).unwrap_or(d.seed),
        }
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

/// Scores `weights` (of `net`) on `data`: (sum over images of the NLL of the true class, images
/// classified correctly). Uses the plain forward pass; parallel, and deterministic (per-image
/// losses are summed in image order).
pub fn evaluate(net: &Network, weights: &FloatWeights, data: &Dataset) -> (f64, usize) {
    let per_image: Vec<(f64, bool)> = data
        .images
        .par_iter()
        .zip(data.labels.par_iter())
        .map(|(img, &label)| {
            let z = weights.logits(net, img);
            let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
            let lse = m + z.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
            (lse - z[label as usize] as f64, argmax(&z) == label as usize)
        })
        .collect();
    let loss = per_image.iter().map(|p| p.0).sum();
    let correct = per_image.iter().filter(|p| p.1).count();
    (loss, correct)
}

/// Trains a fresh `net` on `train`, scoring it on `test` after every epoch and handing the
/// result to `on_epoch` (print it with `{}` for the notebook's line). Draws a progress bar on
/// stderr when `progress` is set and stderr is a terminal.
pub fn train(
    net: &Network,
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
    if ![cfg.lr, cfg.momentum, cfg.lr_decay, cfg.weight_decay].iter().all(|v| v.is_finite()) {
        bail!("learning rate, its decay, momentum and weight decay must be finite");
    }
    let max_label = train.labels.iter().chain(&test.labels).max().copied().unwrap_or(0);
    if net.classes() <= max_label as usize {
        bail!(
            "network {:?} has {} classes, but the data has label {max_label}",
            net.name,
            net.classes()
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let model = Net::new(net, &init_weights(net, &mut rng))?;
    let mut momentum_bufs: Vec<Option<Tensor>> = vec![None; model.vars.len()];
    let mut order: Vec<usize> = (0..train.len()).collect();
    let batches = train.len().div_ceil(cfg.batch_size);
    let show = progress && std::io::stderr().is_terminal();

    for epoch in 1..=cfg.epochs {
        let start = Instant::now();
        let lr = cfg.lr * cfg.lr_decay.powi(epoch as i32 - 1);
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
            let loss = model.sgd_step(train, idx, cfg, lr, &mut momentum_bufs)?;
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
        let weights = model.weights()?;
        let (loss_sum, correct) = evaluate(net, &weights, test);
        let stats = EpochStats {
            epoch,
            test_loss: loss_sum / test.len() as f64,
            correct,
            total: test.len(),
            seconds: start.elapsed().as_secs_f64(),
        };
        on_epoch(&stats);
    }
    model.weights()
}

/// PyTorch's default init for every conv2d and linear layer of `net`: weights and biases
/// `U(−1/√fan_in, 1/√fan_in)` (`kaiming_uniform_(a=√5)` reduces to that), where `fan_in` is the
/// layer's inputs per output (in_channels·kh·kw, or in); drawn tensor by tensor in
/// [`float_model::spec`] order (layer order, weight then bias). For the seed network: conv1.weight,
/// conv1.bias, fc_1.weight, fc_1.bias.
fn init_weights(net: &Network, rng: &mut ChaCha8Rng) -> FloatWeights {
    let mut uniform = |n: usize, fan_in: usize| -> Vec<f32> {
        let bound = 1.0 / (fan_in as f64).sqrt();
        (0..n).map(|_| ((2.0 * unit(rng) - 1.0) * bound) as f32).collect()
    };
    let mut fan_in = 1;
    let mut tensors = Vec::new();
    for (name, shape) in float_model::spec(net) {
        // A weight is [out, in, kh, kw] or [out, in]; its bias ([out]) comes right after it.
        if shape.len() > 1 {
            fan_in = shape[1..].iter().product();
        }
        let mut data = uniform(shape.iter().product(), fan_in);
        // A connection table's masked pairs start (and, without gradient, stay) at zero.
        let conv = net.layers.iter().find_map(|l| match &l.op {
            Op::Conv2d(c) if c.connections.is_some() && name == format!("{}.weight", l.param) => {
                Some(c)
            }
            _ => None,
        });
        if let Some(conv) = conv {
            for (v, m) in data.iter_mut().zip(connection_mask(conv, shape[1])) {
                *v *= m;
            }
        }
        tensors.push(float_model::Tensor { name, shape, data });
    }
    FloatWeights { tensors }
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
/// not depend on the thread count. 32 also keeps most elementwise candle ops (for the seed
/// network, all of them) below candle's 64K-element threshold for its spinning barrier thread
/// pool, which on 2 busy cores made training 2× slower, not faster.
const MICRO_BATCH: usize = 32;

/// A batch's activation inside the graph.
struct Act {
    /// `[B, shape.len()]`, one row per image.
    t: Tensor,
    shape: NetShape,
    /// Element order of a map within a row (a vector is in its own order).
    order: FlattenOrder,
    /// Depends on no parameter (the image, or ops on the image alone).
    constant: bool,
}

/// Position of map element (channel, row, col) within a row of an activation.
fn offset(
    order: FlattenOrder,
    (c, h, w): (usize, usize, usize),
    ch: usize,
    r: usize,
    col: usize,
) -> usize {
    match order {
        FlattenOrder::Chw => (ch * h + r) * w + col,
        FlattenOrder::Hwc => (r * w + col) * c + ch,
    }
}

/// (channels, rows, cols) of a map shape of layer `l`.
fn map_dims(l: &Layer, s: NetShape) -> Result<(usize, usize, usize)> {
    match s {
        NetShape::Map { c, h, w } => Ok((c, h, w)),
        NetShape::Vector(n) => {
            Err(anyhow!("layer {:?}: expected a map, got a vector of {n}", l.name))
        }
    }
}

/// The trainable network: one candle variable per parameter tensor, in
/// [`float_model::spec`] order.
pub(crate) struct Net<'a> {
    net: &'a Network,
    /// (name, shape) of every variable.
    spec: Vec<(String, Vec<usize>)>,
    vars: Vec<Var>,
    /// Per layer: indices into `vars` of its weight and bias (conv2d, linear).
    params: Vec<Option<(usize, Option<usize>)>>,
}

impl<'a> Net<'a> {
    pub(crate) fn new(net: &'a Network, w: &FloatWeights) -> Result<Net<'a>> {
        if !net.takes_mnist_images() {
            bail!(
                "network {:?}: input {} of {} is not an MNIST image (the trainer trains on MNIST)",
                net.name,
                net.input,
                net.input_type
            );
        }
        let dev = Device::Cpu;
        let spec = float_model::spec(net);
        let mut vars = Vec::with_capacity(spec.len());
        for (name, shape) in &spec {
            let t = w
                .tensors
                .iter()
                .find(|t| &t.name == name)
                .ok_or_else(|| anyhow!("no tensor {name} in the weights"))?;
            if &t.shape != shape || t.data.len() != shape.iter().product::<usize>() {
                bail!("tensor {name} has shape {:?}, expected {shape:?}", t.shape);
            }
            vars.push(Var::from_tensor(&Tensor::from_vec(t.data.clone(), &shape[..], &dev)?)?);
        }
        let find = |name: String| spec.iter().position(|(n, _)| *n == name);
        let params = net
            .layers
            .iter()
            .map(|l| {
                let a = l.op.arith()?;
                let w = find(format!("{}.weight", l.param)).expect("spec lists every weight");
                let b = a
                    .bias
                    .as_ref()
                    .map(|_| find(format!("{}.bias", l.param)).expect("spec lists every bias"));
                Some((w, b))
            })
            .collect();
        Ok(Net { net, spec, vars, params })
    }

    /// The variable of parameter tensor `name`.
    #[cfg(test)]
    fn var(&self, name: &str) -> &Var {
        &self.vars[self.spec.iter().position(|(n, _)| n == name).expect("known tensor")]
    }

    pub(crate) fn weights(&self) -> Result<FloatWeights> {
        let tensors = self
            .spec
            .iter()
            .zip(&self.vars)
            .map(|((name, shape), v)| {
                Ok(float_model::Tensor {
                    name: name.clone(),
                    shape: shape.clone(),
                    data: v.as_tensor().flatten_all()?.to_vec1()?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(FloatWeights { tensors })
    }

    /// Logits `[B, classes]` (the argmax's input) for `images`, as a differentiable candle
    /// graph.
    pub(crate) fn forward(&self, images: &[&Image]) -> Result<Tensor> {
        if !self.net.is_chain() {
            bail!(
                "network {:?}: the trainer trains chains of layers; a layer that reads another \
                 than its predecessor (an add, an `input`) is not trained (yet)",
                self.net.name
            );
        }
        let b = images.len();
        let x: Vec<f32> = images.iter().flat_map(|img| self.net.float_input(&img[..])).collect();
        let mut act = Act {
            t: Tensor::from_vec(x, (b, PIXELS), &Device::Cpu)?,
            shape: self.net.input,
            order: FlattenOrder::Chw,
            constant: true,
        };
        for (l, p) in self.net.layers.iter().zip(&self.params) {
            act = match (&l.op, p) {
                (Op::Conv2d(c), _) if c.groups > 1 => bail!(
                    "layer {:?}: the trainer does not train grouped convolutions (yet)",
                    l.name
                ),
                (Op::Conv2d(c), Some(p)) => self.conv(act, l, c, *p)?,
                (Op::MaxPool(m), _) => maxpool(act, l, m.kernel, m.stride)?,
                (Op::AvgPool(a), _) => avgpool(act, l, a)?,
                (Op::Pad(pad), _) => self::pad(act, l, pad)?,
                // An integer rescale leaves the real values as they are.
                (Op::Rescale(_), _) => act,
                (Op::Relu(_), _) => relu(act)?,
                (Op::Flatten(f), _) => flatten(act, l, f.order)?,
                (Op::Linear(lin), Some(p)) => self.linear(act, lin.outputs, *p)?,
                (Op::Argmax(_), _) => return Ok(act.t),
                (Op::Conv2d(_) | Op::Linear(_), None) => bail!("layer {:?}: no parameters", l.name),
                (op, _) => bail!(
                    "layer {:?}: the trainer does not train {} layers (yet)",
                    l.name,
                    op.name()
                ),
            };
        }
        bail!("network {:?} does not end with an argmax", self.net.name)
    }

    /// Adds the bias (if any) to `y` `[rows, outputs]`.
    fn add_bias(&self, y: Tensor, bias: Option<usize>) -> Result<Tensor> {
        Ok(match bias {
            Some(i) => y.broadcast_add(self.vars[i].as_tensor())?,
            None => y,
        })
    }

    /// A conv2d as an im2col matmul: patches `[B·oh·ow, c·kh·kw]` (each row in (channel, i, j)
    /// order, as the weight `[out, c, kh, kw]` flattens) × weightᵀ `[c·kh·kw, out]`. The result
    /// is in (row, col, channel) order.
    fn conv(
        &self,
        act: Act,
        l: &Layer,
        conv: &Conv2d,
        (wi, bi): (usize, Option<usize>),
    ) -> Result<Act> {
        let (kh, kw, stride, padding) = (conv.kh, conv.kw, conv.stride, conv.padding);
        let (c, h, w) = map_dims(l, act.shape)?;
        let (oc, oh, ow) = map_dims(l, l.output)?;
        let b = act.t.dim(0)?;
        let (taps, plane) = (c * kh * kw, oh * ow);
        // Where each patch element comes from within an input row; `None` is zero padding.
        let mut src: Vec<Option<usize>> = Vec::with_capacity(plane * taps);
        for r in 0..oh {
            for col in 0..ow {
                for ci in 0..c {
                    for i in 0..kh {
                        let y = (r * stride + i).checked_sub(padding).filter(|&y| y < h);
                        for j in 0..kw {
                            let x = (col * stride + j).checked_sub(padding).filter(|&x| x < w);
                            src.push(y.zip(x).map(|(y, x)| offset(act.order, (c, h, w), ci, y, x)));
                        }
                    }
                }
            }
        }
        let im2col = Im2colMatmul { src, taps };
        let kernel = self.vars[wi].as_tensor().reshape((oc, taps))?;
        // A connection table: masked pairs' weights multiplied by 0, so they get no gradient.
        let kernel = match &conv.connections {
            None => kernel,
            Some(_) => kernel.mul(&Tensor::from_vec(
                connection_mask(conv, c),
                (oc, taps),
                &Device::Cpu,
            )?)?,
        };
        let y = if act.constant {
            let patches = im2col.patches(&act.t.flatten_all()?.to_vec1()?, b)?;
            kernel.t()?.contiguous()?.apply_op1(ConstLhsMatmul { lhs: patches })?
        } else {
            act.t.apply_op2(&kernel, im2col)?
        };
        let y = self.add_bias(y, bi)?.reshape((b, plane * oc))?;
        Ok(Act { t: y, shape: l.output, order: FlattenOrder::Hwc, constant: false })
    }

    /// `x · weightᵀ + bias`.
    fn linear(&self, act: Act, outputs: usize, (wi, bi): (usize, Option<usize>)) -> Result<Act> {
        let wt = self.vars[wi].as_tensor().t()?;
        let y = if act.constant {
            wt.contiguous()?.apply_op1(ConstLhsMatmul { lhs: act.t })?
        } else {
            act.t.matmul(&wt)?
        };
        let y = self.add_bias(y, bi)?;
        Ok(Act {
            t: y,
            shape: NetShape::Vector(outputs),
            order: FlattenOrder::Chw,
            constant: false,
        })
    }

    /// Forward and backward over one micro-batch. The loss is the micro-batch's summed NLL
    /// divided by the whole batch's size, so micro-batch gradients add up to the batch mean's.
    /// Returns (that loss, the gradients in `vars` order).
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
            .vars
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
        lr: f64,
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
        for ((var, buf), g) in self.vars.iter().zip(bufs.iter_mut()).zip(grads) {
            // PyTorch SGD: grad += weight_decay·p; buf = momentum·buf + grad (buf = grad on
            // the first step); p = p − lr·buf.
            let g = if cfg.weight_decay != 0.0 {
                (g + var.as_tensor().detach().affine(cfg.weight_decay, 0.0)?)?
            } else {
                g
            };
            let b = match buf.take() {
                None => g,
                Some(prev) => (prev.affine(cfg.momentum, 0.0)? + g)?,
            };
            var.set(&(var.as_tensor().detach() - b.affine(lr, 0.0)?)?)?;
            *buf = Some(b);
        }
        Ok(loss)
    }
}

/// Max-pool as PyTorch: the first max of each window, scanning row-major. The window choice is
/// a constant index; gather's backward scatters the gradient to it alone. The result is in
/// (channel, row, col) order.
fn maxpool(act: Act, l: &Layer, kernel: usize, stride: usize) -> Result<Act> {
    let (c, h, w) = map_dims(l, act.shape)?;
    let (_, oh, ow) = map_dims(l, l.output)?;
    let b = act.t.dim(0)?;
    let vals: Vec<f32> = act.t.flatten_all()?.to_vec1()?;
    let at = |ch: usize, r: usize, col: usize| offset(act.order, (c, h, w), ch, r, col);
    let mut idx = Vec::with_capacity(b * c * oh * ow);
    for img in vals.chunks_exact(c * h * w) {
        for ch in 0..c {
            for r in 0..oh {
                for col in 0..ow {
                    let (r0, c0) = (r * stride, col * stride);
                    let mut best = at(ch, r0, c0);
                    for dr in 0..kernel {
                        for dc in 0..kernel {
                            let cand = at(ch, r0 + dr, c0 + dc);
                            if img[cand] > img[best] {
                                best = cand;
                            }
                        }
                    }
                    idx.push(best as u32);
                }
            }
        }
    }
    let idx = Tensor::from_vec(idx, (b, c * oh * ow), &Device::Cpu)?;
    Ok(Act { t: act.t.gather(&idx, 1)?, shape: l.output, order: FlattenOrder::Chw, ..act })
}

/// Average pool as PyTorch's `avg_pool2d` (no padding): the sum of the window's gathers
/// divided by the window size (or the declared divisor). The result is in (channel, row, col)
/// order.
fn avgpool(act: Act, l: &Layer, a: &AvgPool) -> Result<Act> {
    let (c, h, w) = map_dims(l, act.shape)?;
    let (_, oh, ow) = map_dims(l, l.output)?;
    let b = act.t.dim(0)?;
    let at = |ch: usize, r: usize, col: usize| offset(act.order, (c, h, w), ch, r, col) as u32;
    let mut sum: Option<Tensor> = None;
    for dr in 0..a.kernel {
        for dc in 0..a.kernel {
            let mut idx = Vec::with_capacity(c * oh * ow);
            for ch in 0..c {
                for r in 0..oh {
                    for col in 0..ow {
                        idx.push(at(ch, r * a.stride + dr, col * a.stride + dc));
                    }
                }
            }
            let idx = Tensor::from_vec(idx.repeat(b), (b, c * oh * ow), &Device::Cpu)?;
            let g = act.t.gather(&idx, 1)?;
            sum = Some(match sum {
                None => g,
                Some(s) => (s + g)?,
            });
        }
    }
    let sum = sum.context("an average pool has a window")?;
    let scale = a.divide.float(1.0, a.kernel * a.kernel) as f64;
    Ok(Act { t: sum.affine(scale, 0.0)?, shape: l.output, order: FlattenOrder::Chw, ..act })
}

/// Zero padding as the float model's: a gather from each row with a zero appended.
fn pad(act: Act, l: &Layer, p: &Pad) -> Result<Act> {
    let (c, h, w) = map_dims(l, act.shape)?;
    let (_, oh, ow) = map_dims(l, l.output)?;
    let b = act.t.dim(0)?;
    let zero = (c * h * w) as u32;
    let mut idx = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        for r in 0..oh {
            for col in 0..ow {
                let y = r.checked_sub(p.top).filter(|&y| y < h);
                let x = col.checked_sub(p.left).filter(|&x| x < w);
                idx.push(match y.zip(x) {
                    Some((y, x)) => offset(act.order, (c, h, w), ch, y, x) as u32,
                    None => zero,
                });
            }
        }
    }
    let t = Tensor::cat(&[&act.t, &Tensor::zeros((b, 1), DType::F32, &Device::Cpu)?], 1)?;
    let idx = Tensor::from_vec(idx.repeat(b), (b, c * oh * ow), &Device::Cpu)?;
    Ok(Act { t: t.gather(&idx, 1)?, shape: l.output, order: FlattenOrder::Chw, ..act })
}

/// A conv's connection table as a 0/1 mask over its weights `[out][c][kh][kw]`.
fn connection_mask(conv: &Conv2d, c: usize) -> Vec<f32> {
    let k = conv.kh * conv.kw;
    (0..conv.out_channels * c * k)
        .map(|n| if conv.connected(n / (c * k), (n / k) % c, c) { 1.0 } else { 0.0 })
        .collect()
}

/// ReLU as PyTorch, gradient 0 at 0: a multiply by the constant mask `x > 0`.
fn relu(act: Act) -> Result<Act> {
    let vals: Vec<f32> = act.t.flatten_all()?.to_vec1()?;
    let mask: Vec<f32> = vals.iter().map(|&v| if v > 0.0 { 1.0 } else { 0.0 }).collect();
    let mask = Tensor::from_vec(mask, act.t.shape(), &Device::Cpu)?;
    Ok(Act { t: act.t.mul(&mask)?, ..act })
}

/// A map to a vector in `order`: free when the map is already in that order, else a gather.
fn flatten(act: Act, l: &Layer, order: FlattenOrder) -> Result<Act> {
    let shape = NetShape::Vector(act.shape.len());
    let NetShape::Map { c, h, w } = act.shape else {
        return Ok(Act { shape, ..act });
    };
    if act.order == order {
        return Ok(Act { shape, ..act });
    }
    let mut one = Vec::with_capacity(c * h * w);
    for a in 0..c * h * w {
        let (ch, r, col) = match order {
            FlattenOrder::Chw => (a / (h * w), (a / w) % h, a % w),
            FlattenOrder::Hwc => (a % c, a / (w * c), (a / c) % w),
        };
        one.push(offset(act.order, (c, h, w), ch, r, col) as u32);
    }
    let b = act.t.dim(0)?;
    let idx = Tensor::from_vec(one.repeat(b), (b, c * h * w), &Device::Cpu)
        .with_context(|| format!("layer {:?}", l.name))?;
    Ok(Act { t: act.t.gather(&idx, 1)?, shape, order, ..act })
}

/// `lhs × arg` for a constant `lhs`. Same as `lhs.matmul(arg)`, except that backward computes
/// only the gradient of `arg` (`lhsᵀ × grad`): candle's matmul backward also computes the
/// gradient of the constant `lhs` (for the seed network's conv, the [B·484, 49] im2col
/// patches), which was half of the training time. (candle's `conv2d` has the same problem,
/// through a slow direct `conv_transpose2d` for the input gradient.)
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

/// `im2col(x) × kernelᵀ` for a conv whose input `x` `[B, len]` is not constant: `src` says
/// where each of an image's patch elements (`[oh·ow, taps]`, row-major) comes from within its
/// row of `x` (`None`: zero padding); `kernel` is the weight as `[out, taps]`. Backward gives
/// both gradients: the kernel's (`gradᵀ × patches`) and the input's (`grad × kernel`, summed
/// back into the input positions, col2im). The same maths as a `gather` of the patches and
/// candle's matmul, without the `[B·oh·ow, taps]` patch-gradient tensor and its elementwise
/// adds, which crossed candle's 64K-element threshold for its barrier thread pool and made
/// two_conv's training 4–5× slower (10–13 s instead of 2.5 s per epoch, both measured with
/// other builds running).
struct Im2colMatmul {
    src: Vec<Option<usize>>,
    taps: usize,
}

impl Im2colMatmul {
    /// The patches `[B·oh·ow, taps]` of `x` (`b` rows).
    fn patches(&self, x: &[f32], b: usize) -> candle_core::Result<Tensor> {
        let len = x.len() / b.max(1);
        let mut p = Vec::with_capacity(b * self.src.len());
        for img in x.chunks_exact(len) {
            p.extend(self.src.iter().map(|s| s.map_or(0.0, |s| img[s])));
        }
        Tensor::from_vec(p, (b * self.src.len() / self.taps, self.taps), &Device::Cpu)
    }
}

impl CustomOp2 for Im2colMatmul {
    fn name(&self) -> &'static str {
        "im2col-matmul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(x), CpuStorage::F32(k)) = (s1, s2) else {
            candle_core::bail!("im2col-matmul: expected f32")
        };
        let (Some((x0, x1)), Some((k0, k1))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            candle_core::bail!("im2col-matmul: expected contiguous arguments")
        };
        let patches = self.patches(&x[x0..x1], l1.dims()[0])?;
        let kernel = Tensor::from_slice(&k[k0..k1], l2.shape(), &Device::Cpu)?;
        let out = patches.matmul(&kernel.t()?)?;
        let shape = out.shape().clone();
        Ok((CpuStorage::F32(out.flatten_all()?.to_vec1()?), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        kernel: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (b, len) = x.dims2()?;
        let patches = self.patches(&x.detach().flatten_all()?.to_vec1()?, b)?;
        let grad_res = grad_res.detach();
        let grad_kernel = grad_res.t()?.matmul(&patches)?;
        let grad_patches: Vec<f32> = grad_res.matmul(&kernel.detach())?.flatten_all()?.to_vec1()?;
        let mut grad_x = vec![0f32; b * len];
        for (gx, gp) in grad_x.chunks_exact_mut(len).zip(grad_patches.chunks_exact(self.src.len()))
        {
            for (s, &g) in self.src.iter().zip(gp) {
                if let Some(s) = s {
                    gx[*s] += g;
                }
            }
        }
        Ok((Some(Tensor::from_vec(grad_x, (b, len), &Device::Cpu)?), Some(grad_kernel)))
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
    use crate::float_model::tests::{sample_weights, stock_logits, test_networks};
    use crate::mnist::SIDE;

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
            images.push(img.iter().map(|&p| p as i32).collect());
            labels.push(label);
        }
        Dataset { images, labels }
    }

    #[test]
    fn init_bounds_and_determinism() {
        for net in test_networks() {
            let a = init_weights(&net, &mut ChaCha8Rng::seed_from_u64(3));
            let b = init_weights(&net, &mut ChaCha8Rng::seed_from_u64(3));
            assert_eq!(a, b);
            let c = init_weights(&net, &mut ChaCha8Rng::seed_from_u64(4));
            assert_ne!(a, c);
            let spec = float_model::spec(&net);
            assert_eq!(a.tensors.len(), spec.len());
            for (t, (name, shape)) in a.tensors.iter().zip(&spec) {
                assert_eq!((&t.name, &t.shape), (name, shape));
                assert_eq!(t.data.len(), shape.iter().product::<usize>());
            }
        }
        // Bounds 1/√fan_in, the bias's the same as its weight's.
        let net = test_networks().swap_remove(1); // two_conv
        let a = init_weights(&net, &mut ChaCha8Rng::seed_from_u64(3));
        for (name, fan_in) in [("conv1", 25f32), ("conv2", 75.0), ("fc1", 48.0)] {
            let bound = 1.0 / fan_in.sqrt();
            for t in [".weight", ".bias"] {
                let v = a.tensor(&format!("{name}{t}")).unwrap();
                assert!(v.iter().all(|w| w.abs() <= bound), "{name}{t}");
            }
            // Spread over the whole range, not a corner of it.
            let max = a
                .tensor(&format!("{name}.weight"))
                .unwrap()
                .iter()
                .fold(0f32, |m, w| m.max(w.abs()));
            assert!(max > 0.9 * bound, "{name}");
        }
        // The seed network draws conv1.weight, conv1.bias, fc_1.weight, fc_1.bias in that
        // order from one stream.
        let seed = Network::seed();
        let w = init_weights(&seed, &mut ChaCha8Rng::seed_from_u64(5));
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let first = ((2.0 * unit(&mut rng) - 1.0) / 7.0) as f32;
        assert_eq!(w.tensors[0].data[0], first);
        for _ in 1..150 {
            unit(&mut rng);
        }
        let fc = ((2.0 * unit(&mut rng) - 1.0) / 363f64.sqrt()) as f32;
        assert_eq!(w.tensor("fc_1.weight").unwrap()[0], fc);
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

    /// The float model's test networks and `lenet5` (avgpool, pad, rescale, a connection
    /// table).
    fn trainable_networks() -> Vec<Network> {
        let mut nets = test_networks();
        nets.push(Network::find("lenet5").unwrap());
        nets
    }

    #[test]
    fn training_forward_matches_plain_forward() {
        let data = tiny_dataset(8, 5);
        let imgs: Vec<&Image> = data.images.iter().collect();
        for net in trainable_networks() {
            let w = init_weights(&net, &mut ChaCha8Rng::seed_from_u64(11));
            let model = Net::new(&net, &w).unwrap();
            let got: Vec<Vec<f32>> = model.forward(&imgs).unwrap().to_vec2().unwrap();
            for (img, row) in data.images.iter().zip(&got) {
                let want = w.logits(&net, img);
                assert_eq!(row.len(), want.len());
                for (a, b) in row.iter().zip(&want) {
                    assert!((a - b).abs() < 1e-4, "{}: {row:?} vs {want:?}", net.name);
                }
            }
            assert_eq!(model.weights().unwrap(), w);
        }
    }

    /// Away from ties (max-pool) and exact zeros (ReLU), where the rules deliberately differ,
    /// the parameter gradients are those of the same network written with candle's own ops
    /// (tap-sum conv, window max: see `stock_logits`).
    #[test]
    fn gradients_match_stock_layers() {
        let data = tiny_dataset(6, 3);
        let imgs: Vec<&Image> = data.images.iter().collect();
        for net in test_networks() {
            let w = sample_weights(&net, 5);
            let model = Net::new(&net, &w).unwrap();
            let mine = model.forward(&imgs).unwrap().sqr().unwrap().sum_all().unwrap();
            let g_mine = mine.backward().unwrap();
            let params: Vec<Tensor> = model.vars.iter().map(|v| v.as_tensor().clone()).collect();
            let stock = stock_logits(&net, &params, &imgs, true).sqr().unwrap().sum_all().unwrap();
            let g_stock = stock.backward().unwrap();
            let (a, b): (f32, f32) = (mine.to_scalar().unwrap(), stock.to_scalar().unwrap());
            assert!((a - b).abs() <= 1e-4 * b.abs(), "{}: loss {a} vs {b}", net.name);
            for (v, (name, _)) in model.vars.iter().zip(&model.spec) {
                let get = |g: &candle_core::backprop::GradStore| -> Vec<f32> {
                    g.get(v.as_tensor()).unwrap().flatten_all().unwrap().to_vec1().unwrap()
                };
                let (x, y) = (get(&g_mine), get(&g_stock));
                let scale = y.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
                for (i, (p, q)) in x.iter().zip(&y).enumerate() {
                    assert!((p - q).abs() <= 1e-3 * scale, "{} {name}[{i}]: {p} vs {q}", net.name);
                }
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
        let net = Network::seed();
        let mut w = init_weights(&net, &mut ChaCha8Rng::seed_from_u64(2));
        let bias = vec![0.5, -0.5, 0.25];
        w.tensors[1].data = bias.clone();
        let model = Net::new(&net, &w).unwrap();
        let img: Image = vec![0; PIXELS].into();
        let sum = model.forward(&[&img]).unwrap().sum_all().unwrap();
        let grads = sum.backward().unwrap();
        let g: Vec<f32> =
            grads.get(model.var("conv1.bias").as_tensor()).unwrap().to_vec1().unwrap();
        let fc = w.tensor("fc_1.weight").unwrap();
        for (k, &b) in bias.iter().enumerate() {
            let block: f32 = (0..10)
                .flat_map(|o| {
                    let row = &fc[o * 363..(o + 1) * 363];
                    row[k * 121..(k + 1) * 121].to_vec()
                })
                .sum();
            let want = if b > 0.0 { block } else { 0.0 };
            assert!((g[k] - want).abs() < 1e-4, "channel {k}: {} vs {want}", g[k]);
        }
    }

    /// The same through a second conv (its input is not constant): with a blank image and
    /// every weight of conv2 zero, conv2's output is its bias, every pool window ties, and the
    /// gradient of conv2's bias follows the PyTorch rule.
    #[test]
    fn second_conv_bias_gradient_matches_pytorch_rule() {
        let net = test_networks().swap_remove(1); // two_conv
        let mut w = sample_weights(&net, 1);
        let bias = vec![0.5, -0.5, 0.25];
        for t in &mut w.tensors {
            match t.name.as_str() {
                "conv2.weight" => t.data.fill(0.0),
                "conv2.bias" => t.data.clone_from(&bias),
                _ => {}
            }
        }
        let model = Net::new(&net, &w).unwrap();
        let img: Image = vec![0; PIXELS].into();
        let sum = model.forward(&[&img]).unwrap().sum_all().unwrap();
        let grads = sum.backward().unwrap();
        let g: Vec<f32> =
            grads.get(model.var("conv2.bias").as_tensor()).unwrap().to_vec1().unwrap();
        let fc = w.tensor("fc1.weight").unwrap();
        for (k, &b) in bias.iter().enumerate() {
            // 4×4 pooled positions per channel, chw order.
            let block: f32 =
                (0..10).flat_map(|o| fc[o * 48 + k * 16..o * 48 + (k + 1) * 16].to_vec()).sum();
            let want = if b > 0.0 { block } else { 0.0 };
            assert!((g[k] - want).abs() < 1e-4, "channel {k}: {} vs {want}", g[k]);
        }
        // conv1 still gets a gradient through conv2's input (zero here: conv2's weights are 0).
        let g1: Vec<f32> =
            grads.get(model.var("conv1.bias").as_tensor()).unwrap().to_vec1().unwrap();
        assert_eq!(g1, vec![0.0; 3]);
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
        let cfg = TrainConfig { epochs: 3, lr: 0.05, seed: 7, ..TrainConfig::default() };
        let net = Network::seed();
        let mut lines = Vec::new();
        let a = train(&net, &train_set, &test_set, &cfg, false, &mut |s| lines.push(s.clone()))
            .unwrap();
        let b = train(&net, &train_set, &test_set, &cfg, false, &mut |_| {}).unwrap();
        assert_eq!(a, b, "same seed must give bit-identical weights");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2].epoch, 3);
        assert_eq!(lines[2].total, 100);
        assert!(lines[2].correct >= 90, "{}", lines[2]);
        assert!(lines[2].test_loss < lines[0].test_loss);
        let seed8 = TrainConfig { seed: 8, ..cfg };
        let c = train(&net, &train_set, &test_set, &seed8, false, &mut |_| {}).unwrap();
        assert_ne!(a, c);
    }

    /// Every test network trains (its loss falls) and deterministically.
    #[test]
    fn every_network_trains() {
        let train_set = tiny_dataset(200, 1);
        let test_set = tiny_dataset(50, 2);
        let cfg =
            TrainConfig { epochs: 2, batch_size: 50, lr: 0.05, seed: 3, ..TrainConfig::default() };
        for net in trainable_networks() {
            let mut lines = Vec::new();
            let a = train(&net, &train_set, &test_set, &cfg, false, &mut |s| lines.push(s.clone()))
                .unwrap();
            let b = train(&net, &train_set, &test_set, &cfg, false, &mut |_| {}).unwrap();
            assert_eq!(a, b, "{}", net.name);
            // A connection table's masked weights are still zero.
            for l in &net.layers {
                let (Op::Conv2d(c), NetShape::Map { c: ins, .. }) = (&l.op, l.input) else {
                    continue;
                };
                if c.connections.is_some() {
                    let w = a.tensor(&format!("{}.weight", l.param)).unwrap();
                    let mask = connection_mask(c, ins);
                    assert!(mask.contains(&0.0));
                    for (v, m) in w.iter().zip(mask) {
                        assert!(m == 1.0 || *v == 0.0, "{}: a masked weight is {v}", l.name);
                    }
                }
            }
            let init = init_weights(&net, &mut ChaCha8Rng::seed_from_u64(cfg.seed));
            let (loss0, _) = evaluate(&net, &init, &test_set);
            assert!(lines[1].test_loss * 50.0 < loss0, "{}: {} from {loss0}", net.name, lines[1]);
        }
    }

    #[test]
    fn too_few_classes_is_an_error() {
        let mut net = Network::seed();
        // Pretend the argmax sees 5 values: MNIST's labels go to 9.
        let last = net.layers.len() - 1;
        net.layers[last].input = NetShape::Vector(5);
        let data = tiny_dataset(10, 1);
        let err = train(&net, &data, &data, &TrainConfig::default(), false, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("5 classes") && err.contains("label 9"), "{err}");
    }

    #[test]
    fn stats_line_matches_notebook() {
        let s =
            EpochStats { epoch: 9, test_loss: 0.087_44, correct: 9735, total: 10000, seconds: 1.0 };
        assert_eq!(s.to_string(), "Test set: Average loss: 0.0874, Accuracy: 9735/10000 (97.35%)");
    }
}
