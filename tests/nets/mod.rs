//! Helpers of the tests of network descriptions: a refused description's one-line error, a
//! layer's index, and the derived-bounds property (every value the reference produces on
//! random weight sets and images at the extremes lies within its layer's bounds).
#![allow(dead_code)]

use cnn_cosim::network::{srdhm, Network, Rounding};
use cnn_cosim::weights::LayerParams;
use cnn_cosim::{reference, stimulus};

/// The error of parsing `text` as `bad.toml`, which must be one line.
pub fn err(text: &str) -> String {
    let e = format!("{:#}", Network::parse("bad.toml", text).unwrap_err());
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}

/// The index of layer `name`.
pub fn index(net: &Network, name: &str) -> usize {
    net.layers.iter().position(|l| l.name == name).expect(name)
}

/// Runs every kind of random weight set (seeded `seed`) on 12 images each, asserting every
/// tapped value lies within its layer's derived bounds; returns, per tap, whether some value
/// reached the lower and the upper bound.
pub fn bounds_hold(net: &Network, seed: u64) -> Vec<(String, bool, bool)> {
    let taps = net.taps();
    let mut reached: Vec<(String, bool, bool)> =
        taps.iter().map(|t| (t.name.clone(), false, false)).collect();
    for set in 0..stimulus::WEIGHT_KINDS.len() as u64 {
        let (params, kind) = stimulus::weight_set(net, seed, set);
        let model = reference::Model::new(net, &params);
        for i in 0..12 {
            let out = model.run(&stimulus::image(net, seed, set, i));
            for (t, (tap, values)) in taps.iter().zip(&out.taps).enumerate() {
                let b = net.layers[tap.layer].bounds.out;
                for &v in values {
                    assert!(
                        (b.min..=b.max).contains(&(v as i128)),
                        "{}: {} = {v} outside {}..{} (set {set}, {kind}, image {i})",
                        net.source,
                        tap.name,
                        b.min,
                        b.max
                    );
                    reached[t].1 |= v as i128 == b.min;
                    reached[t].2 |= v as i128 == b.max;
                }
            }
        }
    }
    reached
}

/// Asserts layers `names` reached both their bounds in `reached` (from [`bounds_hold`]).
pub fn reach_both(net: &Network, reached: &[(String, bool, bool)], names: &[&str]) {
    for name in names {
        let r = reached.iter().find(|(n, _, _)| n == name).expect(name);
        assert!(r.1 && r.2, "{}: {name} reaches both bounds: {r:?}", net.source);
    }
}

/// Per conv2d/linear/avgpool layer whose result is rounded to nearest (a `half_*` rule, or
/// TFLite's steps): (layer, how many of its values were exact ties before rounding, how many
/// values) over every kind of random weight set seeded `seed`, 12 images each. The
/// accumulators are recomputed here from the reference's own input to the layer.
pub fn ties(net: &Network, seed: u64) -> Vec<(String, u64, u64)> {
    use cnn_cosim::network::op::Divide;
    use cnn_cosim::network::{Op, Scheme, Shape};
    let half = |r: Rounding| r.name().starts_with("half_");
    // Whether v / 2^s (s ≥ 1) lies exactly halfway between two integers.
    let tie = |v: i128, s: u32| s >= 1 && v.rem_euclid(1 << s) == 1 << (s - 1);
    let mut out: Vec<(String, u64, u64)> = Vec::new();
    for set in 0..stimulus::WEIGHT_KINDS.len() as u64 {
        let (params, _) = stimulus::weight_set(net, seed, set);
        let model = reference::Model::new(net, &params);
        for i in 0..12 {
            let values = model.layer_values(&stimulus::image(net, seed, set, i));
            for (k, l) in net.layers.iter().enumerate() {
                let x: &[i64] = match l.sources.first() {
                    Some(&s) => &values[s],
                    None => continue,
                };
                let mut count = |t: u64, n: u64| match out.iter_mut().find(|e| e.0 == l.name) {
                    Some(e) => {
                        e.1 += t;
                        e.2 += n;
                    }
                    None => out.push((l.name.clone(), t, n)),
                };
                match &l.op {
                    Op::AvgPool(a) => {
                        let Divide::By { divisor, rounding } = a.divide else { continue };
                        if !half(rounding) || divisor % 2 != 0 {
                            continue;
                        }
                        let Shape::Map { c, h, w } = l.input else { continue };
                        let (_, oh, ow) = match l.output {
                            Shape::Map { c, h, w } => (c, h, w),
                            Shape::Vector(_) => continue,
                        };
                        let mut t = 0;
                        for ch in 0..c {
                            for r in 0..oh {
                                for col in 0..ow {
                                    let mut sum = 0i64;
                                    for dr in 0..a.kernel {
                                        for dc in 0..a.kernel {
                                            let (y, xx) = (r * a.stride + dr, col * a.stride + dc);
                                            sum += x[(ch * h + y) * w + xx];
                                        }
                                    }
                                    t += (sum.rem_euclid(divisor) == divisor / 2) as u64;
                                }
                            }
                        }
                        count(t, (c * oh * ow) as u64);
                    }
                    Op::Conv2d(_) | Op::Linear(_) => {
                        let a = l.op.arith().unwrap();
                        let p = params.layer(k);
                        let requant = a.requant_with(&p.multiplier, &p.shift);
                        let nearest = match requant.scheme {
                            Scheme::Single(r) => half(r),
                            Scheme::Tflite => true,
                        };
                        if !nearest {
                            continue;
                        }
                        let accs = accumulators(l, x, p);
                        let channels = match l.output {
                            Shape::Map { c, .. } => c,
                            Shape::Vector(n) => n,
                        };
                        let per = accs.len() / channels;
                        let mut t = 0;
                        for (n, &acc) in accs.iter().enumerate() {
                            let (m, s) = requant.channel(n / per);
                            t += match requant.scheme {
                                Scheme::Single(_) => tie(acc as i128 * m as i128, s),
                                // The RoundingDivideByPOT step's remainder, after SRDHM.
                                Scheme::Tflite => {
                                    let e = 31 - s as i32;
                                    let xx = (acc as i32).wrapping_mul(1 << e.max(0));
                                    tie(srdhm(xx, m as i32) as i128, (-e).max(0) as u32)
                                }
                            } as u64;
                        }
                        count(t, accs.len() as u64);
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// A conv2d's or linear layer's accumulators `Σ (x − z)·w + b<<bias_shift` for input `x`,
/// output-channel-major, computed plainly.
fn accumulators(l: &cnn_cosim::network::Layer, x: &[i64], p: &LayerParams) -> Vec<i64> {
    use cnn_cosim::network::{Op, Shape};
    let a = l.op.arith().unwrap();
    let z = a.in_zero_point;
    let b = |o: usize| p.bias.get(o).map_or(0, |&b| b << a.bias_shift);
    match (&l.op, l.input, l.output) {
        (Op::Linear(lin), _, _) => (0..lin.outputs)
            .map(|o| {
                (0..lin.inputs).map(|i| (x[i] - z) * p.weight[o * lin.inputs + i]).sum::<i64>()
                    + b(o)
            })
            .collect(),
        (Op::Conv2d(cv), Shape::Map { c, h, w }, Shape::Map { c: oc, h: oh, w: ow }) => {
            let wt = cv.dense_weights(&p.weight, c);
            let mut out = Vec::with_capacity(oc * oh * ow);
            for o in 0..oc {
                for r in 0..oh {
                    for col in 0..ow {
                        let mut acc = b(o);
                        for ci in 0..c {
                            for i in 0..cv.kh {
                                for j in 0..cv.kw {
                                    let y = (r * cv.stride + i).checked_sub(cv.padding);
                                    let xx = (col * cv.stride + j).checked_sub(cv.padding);
                                    if let (Some(y), Some(xx)) = (y, xx) {
                                        if y < h && xx < w {
                                            let wv = wt[((o * c + ci) * cv.kh + i) * cv.kw + j];
                                            acc += (x[(ci * h + y) * w + xx] - z) * wv;
                                        }
                                    }
                                }
                            }
                        }
                        out.push(acc);
                    }
                }
            }
            out
        }
        _ => unreachable!("a conv2d has maps"),
    }
}
