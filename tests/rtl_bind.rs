//! `verify --rtl DIR` / `--bind FILE`: designs Verilated at run time through their binding
//! (src/sim/verilate.rs), checked against the compiled-in path, plus the binding's bad input.
//!
//! The model cache is `CARGO_TARGET_TMPDIR/model-cache`, shared by the tests (a design
//! built by one test is loaded by the next; concurrent builds of one key are safe).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-cache")
}

fn verify_in(cache: &Path, args: &[&str], reports: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(root())
        .env("CNN_COSIM_CACHE", cache)
        .arg("verify")
        .args(args)
        .arg("--reports")
        .arg(reports)
        .output()
        .unwrap()
}

fn verify(args: &[&str], reports: &Path) -> Output {
    verify_in(&cache(), args, reports)
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What a report directory shows or a model cache holds: not the locks and run directories
/// behind them (src/report_set.rs, `.KEY.lock` in the cache), but an unfinished build
/// (`.building-*`) counts.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.retain(|n| !n.starts_with('.') || n.starts_with(".building"));
    v.sort();
    v
}

#[test]
fn the_projects_rtl_through_the_run_time_path_equals_the_compiled_in_one() {
    // Every report of the whole test set is the same whichever way the RTL was built: one
    // glue, one shim, one driver.
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let built_in = verify(&["--quiet"], a.path());
    assert_eq!(built_in.status.code(), Some(0), "{}", text(&built_in));
    let run_time = verify(&["--quiet", "--rtl", "rtl"], b.path());
    assert_eq!(run_time.status.code(), Some(0), "{}", text(&run_time));
    assert!(
        text(&run_time).contains("PASS: 10000/10000 images bit-exact at every layer"),
        "{}",
        text(&run_time)
    );
    for f in ["summary.csv", "layers.csv", "mismatches.csv"] {
        assert!(read(a.path(), f) == read(b.path(), f), "{f} differs");
    }
    // A second run finds the design in the cache: nothing is compiled.
    let again = verify(&["--rtl", "rtl", "--limit", "10"], b.path());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(!text(&again).contains("compiled"), "{}", text(&again));
    assert!(text(&again).contains("bound by rtl/binding.toml"), "{}", text(&again));
}

#[test]
fn internal_signals_are_reached_without_editing_the_rtl() {
    // rtl/ with every tap and the class bound to its submodules' outputs by hierarchical path.
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--bind", "tests/bindings/internal.toml", "--limit", "1000"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 1000/1000 images bit-exact at every layer"), "{}", text(&o));
    let layers = read(r.path(), "layers.csv");
    assert!(layers.contains("conv1,1000,1452000,0,0,0"), "{layers}");
}

#[test]
fn a_class_only_binding_gives_a_class_only_verdict() {
    let r = tempfile::tempdir().unwrap();
    let junit = r.path().join("junit.xml");
    let o = verify(
        &[
            "--bind",
            "tests/bindings/class_only.toml",
            "--limit",
            "500",
            "--junit",
            junit.to_str().unwrap(),
        ],
        r.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("not tapped by the binding, not compared: conv1, pool1, fc1"), "{out}");
    assert!(out.contains("PASS: 500/500 images bit-exact at every compared layer"), "{out}");
    assert!(out.contains("accuracy: RTL "), "{out}");
    let layers = read(r.path(), "layers.csv");
    assert_eq!(layers.lines().count(), 2, "the class only: {layers}");
    assert!(layers.lines().nth(1).unwrap().starts_with("class,"), "{layers}");
    let x = read(r.path(), "junit.xml");
    assert!(x.contains("name=\"conv1\"") && x.contains("<skipped"), "{x}");
    let html = read(r.path(), "index.html");
    assert!(html.contains("not tapped, not compared"), "the page says so too");
}

/// `tests/bindings/internal.toml` with `from` replaced by `to`, in a temporary directory
/// beside the original (so its relative source globs still resolve).
fn variant(from: &str, to: &str) -> tempfile::NamedTempFile {
    let text = std::fs::read_to_string(root().join("tests/bindings/internal.toml")).unwrap();
    assert!(text.contains(from), "{from}");
    let f = tempfile::Builder::new()
        .prefix(".variant-")
        .suffix(".toml")
        .tempfile_in(root().join("tests/bindings"))
        .unwrap();
    std::fs::write(f.path(), text.replace(from, to)).unwrap();
    f
}

#[test]
fn a_bad_binding_is_one_line_naming_the_file_and_the_problem() {
    let cases = [
        // A signal that does not exist: the closest names the design has.
        ("u_stage1.u_pool.data_o", "u_stage1.u_pool.dta_o", "\"u_stage1.u_pool.dta_o\": the design has no such signal (closest: u_stage1.u_pool.data_o"),
        // A width that differs from the binding's (14 bits hold pool1's 0..6325 too).
        ("bits = 13", "bits = 14", "tap \"pool1\" data \"u_stage1.u_pool.data_o\" is 39 bits wide in the design; the binding says 42"),
        // A missing clock.
        ("port = \"clk_i\"", "port = \"clock\"", "[clock] port \"clock\": the design has no such signal (closest: clk_i"),
        // A Verilator error: its first lines and the command.
        ("top = \"cnn_top\"", "top = \"cnn_tp\"", "Verilator failed on the design"),
        // Taps that do not cover the network's layer.
        ("lanes = 10", "lanes = 4", "tap \"fc1\""),
    ];
    for (from, to, want) in cases {
        let f = variant(from, to);
        let r = tempfile::tempdir().unwrap();
        let o = verify(&["--bind", f.path().to_str().unwrap(), "--limit", "5"], r.path());
        assert_eq!(o.status.code(), Some(2), "{to}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{to}: one line: {err}");
        assert!(err.contains(f.path().to_str().unwrap()), "{to}: names the file: {err}");
        assert!(err.contains(want), "{to}: {err}");
        assert!(files(r.path()).is_empty(), "{to}: nothing written: {:?}", files(r.path()));
    }
}

#[test]
fn a_failed_build_leaves_nothing_a_later_run_trusts() {
    let cache = tempfile::tempdir().unwrap();
    let f = variant("u_stage1.u_pool.data_o", "u_stage1.u_pool.nothing");
    let r = tempfile::tempdir().unwrap();
    let o = verify_in(cache.path(), &["--bind", f.path().to_str().unwrap()], r.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(files(cache.path()).is_empty(), "{:?}", files(cache.path()));
}

#[test]
fn a_directory_without_a_binding_is_refused_by_name() {
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", "tests/bindings"], r.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tests/bindings/binding.toml: no binding file"), "{err}");
}

/// A copy of `tests/designs/<name>` with `edits` (file, from, to) applied, in a temporary
/// directory (the binding's globs are relative to it).
fn design_copy(name: &str, edits: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let src = root().join("tests/designs").join(name);
    let dst = tempfile::Builder::new().prefix("cnn-cosim-design-").tempdir().unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dst.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    for (file, from, to) in edits {
        let p = dst.path().join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file}: {from:?} not found");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }
    dst
}

#[test]
fn a_stalling_design_with_its_own_names_and_internal_taps_is_bit_exact_on_all_images() {
    // tests/designs/stall: ready drops for 51 cycles per conv window and 429 at the end of
    // each image; no tap ports; fc weights one file per neuron (written by the harness).
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", "tests/designs/stall"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("PASS: 10000/10000 images bit-exact at every layer"), "{out}");
    assert!(out.contains("latency last pixel to class_valid: 428..428 cycles"), "{out}");
    // With bubbles on its valid, too.
    let o =
        verify(&["--rtl", "tests/designs/stall", "--limit", "300", "--bubbles", "0.3"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn broken_variants_of_the_stalling_design_are_caught_at_their_layer() {
    let cases = [
        // The conv bias zero-extended instead of sign-extended: conv1 is wrong.
        (
            (
                "ma_conv.v",
                "+ {{(OutW-WeightW){b[WeightW-1]}}, b};",
                "+ {{(OutW-WeightW){1'b0}}, b};",
            ),
            "conv1",
            [true, false, false],
        ),
        // The pooling keeps the smaller value of the last pair: pool1 is wrong on its own
        // input, conv1 right.
        (
            (
                "ma_pool.v",
                "(a > pair[k*OutW +: OutW]) ? a : pair[k*OutW +: OutW]",
                "(a < pair[k*OutW +: OutW]) ? a : pair[k*OutW +: OutW]",
            ),
            "pool1",
            [false, true, false],
        ),
    ];
    for ((file, from, to), first_bad, local_red) in cases {
        let d = design_copy("stall", &[(file, from, to)]);
        let r = tempfile::tempdir().unwrap();
        let o = verify(&["--rtl", d.path().to_str().unwrap(), "--limit", "200"], r.path());
        assert_eq!(o.status.code(), Some(1), "{file}: {}", text(&o));
        assert!(text(&o).contains(&format!("layer {first_bad}")), "{file}: {}", text(&o));
        let layers = read(r.path(), "layers.csv");
        let header: Vec<&str> = layers.lines().next().unwrap().split(',').collect();
        let col = header.iter().position(|h| *h == "local_mismatching_elements").unwrap();
        for (i, (line, red)) in layers.lines().skip(1).zip(local_red).enumerate() {
            let local: u64 = line.split(',').nth(col).unwrap().parse().unwrap();
            assert_eq!(local > 0, red, "{file}: layer {i} on its own input: {layers}");
        }
    }
}

#[test]
fn a_ready_that_never_rises_is_a_timeout_per_image_not_a_hang() {
    let d = design_copy(
        "stall",
        &[("mnist_accel.v", ".pix_ready    (s_pix_tready),", ".pix_ready    (pix_ready_cut),")],
    );
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", d.path().to_str().unwrap(), "--limit", "3"], r.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("0/3 images bit-exact; 3 timeouts"), "{}", text(&o));
    let summary = read(r.path(), "summary.csv");
    assert!(
        summary.contains("ready stayed low for 3136 cycles in a row while pixel 0"),
        "{summary}"
    );
}

#[test]
fn a_design_without_valid_reset_per_image_and_fixed_weight_names_is_bit_exact() {
    // tests/designs/freerun: takes a pixel every clock from the 3rd edge after its
    // (active-high) reset, needs a reset before every image, reads its weights by fixed
    // names from its working directory — all said by its binding alone.
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", "tests/designs/freerun"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 10000/10000 images bit-exact at every layer"), "{}", text(&o));
    assert!(text(&o).contains(", reset,"), "the binding's default --between: {}", text(&o));
    // The driver cannot pause such a design inside an image.
    let o = verify(&["--rtl", "tests/designs/freerun", "--bubbles", "0.1"], r.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has no valid"), "{}", text(&o));
}

#[test]
fn a_design_that_finds_no_weight_file_fails_instead_of_running_on_zeros() {
    // freerun with its own missing-file check taken out and one file name changed: only
    // Verilator's "$readmem file not found" warning is left, which the harness makes an error.
    let d = design_copy(
        "freerun",
        &[
            ("fr_weight_rom.v", "$fatal(1,", "$display("),
            ("fr_fc.v", ".FileName  (\"fc_bias.mem\"),", ".FileName  (\"fc_biases.mem\"),"),
        ],
    );
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", d.path().to_str().unwrap(), "--limit", "5"], r.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("fc_biases.mem") && err.contains("$readmem file not found"), "{err}");
    assert!(files(r.path()).is_empty(), "{:?}", files(r.path()));
}

#[test]
fn a_beat_after_its_class_is_named_not_counted_for_the_next_image() {
    // The stall design with its class taken from the fc layer's start pulse (the cycle of
    // the last pool1 beat): each image's fc1 beat then comes ~365 cycles after its class,
    // while ready is still low, before the next image's first pixel.
    let d = design_copy(
        "stall",
        &[("binding.toml", "valid = \"m_cls_valid\"", "valid = \"u_fc.start\"")],
    );
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", d.path().to_str().unwrap(), "--limit", "3"], r.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let summary = read(r.path(), "summary.csv");
    let rows: Vec<&str> = summary.lines().skip(1).collect();
    assert!(rows[0].contains("fc1: 0 of 1 beats when the class came"), "{summary}");
    for row in &rows[1..] {
        assert!(
            row.contains("1 fc1 beat came after the previous image's class (or the reset) and before this image's first pixel"),
            "{summary}"
        );
        assert!(row.contains("fc1: 0 of 1 beats"), "not counted for it: {summary}");
    }
}

#[test]
fn two_pixels_per_beat_behind_a_ready_and_sources_from_two_directories() {
    // tests/designs/two_lane: 16-bit beats of two pixels, ready every other cycle, the
    // project's rtl/ as its core (a glob into another directory), taps inside the core.
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", "tests/designs/two_lane", "--bubbles", "0.2"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 10000/10000 images bit-exact at every layer"), "{}", text(&o));
}

#[test]
fn a_design_that_takes_its_weight_directory_as_a_parameter() {
    // two_lane's core reads the WeightsDir parameter when no +weights plusarg is given: the
    // harness bakes a directory of its own into it and writes each weight set there in turn.
    let binding = read(&root().join("tests/designs/two_lane"), "binding.toml");
    let from = "load = \"plusarg\"\narg = \"+weights={weights}\"";
    assert!(binding.contains(from));
    let f = tempfile::Builder::new()
        .prefix(".parameter-")
        .suffix(".toml")
        .tempfile_in(root().join("tests/designs/two_lane"))
        .unwrap();
    std::fs::write(f.path(), binding.replace(from, "load = \"parameter\"\narg = \"WeightsDir\""))
        .unwrap();
    let r = tempfile::tempdir().unwrap();
    let bind = f.path().to_str().unwrap();
    let o =
        verify(&["--bind", bind, "--stimulus", "random", "--sets", "3", "--count", "60"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 180/180 images bit-exact at every layer"), "{}", text(&o));
    // Profile-guided: the instrumented model's profile run writes its weights into the same
    // directory (one lock, shared), then the final model runs.
    let args = ["--bind", bind, "--stimulus", "random", "--sets", "3", "--count", "60", "--pgo"];
    let o = verify(&args, r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 180/180 images bit-exact at every layer"), "{}", text(&o));
    assert!(text(&o).contains("+PGO)"), "{}", text(&o));
}

fn icarus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(root())
        .arg("icarus")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_bound_design_runs_under_icarus_with_a_generated_testbench() {
    for dir in ["tests/designs/stall", "tests/designs/freerun", "tests/designs/two_lane"] {
        let o = icarus(&["--rtl", dir, "--limit", "4"]);
        assert_eq!(o.status.code(), Some(0), "{dir}: {}", text(&o));
        assert!(
            text(&o).contains("PASS: 4/4 images bit-exact at every compared layer under Icarus"),
            "{dir}: {}",
            text(&o)
        );
    }
    // And it can fail: the stall design with its conv bias zero-extended.
    let d = design_copy(
        "stall",
        &[(
            "ma_conv.v",
            "+ {{(OutW-WeightW){b[WeightW-1]}}, b};",
            "+ {{(OutW-WeightW){1'b0}}, b};",
        )],
    );
    let o = icarus(&["--rtl", d.path().to_str().unwrap(), "--limit", "4"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("layer conv1"), "{}", text(&o));
}
