//! `verify --rtl DIR` / `--bind FILE`: designs Verilated at run time through their binding
//! (src/verilate.rs), checked against the compiled-in path, plus the binding's bad input.
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

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
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
        ("u_pool.data_o", "u_pool.dta_o", "\"u_pool.dta_o\": the design has no such signal (closest: u_pool.data_o"),
        // A width that differs from the binding's (14 bits hold pool1's 0..6325 too).
        ("bits = 13", "bits = 14", "tap \"pool1\" data \"u_pool.data_o\" is 39 bits wide in the design; the binding says 42"),
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
    let f = variant("u_pool.data_o", "u_pool.nothing");
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
