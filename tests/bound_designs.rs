//! Designs bound as they are (issue 21): layers tapped through the top module's own
//! signals, weights in one file per (output, input) pair, and strobes that keep pulsing
//! after a layer's beats — each bit-exact on all 10,000 images through its binding alone,
//! and a broken copy of each caught at its layer.

mod harness;
use harness::*;

#[test]
fn a_design_tapped_through_its_top_modules_own_signals_is_bit_exact() {
    // tests/designs/toplevel: conv1 on three per-channel wires of the top, pool1 on a packed
    // wire, fc1 in an unpacked array declared [9:0]; only the pixels and the class are ports.
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", "tests/designs/toplevel"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 10000/10000 images bit-exact at every layer"), "{}", text(&o));
    // Broken: the logits stored into the array in reverse. fc1 is wrong on its own input;
    // the class, the argmax of what the array holds, is right on its own.
    let (_tree, d) = design_copy(
        "toplevel",
        &[("tl_top.v", "fc_outputs[k] <= fc_data", "fc_outputs[Classes-1-k] <= fc_data")],
    );
    let o = verify(&["--rtl", d.to_str().unwrap(), "--limit", "300"], r.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("first failure: image 0, layer fc1"), "{}", text(&o));
    let local = layer_counts(r.path(), "local_mismatching_elements");
    let red: Vec<&str> = local.iter().filter(|(_, n)| *n > 0).map(|(l, _)| l.as_str()).collect();
    assert_eq!(red, ["fc1"], "{local:?}");
}
