//! Proof that the harness catches bugs: deliberately broken copies of rtl/ are built through
//! the build-time RTL switch (CNN_COSIM_RTL) and verified on a few hundred images; each must
//! fail (exit 1) with the right first_bad_layer. A harness that cannot fail is worthless.
//!
//! The variants share one target directory (target/variants) so dependencies build once.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Variant {
    name: &'static str,
    file: &'static str,
    from: &'static str,
    to: &'static str,
    first_bad_layer: &'static str,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        name: "bias_dropped",
        file: "cnn_conv_channel.v",
        from: "data_d   = scaled + bias_ext;",
        to: "data_d   = scaled;",
        first_bad_layer: "conv1",
    },
    Variant {
        name: "pool_window_off_by_one",
        file: "cnn_pool_relu.v",
        from: "wire odd_col   = col_q[0];",
        to: "wire odd_col   = ~col_q[0];",
        first_bad_layer: "pool1",
    },
    Variant {
        name: "fc_accumulator_truncated",
        file: "cnn_top.v",
        from: "localparam integer FcAccW    = 30;",
        to: "localparam integer FcAccW    = 24;",
        first_bad_layer: "fc1",
    },
    Variant {
        name: "fc_state_not_cleared",
        file: "cnn_fc_acc.v",
        from: "acc_q <= last_i ? bias_init : acc_d;",
        to: "acc_q <= acc_d;",
        first_bad_layer: "fc1",
    },
];

const IMAGES: &str = "300";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies rtl/*.v into `dir` with one substitution applied (which must apply exactly once).
fn make_variant(v: &Variant, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(root().join("rtl")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "v") {
            let mut text = std::fs::read_to_string(&p).unwrap();
            if p.file_name().unwrap() == v.file {
                assert_eq!(
                    text.matches(v.from).count(),
                    1,
                    "{}: rtl/{} no longer holds {:?} once; update the variant",
                    v.name,
                    v.file,
                    v.from
                );
                text = text.replace(v.from, v.to);
            }
            std::fs::write(dir.join(p.file_name().unwrap()), text).unwrap();
        }
    }
}

fn build(rtl: &Path, target: &Path) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["build", "--release", "--quiet", "--no-default-features", "--bin", "cnn-cosim"])
        .env("CNN_COSIM_RTL", rtl)
        .env("CARGO_TARGET_DIR", target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the RTL variant in {} failed", rtl.display());
    target.join("release/cnn-cosim")
}

#[test]
fn broken_rtl_variants_are_caught() {
    let mnist = root().join("vectors/mnist");
    assert!(mnist.is_dir(), "run scripts/setup.sh first: {} is missing", mnist.display());
    let target = root().join("target/variants");
    let work = tempfile::tempdir().unwrap();
    for v in &VARIANTS {
        let rtl = work.path().join(v.name).join("rtl");
        make_variant(v, &rtl);
        let bin = build(&rtl, &target);
        let reports = work.path().join(v.name).join("reports");
        let out = Command::new(&bin)
            .current_dir(root())
            .args(["verify", "--quiet", "--limit", IMAGES, "--reports"])
            .arg(&reports)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{}: verify must fail\n{stdout}", v.name);
        let summary = std::fs::read_to_string(reports.join("summary.csv")).unwrap();
        let mut rdr = csv::Reader::from_reader(summary.as_bytes());
        let headers = rdr.headers().unwrap().clone();
        let col = headers.iter().position(|h| h == "first_bad_layer").unwrap();
        let first = rdr
            .records()
            .map(|r| r.unwrap())
            .find(|r| !r[col].is_empty())
            .unwrap_or_else(|| panic!("{}: no failing image in summary.csv", v.name));
        assert_eq!(&first[col], v.first_bad_layer, "{}: {stdout}", v.name);
        assert!(stdout.contains("FAIL:"), "{}: {stdout}", v.name);
        eprintln!("{}: caught, first failure image {} at {}", v.name, &first[0], &first[col]);
    }
}
