//! What Verilator writes and the flags both model builds use: `build.rs` (the compiled-in
//! RTL, through `#[path]`, so this file depends on nothing else) and `src/verilate.rs` (a
//! design Verilated at run time).

/// Verilator's tuning flags (docs/performance.md has the measurements behind them);
/// `CNN_COSIM_VERILATOR_OPT` replaces them in both builds.
pub const VERILATOR_OPT: &str = "-O3 --x-assign fast --x-initial fast";

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
