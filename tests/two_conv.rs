//! The second network in RTL: rtl/two_conv (two 5x5 convolutions, 12-bit saturated, round
//! half up) verified through its binding by the same generic harness — every report lists
//! its six layers — and broken copies of it caught at the layer they break.
//!
//! The model cache is `CARGO_TARGET_TMPDIR/model-cache`, shared with tests/rtl_bind.rs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn verify(args: &[&str], reports: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(root())
        .env("CNN_COSIM_CACHE", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-cache"))
        .arg("verify")
        .args(args)
        .arg("--reports")
        .arg(reports)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const LAYERS: [&str; 6] = ["conv1", "pool1", "conv2", "pool2", "fc1", "class"];

/// `layers.csv`'s column `col`, by layer.
fn column(layers_csv: &str, col: &str) -> Vec<(String, u64)> {
    let mut lines = layers_csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == col).unwrap_or_else(|| panic!("no {col}"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[c].parse().unwrap())
        })
        .collect()
}

/// A copy of rtl/ (the shared modules and rtl/two_conv/) with `(file, from, to)` applied
/// once each; returns the temporary root and the design directory in it.
fn design_copy(edits: &[(&str, &str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dst = tempfile::Builder::new().prefix("cnn-cosim-two-conv-").tempdir().unwrap();
    let design = dst.path().join("rtl/two_conv");
    std::fs::create_dir_all(&design).unwrap();
    for (from, to) in [
        (root().join("rtl"), dst.path().join("rtl")),
        (root().join("rtl/two_conv"), design.clone()),
    ] {
        for e in std::fs::read_dir(&from).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    for (file, from, to) in edits {
        let p = if file.starts_with("cnn_two_conv") {
            design.join(file)
        } else {
            dst.path().join("rtl").join(file)
        };
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.matches(from).count(), 1, "{file}: {from:?} must occur once");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }
    (dst, design)
}

#[test]
fn two_conv_is_bit_exact_on_all_images_and_every_report_lists_its_six_layers() {
    let r = tempfile::tempdir().unwrap();
    let junit = r.path().join("junit.xml");
    let o = verify(&["--rtl", "rtl/two_conv", "--junit", junit.to_str().unwrap()], r.path());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("PASS: 10000/10000 images bit-exact at every layer"), "{out}");
    // The binding names the network, the network its weights and float model.
    assert!(out.contains("weights vectors/weights/two_conv, network two_conv"), "{out}");
    assert!(out.contains("accuracy: RTL 97.05 %, reference 97.05 %, float 97.09 %"), "{out}");
    // One pixel per clock, never a stall: 784 cycles per image back to back.
    assert!(out.contains("throughput: 784.0 cycles per image"), "{out}");
    assert!(out.contains("latency last pixel to class_valid: 7..7 cycles"), "{out}");
    let layers = read(r.path(), "layers.csv");
    let names: Vec<String> = column(&layers, "elements").into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, LAYERS, "{layers}");
    assert_eq!(
        column(&layers, "elements").into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
        [10000 * 3 * 24 * 24, 10000 * 3 * 12 * 12, 10000 * 3 * 8 * 8, 10000 * 48, 100000, 10000]
    );
    let junit = std::fs::read_to_string(&junit).unwrap();
    for l in LAYERS {
        assert!(junit.contains(&format!("name=\"{l}\"")), "{l}: {junit}");
    }
    assert_eq!(junit.matches("<testcase").count(), 6, "{junit}");
    let html = read(r.path(), "index.html");
    for l in LAYERS {
        assert!(html.contains(&format!(">{l}<")), "{l} missing from index.html");
    }
}

#[test]
fn the_random_campaign_drives_both_convolutions_into_saturation_and_stays_exact() {
    let r = tempfile::tempdir().unwrap();
    let o = verify(
        &["--rtl", "rtl/two_conv", "--quiet", "--stimulus", "random", "--seed", "11"]
            .into_iter()
            .chain(["--sets", "8", "--count", "40", "--bubbles", "0.2"])
            .collect::<Vec<_>>(),
        r.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let layers = read(r.path(), "layers.csv");
    for rail in ["ref_overflowed_low", "ref_overflowed_high"] {
        let sat = column(&layers, rail);
        let of = |l: &str| sat.iter().find(|(n, _)| n == l).unwrap().1;
        assert!(of("conv1") > 0 && of("conv2") > 0, "{rail} never reached: {sat:?}");
        assert_eq!(of("pool1") + of("pool2") + of("fc1"), 0, "{sat:?}");
    }
    // Saturated both ways, each conv spans its whole 12-bit range.
    let header: Vec<&str> = layers.lines().next().unwrap().split(',').collect();
    let at = |c: &str| header.iter().position(|h| *h == c).unwrap();
    for row in layers.lines().skip(1).filter(|r| r.starts_with("conv")) {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!((f[at("ref_min")], f[at("ref_max")]), ("-2048", "2047"), "{row}");
        assert_eq!(f[at("range_reached_pct")], "100.0", "{row}");
    }
}

#[test]
fn backpressure_and_bubbles_together_stay_bit_exact() {
    // StallSeed drops ready on about one cycle in four; the driver adds bubbles on valid.
    let r = tempfile::tempdir().unwrap();
    let o = verify(
        &["--bind", "tests/bindings/two_conv_stall.toml", "--limit", "1000", "--bubbles", "0.3"],
        r.path(),
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("PASS: 1000/1000 images bit-exact at every layer"), "{out}");
    // Stalls and bubbles stretch an image well past its 784 pixels.
    let tp = out.split("throughput: ").nth(1).unwrap();
    let cycles: f64 = tp.split(' ').next().unwrap().parse().unwrap();
    assert!(cycles > 1200.0, "no backpressure seen: {out}");
}

#[test]
fn broken_copies_of_two_conv_are_caught_at_their_layer() {
    struct Case {
        why: &'static str,
        edit: (&'static str, &'static str, &'static str),
        mnist_catches: bool,
        first_bad: &'static str,
        /// Layers red on the RTL's own input, in LAYERS order.
        local_red: [bool; 6],
    }
    let cases = [
        Case {
            why: "conv2's rounding left at floor (half-up dropped)",
            edit: ("cnn_two_conv_top.v", ".HalfUp      (1),", ".HalfUp      (0),"),
            mnist_catches: true,
            first_bad: "conv2",
            local_red: [false, false, true, false, false, false],
        },
        Case {
            why: "conv2's sum one bit short: trained weights never come near 2^24, the \
                  campaign's extreme sets do",
            edit: (
                "cnn_two_conv_top.v",
                "localparam integer Conv2SumW  = 26;",
                "localparam integer Conv2SumW  = 25;",
            ),
            mnist_catches: false,
            first_bad: "conv2",
            local_red: [false, false, true, false, false, false],
        },
        Case {
            why: "the positive saturation bound one too low (2046) in both convolutions: \
                  trained weights reach it in conv2",
            edit: (
                "cnn_conv_channel.v",
                ": {1'b0, {(OutW-1){1'b1}}};",
                ": {1'b0, {(OutW-2){1'b1}}, 1'b0};",
            ),
            mnist_catches: true,
            first_bad: "conv2",
            local_red: [false, false, true, false, false, false],
        },
        Case {
            why: "conv1 wraps instead of saturating: trained weights never saturate conv1, \
                  the campaign's extreme sets do",
            edit: (
                "cnn_two_conv_top.v",
                ".HalfUp      (0),\n    .Saturate    (1),",
                ".HalfUp      (0),\n    .Saturate    (0),",
            ),
            mnist_catches: false,
            first_bad: "conv1",
            local_red: [true, false, false, false, false, false],
        },
        Case {
            why: "the pooling window off by one column, in the 8-wide (pool2) instance only",
            edit: (
                "cnn_pool_relu.v",
                "wire odd_col   = col[0];",
                "wire odd_col   = (InSize == 8) ? ~col[0] : col[0];",
            ),
            mnist_catches: true,
            first_bad: "pool2",
            local_red: [false, false, false, true, false, false],
        },
    ];
    for c in cases {
        let (_keep, design) = design_copy(&[c.edit]);
        let d = design.to_str().unwrap();
        let r = tempfile::tempdir().unwrap();
        let o = verify(&["--rtl", d, "--limit", "300"], r.path());
        if !c.mnist_catches {
            assert_eq!(o.status.code(), Some(0), "{}: MNIST should miss it: {}", c.why, text(&o));
            let rr = tempfile::tempdir().unwrap();
            let args = ["--rtl", d, "--stimulus", "random", "--seed", "5", "--sets", "8"];
            let o = verify(&[&args[..], &["--count", "30"]].concat(), rr.path());
            assert_eq!(
                o.status.code(),
                Some(1),
                "{}: the campaign must catch it: {}",
                c.why,
                text(&o)
            );
            assert!(
                text(&o).contains(&format!("layer {}", c.first_bad)),
                "{}: {}",
                c.why,
                text(&o)
            );
            continue;
        }
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{}: {out}", c.why);
        assert!(out.contains(&format!("layer {}", c.first_bad)), "{}: {out}", c.why);
        let layers = read(r.path(), "layers.csv");
        let local = column(&layers, "local_mismatching_elements");
        for ((name, n), red) in local.iter().zip(c.local_red) {
            assert_eq!(*n > 0, red, "{}: {name} on its own input: {layers}", c.why);
        }
        // The page maps the mismatches of every 2-D layer, channel by channel.
        let html = read(r.path(), "index.html");
        assert!(html.contains("Where conv1, pool1, conv2, pool2 mismatch"), "{}", c.why);
        assert!(html.contains(&format!("{} ch2", c.first_bad)), "{}", c.why);
    }
}
