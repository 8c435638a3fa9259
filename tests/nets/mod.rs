//! Helpers of the tests of network descriptions: a refused description's one-line error, a
//! layer's index, and the derived-bounds property (every value the reference produces on
//! random weight sets and images at the extremes lies within its layer's bounds).
#![allow(dead_code)]

use cnn_cosim::network::Network;
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
