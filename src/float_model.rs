//! The trained float network: its weights, their safetensors file, and a plain-Rust forward
//! pass of any described network ([`Network`]).
//!
//! The file holds one F32 tensor per parameter, named as PyTorch's `state_dict` names them
//! (`{param}.weight`, `{param}.bias`, where `param` is the layer's `param` key or its name),
//! so `model.load_state_dict(safetensors.torch.load_file(path))` works on the PyTorch model.
//! For the seed network:
//!
//! | name | shape |
//! |---|---|
//! | `conv1.weight` | `[3, 1, 7, 7]` |
//! | `conv1.bias` | `[3]` |
//! | `fc_1.weight` | `[10, 363]` |
//! | `fc_1.bias` | `[10]` |
//!
//! Input pixels are `byte / 255`; each op is PyTorch's in f32 (conv2d with zero padding,
//! max-pool, ReLU, flatten in the described order, linear), the integer arithmetic of the
//! description plays no part.

use crate::network::{FlattenOrder, Network, Op, Shape};
use anyhow::{anyhow, bail, Context, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;

/// One named F32 tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Float weights of a network, in PyTorch's layouts, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatWeights {
    pub tensors: Vec<Tensor>,
}

/// The tensors `net` needs: (name, shape), in layer order, weight then bias.
pub fn spec(net: &Network) -> Vec<(String, Vec<usize>)> {
    let mut v = Vec::new();
    for l in &net.layers {
        let (shape, has_bias) = match (&l.op, l.input) {
            (Op::Conv2d { out_channels, kh, kw, arith, .. }, Shape::Map { c, .. }) => {
                (vec![*out_channels, c, *kh, *kw], arith.bias.is_some())
            }
            (Op::Linear { inputs, outputs, arith }, _) => {
                (vec![*outputs, *inputs], arith.bias.is_some())
            }
            _ => continue,
        };
        let outs = shape[0];
        v.push((format!("{}.weight", l.param), shape));
        if has_bias {
            v.push((format!("{}.bias", l.param), vec![outs]));
        }
    }
    v
}

impl FloatWeights {
    /// The values of tensor `name`.
    pub fn tensor(&self, name: &str) -> Option<&[f32]> {
        self.tensors.iter().find(|t| t.name == name).map(|t| &t.data[..])
    }

    /// Reads a safetensors file and checks it holds exactly the tensors `net` needs, each
    /// F32 with its shape, all values finite. Every error is one line naming the file.
    pub fn load(net: &Network, path: &Path) -> Result<FloatWeights> {
        let bytes = fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::from_bytes(net, &bytes).with_context(|| format!("{}", path.display()))
    }

    fn from_bytes(net: &Network, bytes: &[u8]) -> Result<FloatWeights> {
        let spec = spec(net);
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| anyhow!("not a valid safetensors file ({e})"))?;
        let mut extra: Vec<&str> =
            st.names().into_iter().filter(|n| !spec.iter().any(|(name, _)| name == n)).collect();
        if !extra.is_empty() {
            extra.sort_unstable();
            bail!(
                "unexpected tensor(s) {} (network {:?} needs only {})",
                extra.join(", "),
                net.name,
                spec.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        let mut tensors = Vec::with_capacity(spec.len());
        for (name, shape) in spec {
            let t = st.tensor(&name).map_err(|_| {
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
            let data: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                bail!("tensor {name} element {i} is {}", data[i]);
            }
            tensors.push(Tensor { name, shape, data });
        }
        Ok(FloatWeights { tensors })
    }

    /// Checks every tensor holds its shape's element count.
    fn check_lengths(&self) -> Result<()> {
        for t in &self.tensors {
            let want: usize = t.shape.iter().product();
            if t.data.len() != want {
                bail!("{} holds {} values, shape {:?} needs {want}", t.name, t.data.len(), t.shape);
            }
        }
        Ok(())
    }

    /// Serialises to safetensors bytes (with `{"format": "pt"}` metadata, as
    /// `safetensors.torch.save_file` writes).
    fn to_bytes(&self) -> Result<Vec<u8>> {
        self.check_lengths()?;
        let raw: Vec<Vec<u8>> = self
            .tensors
            .iter()
            .map(|t| t.data.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let mut views = Vec::with_capacity(self.tensors.len());
        for (t, data) in self.tensors.iter().zip(&raw) {
            views.push((t.name.as_str(), TensorView::new(Dtype::F32, t.shape.clone(), data)?));
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

    /// The network's outputs before the argmax (before log-softmax) for one image, in f32 like
    /// PyTorch.
    pub fn logits(&self, net: &Network, image: &[u8]) -> Vec<f32> {
        let mut x: Vec<f32> = image.iter().map(|&p| p as f32 / 255.0).collect();
        for l in &net.layers {
            x = match (&l.op, l.input, l.output) {
                (
                    Op::Conv2d { kh, kw, stride, padding, .. },
                    Shape::Map { c, h, w },
                    Shape::Map { c: oc, h: oh, w: ow },
                ) => {
                    let wt = self.tensor(&format!("{}.weight", l.param)).expect("checked on load");
                    let bias = self.tensor(&format!("{}.bias", l.param));
                    let mut out = vec![0f32; oc * oh * ow];
                    for o in 0..oc {
                        let dst = &mut out[o * oh * ow..(o + 1) * oh * ow];
                        dst.fill(bias.map_or(0.0, |b| b[o]));
                        for ci in 0..c {
                            let plane = &x[ci * h * w..(ci + 1) * h * w];
                            for i in 0..*kh {
                                for j in 0..*kw {
                                    let wij = wt[((o * c + ci) * kh + i) * kw + j];
                                    for r in 0..oh {
                                        let Some(y) = (r * stride + i).checked_sub(*padding).filter(|&y| y < h)
                                        else {
                                            continue;
                                        };
                                        let row = &mut dst[r * ow..(r + 1) * ow];
                                        if *stride == 1 && *padding == 0 {
                                            let src = &plane[y * w + j..y * w + j + ow];
                                            for (d, s) in row.iter_mut().zip(src) {
                                                *d += s * wij;
                                            }
                                        } else {
                                            for (col, d) in row.iter_mut().enumerate() {
                                                if let Some(xc) = (col * stride + j).checked_sub(*padding).filter(|&xc| xc < w) {
                                                    *d += plane[y * w + xc] * wij;
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
                (Op::MaxPool { kernel, stride }, Shape::Map { c, h, w }, Shape::Map { h: oh, w: ow, .. }) => {
                    let mut out = Vec::with_capacity(c * oh * ow);
                    for ch in 0..c {
                        let plane = &x[ch * h * w..(ch + 1) * h * w];
                        for r in 0..oh {
                            for col in 0..ow {
                                let mut m = f32::NEG_INFINITY;
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
                (Op::Relu, _, _) => x.iter().map(|&v| v.max(0.0)).collect(),
                (Op::Flatten { order: FlattenOrder::Hwc }, Shape::Map { c, h, w }, _) => {
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
                (Op::Flatten { .. }, _, _) => x,
                (Op::Linear { inputs, outputs, .. }, _, _) => {
                    let wt = self.tensor(&format!("{}.weight", l.param)).expect("checked on load");
                    let bias = self.tensor(&format!("{}.bias", l.param));
                    (0..*outputs)
                        .map(|o| {
                            let w = &wt[o * inputs..(o + 1) * inputs];
                            w.iter().zip(&x).map(|(a, b)| a * b).sum::<f32>()
                                + bias.map_or(0.0, |b| b[o])
                        })
                        .collect()
                }
                (Op::Argmax, _, _) => return x,
                _ => unreachable!("shapes validated by the network description"),
            };
        }
        x
    }

    /// Predicted class: argmax of [`logits`](Self::logits), ties to the lowest index.
    pub fn classify(&self, net: &Network, image: &[u8]) -> u8 {
        argmax(&self.logits(net, image)) as u8
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
