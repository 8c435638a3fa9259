//! Run-time Verilation (`verify --rtl DIR`): a bound design is Verilated and compiled into a
//! shared library in a content-addressed cache, then loaded ([`crate::sim::model::Design::load`]).
//!
//! The cache key is a SHA-256 of everything the library depends on: the sources' bytes, the
//! binding file, the Verilator version and flags, the C++ compiler and flags, the shim and
//! the glue generator. An entry is built in a private temporary directory and renamed into
//! place only when complete, so a killed or failed build never leaves an entry a later run
//! trusts; a second run with nothing changed loads the library at once.
//!
//! The glue (`src/sim/glue.rs`, the same generator `build.rs` uses for the compiled-in RTL) is
//! generated after Verilating, from the signals Verilator kept: every bound signal is checked
//! to exist (else the closest names are listed) and to have the width the binding says.
//! Internal signals are reached by marking exactly those variables public in a generated
//! Verilator control file (`public_flat_rw`), so the user's RTL is never edited.

use crate::sim::binding::{Binding, WeightLoad};
use crate::sim::glue::{self, DesignSignals};
use crate::sim::model::{Design, Staging};
use crate::sim::toolchain::{Compiler, Toolchain};
use crate::sim::verilator_files::{self, VERILATOR_OPT};
use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The shim, compiled into every library.
const SHIM: &str = include_str!("../../csrc/cnn_shim.cpp");
/// The prefix of the Verilated classes (the shim's `CNN_TOP`), whatever the top is called.
const PREFIX: &str = "Vcnn_top";
const PREFIX_TRACE: &str = "Vcnn_top_trace";

/// What [`build`] did, for the run's header.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// Seconds spent Verilating and compiling (0 when every library came from the cache).
    pub compile_secs: f64,
}

/// The cache directory: `CNN_COSIM_CACHE`, else `$XDG_CACHE_HOME/cnn-cosim`, else
/// `~/.cache/cnn-cosim`.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("CNN_COSIM_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("cnn-cosim");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache/cnn-cosim"),
        None => std::env::temp_dir().join("cnn-cosim-cache"),
    }
}

/// The initial value of every register the design does not reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum XInit {
    /// Zero (Verilator's `--x-initial fast`): the fast model's default.
    #[default]
    Fast,
    /// Random, from the run's `--seed` (`--x-initial unique`, and the shim's
    /// `+verilator+rand+reset+2`): a register read before it is reset shows up as a
    /// mismatch or a protocol note instead of a lucky zero. A model of its own in the cache.
    Unique,
}

/// Verilates and compiles `binding`'s design (from the cache when it is there) and loads it.
/// `traced`: also the FST-traced model (for `--trace`, `--trace-failures`).
pub fn build(binding: Binding, traced: bool, quiet: bool) -> Result<(&'static Design, BuildInfo)> {
    build_with(binding, traced, Variant::default(), quiet)
}

/// How the model [`build_with`] makes differs from the fast one; each is a model of its own
/// in the cache (the Verilator flags are part of the key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variant {
    /// Registers that are not reset start as this says.
    pub x_init: XInit,
    /// With Verilator's line, toggle and (from 5.020) expression coverage
    /// ([`crate::sim::model::Design::coverage`]).
    pub coverage: bool,
    /// The C++ compiler ([`Toolchain::find`]'s choice when `None`).
    pub compiler: Option<Compiler>,
}

/// A profile-guided build of the fast model: it is compiled instrumented and loaded, `run`
/// runs the profile workload on that design, its counts are written
/// ([`Design::write_profile`]), and it is compiled again with the profile. `workload` names
/// everything that decides the profile (the cache key covers it, so the same workload finds
/// its model).
pub struct Pgo<'a> {
    pub workload: String,
    pub run: &'a dyn Fn(&'static Design) -> Result<()>,
}

/// [`build`] of a [`Variant`].
pub fn build_with(
    binding: Binding,
    traced: bool,
    variant: Variant,
    quiet: bool,
) -> Result<(&'static Design, BuildInfo)> {
    build_from(binding, traced, variant, quiet, None, None)
}

/// [`build_with`], the fast model profile-guided ([`Pgo`]).
pub fn build_pgo(
    binding: Binding,
    traced: bool,
    variant: Variant,
    quiet: bool,
    pgo: &Pgo,
) -> Result<(&'static Design, BuildInfo)> {
    build_from(binding, traced, variant, quiet, None, Some(pgo))
}

/// The binding no longer fits the design it was built for: a bound signal is gone or has
/// another width (a mutant's change reached a tap). Raised by [`build_mutant`].
#[derive(Debug)]
pub struct BindCheck(pub String);

impl std::fmt::Display for BindCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BindCheck {}

/// A mutant of `binding`'s design (`cnn-cosim mutate`): its source `original` replaced by
/// `mutated`, built into `root` instead of the shared cache (a mutant is built once), with
/// Verilator's run-time objects from the shared cache. Fails when Verilator or the compiler
/// refuses it, or with [`BindCheck`] when the binding no longer fits.
///
/// With `reference` (a directory [`verilate_reference`] filled): when Verilator generates the
/// very model it generated for the original, the build stops with [`SameModel`] before any
/// C++ is compiled — the change is in code the design does not elaborate, or folded away.
pub fn build_mutant(
    binding: Binding,
    original: &Path,
    mutated: &Path,
    root: &Path,
    reference: Option<&Path>,
) -> Result<&'static Design> {
    let m = MutantSource { original, mutated, root, reference, keep: None };
    Ok(build_from(binding, false, Variant::default(), true, Some(&m), None)?.0)
}

/// Verilates the design with `original` replaced by `copy` (the same text, placed where a
/// mutant of it would be) and keeps what Verilator generates in `keep`, with the copy's
/// directory and the build's written as placeholders: what [`build_mutant`] compares a
/// mutant's model with.
pub fn verilate_reference(
    binding: Binding,
    original: &Path,
    copy: &Path,
    root: &Path,
    keep: &Path,
) -> Result<()> {
    let m = MutantSource { original, mutated: copy, root, reference: None, keep: Some(keep) };
    match build_from(binding, false, Variant::default(), true, Some(&m), None) {
        Err(e) if e.downcast_ref::<Kept>().is_some() => Ok(()),
        Err(e) => Err(e),
        Ok(_) => bail!("internal error: the reference build went on to compile"),
    }
}

/// A mutant whose Verilated model is the original's, text for text ([`build_mutant`]).
#[derive(Debug)]
pub struct SameModel;

impl std::fmt::Display for SameModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verilator generates the same model as for the original")
    }
}

impl std::error::Error for SameModel {}

/// The reference build stopped once Verilator's output was kept.
#[derive(Debug)]
struct Kept;

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("kept")
    }
}

impl std::error::Error for Kept {}

struct MutantSource<'a> {
    original: &'a Path,
    mutated: &'a Path,
    root: &'a Path,
    /// Compare the generated model with the one kept here.
    reference: Option<&'a Path>,
    /// Keep the generated model here and stop.
    keep: Option<&'a Path>,
}

/// The C++ Verilator wrote into `obj`, by file name, with `dirs` written as placeholders
/// (they differ between a mutant's build and the reference's).
fn generated(obj: &Path, dirs: &[&Path]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(obj).with_context(|| format!("{}: cannot read", obj.display()))? {
        let p = e?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !(name.ends_with(".cpp") || name.ends_with(".h")) {
            continue;
        }
        let mut text =
            std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
        for (k, d) in dirs.iter().enumerate() {
            text = text.replace(&d.display().to_string(), &format!("@{k}"));
        }
        out.push((name, text));
    }
    out.sort();
    Ok(out)
}

fn build_from(
    binding: Binding,
    traced: bool,
    variant: Variant,
    quiet: bool,
    mutant: Option<&MutantSource>,
    pgo: Option<&Pgo>,
) -> Result<(&'static Design, BuildInfo)> {
    let t0 = Instant::now();
    let mut tools = tools_of(variant)?;
    let mut sources = sources(&binding)?;
    let root = match mutant {
        Some(m) => {
            let at = sources.iter().position(|s| s == m.original).with_context(|| {
                format!("{}: not a source of {}", m.original.display(), binding.source)
            })?;
            sources[at] = m.mutated.to_path_buf();
            // Its `include`s are found beside the original.
            if let Some(dir) = m.original.parent().filter(|d| !d.as_os_str().is_empty()) {
                tools.vflags.push(format!("-I{}", dir.display()));
            }
            m.root.to_path_buf()
        }
        None => cache_root(),
    };
    let staging = staging_dir(&binding, &sources, &tools)?;
    let staging = staging.map(|dir| Staging::take(&dir)).transpose()?;
    let mut compiled = false;
    let mut lib = |trace: bool| -> Result<PathBuf> {
        // Only the fast model is profile-guided: the traced one runs a few images.
        let pgo = pgo.filter(|_| !trace);
        let key = key(&binding, &sources, &tools, trace, pgo)?;
        let entry = root.join(&key);
        let lib = entry.join("model.so");
        if !lib.is_file() {
            // One build per key at a time: a second process waits, then finds it built.
            let _lock = lock_key(&entry, quiet)?;
            if !lib.is_file() {
                let job = Job {
                    traced: trace,
                    entry: &entry,
                    staging: staging.as_ref(),
                    quiet,
                    mutant,
                    pgo,
                };
                compile(&binding, &sources, &tools, job)?;
                compiled = true;
            }
        }
        Ok(lib)
    };
    let fast = lib(false)?;
    let traced = traced.then(|| lib(true)).transpose()?;
    let pgo_note = if pgo.is_some() { "+PGO" } else { "" };
    let built_with = format!("{}, {}{pgo_note}", tools.version, tools.cxx.family);
    let design =
        Design::load(binding, &fast, traced.as_deref(), built_with, staging, variant.coverage)?;
    let compile_secs = if compiled { t0.elapsed().as_secs_f64() } else { 0.0 };
    Ok((design, BuildInfo { compile_secs }))
}

/// The programs and flags that build `variant`.
fn tools_of(variant: Variant) -> Result<Tools> {
    let mut tools = Tools::find(variant.compiler)?;
    if variant.x_init == XInit::Unique {
        // After the tuning flags' `--x-initial fast`: the later one wins.
        tools.vflags.extend(["--x-initial".to_string(), "unique".to_string()]);
    }
    if variant.coverage {
        tools.coverage = true;
        tools.vflags.extend(coverage_flags(&tools.version).iter().map(|f| f.to_string()));
    }
    Ok(tools)
}

/// A design that takes its weight directory as a parameter gets a fixed one, baked in when
/// it is Verilated (the same for its fast and traced builds); every weight set is written there in turn, one process at a time ([`Staging`]).
fn staging_dir(binding: &Binding, sources: &[PathBuf], tools: &Tools) -> Result<Option<PathBuf>> {
    Ok(match binding.weights.load {
        WeightLoad::Parameter => {
            let key = key(binding, sources, tools, false, None)?;
            Some(cache_root().join("weights").join(key))
        }
        _ => None,
    })
}

/// Verilator's coverage flags for the Verilator of `version` (`verilator --version`, as
/// [`verilator_files::version`] gives it): line and toggle coverage, and expression coverage
/// from 5.020 on, where it first came.
pub fn coverage_flags(version: &str) -> &'static [&'static str] {
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    match minor {
        Some(m) if m >= 20 => &["--coverage-line", "--coverage-toggle", "--coverage-expr"],
        _ => &["--coverage-line", "--coverage-toggle"],
    }
}

/// Holds the build lock of cache entry `entry` (`.KEY.lock` beside it), waiting, with a
/// word, while another process builds the same model.
fn lock_key(entry: &Path, quiet: bool) -> Result<std::fs::File> {
    let root = entry.parent().expect("an entry is inside the cache");
    std::fs::create_dir_all(root)
        .with_context(|| format!("{}: cannot create the model cache", root.display()))?;
    let name = entry.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let path = root.join(format!(".{name}.lock"));
    let lock = std::fs::File::create(&path)
        .with_context(|| format!("{}: cannot create the build lock", path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            if !quiet {
                eprintln!(
                    "waiting for another cnn-cosim process building this model ({})",
                    path.display()
                );
            }
            lock.lock().with_context(|| format!("{}: cannot lock", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            bail!("{}: cannot lock ({e})", path.display())
        }
    }
    Ok(lock)
}

/// The programs a build runs.
struct Tools {
    verilator: String,
    /// `verilator --version`.
    version: String,
    root: PathBuf,
    cxx: Toolchain,
    /// `CNN_COSIM_VERILATOR_OPT` or the default tuning flags, then `CNN_COSIM_VERILATOR_FLAGS`.
    vflags: Vec<String>,
    cxxflags: Vec<String>,
    /// The model counts coverage (`VM_COVERAGE=1`, Verilator's coverage run time).
    coverage: bool,
}

impl Tools {
    fn find(compiler: Option<Compiler>) -> Result<Tools> {
        let cxx = Toolchain::find(compiler)?;
        // The same choice as build.rs: $VERILATOR, the pinned release, the PATH's.
        let path = verilator_files::verilator(Path::new(env!("CARGO_MANIFEST_DIR")));
        let verilator = path.display().to_string();
        let out = Command::new(&path).arg("--version").output().map_err(|e| {
            anyhow!(
                "{verilator}: cannot run Verilator ({e}); install Verilator 5 (scripts/setup.sh \
                 installs the pinned release) or set VERILATOR=/path/to/verilator"
            )
        })?;
        let root = Command::new(&path)
            .args(["--getenv", "VERILATOR_ROOT"])
            .output()
            .map_err(|e| anyhow!("{verilator} --getenv VERILATOR_ROOT: {e}"))?;
        let root = PathBuf::from(String::from_utf8_lossy(&root.stdout).trim());
        if !root.join("include/verilated.cpp").is_file() {
            bail!("{}: Verilator's include directory has no verilated.cpp", root.display());
        }
        let version = verilator_files::version(&String::from_utf8_lossy(&out.stdout), &root)
            .map_err(|why| anyhow!("{verilator}: {why}"))?;
        let opt = std::env::var("CNN_COSIM_VERILATOR_OPT").unwrap_or_else(|_| VERILATOR_OPT.into());
        let mut vflags: Vec<String> = opt.split_whitespace().map(String::from).collect();
        if let Ok(f) = std::env::var("CNN_COSIM_VERILATOR_FLAGS") {
            vflags.extend(f.split_whitespace().map(String::from));
        }
        let cxxflags = std::env::var("CNN_COSIM_CXXFLAGS")
            .map(|f| f.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        Ok(Tools { verilator, version, root, cxx, vflags, cxxflags, coverage: false })
    }
}

/// The binding's source globs, expanded (relative to the binding file), sorted.
pub(crate) fn sources(b: &Binding) -> Result<Vec<PathBuf>> {
    expand_sources(&b.dir, &b.design.sources, &format!("{}: [design] sources", b.source))
}

/// Source globs relative to `dir`, expanded and sorted; `what` names them in errors.
pub fn expand_sources(dir: &Path, globs: &[String], what: &str) -> Result<Vec<PathBuf>> {
    let mut all = Vec::new();
    for pat in globs {
        let full = dir.join(pat);
        let text = full.to_str().ok_or_else(|| anyhow!("{}: not UTF-8", full.display()))?;
        let found: Vec<PathBuf> = glob::glob(text)
            .map_err(|e| anyhow!("{what} {pat:?}: {e}"))?
            .filter_map(|p| p.ok())
            .filter(|p| p.is_file())
            .collect();
        if found.is_empty() {
            bail!("{what} {pat:?} matches no file in {}", dir.display());
        }
        all.extend(found);
    }
    all.sort();
    all.dedup();
    Ok(all)
}

/// Every signal of the design `top` in `sources`, for `bind init`: Verilated with every
/// variable public (`--public-flat-rw`), no C++ compiled. `what` names the design in errors.
pub fn inspect(sources: &[PathBuf], top: &str, what: &str) -> Result<DesignSignals> {
    let t = Tools::find(None)?;
    let tmp = tempfile::Builder::new()
        .prefix("cnn-cosim-inspect-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let obj = tmp.path().join("obj");
    let mut cmd = Command::new(&t.verilator);
    cmd.args(["--cc", "-Wno-fatal", "--public-flat-rw", "--top-module", top, "--prefix", PREFIX])
        .arg("-Mdir")
        .arg(&obj)
        .args(sources);
    let out = cmd.output().map_err(|e| anyhow!("{}: cannot run Verilator ({e})", t.verilator))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).take(4).collect();
        let hint = if err.contains("Cannot find file containing module") {
            " (a module the design instantiates is in no source: add its files with --sources)"
        } else {
            ""
        };
        bail!("{what}: Verilator failed on the design{hint}: {}", first.join(" | "));
    }
    Ok(design_signals(top, &obj, PREFIX))
}

/// A cache key being formed: named fields, each with its length, into SHA-256.
#[derive(Default)]
pub(crate) struct KeyHash(Sha256);

impl KeyHash {
    pub(crate) fn field(&mut self, name: &str, bytes: &[u8]) {
        self.0.update(name.as_bytes());
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    /// The first 16 bytes of the digest, in hex.
    pub(crate) fn finish(self) -> String {
        self.0.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

/// The cache key of a library: every input that can change it.
fn key(
    b: &Binding,
    sources: &[PathBuf],
    t: &Tools,
    traced: bool,
    pgo: Option<&Pgo>,
) -> Result<String> {
    let mut k = KeyHash::default();
    let mut field = |name: &str, bytes: &[u8]| k.field(name, bytes);
    field("cnn-cosim", env!("CARGO_PKG_VERSION").as_bytes());
    field("shim", SHIM.as_bytes());
    field("glue", include_str!("glue.rs").as_bytes());
    field("verilate", include_str!("verilate.rs").as_bytes());
    // A host-driven design's glue follows its bus's roles.
    field("host", include_str!("host.rs").as_bytes());
    field("bus", include_str!("bus/mod.rs").as_bytes());
    for p in crate::sim::bus::PROTOCOLS {
        field("protocol", p.name().as_bytes());
    }
    field("axi4_lite", include_str!("bus/axi4_lite.rs").as_bytes());
    field("obi", include_str!("bus/obi.rs").as_bytes());
    field("load_port", include_str!("bus/load_port.rs").as_bytes());
    field("verilator", t.version.as_bytes());
    field("vflags", t.vflags.join(" ").as_bytes());
    field("cxx", t.cxx.cxx.as_bytes());
    field("cxx-version", t.cxx.version.as_bytes());
    field("toolchain", include_str!("toolchain.rs").as_bytes());
    field("pgo", pgo.map_or(&b""[..], |p| p.workload.as_bytes()));
    field("cxxflags", t.cxxflags.join(" ").as_bytes());
    field("traced", &[traced as u8]);
    field("coverage", &[t.coverage as u8]);
    let bind = std::fs::read(&b.source).unwrap_or_else(|_| b.source.as_bytes().to_vec());
    field("binding", &bind);
    for s in sources {
        let bytes = std::fs::read(s).with_context(|| format!("{}: cannot read", s.display()))?;
        field(&s.display().to_string(), &bytes);
    }
    for inc in &b.design.include_dirs {
        // Headers a source includes are part of the design too.
        let dir = b.dir.join(inc);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("{}: [design] include_dirs {inc:?}", b.source))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            field(&f.display().to_string(), &std::fs::read(&f).unwrap_or_default());
        }
    }
    Ok(k.finish())
}

/// Verilates and compiles into a temporary directory beside `entry`, then renames it into
/// place.
/// What one [`compile`] builds: the fast or the traced model, into cache entry `entry`.
#[derive(Clone, Copy)]
struct Job<'a> {
    traced: bool,
    entry: &'a Path,
    /// The weight directory baked in as a parameter.
    staging: Option<&'a Staging>,
    quiet: bool,
    mutant: Option<&'a MutantSource<'a>>,
    pgo: Option<&'a Pgo<'a>>,
}

fn compile(b: &Binding, sources: &[PathBuf], t: &Tools, job: Job) -> Result<()> {
    let Job { traced, entry, staging, quiet, mutant, pgo } = job;
    let root = entry.parent().expect("an entry is inside the cache");
    std::fs::create_dir_all(root)
        .with_context(|| format!("{}: cannot create the model cache", root.display()))?;
    remove_stale_builds(root);
    let tmp = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(root)
        .with_context(|| format!("{}: cannot create a build directory", root.display()))?;
    let obj = tmp.path().join("obj");
    let prefix = if traced { PREFIX_TRACE } else { PREFIX };
    let what = if traced { "traced model" } else { "model" };
    let progress = Progress::new(quiet, &format!("{} ({what})", b.design.top));
    progress.say("verilating");

    // 1. Verilate, with the bound internal signals marked public.
    let file = crate::sim::binding_file::parse(
        &std::fs::read_to_string(&b.source)
            .with_context(|| format!("{}: cannot read", b.source))?,
    )
    .map_err(|e| anyhow!("{}: {}", b.source, e.message()))?;
    // The glue numbers the taps as the binding does: in pipeline order, whatever order the
    // file lists them in (the buffers the driver hands the shim follow that numbering).
    let mut file = file;
    file.taps.sort_by_key(|t| b.taps.iter().position(|bt| bt.layer == t.get_ref().layer));
    let public = glue::public_vars(&file);
    let verilate = |top_vars: &[String]| -> Result<DesignSignals> {
        let _ = std::fs::remove_dir_all(&obj);
        let mut cmd =
            verilator_command(b, t, prefix, &obj, traced, staging.map(|s| s.dir.as_path()));
        let mut text = String::new();
        for v in &public.anywhere {
            text += &format!("public_flat_rw -module \"*\" -var \"{v}\"\n");
        }
        for v in top_vars {
            text += &format!("public_flat_rw -module \"{}\" -var \"{v}\"\n", b.design.top);
        }
        if !text.is_empty() {
            let vlt = tmp.path().join("public.vlt");
            std::fs::write(&vlt, format!("`verilator_config\n{text}"))
                .context("cannot write the control file")?;
            cmd.arg(&vlt);
        }
        cmd.args(sources);
        let out =
            cmd.output().map_err(|e| anyhow!("{}: cannot run Verilator ({e})", t.verilator))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let first: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).take(6).collect();
            bail!(
                "{}: Verilator failed on the design ({}): {} [command: {}]",
                b.source,
                out.status,
                first.join(" | "),
                show_cmd(&cmd)
            );
        }
        Ok(design_signals(&b.design.top, &obj, prefix))
    };
    // A plain name is a port or a signal of the top itself; only the Verilated design tells
    // which, so the top's own signals are marked public in a second run when there are any
    // (marking a port public would cost every design a slower model).
    let mut signals = verilate(&[])?;
    let top_vars: Vec<String> =
        public.plain.iter().filter(|n| !signals.ports.contains_key(*n)).cloned().collect();
    if !top_vars.is_empty() {
        signals = verilate(&top_vars)?;
    }
    // A mutant: the same model as the original's needs no compiling.
    if let Some(m) = mutant {
        let dir = m.mutated.parent().unwrap_or(Path::new("."));
        let now = generated(&obj, &[dir, tmp.path()])?;
        if let Some(keep) = m.keep {
            std::fs::create_dir_all(keep)
                .with_context(|| format!("{}: cannot create", keep.display()))?;
            for (name, text) in &now {
                std::fs::write(keep.join(name), text)
                    .with_context(|| format!("{}: cannot write", keep.join(name).display()))?;
            }
            return Err(Kept.into());
        }
        if let Some(r) = m.reference {
            let mut before = Vec::new();
            for (name, _) in &now {
                before.push((
                    name.clone(),
                    std::fs::read_to_string(r.join(name)).unwrap_or_default(),
                ));
            }
            let same_files = std::fs::read_dir(r).map(|d| d.count()).unwrap_or(0) == now.len();
            if same_files && before == now {
                return Err(SameModel.into());
            }
        }
    }

    // 2. The glue, from the signals Verilator kept.
    let read = |name: String| std::fs::read_to_string(obj.join(&name)).unwrap_or_default();
    let host = b.host.as_ref().map(|h| &h.ports);
    let header = glue::generate(&file, &b.source, Some(&signals), b.network.input_type.bits, host)
        .map_err(|e| anyhow::Error::new(BindCheck(format!("{}: {e}", b.source))))?;
    std::fs::write(obj.join("cnn_glue.h"), header).context("cannot write cnn_glue.h")?;
    std::fs::write(obj.join("cnn_shim.cpp"), SHIM).context("cannot write the shim")?;

    // 3. Compile every file in parallel, then link one shared library.
    let mk = read(format!("{prefix}_classes.mk"));
    let (own, globals) = verilator_files::model_files(&mk);
    if own.is_empty() {
        bail!("{}: Verilator wrote no {prefix}_classes.mk", obj.display());
    }
    let mut flags: Vec<String> = vec![
        "-std=c++17".into(),
        "-O3".into(),
        "-fPIC".into(),
        "-faligned-new".into(),
        // As build.rs (where the compiler supports it): no control-flow-protection
        // instructions in the model's hot loops.
        "-fcf-protection=none".into(),
        // A library's own functions are not interposed: calls between them may be direct.
        "-fno-semantic-interposition".into(),
        crate::sim::verilator_files::ALIGN_FUNCTIONS.into(),
        format!("-I{}", t.root.join("include").display()),
        format!("-I{}", t.root.join("include/vltstd").display()),
    ];
    let trace = traced as u8;
    for (name, value) in verilator_files::DEFINES {
        let value = match *name {
            "VM_COVERAGE" if t.coverage => Some("1"),
            _ => *value,
        };
        flags.push(match value {
            Some(v) => format!("-D{name}={v}"),
            None => format!("-D{name}"),
        });
    }
    flags.extend([
        format!("-DVM_TRACE={trace}"),
        format!("-DVM_TRACE_FST={trace}"),
        "-DVM_TRACE_VCD=0".into(),
    ]);
    if traced {
        flags.push("-DCNN_TRACED".into());
    }
    // Each library stands alone: it defines the shim's process-wide hooks itself.
    flags.push("-DCNN_STANDALONE".into());
    flags.extend(t.cxxflags.iter().cloned());
    // Verilator's own run-time sources come precompiled from the cache when they are there;
    // the design's files also see its own directory.
    let runtime = Runtime::find(&globals, t, &flags);
    let mut design_flags = vec![format!("-I{}", obj.display())];
    design_flags.extend(flags.iter().cloned());
    let parts = Parts { runtime: &runtime, own: &own, obj: &obj, flags: &flags };
    let lib = tmp.path().join("model.so");
    let failed = || {
        let hint = if traced {
            " (the FST-traced model needs zlib's and, from Verilator 5.04x, lz4's headers: \
             apt-get install zlib1g-dev liblz4-dev; scripts/setup.sh test installs them)"
        } else {
            ""
        };
        format!("{}: compiling the Verilated design failed{hint}", b.source)
    };
    match pgo {
        None => parts.build(t, &design_flags, &lib, traced, &progress).with_context(failed)?,
        Some(p) => {
            // Instrumented, profiled, then again with the profile: every file compiles to
            // the same object path both times (gcc finds a file's counts by it).
            let counts = tmp.path().join("profile");
            let instrumented = tmp.path().join("instrumented.so");
            let mut generate = design_flags.clone();
            generate.extend(t.cxx.generate_flags(&counts));
            parts.build(t, &generate, &instrumented, traced, &progress).with_context(failed)?;
            progress.say("profile run");
            let design = Design::load(
                b.clone(),
                &instrumented,
                None,
                t.version.clone(),
                staging.cloned(),
                t.coverage,
            )?;
            (p.run)(design).with_context(|| {
                format!("{}: the profile run of the instrumented model failed", b.source)
            })?;
            design.write_profile()?;
            t.cxx.merge(&counts)?;
            let mut with_profile = design_flags.clone();
            with_profile.extend(t.cxx.use_flags(&counts));
            parts.build(t, &with_profile, &lib, traced, &progress).with_context(failed)?;
            let _ = std::fs::remove_file(&instrumented);
        }
    }
    std::fs::write(
        tmp.path().join("built.txt"),
        format!(
            "{} from {} ({} sources), {}, {}{}\n",
            b.design.top,
            b.source,
            sources.len(),
            t.version,
            t.cxx.version,
            if pgo.is_some() { ", profile-guided" } else { "" }
        ),
    )
    .context("cannot write built.txt")?;
    // Only a complete entry gets the key's name; a concurrent build of the same key may have
    // won the race, and its entry is as good.
    let _ = std::fs::remove_dir_all(&obj);
    let tmp = tmp.keep();
    if std::fs::rename(&tmp, entry).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        if !entry.join("model.so").is_file() {
            bail!("{}: cannot move the built model into the cache", entry.display());
        }
    }
    progress.done();
    Ok(())
}

/// What a design's library is made of: Verilator's run-time objects and the design's own
/// generated files (and the shim) in `obj`.
struct Parts<'a> {
    runtime: &'a Runtime,
    own: &'a [String],
    obj: &'a Path,
    /// The flags of Verilator's run-time sources.
    flags: &'a [String],
}

impl Parts<'_> {
    /// Compiles every file not compiled yet in parallel (the design's with `design_flags`),
    /// then links the shared library `lib`.
    fn build(
        &self,
        t: &Tools,
        design_flags: &[String],
        lib: &Path,
        traced: bool,
        progress: &Progress,
    ) -> Result<()> {
        let obj = self.obj;
        // Code that runs once (construction, initial blocks: the `__Slow` files) is compiled
        // without optimization, as Verilator's own makefiles do (OPT_SLOW): two_conv's
        // largest took 5.6 s at -O3 and 1.4 s at -O0. The evaluation code keeps -O3.
        let mut slow_flags = design_flags.to_vec();
        if let Some(o) = slow_flags.iter_mut().find(|f| *f == "-O3") {
            *o = "-O0".into();
        }
        // Verilator's run-time objects come from the cache; the first build of a
        // toolchain's compiles the missing ones (and keeps them).
        let missing: Vec<&PathBuf> =
            self.runtime.missing.iter().filter(|s| !self.runtime.stored(s)).collect();
        let mut units: Vec<Unit> = missing
            .iter()
            .enumerate()
            .map(|(i, src)| Unit {
                src: (*src).clone(),
                obj: obj.join(format!("rt{i:03}.o")),
                flags: self.flags,
            })
            .collect();
        // The evaluation code first: it takes longest.
        let (slow, fast): (Vec<&String>, Vec<&String>) =
            self.own.iter().partition(|n| n.contains("__Slow"));
        let named = |names: Vec<&String>, flags| {
            let files = names.into_iter().map(move |n| obj.join(format!("{n}.cpp")));
            files.map(move |f| (f, flags)).collect::<Vec<(PathBuf, &[String])>>()
        };
        let mut design = named(fast, design_flags);
        design.push((obj.join("cnn_shim.cpp"), design_flags));
        design.extend(named(slow, &slow_flags));
        units.extend(design.into_iter().enumerate().map(|(i, (src, flags))| Unit {
            src,
            obj: obj.join(format!("u{i:03}.o")),
            flags,
        }));
        compile_units(&units, &t.cxx.cxx, progress)?;
        self.runtime.keep(&units[..missing.len()])?;
        let objects =
            self.runtime.objects.iter().chain(units[missing.len()..].iter().map(|u| &u.obj));
        progress.say("linking");
        let mut link = Command::new(&t.cxx.cxx);
        link.args(["-shared", "-Wl,-Bsymbolic", "-o"])
            .arg(lib)
            .args(design_flags.iter().filter(|f| f.starts_with("-fprofile-generate")));
        link.args(objects).arg("-lpthread").args(t.cxx.link_libs());
        if traced {
            link.arg("-lz");
            // Newer Verilators write FST with their own C++ writer, which compresses with lz4.
            if t.root.join("include/fstcpp").is_dir() {
                link.arg("-llz4");
            }
        }
        run_quiet(&mut link).context("linking the design failed")
    }
}

/// The Verilator command for `b`'s design into `obj` (sources and control files not yet
/// added).
fn verilator_command(
    b: &Binding,
    t: &Tools,
    prefix: &str,
    obj: &Path,
    traced: bool,
    staging: Option<&Path>,
) -> Command {
    let mut cmd = Command::new(&t.verilator);
    cmd.args(["--cc", "-Wno-fatal"])
        .args(&t.vflags)
        .args(["--top-module", &b.design.top, "--prefix", prefix, "-Mdir"])
        .arg(obj);
    if traced {
        cmd.args(["--trace-fst", "--trace-structs"]);
    }
    for inc in &b.design.include_dirs {
        cmd.arg(format!("-I{}", b.dir.join(inc).display()));
    }
    for (k, v) in &b.design.defines {
        cmd.arg(format!("-D{k}={v}"));
    }
    for (k, v) in &b.design.parameters {
        cmd.arg(match v {
            toml::Value::String(s) => format!("-G{k}=\"{s}\""),
            other => format!("-G{k}={other}"),
        });
    }
    if let (Some(dir), Some(p)) = (staging, &b.weights.arg) {
        cmd.arg(format!("-G{p}=\"{}\"", dir.display()));
    }
    cmd.args(&b.design.verilator_flags);
    cmd
}

/// The signals of the design Verilated into `obj`: its headers' ports and members, with the
/// declared ranges of public arrays from its `__Syms` files.
fn design_signals(top: &str, obj: &Path, prefix: &str) -> DesignSignals {
    let read = |name: String| std::fs::read_to_string(obj.join(name)).unwrap_or_default();
    let mut signals = DesignSignals::parse(
        top,
        &read(format!("{prefix}.h")),
        &read(format!("{prefix}___024root.h")),
    );
    let mut syms = String::new();
    if let Ok(dir) = std::fs::read_dir(obj) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{prefix}__Syms")) && name.ends_with(".cpp") {
                syms += &std::fs::read_to_string(e.path()).unwrap_or_default();
            }
        }
    }
    signals.set_ranges(&syms);
    signals
}

/// Removes the build directories of builds that were killed (untouched for a day; a build
/// takes minutes), so they do not pile up. Never an error: they are never trusted anyway.
fn remove_stale_builds(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let stale = e.file_name().to_string_lossy().starts_with(".building-")
            && e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(24 * 3600));
        if stale {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Verilator's run-time sources (`verilated.cpp`, …): the same for every design, and more
/// than half of a design's compile (`verilated.cpp` alone took 7.9 of 18.6 s of compiler
/// time for rtl/). Their objects are kept in `CACHE/runtime/KEY/NAME.o`, KEY covering the
/// Verilator (its version and root), the compiler and every flag, and shared by every
/// design built with them (a design may need more of them than another: `verilated_dpi`).
struct Runtime {
    dir: PathBuf,
    /// One object per run-time source, in its final place.
    objects: Vec<PathBuf>,
    /// The sources whose objects are not there yet, compiled by this build.
    missing: Vec<PathBuf>,
}

impl Runtime {
    fn find(names: &[String], t: &Tools, flags: &[String]) -> Runtime {
        let mut h = Sha256::new();
        let parts = [&t.version, &t.cxx.cxx, &t.cxx.version, &t.root.display().to_string()];
        for part in parts.into_iter().chain(flags) {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let sources = names.iter().map(|n| t.root.join("include").join(format!("{n}.cpp")));
        let key: String = h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
        let dir = cache_root().join("runtime").join(key);
        let objects: Vec<PathBuf> = names.iter().map(|n| dir.join(format!("{n}.o"))).collect();
        let missing = sources
            .into_iter()
            .zip(&objects)
            .filter(|(_, o)| !o.is_file())
            .map(|(s, _)| s)
            .collect();
        Runtime { dir, objects, missing }
    }

    /// Moves the objects this build compiled (`compiled`, in the order of `missing`) into the
    /// cache. A concurrent build may have put the same object there first; either is as good.
    /// Whether the object of run-time source `src` is in the cache now.
    fn stored(&self, src: &Path) -> bool {
        let name = src.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
        self.dir.join(format!("{name}.o")).is_file()
    }

    fn keep(&self, compiled: &[Unit]) -> Result<()> {
        if compiled.is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("{}: cannot create the run-time cache", self.dir.display()))?;
        for u in compiled {
            let name = u.src.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
            let to = self.dir.join(format!("{name}.o"));
            std::fs::rename(&u.obj, &to)
                .with_context(|| format!("{}: cannot store", to.display()))?;
        }
        Ok(())
    }
}

/// One C++ file to compile.
struct Unit<'a> {
    src: PathBuf,
    obj: PathBuf,
    flags: &'a [String],
}

/// Compiles `units` with as many compilers at once as there are cores, in order (the
/// longest first: Verilator's run-time sources lead).
fn compile_units(units: &[Unit], cxx: &str, progress: &Progress) -> Result<()> {
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(unit) = units.get(i) else { return Ok(()) };
                        let mut c = Command::new(cxx);
                        c.args(unit.flags).arg("-c").arg(&unit.src).arg("-o").arg(&unit.obj);
                        run_quiet(&mut c)?;
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress.say(&format!("compiling {n}/{} C++ files", units.len()));
                    }
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().expect("compile workers do not panic"))
    })
}

/// Runs `cmd`; on failure, an error with its first lines of output and the command.
fn run_quiet(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().map_err(|e| anyhow!("cannot run {}: {e}", show_cmd(cmd)))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).take(6).collect();
        bail!("{} ({}) [command: {}]", first.join(" | "), out.status, show_cmd(cmd));
    }
    Ok(())
}

fn show_cmd(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One status line on stderr while a design builds (rewritten in place on a terminal).
struct Progress {
    quiet: bool,
    tty: bool,
    what: String,
    t0: Instant,
    lock: std::sync::Mutex<()>,
    finished: std::sync::atomic::AtomicBool,
}

impl Drop for Progress {
    /// A build that failed clears its status line, so its error stands alone.
    fn drop(&mut self) {
        if !self.quiet && self.tty && !self.finished.load(std::sync::atomic::Ordering::Relaxed) {
            eprint!("\r\x1b[2K");
        }
    }
}

impl Progress {
    fn new(quiet: bool, what: &str) -> Progress {
        Progress {
            quiet,
            tty: std::io::stderr().is_terminal(),
            what: what.to_string(),
            t0: Instant::now(),
            lock: std::sync::Mutex::new(()),
            finished: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn say(&self, step: &str) {
        if self.quiet {
            return;
        }
        let _g = self.lock.lock();
        let line =
            format!("building {}: {step} ({:.0} s)", self.what, self.t0.elapsed().as_secs_f64());
        // Off a terminal only the final line is printed (a log gets one line per build, and
        // a failed build only its error).
        if self.tty {
            eprint!("\r\x1b[2K{line}");
        }
    }

    fn done(&self) {
        self.finished.store(true, std::sync::atomic::Ordering::Relaxed);
        if self.quiet {
            return;
        }
        let msg = format!(
            "built {} in {:.1} s (cached in {})",
            self.what,
            self.t0.elapsed().as_secs_f64(),
            cache_root().display()
        );
        if self.tty {
            eprintln!("\r\x1b[2K{msg}");
        } else {
            eprintln!("{msg}");
        }
    }
}
