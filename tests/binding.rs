//! RTL bindings: the project's own, and bad bindings refused with one line naming the file,
//! the place and the problem.

use cnn_cosim::sim::binding::Binding;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn own_text() -> String {
    std::fs::read_to_string(root().join("rtl/binding.toml")).unwrap()
}

fn err(text: &str) -> String {
    format!("{:#}", Binding::parse("b.toml", Path::new("rtl"), text, None).unwrap_err())
}

#[test]
fn the_projects_rtl_binding_loads_by_directory_and_shows() {
    let b = Binding::find(&root().join("rtl"), None).unwrap();
    assert_eq!(b.network.name, "seed");
    assert_eq!(
        b.taps.iter().map(|t| t.layer.as_str()).collect::<Vec<_>>(),
        ["conv1", "pool1", "fc1"]
    );
    let o = Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(root())
        .args(["bind", "show", "rtl"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("tap pool1    valid pool1_valid_o, data pool1_data_o, 3 × 13 bits unsigned"),
        "{out}"
    );
    assert!(out.contains("reset rst_ni active low, 2 cycles"), "{out}");
}

#[test]
fn a_binding_may_leave_layers_untapped() {
    // Only the class bound: the layers are reported as not tapped.
    let text = own_text();
    let start = text.find("[[tap]]").unwrap();
    let end = text.find("[class]").unwrap();
    let class_only = format!("{}{}", &text[..start], &text[end..]);
    let b = Binding::parse("b.toml", Path::new("rtl"), &class_only, None).unwrap();
    assert!(b.taps.is_empty());
    assert_eq!(b.untapped(), ["conv1", "pool1", "fc1"]);
    assert!(b.show().contains("tap conv1    not tapped (not compared)"), "{}", b.show());
}

#[test]
fn bad_bindings_name_the_file_place_and_problem() {
    let own = own_text();
    let cases = [
        (own.replace("layer = \"pool1\"", "layer = \"pool2\""), "has no tapped layer \"pool2\""),
        (own.replace("lanes = 10", "lanes = 3"), "lanes = 3: it must divide the layer's 10 values"),
        (
            own.replace("lanes = 3\nbits = 13", "lanes = 1\nbits = 13"),
            "lanes = 1, but layer pool1 is 3×11×11",
        ),
        (
            own.replace("bits = 14", "bits = 13"),
            "13 bits signed cannot hold the layer's values -6,376..6,325 (they need 14 bits signed",
        ),
        (
            own.replace("bits = 13\nsigned = false", "bits = 12\nsigned = false"),
            "12 bits unsigned cannot hold",
        ),
        (
            own.replace("arg = \"+weights={weights}\"", "arg = \"+weights=DIR\""),
            "{weights} placeholder",
        ),
        (
            own.replace("valid = \"pixel_valid_i\"", "ready = \"pixel_ready_o\""),
            "ready without valid",
        ),
        (
            own.replace("network = \"seed\"", "network = \"no_such\""),
            "network = \"no_such\": --net no_such: no such network",
        ),
        (
            own.replace(
                "[clock]\nport = \"clk_i\"",
                "[clock]\nport = \"clk_i\"\nedge = \"falling\"",
            ),
            "unknown field `edge`",
        ),
        (
            own.replace("between = \"back-to-back\"", "between = \"sometimes\""),
            "between = \"sometimes\" is not back-to-back, idle:N or reset",
        ),
        (
            own.replace("data = \"fc1_data_o\"", "data = [\"a\", \"b\"]"),
            "data names 2 signals; give one packed signal or one per lane (10)",
        ),
    ];
    for (text, want) in cases {
        let e = err(&text);
        assert!(e.starts_with("b.toml"), "{e}");
        assert!(e.contains(want), "want {want:?} in: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    // A tap error points at its [[tap]] table.
    let e = err(&own.replace("bits = 23", "bits = 22"));
    assert!(e.contains("tap \"fc1\"") && e.starts_with("b.toml:"), "{e}");
    // A directory without a binding says how to add one.
    let d = tempfile::tempdir().unwrap();
    let e = format!("{:#}", Binding::find(d.path(), None).unwrap_err());
    assert!(e.contains("no binding file") && e.contains("docs/binding-format.md"), "{e}");
}

#[test]
fn one_signal_per_lane_and_array_ranges() {
    let own = own_text();
    let text = own.replace("data = \"fc1_data_o\"", "data = \"u_fc.logit_q[0..9]\"");
    let b = Binding::parse("b.toml", Path::new("rtl"), &text, None).unwrap();
    let fc = b.tap("fc1").unwrap();
    let sigs = fc.data.expand().unwrap();
    assert_eq!(sigs.len(), 10);
    assert_eq!(sigs[9], "u_fc.logit_q[9]");
}
