//! Full training run on the real MNIST in `vectors/mnist` (run `scripts/setup.sh` first):
//! `TrainConfig::default()` must reproduce the committed `vectors/weights/model.safetensors`
//! bit for bit and reach the notebook's accuracy. About 20 s in a release build, far longer in
//! debug, hence ignored by default:
//!
//! ```text
//! cargo test --release --test train -- --ignored --nocapture
//! ```

#![cfg(feature = "train")]

use cnn_cosim::float_model::FloatWeights;
use cnn_cosim::mnist::{self, Split};
use cnn_cosim::train::{evaluate, train, TrainConfig};
use std::path::Path;

#[test]
#[ignore = "trains for 9 epochs on real MNIST; run with --release -- --ignored"]
fn default_config_reproduces_committed_weights() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("vectors/mnist");
    let train_set = mnist::load(&dir, Split::Train).expect("MNIST training set");
    let test_set = mnist::load(&dir, Split::Test).expect("MNIST test set");
    let mut last = None;
    let weights = train(&train_set, &test_set, &TrainConfig::default(), false, &mut |s| {
        println!("epoch {} ({:.1} s): {s}", s.epoch, s.seconds);
        last = Some(s.clone());
    })
    .expect("training");
    let last = last.expect("at least one epoch");
    assert_eq!(last.epoch, 9);
    assert!(last.correct >= 9730, "final accuracy {last}");

    let (_, correct) = evaluate(&weights, &test_set);
    assert_eq!(correct, last.correct);
    let classified =
        test_set.images.iter().zip(&test_set.labels).filter(|(i, &l)| weights.classify(i) == l);
    assert_eq!(classified.count(), last.correct);

    let committed = FloatWeights::load(&root.join("vectors/weights/model.safetensors"))
        .expect("committed weights");
    assert!(committed == weights, "training no longer reproduces the committed weights");
}
