//! The golden model: interprets a [`Network`] description in integers and returns every
//! tapped layer. Each op's arithmetic is its own file's ([`crate::network::op`]); this runs
//! them in order with the weights prepared once ([`Model`]).
//!
//! Values are `i64` between layers. Inside a conv2d/linear the products are taken from
//! 16-bit values and summed in `i32` when the layer's derived bounds
//! ([`crate::network::Bounds`]) prove inputs and weights fit 16 bits and every partial sum
//! fits 32, in `i32` when products and sums fit 32 bits, and in `i64` otherwise; all are
//! exact (the description was rejected if the accumulator could exceed 64 bits).

use crate::image::Pixel;
pub use crate::network::op::argmax;
pub use crate::network::op::Rails;
use crate::network::op::{EvalCtx, OverflowCount};
use crate::network::{Network, Prepared, Range};
use crate::weights::Params;
use std::borrow::Cow;

/// Every tapped layer of one image, in [`Network::taps`] order (the class last, as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// `taps[t]` in the layer's element order (channel, row, column for a map).
    pub taps: Vec<Vec<i64>>,
    /// The argmax's input.
    pub logits: Vec<i64>,
    pub class: u8,
    /// Per layer of the network: how many of its values the overflow rule changed
    /// (saturated or wrapped) on this image, by rail; 0 for layers without one.
    pub overflowed: Vec<Rails>,
    /// Per layer of the network: the smallest and largest of its values on this image, for
    /// the layers whose value is a tap (and the argmax: the class).
    pub ranges: Vec<Option<(i64, i64)>>,
    /// (layer, value) of every layer a later layer reads other than as its predecessor (a
    /// residual's source); empty for a chain.
    pub kept: Vec<(usize, Vec<i64>)>,
}

fn kept(kept: &[(usize, Vec<i64>)], k: usize) -> Option<&[i64]> {
    kept.iter().find(|(i, _)| *i == k).map(|(_, v)| v.as_slice())
}

impl Outputs {
    /// Layer `k`'s value when it was kept.
    pub fn kept(&self, k: usize) -> Option<&[i64]> {
        kept(&self.kept, k)
    }

    /// Whether the largest logit is shared by several outputs (an argmax tie).
    pub fn tie(&self) -> bool {
        let top = self.logits[self.class as usize];
        self.logits.iter().filter(|&&v| v == top).count() > 1
    }
}

/// Index of `[channel][row][col]` in a map of side `side` (square maps).
pub fn idx(side: usize, ch: usize, r: usize, c: usize) -> usize {
    (ch * side + r) * side + c
}

/// A network with its weights, ready to run: each parametrized layer's weights narrowed once
/// to its narrowest exact kernel, its biases pre-shifted.
pub struct Model<'a> {
    pub net: &'a Network,
    pub params: &'a Params,
    /// Per layer (`None` for layers without parameters).
    prepared: Vec<Option<Prepared<'a>>>,
    /// Per layer: whether a later layer reads it other than as its predecessor.
    keep: Vec<bool>,
}

impl<'a> Model<'a> {
    pub fn new(net: &'a Network, params: &'a Params) -> Model<'a> {
        let mut prepared = Vec::with_capacity(net.layers.len());
        let mut x = Range { min: net.input_type.min(), max: net.input_type.max() };
        for (i, l) in net.layers.iter().enumerate() {
            let p = params.layers.get(i).and_then(|p| p.as_ref());
            prepared.push(p.and_then(|p| l.op.kind().prepare(l, x, p.tensors())));
            x = l.bounds.out;
        }
        let mut keep = vec![false; net.layers.len()];
        for (j, l) in net.layers.iter().enumerate() {
            for &s in l.sources.iter().filter(|&&s| s + 1 != j) {
                keep[s] = true;
            }
        }
        Model { net, params, prepared, keep }
    }

    /// Runs the network on one image (`net.input_len()` values).
    pub fn run<P: Pixel>(&self, image: &[P]) -> Outputs {
        let mut x: Vec<i64> = image.iter().map(|&p| p.value()).collect();
        let mut taps: Vec<Vec<i64>> = Vec::new();
        let mut overflowed = vec![Rails::default(); self.net.layers.len()];
        let mut ranges = vec![None; self.net.layers.len()];
        let mut kept_values: Vec<(usize, Vec<i64>)> = Vec::new();
        // Whether the current value is the last tap (moved there, not copied).
        let mut in_taps = false;
        for (i, l) in self.net.layers.iter().enumerate() {
            let current = match (in_taps, taps.last()) {
                (true, Some(t)) => t.as_slice(),
                _ => x.as_slice(),
            };
            // A chain's layer reads the current value; one that reads other layers (a
            // residual, a layer named as `input`) reads them where they were kept.
            let chained = l.sources.len() <= 1 && l.sources.first().is_none_or(|&s| s + 1 == i);
            let source = |s: usize| match s + 1 == i {
                true => current,
                false => kept(&kept_values, s).expect("a source read out of order is kept"),
            };
            if l.op.is_argmax() {
                let input = l.sources.first().map_or(current, |&s| source(s));
                let (class, logits) = (argmax(input), input.to_vec());
                taps.push(vec![class as i64]);
                ranges[i] = Some((class as i64, class as i64));
                return Outputs { taps, logits, class, overflowed, ranges, kept: kept_values };
            }
            let n = OverflowCount::default();
            let y = if chained {
                self.apply(i, current, true, &n)
            } else {
                let xs: Vec<&[i64]> = l.sources.iter().map(|&s| source(s)).collect();
                Cow::Owned(self.apply_many(i, &xs, true, &n))
            };
            overflowed[i] = n.get();
            if self.keep[i] {
                let v = y.to_vec();
                kept_values.push((i, v));
            }
            match (y, l.tap) {
                // An identity (flatten in channel-row-column order): the value stays put.
                (Cow::Borrowed(_), false) => {}
                (y, true) => {
                    let y = y.into_owned();
                    ranges[i] = min_max(&y);
                    taps.push(y);
                    in_taps = true;
                }
                (Cow::Owned(y), false) => {
                    x = y;
                    in_taps = false;
                }
            }
        }
        unreachable!("validated: the last layer is the argmax")
    }

    /// Runs layers `from..=to` on `x`, the input of layer `from`; returns layer `to`'s
    /// output (for the argmax, the class as one value). For a chain; see
    /// [`Model::run_layers_after`].
    pub fn run_layers(&self, from: usize, to: usize, x: &[i64]) -> Vec<i64> {
        let mut cur = x.to_vec();
        for i in from..=to {
            cur = self.apply(i, &cur, false, &OverflowCount::default()).into_owned();
        }
        cur
    }

    /// The layer-local verdict: layers `from..=to` recomputed from `x`, the value of layer
    /// `from − 1` as the RTL produced it (its tap). A layer in the segment that reads a layer
    /// before it (a residual's source) reads the reference's own value from `earlier`.
    pub fn run_layers_after(
        &self,
        from: usize,
        to: usize,
        x: &[i64],
        earlier: &Outputs,
    ) -> Vec<i64> {
        if self.net.is_chain() {
            return self.run_layers(from, to, x);
        }
        let mut values: Vec<(usize, Vec<i64>)> = Vec::new();
        for i in from..=to {
            let l = &self.net.layers[i];
            let get = |s: usize| -> &[i64] {
                if s + 1 == from {
                    x
                } else if s >= from {
                    kept(&values, s).expect("computed earlier in the segment")
                } else {
                    earlier.kept(s).expect("a source read out of order is kept")
                }
            };
            let xs: Vec<&[i64]> = match l.sources.as_slice() {
                [] => vec![x],
                s => s.iter().map(|&k| get(k)).collect(),
            };
            let y = self.apply_many(i, &xs, false, &OverflowCount::default());
            values.push((i, y));
        }
        values.pop().map(|(_, v)| v).unwrap_or_default()
    }

    /// Every layer's value for one image, in order (`eval --dump`).
    pub fn layer_values<P: Pixel>(&self, image: &[P]) -> Vec<Vec<i64>> {
        let x: Vec<i64> = image.iter().map(|&p| p.value()).collect();
        let mut values: Vec<Vec<i64>> = Vec::with_capacity(self.net.layers.len());
        for (i, l) in self.net.layers.iter().enumerate() {
            let xs: Vec<&[i64]> = match l.sources.as_slice() {
                [] => vec![&x],
                s => s.iter().map(|&k| values[k].as_slice()).collect(),
            };
            let y = self.apply_many(i, &xs, true, &OverflowCount::default());
            values.push(y);
        }
        values
    }

    /// Layer `i` on its inputs `xs` (one per source), owned.
    fn apply_many(
        &self,
        i: usize,
        xs: &[&[i64]],
        trusted: bool,
        overflowed: &OverflowCount,
    ) -> Vec<i64> {
        let l = &self.net.layers[i];
        let cx = EvalCtx { prepared: self.prepared[i].as_ref(), trusted, overflowed };
        match xs {
            [x] => l.op.kind().eval(l, x, &cx).into_owned(),
            xs => l.op.kind().eval_many(l, xs, &cx),
        }
    }

    /// Layer `i` on its input `x`; `trusted` when `x` is the reference's own value of the
    /// layer before (then within its bounds by construction). Adds to `overflowed` the
    /// values its overflow rule changed.
    fn apply<'x>(
        &self,
        i: usize,
        x: &'x [i64],
        trusted: bool,
        overflowed: &OverflowCount,
    ) -> Cow<'x, [i64]> {
        let l = &self.net.layers[i];
        let cx = EvalCtx { prepared: self.prepared[i].as_ref(), trusted, overflowed };
        l.op.kind().eval(l, x, &cx)
    }
}

/// Runs the network on one image (prepares a [`Model`] each call: use one for many images).
/// The least and the greatest of `v` (`None` when it is empty), in one pass the compiler
/// vectorizes.
fn min_max(v: &[i64]) -> Option<(i64, i64)> {
    let first = *v.first()?;
    Some(v.iter().fold((first, first), |(lo, hi), &x| (lo.min(x), hi.max(x))))
}

pub fn run<P: Pixel>(net: &Network, params: &Params, image: &[P]) -> Outputs {
    Model::new(net, params).run(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stimulus;

    /// The same network with every layer on the `i64` kernel.
    fn all_i64<'a>(net: &'a Network, params: &'a Params) -> Model<'a> {
        let mut m = Model::new(net, params);
        m.prepared.iter_mut().flatten().for_each(|p| p.force_i64());
        m
    }

    const PADDED: &str = r#"
name = "padded"
[input]
shape = [1, 28, 28]
bits = 8
signed = false
dataset = "mnist"
[[layer]]
name = "c1"
op = "conv2d"
tap = true
in_channels = 1
out_channels = 2
kernel = [3, 4]
stride = 2
padding = 1
weight = { bits = 8, signed = true, frac_bits = 7, file = "c1_{o}.mem" }
bias = { bits = 8, signed = true, frac_bits = 7, shift = 3, file = "c1_b.mem" }
shift = 4
rounding = "half_even"
out_bits = 10
out_signed = true
overflow = "wrap"
[[layer]]
name = "p"
op = "maxpool"
kernel = 2
stride = 1
[[layer]]
name = "f"
op = "flatten"
order = "hwc"
[[layer]]
name = "l"
op = "linear"
tap = true
in = 338
out = 10
weight = { bits = 16, signed = true, frac_bits = 12, file = "l.mem" }
shift = 2
rounding = "trunc"
out_bits = 32
out_signed = true
[[layer]]
name = "class"
op = "argmax"
"#;

    /// Five output channels (a full block of 4 and one of 1), a 9-wide kernel (two 8-wide
    /// chunks per row), an odd output width (a single-column tail).
    const WIDE: &str = r#"
name = "wide"
[input]
shape = [1, 28, 28]
bits = 8
signed = false
dataset = "mnist"
[[layer]]
name = "c1"
op = "conv2d"
tap = true
in_channels = 1
out_channels = 5
kernel = [3, 9]
weight = { bits = 8, signed = true, frac_bits = 7, file = "c1_{o}.mem" }
bias = { bits = 8, signed = true, frac_bits = 7, file = "c1_b.mem" }
shift = 3
rounding = "floor"
out_bits = 16
out_signed = true
overflow = "saturate"
[[layer]]
name = "f"
op = "flatten"
order = "chw"
[[layer]]
name = "l"
op = "linear"
tap = true
in = 2600
out = 10
weight = { bits = 8, signed = true, frac_bits = 7, file = "l.mem" }
shift = 7
rounding = "floor"
out_bits = 32
out_signed = true
overflow = "wrap"
[[layer]]
name = "class"
op = "argmax"
"#;

    #[test]
    fn every_kernel_tier_equals_the_i64_one() {
        let padded = Network::parse("padded", PADDED).unwrap();
        let wide = Network::parse("wide", WIDE).unwrap();
        // The requantization fixture: input zero points, per-channel multipliers, TFLite's steps.
        let requant = Network::find("vectors/fixtures/requant.toml").unwrap();
        let pooling = Network::find("vectors/fixtures/pooling.toml").unwrap();
        // A connection table and a depthwise conv, run on their dense expansions.
        let sparse = Network::find("vectors/fixtures/sparse.toml").unwrap();
        let two_conv = Network::find("two_conv").unwrap();
        let nets = [Network::seed(), two_conv, padded, wide, requant, pooling, sparse];
        for net in nets {
            for set in 0..8 {
                let (params, kind) = stimulus::weight_set(&net, 11, set);
                let (fast, slow) = (Model::new(&net, &params), all_i64(&net, &params));
                // The first conv2d of every one of these networks takes the 16-bit path.
                assert!(fast.prepared[0].as_ref().is_some_and(|p| p.is_i16()), "{}", net.name);
                for i in 0..10 {
                    let img = stimulus::image(&net, 11, set, i);
                    assert_eq!(
                        fast.run(&img),
                        slow.run(&img),
                        "{} set {set} ({kind}) image {i}",
                        net.name
                    );
                }
            }
        }
    }

    #[test]
    fn rtl_values_outside_the_bounds_fall_back_to_i64() {
        // The layer-local path feeds the RTL's own values, which a broken design can put
        // outside the declared range: the narrow kernels must not be used on them.
        let net = Network::seed();
        let params = Params::filled(&net, 127);
        let m = Model::new(&net, &params);
        let fc = net.layers.iter().position(|l| l.name == "fc1").unwrap();
        let mut pool = vec![0i64; 363];
        pool[0] = 1 << 40; // far outside 0..6325
        let got = m.run_layers(fc, fc, &pool);
        let want = (((1i64 << 40) * 127) + (127 << 7)) >> 7;
        assert_eq!(got[0], want);
    }
}
