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

use crate::image::Pixel;
use crate::network::{Network, Op, Shape};
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
            (Op::Conv2d(o), Shape::Map { c, .. }) => {
                (vec![o.out_channels, c / o.groups, o.kh, o.kw], o.arith.bias.is_some())
            }
            (Op::Linear(o), _) => (vec![o.outputs, o.inputs], o.arith.bias.is_some()),
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
    pub fn logits<P: Pixel>(&self, net: &Network, image: &[P]) -> Vec<f32> {
        if !net.is_chain() {
            return self.layer_values(net, image).pop().unwrap_or_default();
        }
        let mut x = net.float_input(image);
        for l in &net.layers {
            if l.op.is_argmax() {
                return x;
            }
            let (w, b) = self.params_of(l);
            x = l.op.kind().forward(l, x, w, b);
        }
        x
    }

    /// A layer's float weight and bias, for a parametrized layer.
    fn params_of(&self, l: &crate::network::Layer) -> (Option<&[f32]>, Option<&[f32]>) {
        if l.op.arith().is_none() {
            return (None, None);
        }
        // `PARAM.weight` and `PARAM.bias`, found without building the names (once per layer
        // and image).
        let of = |what: &str| {
            self.tensors
                .iter()
                .find(|t| {
                    t.name.strip_prefix(l.param.as_str()).and_then(|r| r.strip_prefix('.'))
                        == Some(what)
                })
                .map(|t| &t.data[..])
        };
        (Some(of("weight").expect("checked on load")), of("bias"))
    }

    /// Every layer's float output for one image, in layer order (the argmax's: its input).
    pub fn layer_values<P: Pixel>(&self, net: &Network, image: &[P]) -> Vec<Vec<f32>> {
        let image = net.float_input(image);
        let mut values: Vec<Vec<f32>> = Vec::with_capacity(net.layers.len());
        for l in &net.layers {
            let source = |k: Option<&usize>| k.map_or(&image, |&k| &values[k]).clone();
            let y = if l.op.is_argmax() {
                source(l.sources.first())
            } else if l.sources.len() > 1 {
                let xs: Vec<&[f32]> = l.sources.iter().map(|&k| values[k].as_slice()).collect();
                l.op.kind().forward_many(l, &xs)
            } else {
                let (w, b) = self.params_of(l);
                l.op.kind().forward(l, source(l.sources.first()), w, b)
            };
            values.push(y);
        }
        values
    }

    /// Predicted class: argmax of [`logits`](Self::logits), ties to the lowest index.
    pub fn classify<P: Pixel>(&self, net: &Network, image: &[P]) -> u8 {
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

/// The float weights file inside a weight directory.
pub const SAFETENSORS: &str = "model.safetensors";

/// Loads the float model of a weight directory when it has one.
pub fn load_dir(net: &Network, weights: &Path) -> Result<Option<FloatWeights>> {
    let p = weights.join(SAFETENSORS);
    if p.exists() {
        Ok(Some(FloatWeights::load(net, &p)?))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mnist::Image;
    use crate::network::{op, FlattenOrder};
    #[cfg(feature = "train")]
    use candle_core::Device;

    /// Networks the forward passes are checked on: the seed, two_conv, and three test-local
    /// ones covering what those two do not (padding, stride, a non-square kernel, no bias, a
    /// conv straight after a conv, a pool with stride ≠ kernel, a pool on the image, an hwc
    /// flatten, a flatten that reorders, linear → relu → linear, a linear on the image).
    pub(crate) fn test_networks() -> Vec<Network> {
        let two_conv = if Path::new("vectors/networks/two_conv.toml").is_file() {
            Network::find("two_conv").unwrap()
        } else {
            Network::parse("test two_conv", TWO_CONV).unwrap()
        };
        vec![
            Network::seed(),
            two_conv,
            Network::parse("test odd", ODD).unwrap(),
            Network::parse("test pool_first", POOL_FIRST).unwrap(),
            Network::parse("test linear_only", LINEAR_ONLY).unwrap(),
        ]
    }

    /// The `[input]` table every test network starts with.
    macro_rules! input {
        () => {
            r#"
            [input]
            shape = [1, 28, 28]
            bits = 8
            signed = false
            dataset = "mnist"
            "#
        };
    }

    /// Used when vectors/networks/two_conv.toml is absent.
    const TWO_CONV: &str = concat!(
        "name = \"two_conv\"\n",
        input!(),
        r#"
        [[layer]]
        name = "conv1"
        op = "conv2d"
        in_channels = 1
        out_channels = 3
        kernel = 5
        weight = { bits = 8, signed = true, frac_bits = 7, file = "c1_{o}.mem" }
        bias = { bits = 8, signed = true, frac_bits = 7, shift = 8, file = "c1_b.mem" }
        shift = 8
        rounding = "floor"
        out_bits = 12
        out_signed = true
        overflow = "saturate"
        [[layer]]
        name = "maxpool1"
        op = "maxpool"
        kernel = 2
        [[layer]]
        name = "pool1"
        op = "relu"
        [[layer]]
        name = "conv2"
        op = "conv2d"
        in_channels = 3
        out_channels = 3
        kernel = 5
        weight = { bits = 8, signed = true, frac_bits = 7, file = "c2_{o}.mem" }
        bias = { bits = 8, signed = true, frac_bits = 7, shift = 7, file = "c2_b.mem" }
        shift = 7
        rounding = "half_up"
        out_bits = 12
        out_signed = true
        overflow = "saturate"
        [[layer]]
        name = "maxpool2"
        op = "maxpool"
        kernel = 2
        [[layer]]
        name = "pool2"
        op = "relu"
        [[layer]]
        name = "flatten"
        op = "flatten"
        order = "chw"
        [[layer]]
        name = "fc1"
        op = "linear"
        in = 48
        out = 10
        weight = { bits = 8, signed = true, frac_bits = 7, file = "fc_{o}.mem" }
        bias = { bits = 8, signed = true, frac_bits = 7, shift = 7, file = "fc_b.mem" }
        shift = 7
        rounding = "half_up"
        out_bits = 18
        out_signed = true
        [[layer]]
        name = "class"
        op = "argmax"
        "#
    );

    /// Layer snippets: a conv/linear's arithmetic, wide and saturating so any shape is valid.
    macro_rules! arith {
        ($w:literal) => {
            concat!(
                "weight = { bits = 8, signed = true, frac_bits = 7, file = \"",
                $w,
                "_{o}.mem\" }\nout_bits = 40\nout_signed = true\noverflow = \"saturate\"\n"
            )
        };
        ($w:literal, bias) => {
            concat!(
                arith!($w),
                "bias = { bits = 8, signed = true, frac_bits = 7, file = \"",
                $w,
                "_b.mem\" }\n"
            )
        };
    }

    const ODD: &str = concat!(
        "name = \"odd\"\n",
        input!(),
        r#"
        [[layer]]
        name = "c1"
        op = "conv2d"
        in_channels = 1
        out_channels = 2
        kernel = [3, 4]
        stride = 2
        padding = 1
        "#,
        arith!("c1"),
        r#"
        [[layer]]
        name = "c2"
        op = "conv2d"
        in_channels = 2
        out_channels = 3
        kernel = 3
        padding = 1
        "#,
        arith!("c2", bias),
        r#"
        [[layer]]
        name = "r2"
        op = "relu"
        [[layer]]
        name = "p2"
        op = "maxpool"
        kernel = 3
        stride = 2
        [[layer]]
        name = "flat"
        op = "flatten"
        order = "hwc"
        [[layer]]
        name = "fc1"
        op = "linear"
        in = 108
        out = 16
        "#,
        arith!("fc1", bias),
        r#"
        [[layer]]
        name = "r3"
        op = "relu"
        [[layer]]
        name = "fc2"
        op = "linear"
        in = 16
        out = 10
        "#,
        arith!("fc2"),
        r#"
        [[layer]]
        name = "class"
        op = "argmax"
        "#
    );

    const POOL_FIRST: &str = concat!(
        "name = \"pool_first\"\n",
        input!(),
        r#"
        [[layer]]
        name = "p0"
        op = "maxpool"
        kernel = 2
        [[layer]]
        name = "c1"
        op = "conv2d"
        in_channels = 1
        out_channels = 2
        kernel = 3
        stride = 2
        "#,
        arith!("c1", bias),
        r#"
        [[layer]]
        name = "flat"
        op = "flatten"
        [[layer]]
        name = "fc"
        op = "linear"
        in = 72
        out = 10
        "#,
        arith!("fc", bias),
        r#"
        [[layer]]
        name = "class"
        op = "argmax"
        "#
    );

    const LINEAR_ONLY: &str = concat!(
        "name = \"linear_only\"\n",
        input!(),
        r#"
        [[layer]]
        name = "flat"
        op = "flatten"
        order = "hwc"
        [[layer]]
        name = "fc"
        op = "linear"
        in = 784
        out = 10
        "#,
        arith!("fc", bias),
        r#"
        [[layer]]
        name = "class"
        op = "argmax"
        "#
    );

    #[test]
    fn test_networks_parse() {
        let nets = test_networks();
        assert_eq!(nets[1].layers.len(), 9);
        assert_eq!(nets[2].layers[1].output, Shape::Map { c: 3, h: 14, w: 14 });
        assert_eq!(nets[3].layers[1].input, Shape::Map { c: 1, h: 14, w: 14 });
    }

    /// Small deterministic pseudo-random values in about ±0.3, for every tensor of `net`.
    pub(crate) fn sample_weights(net: &Network, seed: u32) -> FloatWeights {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32 - 0.5) * 0.6
        };
        let tensors = spec(net)
            .into_iter()
            .map(|(name, shape)| {
                let data = (0..shape.iter().product()).map(|_| next()).collect();
                Tensor { name, shape, data }
            })
            .collect();
        FloatWeights { tensors }
    }

    /// A blank image, a saturated one, and a few structured patterns.
    fn sample_images() -> Vec<Image> {
        let mut imgs = vec![[0u8; 784], [255u8; 784]];
        let boxed = |a: [u8; 784]| -> Image { a.iter().map(|&p| p as i32).collect() };
        for n in 0..4u32 {
            let mut img = [0u8; 784];
            for (i, p) in img.iter_mut().enumerate() {
                let (r, c) = ((i / 28) as u32, (i % 28) as u32);
                let v = (r * 7 + c * 13 + n * 31) % 256;
                *p = if (r + n) % 5 < 2 { 0 } else { v as u8 };
            }
            imgs.push(img);
        }
        imgs.into_iter().map(boxed).collect()
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
    fn spec_of_seed_and_two_conv() {
        let names = |net: &Network| -> Vec<(String, Vec<usize>)> { spec(net) };
        assert_eq!(
            names(&Network::seed()),
            vec![
                ("conv1.weight".to_string(), vec![3, 1, 7, 7]),
                ("conv1.bias".to_string(), vec![3]),
                ("fc_1.weight".to_string(), vec![10, 363]),
                ("fc_1.bias".to_string(), vec![10]),
            ]
        );
        let two = &test_networks()[1];
        let shapes: Vec<Vec<usize>> = spec(two).into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            shapes,
            vec![vec![3, 1, 5, 5], vec![3], vec![3, 3, 5, 5], vec![3], vec![10, 48], vec![10]]
        );
        // No bias, no tensor.
        let odd = &test_networks()[2];
        let names: Vec<String> = spec(odd).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["c1.weight", "c2.weight", "c2.bias", "fc1.weight", "fc1.bias", "fc2.weight"]
        );
    }

    #[test]
    fn save_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/model.safetensors");
        for net in test_networks() {
            let w = sample_weights(&net, 7);
            w.save(&path).unwrap();
            assert_eq!(FloatWeights::load(&net, &path).unwrap(), w, "{}", net.name);
        }
        let net = Network::seed();
        let w = sample_weights(&net, 7);
        w.save(&path).unwrap();
        assert_eq!(FloatWeights::load(&net, &path).unwrap(), w);
        // Overwrite in place; no temporary files left behind.
        let w2 = sample_weights(&net, 8);
        w2.save(&path).unwrap();
        assert_eq!(FloatWeights::load(&net, &path).unwrap(), w2);
        let names: Vec<_> =
            fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["model.safetensors"]);
        // Stored the way PyTorch names and shapes them.
        let bytes = fs::read(&path).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("fc_1.weight").unwrap().shape(), &[10, 363]);
        assert_eq!(st.tensor("conv1.weight").unwrap().shape(), &[3, 1, 7, 7]);
        // Another network's weights are refused.
        let msg = format!("{:#}", FloatWeights::load(&test_networks()[1], &path).unwrap_err());
        assert!(msg.contains("unexpected tensor(s) fc_1.bias, fc_1.weight"), "{msg}");
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
        let msg = format!("{:#}", FloatWeights::load(&Network::seed(), &path).unwrap_err());
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
        let err = |p: &Path| format!("{:#}", FloatWeights::load(&Network::seed(), p).unwrap_err());

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

    /// `net` written with candle's own ops: the logits `[B, classes]` for `imgs`, with the
    /// parameters `params` given in [`spec`] order (so they can be `Var`s).
    ///
    /// With `differentiable` false these are candle's stock layers (`conv2d`,
    /// `max_pool2d_with_stride`, `relu`, `flatten`/`permute`, `matmul`). Their backward is not
    /// a usable reference: candle's max-pool backward sends a unique max ¼ of the gradient
    /// through a 2×2 window and has none for stride ≠ kernel, and its conv2d backward fails for
    /// a non-square kernel with stride 2 (the input gradient's width comes out one too wide).
    /// With `differentiable` true, conv2d is a sum over kernel taps of strided
    /// `index_select`s times the tap's weights ([`tap_conv`]) and max-pool a max over the
    /// stacked window elements ([`window_max`]): the same values, and a backward that is exact
    /// away from max-pool ties.
    #[cfg(feature = "train")]
    pub(crate) fn stock_logits(
        net: &Network,
        params: &[candle_core::Tensor],
        imgs: &[&Image],
        differentiable: bool,
    ) -> candle_core::Tensor {
        let dev = Device::Cpu;
        let spec = spec(net);
        let param = |name: String| spec.iter().position(|(n, _)| *n == name).map(|i| &params[i]);
        let x: Vec<f32> = imgs.iter().flat_map(|i| i.iter().map(|&p| p as f32 / 255.0)).collect();
        let mut x = candle_core::Tensor::from_vec(x, (imgs.len(), 1, 28, 28), &dev).unwrap();
        for l in &net.layers {
            let weight = param(format!("{}.weight", l.param));
            let bias = param(format!("{}.bias", l.param));
            x = match &l.op {
                Op::Conv2d(op::Conv2d { stride, padding, out_channels, .. }) => {
                    let w = weight.unwrap();
                    let y = if differentiable {
                        tap_conv(&x, w, *stride, *padding, l.output)
                    } else {
                        x.conv2d(w, *padding, *stride, 1, 1).unwrap()
                    };
                    match bias {
                        Some(b) => {
                            y.broadcast_add(&b.reshape((1, *out_channels, 1, 1)).unwrap()).unwrap()
                        }
                        None => y,
                    }
                }
                Op::MaxPool(op::MaxPool { kernel, stride }) if differentiable => {
                    window_max(&x, *kernel, *stride)
                }
                Op::MaxPool(op::MaxPool { kernel, stride }) => {
                    x.max_pool2d_with_stride(*kernel, *stride).unwrap()
                }
                Op::Relu(_) => x.relu().unwrap(),
                Op::Flatten(op::Flatten { order: FlattenOrder::Chw }) => x.flatten_from(1).unwrap(),
                Op::Flatten(op::Flatten { order: FlattenOrder::Hwc }) => {
                    x.permute((0, 2, 3, 1)).unwrap().flatten_from(1).unwrap()
                }
                Op::Linear(_) => {
                    let y = x.matmul(&weight.unwrap().t().unwrap()).unwrap();
                    match bias {
                        Some(b) => y.broadcast_add(b).unwrap(),
                        None => y,
                    }
                }
                Op::Argmax(_) => return x,
                op => unimplemented!("candle's stock layers for {}", op.name()),
            };
        }
        unreachable!("a network ends with an argmax")
    }

    /// The indices `d, d + stride, …` (`n` of them): a strided slice for `index_select`.
    #[cfg(feature = "train")]
    fn strided(n: usize, stride: usize, d: usize) -> candle_core::Tensor {
        let v: Vec<u32> = (0..n).map(|i| (i * stride + d) as u32).collect();
        candle_core::Tensor::from_vec(v, n, &Device::Cpu).unwrap()
    }

    /// conv2d `[B, C, H, W]` × `[O, C, kh, kw]` as `Σ_(i,j) x[:, :, i::s, j::s] · w[:, :, i, j]`
    /// on the zero-padded input.
    #[cfg(feature = "train")]
    fn tap_conv(
        x: &candle_core::Tensor,
        w: &candle_core::Tensor,
        stride: usize,
        padding: usize,
        out: Shape,
    ) -> candle_core::Tensor {
        let Shape::Map { h: oh, w: ow, .. } = out else { unreachable!("a conv gives a map") };
        let (o, c, kh, kw) = w.dims4().unwrap();
        let x = x.pad_with_zeros(2, padding, padding).unwrap().pad_with_zeros(3, padding, padding);
        let x = x.unwrap();
        let b = x.dim(0).unwrap();
        let mut y: Option<candle_core::Tensor> = None;
        for i in 0..kh {
            let rows = x.index_select(&strided(oh, stride, i), 2).unwrap();
            for j in 0..kw {
                let xs = rows.index_select(&strided(ow, stride, j), 3).unwrap(); // [B, C, oh, ow]
                let xs = xs.permute((0, 2, 3, 1)).unwrap().reshape((b * oh * ow, c)).unwrap();
                let wij = w.narrow(2, i, 1).unwrap().narrow(3, j, 1).unwrap().reshape((o, c));
                let term = xs.matmul(&wij.unwrap().t().unwrap()).unwrap(); // [B·oh·ow, O]
                y = Some(match y {
                    None => term,
                    Some(acc) => (acc + term).unwrap(),
                });
            }
        }
        let y = y.unwrap().reshape((b, oh, ow, o)).unwrap();
        y.permute((0, 3, 1, 2)).unwrap().contiguous().unwrap()
    }

    /// Max-pool as the max over the stacked window elements (`index_select`, `stack`, `max`).
    #[cfg(feature = "train")]
    fn window_max(x: &candle_core::Tensor, kernel: usize, stride: usize) -> candle_core::Tensor {
        let (_, _, h, w) = x.dims4().unwrap();
        let (oh, ow) = ((h - kernel) / stride + 1, (w - kernel) / stride + 1);
        let mut parts = Vec::new();
        for dr in 0..kernel {
            let rows = x.index_select(&strided(oh, stride, dr), 2).unwrap();
            for dc in 0..kernel {
                parts.push(rows.index_select(&strided(ow, stride, dc), 3).unwrap());
            }
        }
        candle_core::Tensor::stack(&parts, 0).unwrap().max(0).unwrap()
    }

    #[test]
    #[cfg(feature = "train")]
    fn window_max_is_candles_max_pool() {
        let mut s = 1u32;
        let v: Vec<f32> = (0..2 * 3 * 9 * 8)
            .map(|_| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (s >> 8) as f32
            })
            .collect();
        let x = candle_core::Tensor::from_vec(v, (2, 3, 9, 8), &Device::Cpu).unwrap();
        for (k, st) in [(2, 2), (3, 2), (3, 3), (2, 1)] {
            let a: Vec<f32> = window_max(&x, k, st).flatten_all().unwrap().to_vec1().unwrap();
            let b = x.max_pool2d_with_stride(k, st).unwrap();
            assert_eq!(a, b.flatten_all().unwrap().to_vec1::<f32>().unwrap(), "{k} {st}");
        }
    }

    #[test]
    #[cfg(feature = "train")]
    fn plain_forward_matches_candle() {
        let imgs = sample_images();
        let refs: Vec<&Image> = imgs.iter().collect();
        for net in test_networks() {
            for seed in 0..3 {
                let w = sample_weights(&net, seed);
                let params: Vec<candle_core::Tensor> = w
                    .tensors
                    .iter()
                    .map(|t| {
                        candle_core::Tensor::from_vec(t.data.clone(), &t.shape[..], &Device::Cpu)
                            .unwrap()
                    })
                    .collect();
                let reference: Vec<Vec<f32>> =
                    stock_logits(&net, &params, &refs, false).to_vec2().unwrap();
                let differentiable: Vec<Vec<f32>> =
                    stock_logits(&net, &params, &refs, true).to_vec2().unwrap();
                for (want, d) in reference.iter().zip(&differentiable) {
                    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
                    for (r, d) in want.iter().zip(d) {
                        assert!((r - d).abs() < 1e-5 * scale, "{}: {want:?} vs {d:?}", net.name);
                    }
                }
                for (img, want) in imgs.iter().zip(&reference) {
                    let got = w.logits(&net, img);
                    assert_eq!(got.len(), net.classes());
                    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
                    for (g, r) in got.iter().zip(want) {
                        assert!((g - r).abs() < 1e-5 * scale, "{}: {got:?} vs {want:?}", net.name);
                    }
                    assert_eq!(w.classify(&net, img) as usize, argmax(want), "{}", net.name);
                }
            }
        }
    }

    /// The forward pass as it was before the vectorized conv and the interleaved linear
    /// sums: every conv through the plain strided loop, each linear output one `sum`.
    fn oracle_logits(fw: &FloatWeights, net: &Network, image: &[i32]) -> Vec<f32> {
        let mut x: Vec<f32> = image.iter().map(|&p| p as f32 / 255.0).collect();
        for l in &net.layers {
            x = match (&l.op, l.input, l.output) {
                (Op::Conv2d(cv), Shape::Map { c, h, w }, Shape::Map { c: oc, h: oh, w: ow }) => {
                    let (kh, kw, stride, padding) = (&cv.kh, &cv.kw, &cv.stride, &cv.padding);
                    let wt = fw.tensor(&format!("{}.weight", l.param)).unwrap();
                    let bias = fw.tensor(&format!("{}.bias", l.param));
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
                                        let Some(y) = (r * stride + i)
                                            .checked_sub(*padding)
                                            .filter(|&y| y < h)
                                        else {
                                            continue;
                                        };
                                        for col in 0..ow {
                                            if let Some(xc) = (col * stride + j)
                                                .checked_sub(*padding)
                                                .filter(|&xc| xc < w)
                                            {
                                                dst[r * ow + col] += plane[y * w + xc] * wij;
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    out
                }
                (Op::MaxPool(p), Shape::Map { c, h, w }, Shape::Map { h: oh, w: ow, .. }) => {
                    op::maxpool(&x, (c, h, w), p.kernel, p.stride, (oh, ow), f32::max)
                }
                (Op::Relu(_), _, _) => x.iter().map(|&v| v.max(0.0)).collect(),
                (Op::Flatten(f), Shape::Map { c, h, w }, _) if f.order == FlattenOrder::Hwc => {
                    op::flatten_hwc(&x, (c, h, w))
                }
                (Op::Flatten(_), _, _) => x,
                (Op::Linear(lin), _, _) => {
                    let (inputs, outputs) = (&lin.inputs, &lin.outputs);
                    let wt = fw.tensor(&format!("{}.weight", l.param)).unwrap();
                    let bias = fw.tensor(&format!("{}.bias", l.param));
                    (0..*outputs)
                        .map(|o| {
                            let w = &wt[o * inputs..(o + 1) * inputs];
                            w.iter().zip(&x).map(|(a, b)| a * b).sum::<f32>()
                                + bias.map_or(0.0, |b| b[o])
                        })
                        .collect()
                }
                (Op::Argmax(_), _, _) => return x,
                _ => unreachable!(),
            };
        }
        x
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The forward pass gives the oracle's logits bit for bit: the test networks with sample
    /// weights, and (when MNIST and the committed weights are here) the seed and two_conv on
    /// all 10,000 test images.
    #[test]
    fn logits_match_the_plain_loops_bit_for_bit() {
        for net in test_networks() {
            for seed in 0..3 {
                let w = sample_weights(&net, seed);
                for img in sample_images() {
                    let (got, want) = (w.logits(&net, &img), oracle_logits(&w, &net, &img));
                    assert_eq!(bits(&got), bits(&want), "{} seed {seed}", net.name);
                }
            }
        }
        let Ok(test) = crate::mnist::load(Path::new("vectors/mnist"), crate::mnist::Split::Test)
        else {
            return; // MNIST not fetched: the sample images above still ran
        };
        for (name, dir) in [("seed", "vectors/weights"), ("two_conv", "vectors/weights/two_conv")] {
            let net = Network::find(name).unwrap();
            let w = FloatWeights::load(&net, &Path::new(dir).join("model.safetensors")).unwrap();
            for (i, img) in test.images.iter().enumerate() {
                let (got, want) = (w.logits(&net, img), oracle_logits(&w, &net, img));
                assert_eq!(bits(&got), bits(&want), "{name} MNIST test image {i}");
            }
        }
    }

    #[test]
    fn argmax_ties_to_lowest() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[5.0; 10]), 0);
    }
}
