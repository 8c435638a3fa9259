//! Helpers of the tests that run the `cnn-cosim` binary on bound designs: the command with
//! the tests' shared model cache (`CARGO_TARGET_TMPDIR/model-cache`: a design built by one
//! test is loaded by the next; concurrent builds of one key are safe), its output, the
//! reports, and edited copies of a design.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-cache")
}

/// `cnn-cosim ARGS` from the project root, on the shared model cache.
pub fn cosim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(root())
        .env("CNN_COSIM_CACHE", cache())
        .args(args)
        .output()
        .unwrap()
}

/// `cnn-cosim verify ARGS --reports REPORTS`.
pub fn verify(args: &[&str], reports: &Path) -> Output {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    all.extend(["--reports", reports.to_str().unwrap()]);
    cosim(&all)
}

/// stdout then stderr.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

pub fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A CSV's column `col` by the rows' first field (`layers.csv`: by layer).
pub fn column(csv: &str, col: &str) -> Vec<(String, String)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == col).unwrap_or_else(|| panic!("no {col}: {csv}"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[c].to_string())
        })
        .collect()
}

/// `layers.csv`'s numeric column `col`, by layer.
pub fn layer_counts(dir: &Path, col: &str) -> Vec<(String, u64)> {
    column(&read(dir, "layers.csv"), col)
        .into_iter()
        .map(|(l, v)| {
            let n = v.parse().unwrap_or_else(|_| panic!("{col} of {l}: {v:?}"));
            (l, n)
        })
        .collect()
}

/// A copy of `tests/designs/NAME` at the same place in a temporary tree that also holds
/// `rtl/*.v` (so a binding's `../../../rtl/…` globs still resolve), with `edits` (file,
/// from, to) applied, each `from` occurring exactly once. Returns the tree and the
/// design's directory in it.
pub fn design_copy(name: &str, edits: &[(&str, &str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tree = tempfile::Builder::new().prefix("cnn-cosim-design-").tempdir().unwrap();
    let design = tree.path().join("tests/designs").join(name);
    for (from, to) in [
        (root().join("rtl"), tree.path().join("rtl")),
        (root().join("tests/designs").join(name), design.clone()),
    ] {
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(&from).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    for (file, from, to) in edits {
        let p = design.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.matches(from).count(), 1, "{file}: {from:?} must occur once");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }
    (tree, design)
}

/// The layers wrong on the RTL's own input in a report directory (`local_*` of layers.csv).
pub fn locally_wrong(dir: &Path) -> Vec<String> {
    layer_counts(dir, "local_mismatching_elements")
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(l, _)| l)
        .collect()
}

/// Verifies `limit` images of a copy of `tests/designs/NAME` with `edits` applied (see
/// [`design_copy`]): it must fail (exit 1); returns the run's output and the layers wrong on
/// their own input.
pub fn broken(name: &str, edits: &[(&str, &str, &str)], limit: &str) -> (String, Vec<String>) {
    let (_tree, d) = design_copy(name, edits);
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", d.to_str().unwrap(), "--limit", limit], r.path());
    assert_eq!(o.status.code(), Some(1), "{name} {edits:?}: {}", text(&o));
    (text(&o), locally_wrong(r.path()))
}
