//! The trained float network: its weights, their safetensors file, and a plain-Rust forward pass.
//!
//! Network (the notebook's): `Conv2d(1, 3, 7)` → `MaxPool2d(2)` → `ReLU` → flatten in PyTorch
//! order (channel, row, column) → `Linear(363, 10)`. Input pixels are `byte / 255`.
//!
//! The file holds four F32 tensors named as PyTorch's `state_dict` names them, so
//! `model.load_state_dict(safetensors.torch.load_file(path))` works on the notebook's model:
//!
//! | name | shape |
//! |---|---|
//! | `conv1.weight` | `[3, 1, 7, 7]` |
//! | `conv1.bias` | `[3]` |
//! | `fc_1.weight` | `[10, 363]` |
//! | `fc_1.bias` | `[10]` |

use crate::mnist::{Image, SIDE};
use anyhow::{anyhow, bail, Context, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;

/// Output channels of conv1.
pub const CHANNELS: usize = 3;
/// conv1 kernel side.
pub const KERNEL: usize = 7;
/// conv1 output side (28 − 7 + 1).
pub const CONV_SIDE: usize = SIDE - KERNEL + 1;
/// pool1 output side.
pub const POOL_SIDE: usize = CONV_SIDE / 2;
/// fc input width: 3 × 11 × 11.
pub const FC_IN: usize = CHANNELS * POOL_SIDE * POOL_SIDE;
/// Classes.
pub const CLASSES: usize = 10;

/// Tensor names and shapes, in file order.
const SPEC: [(&str, &[usize]); 4] = [
    ("conv1.weight", &[CHANNELS, 1, KERNEL, KERNEL]),
    ("conv1.bias", &[CHANNELS]),
    ("fc_1.weight", &[CLASSES, FC_IN]),
    ("fc_1.bias", &[CLASSES]),
];

/// Float weights of the network, row-major in PyTorch's layouts.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatWeights {
    /// `[3, 1, 7, 7]`
    pub conv1_weight: Vec<f32>,
    /// `[3]`
    pub conv1_bias: Vec<f32>,
    /// `[10, 363]`, row `o` holds output `o`'s weights over inputs in (channel, row, col) order
    pub fc_weight: Vec<f32>,
    /// `[10]`
    pub fc_bias: Vec<f32>,
}

impl FloatWeights {
    fn tensors(&self) -> [&Vec<f32>; 4] {
        [&self.conv1_weight, &self.conv1_bias, &self.fc_weight, &self.fc_bias]
    }

    /// Checks every vector has its tensor's element count.
    fn check_lengths(&self) -> Result<()> {
        for ((name, shape), data) in SPEC.iter().zip(self.tensors()) {
            let want: usize = shape.iter().product();
            if data.len() != want {
                bail!("{name} holds {} values, shape {shape:?} needs {want}", data.len());
            }
        }
        Ok(())
    }

    /// Reads and validates a safetensors file: exactly the four tensors, each F32 with its
    /// shape, all values finite. Every error is one line naming the file.
    pub fn load(path: &Path) -> Result<FloatWeights> {
        let bytes = fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::from_bytes(&bytes).with_context(|| format!("{}", path.display()))
    }

    fn from_bytes(bytes: &[u8]) -> Result<FloatWeights> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| anyhow!("not a valid safetensors file ({e})"))?;
        let mut extra: Vec<&str> =
            st.names().into_iter().filter(|n| !SPEC.iter().any(|(name, _)| name == n)).collect();
        if !extra.is_empty() {
            extra.sort_unstable();
            bail!(
                "unexpected tensor(s) {} (expected only {})",
                extra.join(", "),
                SPEC.map(|(n, _)| n).join(", ")
            );
        }
        let mut out: Vec<Vec<f32>> = Vec::with_capacity(SPEC.len());
        for (name, shape) in SPEC {
            let t = st.tensor(name).map_err(|_| {
                anyhow!(
                    "missing tensor {name} (holds {})",
                    if st.names().is_empty() {
                        "no tensors".to_string()
                    } else {
                        let mut names = st.names();
                        names.sort_unstable();
                        names.join(", ")
                    }
                )
            })?;
            if t.dtype() != Dtype::F32 {
                bail!("tensor {name} has dtype {:?}, expected F32", t.dtype());
            }
            if t.shape() != shape {
                bail!("tensor {name} has shape {:?}, expected {shape:?}", t.shape());
            }
            let values: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                bail!("tensor {name} element {i} is {}", values[i]);
            }
            out.push(values);
        }
        let mut it = out.into_iter();
        let mut next = || it.next().unwrap_or_default();
        let w = FloatWeights {
            conv1_weight: next(),
            conv1_bias: next(),
            fc_weight: next(),
            fc_bias: next(),
        };
        w.check_lengths()?;
        Ok(w)
    }

    /// Serialises to safetensors bytes (with `{"format": "pt"}` metadata, as
    /// `safetensors.torch.save_file` writes).
    fn to_bytes(&self) -> Result<Vec<u8>> {
        self.check_lengths()?;
        let raw: Vec<Vec<u8>> = self
            .tensors()
            .iter()
            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let mut views = Vec::with_capacity(SPEC.len());
        for ((name, shape), data) in SPEC.iter().zip(&raw) {
            views.push((*name, TensorView::new(Dtype::F32, shape.to_vec(), data)?));
        }
        let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
        Ok(safetensors::serialize(views, Some(meta))?)
    }

    /// Writes the weights as safetensors, atomically: a temporary file in the same directory is
    /// written, synced and renamed over `path`. Creates the parent directory if needed.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self
            .to_bytes()
            .with_context(|| format!("{}: cannot serialise weights", path.display()))?;
        let file_name =
            path.file_name().ok_or_else(|| anyhow!("{}: not a file path", path.display()))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create directory", dir.display()))?;
        let tmp = dir.join(format!(".{}.tmp{}", file_name.to_string_lossy(), std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            anyhow!("{}: cannot write ({e})", path.display())
        })
    }

    /// The network's ten outputs (before log-softmax) for one image, in f32 like PyTorch.
    pub fn logits(&self, image: &Image) -> [f32; CLASSES] {
        let mut x = [0f32; SIDE * SIDE];
        for (d, &p) in x.iter_mut().zip(image.iter()) {
            *d = p as f32 / 255.0;
        }
        // conv1 (valid, stride 1) + bias.
        let mut conv = [0f32; CHANNELS * CONV_SIDE * CONV_SIDE];
        for k in 0..CHANNELS {
            let w = &self.conv1_weight[k * KERNEL * KERNEL..(k + 1) * KERNEL * KERNEL];
            let out = &mut conv[k * CONV_SIDE * CONV_SIDE..(k + 1) * CONV_SIDE * CONV_SIDE];
            out.fill(self.conv1_bias[k]);
            for i in 0..KERNEL {
                for j in 0..KERNEL {
                    let wij = w[i * KERNEL + j];
                    for r in 0..CONV_SIDE {
                        let src = &x[(r + i) * SIDE + j..(r + i) * SIDE + j + CONV_SIDE];
                        let dst = &mut out[r * CONV_SIDE..(r + 1) * CONV_SIDE];
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d += s * wij;
                        }
                    }
                }
            }
        }
        // 2×2 max-pool, then ReLU, flattened (channel, row, col).
        let mut p = [0f32; FC_IN];
        for k in 0..CHANNELS {
            let c = &conv[k * CONV_SIDE * CONV_SIDE..];
            for r in 0..POOL_SIDE {
                for col in 0..POOL_SIDE {
                    let at = |dr: usize, dc: usize| c[(2 * r + dr) * CONV_SIDE + 2 * col + dc];
                    let m = at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
                    p[(k * POOL_SIDE + r) * POOL_SIDE + col] = m.max(0.0);
                }
            }
        }
        // fc.
        let mut out = [0f32; CLASSES];
        for (o, y) in out.iter_mut().enumerate() {
            let w = &self.fc_weight[o * FC_IN..(o + 1) * FC_IN];
            *y = w.iter().zip(&p).map(|(a, b)| a * b).sum::<f32>() + self.fc_bias[o];
        }
        out
    }

    /// Predicted class: argmax of [`logits`](Self::logits), ties to the lowest index.
    pub fn classify(&self, image: &Image) -> u8 {
        argmax(&self.logits(image)) as u8
    }
}

/// Index of the largest value, ties to the lowest index.
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate().skip(1) {
        if x > v[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "train")]
    use candle_core::{Device, Tensor};

    fn sample_weights(seed: u32) -> FloatWeights {
        // Small deterministic pseudo-random values in about ±0.3.
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32 - 0.5) * 0.6
        };
        FloatWeights {
            conv1_weight: (0..147).map(|_| next()).collect(),
            conv1_bias: (0..3).map(|_| next()).collect(),
            fc_weight: (0..3630).map(|_| next()).collect(),
            fc_bias: (0..10).map(|_| next()).collect(),
        }
    }

    #[cfg(feature = "train")]
    fn sample_images() -> Vec<Image> {
        // A blank image, a saturated one, and a few structured patterns.
        let mut imgs = vec![[0u8; 784], [255u8; 784]];
        for n in 0..4u32 {
            let mut img = [0u8; 784];
            for (i, p) in img.iter_mut().enumerate() {
                let (r, c) = ((i / 28) as u32, (i % 28) as u32);
                let v = (r * 7 + c * 13 + n * 31) % 256;
                *p = if (r + n) % 5 < 2 { 0 } else { v as u8 };
            }
            imgs.push(img);
        }
        imgs
    }

    fn write_tensors(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
        let views: Vec<_> = tensors
            .iter()
            .map(|(n, d, s, b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
    }

    fn f32_bytes(n: usize) -> Vec<u8> {
        vec![0u8; 4 * n]
    }

    #[test]
    fn save_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/model.safetensors");
        let w = sample_weights(7);
        w.save(&path).unwrap();
        assert_eq!(FloatWeights::load(&path).unwrap(), w);
        // Overwrite in place; no temporary files left behind.
        let w2 = sample_weights(8);
        w2.save(&path).unwrap();
        assert_eq!(FloatWeights::load(&path).unwrap(), w2);
        let names: Vec<_> =
            fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["model.safetensors"]);
        // Stored the way PyTorch names and shapes them.
        let bytes = fs::read(&path).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("fc_1.weight").unwrap().shape(), &[10, 363]);
        assert_eq!(st.tensor("conv1.weight").unwrap().shape(), &[3, 1, 7, 7]);
    }

    #[test]
    fn wrong_shape_is_one_line_naming_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        write_tensors(
            &path,
            &[
                ("conv1.weight", Dtype::F32, vec![3, 7, 7], f32_bytes(147)),
                ("conv1.bias", Dtype::F32, vec![3], f32_bytes(3)),
                ("fc_1.weight", Dtype::F32, vec![10, 363], f32_bytes(3630)),
                ("fc_1.bias", Dtype::F32, vec![10], f32_bytes(10)),
            ],
        );
        let msg = format!("{:#}", FloatWeights::load(&path).unwrap_err());
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.contains("bad.safetensors"), "{msg}");
        assert!(msg.contains("conv1.weight") && msg.contains("[3, 7, 7]"), "{msg}");
    }

    #[test]
    fn missing_tensor_wrong_dtype_extra_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let good = || {
            vec![
                ("conv1.weight", Dtype::F32, vec![3, 1, 7, 7], f32_bytes(147)),
                ("conv1.bias", Dtype::F32, vec![3], f32_bytes(3)),
                ("fc_1.weight", Dtype::F32, vec![10, 363], f32_bytes(3630)),
                ("fc_1.bias", Dtype::F32, vec![10], f32_bytes(10)),
            ]
        };
        let err = |p: &Path| format!("{:#}", FloatWeights::load(p).unwrap_err());

        let mut t = good();
        t.remove(3);
        write_tensors(&path, &t);
        let msg = err(&path);
        assert!(msg.contains("m.safetensors") && msg.contains("missing tensor fc_1.bias"));
        assert!(!msg.contains('\n'));

        let mut t = good();
        t[1] = ("conv1.bias", Dtype::F64, vec![3], vec![0u8; 24]);
        write_tensors(&path, &t);
        assert!(err(&path).contains("conv1.bias has dtype F64"));

        let mut t = good();
        t.push(("fc_2.weight", Dtype::F32, vec![1], f32_bytes(1)));
        write_tensors(&path, &t);
        assert!(err(&path).contains("unexpected tensor(s) fc_2.weight"));

        let mut t = good();
        t[3].3[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
        write_tensors(&path, &t);
        assert!(err(&path).contains("fc_1.bias element 1 is NaN"));

        fs::write(&path, b"not safetensors").unwrap();
        let msg = err(&path);
        assert!(msg.contains("m.safetensors") && msg.contains("not a valid safetensors"));
        assert!(!msg.contains('\n'));

        let msg = err(&dir.path().join("absent.safetensors"));
        assert!(msg.contains("absent.safetensors: cannot read"), "{msg}");
    }

    /// The same network written with candle's stock layers.
    #[cfg(feature = "train")]
    fn candle_logits(w: &FloatWeights, imgs: &[Image]) -> Vec<Vec<f32>> {
        let dev = Device::Cpu;
        let x: Vec<f32> = imgs.iter().flat_map(|i| i.iter().map(|&p| p as f32 / 255.0)).collect();
        let x = Tensor::from_vec(x, (imgs.len(), 1, 28, 28), &dev).unwrap();
        let cw = Tensor::from_vec(w.conv1_weight.clone(), (3, 1, 7, 7), &dev).unwrap();
        let cb = Tensor::from_vec(w.conv1_bias.clone(), (1, 3, 1, 1), &dev).unwrap();
        let fw = Tensor::from_vec(w.fc_weight.clone(), (10, 363), &dev).unwrap();
        let fb = Tensor::from_vec(w.fc_bias.clone(), 10, &dev).unwrap();
        let h = x.conv2d(&cw, 0, 1, 1, 1).unwrap().broadcast_add(&cb).unwrap();
        let h = h.max_pool2d(2).unwrap().relu().unwrap().flatten_from(1).unwrap();
        let y = h.matmul(&fw.t().unwrap()).unwrap().broadcast_add(&fb).unwrap();
        y.to_vec2().unwrap()
    }

    #[test]
    #[cfg(feature = "train")]
    fn plain_forward_matches_candle() {
        let imgs = sample_images();
        for seed in 0..3 {
            let w = sample_weights(seed);
            let reference = candle_logits(&w, &imgs);
            for (img, want) in imgs.iter().zip(&reference) {
                let got = w.logits(img);
                for (g, r) in got.iter().zip(want) {
                    assert!((g - r).abs() < 1e-4, "{got:?} vs {want:?}");
                }
                assert_eq!(w.classify(img) as usize, argmax(want));
            }
        }
    }

    #[test]
    fn argmax_ties_to_lowest() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[5.0; 10]), 0);
    }
}
