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
