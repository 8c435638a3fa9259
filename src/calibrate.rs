//! Post-training quantization, TFLite's int8 recipe: the integer weights, biases and
//! per-channel requantization (multiplier, shift) of a network that loads its requantization
//! with its weights ([`crate::network::LoadedRequant`]), from float weights and calibration
//! images (`docs/network-format.md`, "Calibration").
//!
//! Every layer's integer values stand for real values `q · scale`. The image's scale is
//! 1/255 (the float model's input is `byte / 255`); a `rescale` by M/D divides it by M/D;
//! pad, ReLU, pooling, flatten and clamp keep it. At a conv2d/linear with input scale `s_x`:
//! - weights are quantized per output channel, symmetrically: `s_w[o] = max|w[o]| / W`
//!   (`W` the weight width's largest value, 127 for int8), `q = round(w / s_w[o])` within
//!   ±W; the bias `round(b / (s_x · s_w[o]))`, saturated to its width (and reported);
//! - with a loaded requantization, the output scale is `s_y = max / Y` (`Y` the output's
//!   largest value), `max` the largest float output over the calibration images (of the
//!   ReLU that follows, when one does: negative values are clipped anyway); the real
//!   multiplier `s_x · s_w[o] / s_y` becomes TFLite's `QuantizeMultiplier`: `M · 2^(e − 31)`
//!   with `M` in 2^30..2^31, shift `31 − e` in this description's terms;
//! - without one (a raw accumulator, such as the last layer before the argmax), the weights
//!   share one scale `max|w| / W` over all outputs, so the outputs stay comparable, and the
//!   output scale is `s_x · s_w`.

use crate::float_model::FloatWeights;
use crate::mnist::Image;
use crate::network::{Network, Op, Scheme};
use crate::weights::{self, LayerParams, Params, Saturation};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;

/// The largest |value| of every layer's float output over `images`.
fn layer_maxima(net: &Network, fw: &FloatWeights, images: &[Image]) -> Vec<f32> {
    images
        .par_iter()
        .map(|img| {
            fw.layer_values(net, img)
                .iter()
                .map(|v| v.iter().fold(0f32, |m, &x| m.max(x.abs())))
                .collect::<Vec<f32>>()
        })
        .reduce(
            || vec![0f32; net.layers.len()],
            |a, b| a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect(),
        )
}

/// TFLite's `QuantizeMultiplier` in this description's terms: `(M, s)` with
/// `real ≈ M / 2^s`, `M` in 2^30..2^31 − 1.
pub fn quantize_multiplier(real: f64) -> Option<(i64, i64)> {
    if !(real.is_finite() && real > 0.0) {
        return None;
    }
    // real = q · 2^e with q in [0.5, 1).
    let mut e = real.log2().floor() as i32 + 1;
    let mut q = real / 2f64.powi(e);
    if q >= 1.0 {
        q /= 2.0;
        e += 1;
    } else if q < 0.5 {
        q *= 2.0;
        e -= 1;
    }
    let mut m = (q * (1u64 << 31) as f64).round() as i64;
    if m == 1 << 31 {
        m /= 2;
        e += 1;
    }
    Some((m, 31 - e as i64))
}

/// The integer weight set of `net` from float weights `fw`, calibrated on `images`, and the
/// biases that did not fit their width (saturated).
pub fn calibrate(
    net: &Network,
    fw: &FloatWeights,
    images: &[Image],
) -> Result<(Params, Vec<Saturation>)> {
    if images.is_empty() {
        bail!("calibration needs at least one image");
    }
    let maxima = layer_maxima(net, fw, images);
    let mut scales: Vec<f64> = Vec::with_capacity(net.layers.len());
    let mut out = Params { layers: vec![None; net.layers.len()] };
    let mut saturated = Vec::new();
    for (i, l) in net.layers.iter().enumerate() {
        let s_x = match l.sources.first() {
            Some(&k) => scales[k],
            None => 1.0 / 255.0,
        };
        let scale = match &l.op {
            Op::Rescale(r) => s_x * r.divisor as f64 / r.multiplier as f64,
            Op::Pad(_)
            | Op::Relu(_)
            | Op::Clamp(_)
            | Op::MaxPool(_)
            | Op::AvgPool(_)
            | Op::Flatten(_)
            | Op::Argmax(_) => s_x,
            Op::Conv2d(_) | Op::Linear(_) => {
                let (lp, sat, scale) = parametrized(net, fw, i, s_x, &maxima)?;
                saturated.extend(sat);
                out.layers[i] = Some(lp);
                scale
            }
            op => {
                bail!("layer {:?}: calibration does not handle {} layers (yet)", l.name, op.name())
            }
        };
        scales.push(scale);
    }
    Ok((out, saturated))
}

/// One conv2d/linear layer's integer parameters, the biases saturated, and its output scale.
fn parametrized(
    net: &Network,
    fw: &FloatWeights,
    i: usize,
    s_x: f64,
    maxima: &[f32],
) -> Result<(LayerParams, Vec<Saturation>, f64)> {
    let l = &net.layers[i];
    let a = l.op.arith().context("a conv2d/linear layer has arithmetic")?;
    let (outs, _, _) = l.weight_pairs().context("a conv2d/linear layer has weights")?;
    let w = fw
        .tensor(&format!("{}.weight", l.param))
        .with_context(|| format!("layer {:?}: no float weight", l.name))?;
    let per = w.len() / outs;
    let wmax = a.weight.ty.max() as f64;
    let loaded = a.loaded.any();
    if loaded && (a.loaded.multiplier.is_none() || a.loaded.shift.is_none()) {
        bail!("layer {:?}: calibration sets both multiplier and shift: load both", l.name);
    }
    if loaded && a.requant.scheme != Scheme::Tflite {
        bail!(
            "layer {:?}: calibration writes TFLite's multipliers: set rounding = \"tflite\"",
            l.name
        );
    }
    if !loaded && (a.requant.plain() != Some((0, crate::network::Rounding::Floor))) {
        bail!(
            "layer {:?}: a calibrated network's layer loads its requantization, or keeps its \
             raw accumulator (no multiplier, no shift)",
            l.name
        );
    }
    if a.in_zero_point != 0 || a.requant.zero_point != 0 || a.bias_shift != 0 {
        bail!("layer {:?}: calibration is symmetric: no zero points, no bias shift", l.name);
    }
    let absmax = |v: &[f32]| v.iter().fold(0f32, |m, &x| m.max(x.abs())) as f64;
    // Per output channel with a loaded requantization; one scale for all outputs without.
    let s_w: Vec<f64> = if loaded {
        w.chunks_exact(per).map(|c| nonzero(absmax(c)) / wmax).collect()
    } else {
        vec![nonzero(absmax(w)) / wmax; outs]
    };
    let weight: Vec<i64> = w
        .iter()
        .enumerate()
        .map(|(n, &v)| (v as f64 / s_w[n / per]).round().clamp(-wmax, wmax) as i64)
        .collect();
    let mut sat = Vec::new();
    let bias = match (&a.bias, fw.tensor(&format!("{}.bias", l.param))) {
        (Some(p), Some(b)) => b
            .iter()
            .enumerate()
            .map(|(o, &v)| {
                let q = (v as f64 / (s_x * s_w[o])).round() as i64;
                let c = q.clamp(p.ty.min() as i64, p.ty.max() as i64);
                if c != q {
                    let (file, index) = weights::locate(&p.files.layout(outs, 1, 1), o);
                    sat.push(Saturation { file, index, value: q });
                }
                c
            })
            .collect(),
        (Some(_), None) => bail!("layer {:?}: no float bias", l.name),
        (None, _) => Vec::new(),
    };
    if !loaded {
        let lp = LayerParams { weight, bias, ..Default::default() };
        return Ok((lp, sat, s_x * s_w[0]));
    }
    // The output's scale from its largest value (the ReLU's after it, when one follows).
    let next_relu = net
        .layers
        .get(i + 1)
        .filter(|n| matches!(n.op, Op::Relu(_)) && n.sources == [i])
        .map(|_| i + 1);
    let s_y = nonzero(maxima[next_relu.unwrap_or(i)] as f64) / a.out.max() as f64;
    let (mut multiplier, mut shift) = (Vec::new(), Vec::new());
    for (o, &sw) in s_w.iter().enumerate() {
        let (m, s) = quantize_multiplier(s_x * sw / s_y).context("a positive scale")?;
        for (v, key, l2) in
            [(m, "multiplier", a.loaded.multiplier.as_ref()), (s, "shift", a.loaded.shift.as_ref())]
        {
            let d = l2.context("loaded")?;
            if !(d.min..=d.max).contains(&v) {
                bail!(
                    "layer {:?}: output channel {o}'s calibrated {key} is {v}, outside the \
                     declared range {}..{} (real multiplier {:.3e})",
                    l.name,
                    d.min,
                    d.max,
                    s_x * sw / s_y
                );
            }
        }
        multiplier.push(m);
        shift.push(s);
    }
    Ok((LayerParams { weight, bias, multiplier, shift }, sat, s_y))
}

/// `v`, or 1 for a scale of an all-zero tensor (any scale represents zeros).
fn nonzero(v: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_multiplier_is_tflites() {
        // 0.5 = 2^30 / 2^31; 0.75 = 0.75·2^31 / 2^31; 0.0075 = 0.96 · 2^−7.
        assert_eq!(quantize_multiplier(0.5), Some((1 << 30, 31)));
        assert_eq!(quantize_multiplier(0.75), Some((1_610_612_736, 31)));
        assert_eq!(
            quantize_multiplier(0.0075),
            Some(((0.96f64 * (1u64 << 31) as f64).round() as i64, 38))
        );
        // docs/network-format.md's worked example: (1/127)·0.004/0.02 = 0.80630·2^−9.
        assert_eq!(quantize_multiplier((1.0 / 127.0) * 0.004 / 0.02), Some((1_731_514_374, 40)));
        // 1 − 2^−40 rounds up to 2^31: halved, the exponent one more.
        assert_eq!(quantize_multiplier(1.0 - 1e-12), Some((1 << 30, 30)));
        assert_eq!(quantize_multiplier(0.0), None);
        for r in [1e-6, 0.001234, 0.3, 0.999, 1.5, 3.0] {
            let (m, s) = quantize_multiplier(r).unwrap();
            assert!((1 << 30..1 << 31).contains(&m), "{r}: {m}");
            let back = m as f64 / 2f64.powi(s as i32);
            assert!((back - r).abs() <= r * 2f64.powi(-30), "{r}: {back}");
        }
    }
}
