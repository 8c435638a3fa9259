//! Inputs that are not MNIST's (issue 22 §1): any `[C, H, W]`, width and signedness, images
//! from the files a description names, random images of the declared shape and type.

mod nets;
use nets::{bounds_hold, err, reach_both};

use cnn_cosim::network::Network;
use cnn_cosim::{float_model, reference, stimulus, weights::Params};

const FIXTURE: &str = "vectors/fixtures/int8_input.toml";

fn fixture() -> Network {
    Network::find(FIXTURE).unwrap()
}

#[test]
fn a_three_channel_int8_input_is_an_ordinary_description() {
    let net = fixture();
    assert_eq!(net.input_len(), 192);
    assert!(!net.takes_mnist_images());
    let show = net.show();
    assert!(show.contains("input 3×8×8 8 bits signed from target/int8_input/images.npy"), "{show}");
    // The conv's input is −128..127: products of two int8 reach 16,384.
    let conv = &net.layers[0];
    assert_eq!(conv.bounds.product.unwrap().max, 16_384);
    // The float model's input is value / 128.
    assert_eq!(net.float_input(&[-128i32, 64, 127]), vec![-1.0, 0.5, 127.0 / 128.0]);
}

#[test]
fn random_images_take_the_declared_shape_and_type() {
    let net = fixture();
    let (mut low, mut high) = (false, false);
    for i in 0..40u64 {
        let img = stimulus::image(&net, 9, 0, i);
        assert_eq!(img.len(), 192);
        assert!(img.iter().all(|v| (-128..=127).contains(v)), "image {i}");
        match stimulus::image_kind(net.input_type, i) {
            "all-min" => assert!(img.iter().all(|&v| v == -128)),
            "all-max" => assert!(img.iter().all(|&v| v == 127)),
            "checkerboard" => {
                assert!(img.iter().all(|&v| v == -128 || v == 127));
                // Each channel's plane is a checkerboard of its own 8×8 grid.
                assert_eq!(img[0], img[64]);
            }
            "uniform" => {
                low |= img.contains(&-128);
                high |= img.contains(&127);
            }
            _ => {}
        }
    }
    assert!(low && high, "uniform images reach both extremes");
    // MNIST's campaigns keep their images: the seed network's draw is as it always was.
    let seed = Network::seed();
    assert_eq!(stimulus::image_kind(seed.input_type, 1), "all-255");
    assert!(stimulus::image(&seed, 3, 1, 1).iter().all(|&v| v == 255));
    // The derived bounds hold every value the reference produces on them.
    let reached = bounds_hold(&net, 5);
    reach_both(&net, &reached, &["conv"]);
}

#[test]
fn the_reference_and_float_model_take_the_images_as_they_are() {
    let net = fixture();
    let (params, _) = stimulus::weight_set(&net, 4, 6);
    let img = stimulus::image(&net, 4, 6, 7);
    let out = reference::run(&net, &params, &img);
    // conv output (0, 0, 0) by hand: Σ over 3 channels × 3×3 of x·w, + bias, half-even / 2^7.
    let w = &params.layer(0).weight;
    let mut acc = params.layer(0).bias[0];
    for c in 0..3 {
        for i in 0..3 {
            for j in 0..3 {
                acc += img[c * 64 + i * 8 + j] as i64 * w[(c * 3 + i) * 3 + j];
            }
        }
    }
    let q = acc.div_euclid(128);
    let r = acc.rem_euclid(128);
    let rounded = if r > 64 || r == 64 && q % 2 != 0 { q + 1 } else { q };
    assert_eq!(out.taps[0][0], rounded.clamp(-128, 127));
    // The float model reads the same values / 128.
    let fw = float_model::FloatWeights {
        tensors: float_model::spec(&net)
            .into_iter()
            .map(|(name, shape)| {
                let n = shape.iter().product();
                float_model::Tensor { name, shape, data: vec![0.01; n] }
            })
            .collect(),
    };
    assert_eq!(fw.logits(&net, &img).len(), 5);
    let _ = Params::filled(&net, 1);
}

#[test]
fn inputs_that_cannot_be_held_are_refused_in_one_line() {
    let t = std::fs::read_to_string(FIXTURE).unwrap();
    let e = err(&t.replace("bits = 8\nsigned = true", "bits = 32\nsigned = false"));
    assert!(e.contains("[input]: bits = 32, unsigned: 1..32 signed or 1..31 unsigned"), "{e}");
    let e = err(&t.replace("shape = [3, 8, 8]", "shape = [3, 0, 8]"));
    assert!(e.contains("shape = [3, 0, 8]: every dimension at least 1"), "{e}");
    let e = err(&t.replace("float_divisor = 128.0", "float_divisor = -1.0"));
    assert!(e.contains("float_divisor = -1: a positive number"), "{e}");
    let e = err(&t.replace(
        "dataset = { images = \"target/int8_input/images.npy\", labels = \"target/int8_input/labels.npy\" }",
        "dataset = \"mnist\"",
    ));
    assert!(
        e.contains("MNIST images are 1×28×28, 8 bits unsigned; the description says 3×8×8")
            && e.contains("dataset = { images"),
        "{e}"
    );
    let e = err(&t.replace(
        "dataset = { images = \"target/int8_input/images.npy\", labels = \"target/int8_input/labels.npy\" }",
        "dataset = \"cifar\"",
    ));
    assert!(e.contains("expected \"mnist\" or a table { images = FILE, labels = FILE }"), "{e}");
}
