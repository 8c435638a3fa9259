//! `cnn-cosim bench` runs end to end and prints its table. No timing is asserted: the numbers
//! belong in docs/performance.md, not in a test.

use std::process::Command;

#[test]
fn bench_runs_every_mode_and_prints_ratios_and_rss() {
    let o = Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["bench", "--runs", "1", "--limit", "50", "--jobs", "2"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    for line in [
        "(a) ceiling: bare C++ loop",
        "(b) driver, 1 thread, streaming only",
        "(c) verify, 1 thread",
        "(d) verify, all cores",
        "(p) ceilings, one per job, at once",
        "ratios (throughput, median of per-run ratios): b/a ",
        "the machine: p/a ",
        "peak RSS",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
    // 50 images of 784 pixels, 2 reset cycles and 4 to the last class, in both drivers.
    // (p): two ceilings of 25 images each, each from its own reset.
    assert!(
        out.contains(
            "simulated cycles: (a) 39206, (b)-(d) 39206 (500-image segments, each from \
             reset), (p) 39212 (2 x 25 images)"
        ),
        "{out}"
    );
}

#[test]
fn stream_only_counts_every_image_and_cycle() {
    let o = Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["bench", "--stream-only", "--limit", "1001"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    // Segments 0..499, 500..999 and 1000: each 2 reset cycles, its pixels back-to-back, then
    // 4 idle cycles until the last class_valid is seen.
    let cycles = 3 * (2 + 4) + 1001 * 784;
    assert!(out.starts_with(&format!("images=1001 cycles={cycles} ")), "{out}");
}

/// A host-driven design has no place in the compiled-in ceiling (it drives the seed's
/// streaming `cnn_top`): its (a) is a host loop of its own on the same run-time model.
#[test]
fn a_host_driven_design_is_timed_against_a_host_loop_of_its_own() {
    let o = Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["bench", "--rtl", "tests/designs/host", "--runs", "1", "--limit", "20"])
        .args(["--jobs", "2"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    for line in [
        "(a) ceiling: bare host loop, no compare",
        "(b) driver, 1 thread, streaming only",
        "(c) verify, 1 thread",
        "(d) verify, all cores",
        "(p) ceilings, one per job, at once",
        "ratios (throughput, median of per-run ratios): b/a ",
        "peak RSS",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
    assert!(!out.contains("targets:"), "the seed's targets are not this design's:\n{out}");
    // The same cycles as verify's split (tests/host.rs): 196 image words on the load port,
    // then 11,281 cycles to done; the weights (958 words) once after the reset.
    assert!(
        out.contains(
            "cycles per image (first image write to class, (a)): 11477.0 = image load 196.0 + \
             compute 11281.0; weights 958 cycles, written once"
        ),
        "{out}"
    );
    // 2 reset cycles, the weights, 20 images: within one segment the driver does the same,
    // so (a) and (b)-(d) simulate the same cycles; (p) is two such loops of 10 images.
    assert!(
        out.contains(
            "simulated cycles: (a) 230500, (b)-(d) 230500 (500-image segments, each from \
             reset), (p) 231460 (2 x 10 images)"
        ),
        "{out}"
    );
}

#[test]
fn a_streaming_design_of_another_network_is_refused_in_one_line() {
    let o = Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["bench", "--rtl", "rtl/two_conv", "--runs", "1", "--limit", "5"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("rtl/two_conv/binding.toml: bench --rtl times"), "{err}");
}
