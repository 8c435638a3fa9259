//! The generic reference (the network description interpreted) equals the seed network's
//! old hand-written reference (tests/common, the code as it was) on every element of every
//! layer: all 10,000 MNIST test images with the committed weights, and the 2,400 images of
//! the make-test random campaign (seed 2026, 24 weight sets × 100 images) with its weights.

mod common;

use cnn_cosim::mnist::{self, Image, Split};
use cnn_cosim::network::Network;
use cnn_cosim::reference;
use cnn_cosim::stimulus;
use cnn_cosim::weights::Params;
use std::path::Path;

fn check(net: &Network, params: &Params, old: &common::QuantWeights, img: &Image, what: &str) {
    let new = reference::run(net, params, img);
    let o = common::run(old, img);
    let old_taps: [Vec<i64>; 4] = [
        o.conv1.iter().map(|&v| v as i64).collect(),
        o.pool1.iter().map(|&v| v as i64).collect(),
        o.fc1.iter().map(|&v| v as i64).collect(),
        vec![o.class as i64],
    ];
    assert_eq!(new.taps.len(), 4, "{what}");
    for (t, (n, o)) in new.taps.iter().zip(&old_taps).enumerate() {
        assert_eq!(n, o, "{what}: tap {t} differs");
    }
    assert_eq!(new.class, o.class, "{what}");
    assert_eq!(new.logits, old_taps[2], "{what}");
}

#[test]
fn generic_reference_equals_the_old_one_on_all_mnist_test_images() {
    let net = Network::seed();
    let dir = Path::new("vectors/weights");
    let params = Params::load(&net, dir).unwrap();
    let old = common::QuantWeights::load(dir).unwrap();
    assert_eq!(old.to_params(&net), params, "the generic loader reads the same values");
    let test = mnist::load(Path::new("vectors/mnist"), Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    for (i, img) in test.images.iter().enumerate() {
        check(&net, &params, &old, img, &format!("MNIST image {i}"));
    }
}

#[test]
fn generic_reference_and_weight_sets_equal_the_old_ones_on_the_random_campaign() {
    let net = Network::seed();
    for set in 0..24 {
        let (params, _) = stimulus::weight_set(&net, 2026, set);
        let (old, _) = common::old_weight_set(2026, set);
        assert_eq!(params, old.to_params(&net), "weight set {set}");
        for i in 0..100 {
            let img = stimulus::image(&net, 2026, set, i);
            check(&net, &params, &old, &img, &format!("set {set} image {i}"));
        }
    }
}

#[test]
fn seed_files_round_trip_byte_for_byte() {
    // The generic writer produces exactly the notebook's files (numpy savetxt layout).
    let net = Network::seed();
    let params = Params::load(&net, Path::new("vectors/weights")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let names = params.save(&net, out.path()).unwrap();
    assert_eq!(names.len(), 6);
    for n in &names {
        let a = std::fs::read(Path::new("vectors/weights").join(n)).unwrap();
        let b = std::fs::read(out.path().join(n)).unwrap();
        assert!(a == b, "{n} differs from the committed file");
    }
}
