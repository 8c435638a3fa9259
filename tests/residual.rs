//! Residual adds and named inputs (issue 22 §4): a description is a graph where a layer may
//! name its inputs. `vectors/fixtures/residual.toml` computed by hand against TFLite's ADD,
//! bounds holding every value, the layer-local recomputation across a skip connection, the
//! float model's sum, an argmax over a raw accumulator named as its input, and bad graphs
//! refused in one line.

mod nets;
use nets::{bounds_hold, err, index};

use cnn_cosim::float_model::{FloatWeights, Tensor};
use cnn_cosim::mnist::PIXELS;
use cnn_cosim::network::{rdbpot, srdhm, Network};
use cnn_cosim::reference;
use cnn_cosim::stimulus;

const FIXTURE: &str = "vectors/fixtures/residual.toml";

fn fixture() -> Network {
    Network::find(FIXTURE).unwrap()
}

/// TFLite's ADD on one element, written out from its reference kernel.
fn tflite_add(a: i32, b: i32) -> i64 {
    let scaled = |x: i32, z: i32, m: i32| rdbpot(srdhm((x - z) * (1 << 20), m), 1);
    let sum = scaled(a, -5, 1_518_500_250) + scaled(b, 3, 1_073_741_824);
    let y = rdbpot(srdhm(sum, 1_395_864_371), 20) - 2;
    y.clamp(-128, 127) as i64
}

#[test]
fn the_add_is_tflites_on_every_element() {
    let net = fixture();
    assert!(!net.is_chain());
    let (c1, c2, res, fc) =
        (index(&net, "conv1"), index(&net, "conv2"), index(&net, "res"), index(&net, "fc"));
    assert_eq!(net.layers[res].sources, [c1, c2]);
    assert_eq!(net.layers[index(&net, "class")].sources, [fc]);
    for set in 0..stimulus::WEIGHT_KINDS.len() as u64 {
        let (params, kind) = stimulus::weight_set(&net, 3, set);
        let model = reference::Model::new(&net, &params);
        for i in 0..4 {
            let out = model.run(&stimulus::image(&net, 3, set, i));
            let (a, b, r) = (&out.taps[0], &out.taps[1], &out.taps[2]);
            for e in (0..a.len()).step_by(7) {
                assert_eq!(
                    r[e],
                    tflite_add(a[e] as i32, b[e] as i32),
                    "{kind} image {i} element {e}"
                );
            }
            // The class is the argmax of the accumulator, not of the relu after it.
            assert_eq!(out.logits, out.taps[3], "{kind}");
            assert_eq!(out.class, reference::argmax(&out.taps[3]), "{kind}");
        }
    }
}

#[test]
fn the_layer_local_recomputation_reads_the_skip_source_from_the_reference() {
    // res recomputed from conv2 as the RTL gave it (here: the reference's, then one element
    // off), conv1 from the reference's own run.
    let net = fixture();
    let res = index(&net, "res");
    let (params, _) = stimulus::weight_set(&net, 5, 6);
    let model = reference::Model::new(&net, &params);
    let out = model.run(&stimulus::image(&net, 5, 6, 5));
    let local = model.run_layers_after(res, res, &out.taps[1], &out);
    assert_eq!(local, out.taps[2]);
    let mut wrong = out.taps[1].clone();
    wrong[10] += 40;
    let local = model.run_layers_after(res, res, &wrong, &out);
    let want = tflite_add(out.taps[0][10] as i32, wrong[10] as i32);
    assert_eq!(local[10], want);
    assert_eq!(local[..10], out.taps[2][..10]);
    // The values eval --dump writes agree with the taps.
    let values = model.layer_values(&stimulus::image(&net, 5, 6, 5));
    assert_eq!(values[res], out.taps[2]);
    assert_eq!(values[index(&net, "fc")], out.taps[3]);
}

#[test]
fn derived_bounds_hold_every_value_the_reference_produces() {
    bounds_hold(&fixture(), 29);
}

#[test]
fn the_float_model_adds_the_two_branches() {
    let net = fixture();
    let tensors = cnn_cosim::float_model::spec(&net)
        .into_iter()
        .map(|(name, shape)| {
            let n = shape.iter().product();
            Tensor { name, shape, data: vec![0.01; n] }
        })
        .collect();
    let fw = FloatWeights { tensors };
    // conv1 (1 input channel) and conv2 (4 channels) of the same constant image: the sum of
    // the two branches reaches the logits, all equal.
    let l = fw.logits(&net, &[255u8; PIXELS]);
    assert_eq!(l.len(), 10);
    assert!(l.iter().all(|&v| v == l[0] && v.is_finite() && v > 0.0), "{l:?}");
}

#[test]
fn bad_graphs_are_one_line() {
    let t = std::fs::read_to_string(FIXTURE).unwrap();
    let e = err(&t.replace("inputs = [\"conv1\", \"conv2\"]", "inputs = [\"conv1\", \"conv9\"]"));
    assert!(
        e.contains("layer \"res\" (add): input \"conv9\": no earlier layer has that name"),
        "{e}"
    );
    let e = err(&t.replace("inputs = [\"conv1\", \"conv2\"]", "inputs = [\"conv1\"]"));
    assert!(e.contains("add takes two layers or more"), "{e}");
    let e = err(&t.replace("inputs = [\"conv1\", \"conv2\"]", "input = \"conv1\""));
    assert!(e.contains("add takes several layers"), "{e}");
    let e = err(&t.replace("input = \"fc\"", "inputs = [\"fc\"]"));
    assert!(e.contains("key `inputs` does not apply to argmax"), "{e}");
    // Different shapes: the add of conv1 and a pooled map.
    let pooled = t.replace(
        "[[layer]]\nname = \"res\"",
        "[[layer]]\nname = \"half\"\nop = \"maxpool\"\nkernel = 2\n\n[[layer]]\nname = \"res\"",
    );
    let e =
        err(&pooled.replace("inputs = [\"conv1\", \"conv2\"]", "inputs = [\"conv1\", \"half\"]"));
    assert!(
        e.contains(
            "an add of layers with different shapes: \"conv1\" is 4×28×28, \"half\" is 4×14×14"
        ),
        "{e}"
    );
    let e = err(&t.replace("    { zero_point = 3, multiplier = 1073741824, shift = 32 },\n", ""));
    assert!(e.contains("rescale lists 1 entries; give one per input (2)"), "{e}");
    let e = err(&t.replace("left_shift = 20", "left_shift = 25"));
    assert!(e.contains("shifted left by 25, reaches") && e.contains("beyond 32 bits"), "{e}");
    // A layer named as input must come before it.
    let e = err(&t.replace("input = \"fc\"", "input = \"class\""));
    assert!(e.contains("input \"class\": no earlier layer has that name"), "{e}");
}

#[test]
fn the_worked_example_in_the_docs() {
    // docs/network-format.md, "Residual add and named inputs".
    assert_eq!(tflite_add(100, -20), 18);
}
