//! Full training runs on the real MNIST in `vectors/mnist` (run `scripts/setup.sh` first):
//! `TrainConfig::default()` on the seed network must reproduce the committed
//! `vectors/weights/model.safetensors` bit for bit and reach the notebook's accuracy (about
//! 20 s in a release build); the two_conv network must reach 95 % float accuracy (about 25 s);
//! lenet5's own recipe must reproduce its committed weights, float ≥ 99.0 %, fixed point
//! within 0.2 points (about 12 minutes).
//! Far longer in debug, hence ignored by default:
//!
//! ```text
//! cargo test --release --test train -- --ignored --nocapture
//! ```

#![cfg(feature = "train")]

use cnn_cosim::float_model::FloatWeights;
use cnn_cosim::mnist::{self, Dataset, Split};
use cnn_cosim::network::Network;
use cnn_cosim::train::{evaluate, train, EpochStats, TrainConfig};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn mnist() -> (Dataset, Dataset) {
    let dir = root().join("vectors/mnist");
    let train_set = mnist::load(&dir, Split::Train).expect("MNIST training set");
    let test_set = mnist::load(&dir, Split::Test).expect("MNIST test set");
    (train_set, test_set)
}

/// Trains `net` with the default config; checks the last epoch's numbers against the plain
/// forward pass.
fn train_default(
    net: &Network,
    train_set: &Dataset,
    test_set: &Dataset,
) -> (FloatWeights, EpochStats) {
    let mut last = None;
    let weights = train(net, train_set, test_set, &TrainConfig::default(), false, &mut |s| {
        println!("{} epoch {} ({:.1} s): {s}", net.name, s.epoch, s.seconds);
        last = Some(s.clone());
    })
    .expect("training");
    let last = last.expect("at least one epoch");
    assert_eq!(last.epoch, 9);
    let (_, correct) = evaluate(net, &weights, test_set);
    assert_eq!(correct, last.correct);
    let classified = test_set
        .images
        .iter()
        .zip(&test_set.labels)
        .filter(|(i, &l)| weights.classify(net, &i[..]) == l);
    assert_eq!(classified.count(), last.correct);
    (weights, last)
}

#[test]
#[ignore = "trains for 9 epochs on real MNIST; run with --release -- --ignored"]
fn default_config_reproduces_committed_weights() {
    let (train_set, test_set) = mnist();
    let net = Network::seed();
    let (weights, last) = train_default(&net, &train_set, &test_set);
    assert!(last.correct >= 9730, "final accuracy {last}");

    let committed = FloatWeights::load(&net, &root().join("vectors/weights/model.safetensors"))
        .expect("committed weights");
    assert!(committed == weights, "training no longer reproduces the committed weights");
}

#[test]
#[ignore = "trains two_conv for 9 epochs on real MNIST; run with --release -- --ignored"]
fn two_conv_reaches_95_percent() {
    let (train_set, test_set) = mnist();
    let net = Network::load(&root().join("vectors/networks/two_conv.toml")).expect("two_conv");
    let (_, last) = train_default(&net, &train_set, &test_set);
    assert!(last.correct >= 9500, "final accuracy {last}");
}

#[test]
#[ignore = "trains lenet5 for 20 epochs on real MNIST (about 12 minutes on 2 cores)"]
fn lenet5_recipe_reproduces_committed_weights_and_reaches_99_percent() {
    use cnn_cosim::{calibrate, reference, weights::Params};
    let (train_set, test_set) = mnist();
    let net = Network::find("lenet5").expect("lenet5");
    let cfg = TrainConfig::for_network(&net, None, None);
    let mut last = None;
    let weights = train(&net, &train_set, &test_set, &cfg, false, &mut |s| {
        println!("lenet5 epoch {} ({:.1} s): {s}", s.epoch, s.seconds);
        last = Some(s.clone());
    })
    .expect("training");
    let last = last.expect("at least one epoch");
    assert!(last.correct >= 9900, "float accuracy {last}");
    let dir = root().join("vectors/weights/lenet5");
    let committed = FloatWeights::load(&net, &dir.join("model.safetensors")).expect("committed");
    assert!(committed == weights, "training no longer reproduces the committed weights");
    // The calibrated integer network: the committed files, within 0.2 points of float.
    let mut calib = train_set.images.clone();
    calib.truncate(cnn_cosim::commands::CALIBRATION_IMAGES);
    let (params, saturated) = calibrate::calibrate(&net, &weights, &calib).expect("calibration");
    assert!(saturated.is_empty());
    assert_eq!(params, Params::load(&net, &dir).expect("committed .mem files"));
    let model = reference::Model::new(&net, &params);
    let int_correct = test_set
        .images
        .iter()
        .zip(&test_set.labels)
        .filter(|(img, &l)| model.run(&img[..]).class == l)
        .count();
    assert!(int_correct + 20 >= last.correct, "fixed point {int_correct} vs float {last}");
}
