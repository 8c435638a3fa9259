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
    let (out, red) = broken(
        "toplevel",
        &[("tl_top.v", "fc_outputs[k] <= fc_data", "fc_outputs[Classes-1-k] <= fc_data")],
        "300",
    );
    assert!(out.contains("first failure: image 0, layer fc1"), "{out}");
    assert_eq!(red, ["fc1"], "{out}");
}

#[test]
fn free_running_strobes_and_a_held_class_valid_are_bound_as_they_are() {
    // tests/designs/strobe: every tap's strobe keeps pulsing after its layer's beats until
    // the class; the class valid is high for two cycles. `beats = "first"` and
    // `edge = "rising"` say so.
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", "tests/designs/strobe"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("PASS: 10000/10000 images bit-exact at every layer"), "{out}");
    assert!(out.contains("beats after each layer's count ignored"), "{out}");
    // The ignored beats are counted per image and in layers.csv, never compared.
    let ignored = layer_counts(r.path(), "ignored_beats");
    assert_eq!(
        ignored,
        [("conv1", 110_000), ("pool1", 100_000), ("fc1", 90_000), ("class", 0)]
            .map(|(l, n)| (l.to_string(), n))
    );
    let summary = read(r.path(), "summary.csv");
    let first = summary.lines().nth(1).unwrap();
    assert!(
        first.contains(",ok,") && first.contains("conv1: 11 beats after its 484 ignored"),
        "{first}"
    );

    // The same design with `beats = "exact"`: the extra beats are a protocol problem of every
    // image, said in words and counted in extra_beats, and no value mismatches.
    let bind = std::fs::read_to_string(root().join("tests/designs/strobe/binding.toml")).unwrap();
    let exact = tempfile::Builder::new()
        .prefix(".exact-")
        .suffix(".toml")
        .tempfile_in(root().join("tests/designs/strobe"))
        .unwrap();
    std::fs::write(exact.path(), bind.replace("beats = \"first\"", "beats = \"exact\"")).unwrap();
    let o = verify(&["--bind", exact.path().to_str().unwrap(), "--limit", "500"], r.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("conv1: 495 of 484 beats when the class came"), "{}", text(&o));
    for (layer, n) in layer_counts(r.path(), "mismatching_elements") {
        assert_eq!(n, 0, "{layer}: the values that came are all equal");
    }
    let extra = layer_counts(r.path(), "extra_beats");
    assert_eq!(
        extra,
        [("conv1", 5_500), ("pool1", 5_000), ("fc1", 4_500), ("class", 0)]
            .map(|(l, n)| (l.to_string(), n))
    );
    let rows: Vec<(String, String)> = column(&read(r.path(), "summary.csv"), "status");
    assert!(rows.iter().all(|(_, s)| s == "protocol"), "{rows:?}");
    let html = read(r.path(), "index.html");
    assert!(
        html.contains("beats (apart from values)") && html.contains("bad beats"),
        "the page shows them apart"
    );

    // Without `edge = "rising"` the class's second cycle is the next image's class.
    let level = tempfile::Builder::new()
        .prefix(".level-")
        .suffix(".toml")
        .tempfile_in(root().join("tests/designs/strobe"))
        .unwrap();
    std::fs::write(level.path(), bind.replace("edge = \"rising\"", "")).unwrap();
    let o = verify(&["--bind", level.path().to_str().unwrap(), "--limit", "100"], r.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // Broken: the serial argmax compares unsigned (a dropped `signed`): the class is wrong
    // on the RTL's own logits, every layer before it right.
    let (out, red) = broken(
        "strobe",
        &[("strobe_top.v", "  wire signed [FcW-1:0] cand", "  wire [FcW-1:0] cand")],
        "300",
    );
    assert!(out.contains("layer class"), "{out}");
    assert_eq!(red, ["class"], "{out}");
}

#[test]
fn weights_in_one_file_per_output_and_input_channel_pair() {
    // tests/designs/pairs: two_conv with conv2's kernels read from conv2_weight_11.txt …
    // conv2_weight_33.txt; the harness writes every weight set in that layout.
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", "tests/designs/pairs"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 10000/10000 images bit-exact at every layer"), "{}", text(&o));
    // Random weight sets (extremes, sparse, ties) go through the same layout.
    let o = verify(
        &["--rtl", "tests/designs/pairs", "--stimulus", "random", "--sets", "8", "--count", "40"],
        r.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 320/320 images bit-exact at every layer"), "{}", text(&o));
    // Broken: the design numbers its pair files input first (conv2_weight_{i+1}{o+1}): conv2
    // is wrong on its own input, conv1 and pool1 right.
    let (out, red) = broken(
        "pairs",
        &[(
            "pairs_conv.v",
            "{Prefix, OutDigit, InDigit, \".txt\"}",
            "{Prefix, InDigit, OutDigit, \".txt\"}",
        )],
        "300",
    );
    assert!(out.contains("layer conv2"), "{out}");
    assert_eq!(red, ["conv2"], "{out}");
}

/// `text` with the lines `bind init` wrote commented out for the user (`#[[tap]]`,
/// `#layer = …`: a `#` and no space) uncommented.
fn uncomment_taps(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c != ' ' && c != '#') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn bind_init_writes_a_binding_that_only_needs_its_taps_uncommented() {
    let cases: [(&str, &str, &[&str], &str); 3] = [
        ("toplevel", "tl_top", &["tl_top.v", "../../../rtl/cnn_*.v"], "seed"),
        ("strobe", "strobe_top", &["strobe_top.v", "../../../rtl/cnn_*.v"], "seed"),
        ("pairs", "pairs_top", &["pairs_*.v", "../../../rtl/cnn_*.v"], "two_conv"),
    ];
    for (name, top, sources, net) in cases {
        let (_tree, d) = design_copy(name, &[]);
        std::fs::remove_file(d.join("binding.toml")).unwrap();
        let dir = d.to_str().unwrap();
        let mut args = vec!["bind", "init", dir, "--top", top, "--net", net, "--quiet"];
        for s in sources {
            args.extend(["--sources", s]);
        }
        let o = cosim(&args);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o));
        let written = read(&d, "binding.toml");
        // As written: it loads, and says the taps are not there yet.
        let o = cosim(&["bind", "show", dir]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}\n{written}", text(&o));
        assert!(text(&o).contains("no layer is tapped"), "{name}: {}", text(&o));
        // The taps uncommented: bind show lists them, verify is bit-exact on every image.
        std::fs::write(d.join("binding.toml"), uncomment_taps(&written)).unwrap();
        let o = cosim(&["bind", "show", dir]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o));
        assert!(!text(&o).contains("not tapped"), "{name}: {}", text(&o));
        let r = tempfile::tempdir().unwrap();
        let o = verify(&["--rtl", dir], r.path());
        assert_eq!(o.status.code(), Some(0), "{name}: {}\n{written}", text(&o));
        assert!(
            text(&o).contains("PASS: 10000/10000 images bit-exact at every layer"),
            "{name}: {}",
            text(&o)
        );
        // What the design needed beyond its signals was found by the trial.
        match name {
            "strobe" => assert!(
                written.contains("edge = \"rising\"") && written.contains("#beats = \"first\""),
                "{written}"
            ),
            "pairs" => assert!(
                written.contains("\"conv2.weight\" = { file = \"conv2_weight_{o+1}{i+1}.txt\" }"),
                "{written}"
            ),
            _ => {}
        }
        // And it never overwrites a binding.
        let before = read(&d, "binding.toml");
        let o = cosim(&args);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("already exists; bind init never overwrites a binding"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(read(&d, "binding.toml"), before);
    }
}

#[test]
fn bind_show_lists_everything_still_missing_at_once() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("binding.toml");
    std::fs::write(&f, "network = \"seed\"\n[design]\nsources = [\"*.v\"]\ntop = \"t\"\n[clock]\nport = \"TODO\"\n[input]\ndata = \"px\"\n").unwrap();
    let o = cosim(&["bind", "show", "--bind", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("still to fill in: [reset] port, [reset] active, [weights] load, [class] valid, [class] data, [clock] port"),
        "{err}"
    );
}
