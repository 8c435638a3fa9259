//! Safe wrapper around a Verilated design (the only module with `unsafe`): the RTL compiled
//! in by `build.rs`, or a shared library `src/sim/verilate.rs` built at run time and loaded here
//! with `libloading`. Both expose the same C entry points (`csrc/cnn_shim.cpp` with the glue
//! generated from the design's binding).
//!
//! A [`Design`] is one compiled design (its entry points, the taps its glue brings out, its
//! binding). One [`Model`] owns one `VerilatedContext` and one model instance of a design. It
//! is `Send` (a worker thread may own it) but not `Sync` (one thread drives it at a time),
//! and dropping it frees both.

use anyhow::{bail, Context, Result};
use std::cell::Cell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use libloading::Symbol;

/// One input beat for [`Model::run`]: valid, then the beat's pixels (the binding's
/// `[input] lanes` of them, at most [`crate::sim::glue::MAX_LANES`]; the rest unused). Layout
/// shared with `CNN_IN_STRIDE` in `csrc/cnn_shim.cpp`.
pub type Input = [u8; 1 + crate::sim::glue::MAX_LANES];

/// Where [`Model::run`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEnd {
    /// Clock cycles run.
    pub cycles: usize,
    /// Inputs consumed (all of them unless a class came first or a pixel stalled; with a
    /// ready, a pixel is consumed in the cycle that accepts it).
    pub consumed: usize,
    /// The cycles (1-based, counted within the call) that accepted the first and the last
    /// pixel consumed.
    pub first_accept: Option<usize>,
    pub last_accept: Option<usize>,
    /// A pixel waited for ready longer than the stall limit.
    pub stalled: bool,
    /// `class_id` when the last cycle run had `class_valid`.
    pub class: Option<u8>,
}

/// Layout shared with `CnnRun` in `csrc/cnn_shim.cpp`.
#[repr(C)]
struct RunBuf {
    tap: [*mut i64; MAX_TAPS],
    len: [u32; MAX_TAPS],
    cap: [u32; MAX_TAPS],
    stall_limit: u32,
    stop_at_accept: u8,
    drop_taps: u8,
    cycles: u32,
    consumed: u32,
    first_accept: u32,
    last_accept: u32,
    stalled: u8,
    class_valid: u8,
    class_id: u8,
}

impl RunBuf {
    /// A call's buffer over `taps` (tap `i` holding whole beats of `lanes[i]` values), each
    /// with room for at least a few more beats; the shim stops when one is full. With
    /// `drop_taps` the shim appends nothing and never stops for room.
    fn over(
        taps: &mut [Vec<i64>],
        lanes: &[usize],
        stall_limit: u32,
        stop_at_accept: bool,
        drop_taps: bool,
    ) -> RunBuf {
        let mut r = RunBuf {
            tap: [std::ptr::null_mut(); MAX_TAPS],
            len: [0; MAX_TAPS],
            cap: [0; MAX_TAPS],
            stall_limit,
            stop_at_accept: stop_at_accept as u8,
            drop_taps: drop_taps as u8,
            cycles: 0,
            consumed: 0,
            first_accept: 0,
            last_accept: 0,
            stalled: 0,
            class_valid: 0,
            class_id: 0,
        };
        for (i, (buf, &l)) in taps.iter_mut().zip(lanes).enumerate() {
            buf.reserve(16 * l);
            r.tap[i] = buf.as_mut_ptr();
            r.len[i] = u32::try_from(buf.len() / l).unwrap_or(u32::MAX);
            r.cap[i] = u32::try_from(buf.capacity() / l).unwrap_or(u32::MAX);
        }
        r
    }

    /// After the call: each tap buffer holds the beats the shim reported.
    fn taken(&self, taps: &mut [Vec<i64>], lanes: &[usize]) {
        for (i, (buf, &l)) in taps.iter_mut().zip(lanes).enumerate() {
            // SAFETY: `over` handed the shim buffer `i` with room for `cap[i]` beats; the shim
            // initialized every beat below the length it returned, which it keeps within
            // that capacity.
            unsafe { buf.set_len(self.len[i] as usize * l) };
        }
    }
}

#[repr(C)]
struct CnnModel {
    _opaque: [u8; 0],
}

type NewFn = unsafe extern "C" fn(*const *const c_char, u32, u64, *const c_char) -> *mut CnnModel;

extern "C" {
    fn cnn_new(args: *const *const c_char, n: u32, seed: u64, fst: *const c_char) -> *mut CnnModel;
    fn cnn_free(m: *mut CnnModel);
    fn cnn_error(m: *const CnnModel) -> *const c_char;
    fn cnn_reset(m: *mut CnnModel, cycles: u32) -> c_int;
    fn cnn_run(m: *mut CnnModel, inputs: *const u8, n: u32, r: *mut RunBuf) -> c_int;
    fn cnn_host(m: *mut CnnModel, i: *const u64, n: u32, o: *mut u64, r: *mut RunBuf) -> c_int;
    fn cnn_dump(m: *mut CnnModel, on: c_int);
    fn cnn_coverage_write(m: *mut CnnModel, path: *const c_char) -> c_int;
    fn cnn_verilator_version() -> *const c_char;
    fn cnn_ntaps() -> c_int;
}

/// Taps the shim's run buffer holds at most (`CNN_MAX_TAPS` in `csrc/cnn_shim.cpp`).
const MAX_TAPS: usize = crate::sim::glue::MAX_TAPS;

/// The entry points of one compiled model (fast, or FST-traced).
#[derive(Clone, Copy)]
struct Api {
    new: NewFn,
    free: unsafe extern "C" fn(*mut CnnModel),
    error: unsafe extern "C" fn(*const CnnModel) -> *const c_char,
    reset: unsafe extern "C" fn(*mut CnnModel, u32) -> c_int,
    run: unsafe extern "C" fn(*mut CnnModel, *const u8, u32, *mut RunBuf) -> c_int,
    host: HostFn,
    dump: unsafe extern "C" fn(*mut CnnModel, c_int),
    coverage_write: unsafe extern "C" fn(*mut CnnModel, *const c_char) -> c_int,
}

type HostFn = unsafe extern "C" fn(*mut CnnModel, *const u64, u32, *mut u64, *mut RunBuf) -> c_int;

const FAST: Api = Api {
    new: cnn_new,
    free: cnn_free,
    error: cnn_error,
    reset: cnn_reset,
    run: cnn_run,
    host: cnn_host,
    dump: cnn_dump,
    coverage_write: cnn_coverage_write,
};

/// `verilator --version` of the Verilator that generated the model.
pub const VERILATOR_VERSION: &str = env!("CNN_COSIM_VERILATOR_VERSION");

/// The family of the C++ compiler `build.rs` compiled the built-in model with (`gcc` or
/// `clang`).
pub const BUILT_IN_COMPILER: &str = env!("CNN_COSIM_COMPILER");

/// One compiled design: the compiled-in RTL ([`Design::built_in`]) or a shared library
/// built at run time ([`Design::load`]).
pub struct Design {
    fast: Api,
    traced: Option<Api>,
    /// The taps its glue brings out, in pipeline order: layer and values per beat.
    pub taps: Vec<(String, usize)>,
    pub binding: crate::sim::binding::Binding,
    /// Where the RTL came from, for titles: `rtl` or the `--rtl` directory.
    pub dir: String,
    /// What built it, for titles: the Verilator, then the C++ compiler (`clang`,
    /// `gcc+PGO`).
    pub built_with: String,
    /// For a design that takes its weight directory as a parameter: that directory.
    pub staging: Option<Staging>,
    /// The loaded libraries (fast, traced), kept as long as the design.
    _libs: Vec<libloading::Library>,
    /// Built at run time (a library), not compiled in.
    run_time: bool,
    /// Built with Verilator's coverage (`verify --coverage`): its models count line, toggle
    /// and expression points ([`Model::write_coverage`]).
    pub coverage: bool,
}

impl std::fmt::Debug for Design {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Design").field("dir", &self.dir).field("taps", &self.taps).finish()
    }
}

impl Design {
    /// The RTL `build.rs` compiled in, with the project's own binding.
    pub fn built_in() -> &'static Design {
        static BUILT_IN: std::sync::OnceLock<Design> = std::sync::OnceLock::new();
        BUILT_IN.get_or_init(|| {
            let binding = crate::sim::binding::Binding::own();
            // SAFETY: returns a constant.
            let ntaps = unsafe { cnn_ntaps() } as usize;
            assert_eq!(ntaps, binding.taps.len(), "the shim was built from another binding");
            Design {
                fast: FAST,
                // Built at run time when asked for ([`crate::sim::verilate`]).
                traced: None,
                taps: binding.taps.iter().map(|t| (t.layer.clone(), t.lanes)).collect(),
                binding,
                dir: crate::sim::binding::RTL_DIR.to_string(),
                built_with: format!("{VERILATOR_VERSION}, {BUILT_IN_COMPILER}"),
                staging: None,
                _libs: Vec::new(),
                run_time: false,
                coverage: false,
            }
        })
    }

    /// Loads a design built at run time: `fast` (and `traced`, FST-traced) shared libraries
    /// holding `csrc/cnn_shim.cpp`'s entry points (`cnn_*`, `cnn_trace_*`) for `binding`.
    /// The design lives for the rest of the process.
    pub fn load(
        binding: crate::sim::binding::Binding,
        fast: &Path,
        traced: Option<&Path>,
        built_with: String,
        staging: Option<Staging>,
        coverage: bool,
    ) -> Result<&'static Design> {
        let mut libs = Vec::new();
        let fast_api = load_api(fast, "cnn", &mut libs)?;
        let traced_api = traced.map(|t| load_api(t, "cnn_trace", &mut libs)).transpose()?;
        // SAFETY: `cnn_ntaps` takes nothing and returns a constant; the library is loaded.
        let ntaps: Symbol<unsafe extern "C" fn() -> c_int> =
            unsafe { libs[0].get(b"cnn_ntaps\0") }.map_err(|e| lib_error(fast, "cnn_ntaps", e))?;
        // SAFETY: as above.
        let ntaps = unsafe { ntaps() } as usize;
        let taps: Vec<(String, usize)> =
            binding.taps.iter().map(|t| (t.layer.clone(), t.lanes)).collect();
        if ntaps != taps.len() {
            bail!(
                "{}: internal error: built for {ntaps} taps, the binding has {}",
                fast.display(),
                taps.len()
            );
        }
        let dir = binding.dir.display().to_string();
        Ok(Box::leak(Box::new(Design {
            fast: fast_api,
            traced: traced_api,
            taps,
            binding,
            dir,
            built_with,
            staging,
            _libs: libs,
            run_time: true,
            coverage,
        })))
    }

    /// The same compiled design driven by `binding`, which may differ from the one it was
    /// built from only in what the driver reads (`[input] start_after_reset`, `[stream]`,
    /// `[reset] cycles`, a tap's `beats`): the glue compiled into it is the old binding's.
    /// For `bind init`'s trials; the new design shares the old one's libraries, which live
    /// for the rest of the process, and has no weight staging of its own.
    pub fn rebind(&'static self, binding: crate::sim::binding::Binding) -> &'static Design {
        Box::leak(Box::new(Design {
            fast: self.fast,
            traced: self.traced,
            taps: self.taps.clone(),
            binding,
            dir: self.dir.clone(),
            built_with: self.built_with.clone(),
            staging: None,
            _libs: Vec::new(),
            run_time: self.run_time,
            coverage: self.coverage,
        }))
    }

    /// A design loaded from a library compiled to profile itself (a profile-guided build,
    /// [`crate::sim::verilate::Pgo`]): writes the counts its models have gathered so far,
    /// once.
    pub fn write_profile(&self) -> Result<()> {
        let lib = self._libs.first().context("internal error: not a loaded library")?;
        // SAFETY: `cnn_profile_dump` takes nothing and returns an int (csrc/cnn_shim.cpp,
        // compiled in with CNN_PGO_GENERATE); the library is loaded for the design's life.
        let dump: Symbol<unsafe extern "C" fn() -> c_int> =
            unsafe { lib.get(b"cnn_profile_dump\0") }
                .map_err(|e| anyhow::anyhow!("{}: not built to profile itself ({e})", self.dir))?;
        // SAFETY: as above; it writes the compiler's count files and touches no model.
        let rc = unsafe { dump() };
        if rc != 0 {
            bail!("{}: writing the profile counts failed ({rc})", self.dir);
        }
        Ok(())
    }

    /// The values the shim appends per beat of the tap of `layer`: its coordinates (`at`),
    /// then its lanes.
    pub fn stride(&self, layer: &str) -> usize {
        self.binding
            .tap(layer)
            .map_or(1, |t| t.lanes + t.at.as_ref().map_or(0, |a| a.signals().len()))
    }

    /// Whether the design brings out `tap` (the class always).
    pub fn brings_out(&self, tap: &crate::network::Tap) -> bool {
        tap.is_class || self.taps.iter().any(|(n, _)| *n == tap.name)
    }

    /// The network's tapped layers this design does not bring out (not compared).
    pub fn untapped(&self, net: &crate::network::Network) -> Vec<String> {
        net.taps().into_iter().filter(|t| !self.brings_out(t)).map(|t| t.name).collect()
    }

    /// "RTL DIR (Verilator …)", for titles.
    pub fn label(&self) -> String {
        if !self.run_time {
            format!("RTL {} ({})", self.dir, self.built_with)
        } else {
            format!(
                "RTL {} bound by {} (Verilated at run time, {})",
                self.binding.design.top, self.binding.source, self.built_with
            )
        }
    }

    /// Checks that `net` is the network this design's binding implements and taps its
    /// layers with the same values per beat (layers may be left untapped by the binding).
    pub fn check_taps(&self, net: &crate::network::Network) -> Result<()> {
        let shapes = |n: &crate::network::Network| -> Vec<(String, crate::network::Shape)> {
            n.taps().into_iter().filter(|t| !t.is_class).map(|t| (t.name, t.shape)).collect()
        };
        let (want, bound) = (shapes(net), shapes(&self.binding.network));
        // Every layer the design brings out must be a tap of `net` with the same shape.
        let bad = self.taps.iter().find(|(layer, _)| {
            let of = |v: &[(String, crate::network::Shape)]| {
                v.iter().find(|(n, _)| n == layer).map(|(_, s)| *s)
            };
            of(&want).is_none() || of(&want) != of(&bound)
        });
        let want: Vec<(String, usize)> =
            want.iter().map(|(n, s)| (n.clone(), s.beats().0)).collect();
        let show = |v: &[(String, usize)]| {
            v.iter().map(|(n, l)| format!("{n} ({l} per beat)")).collect::<Vec<_>>().join(", ")
        };
        if bad.is_some() {
            let which = if !self.run_time {
                format!("the built-in RTL ({})", self.dir)
            } else {
                format!("the RTL in {} (bound by {})", self.dir, self.binding.source)
            };
            bail!(
                "{}: network {:?} taps {}, but {which} brings out {}; it cannot be verified \
                 against this RTL",
                net.source,
                net.name,
                show(&want),
                show(&self.taps)
            );
        }
        Ok(())
    }
}

/// The seven entry points named `{prefix}_*` of the library at `path`.
fn load_api(path: &Path, prefix: &str, libs: &mut Vec<libloading::Library>) -> Result<Api> {
    // SAFETY: loading runs the library's static constructors: those of a Verilated model
    // and the shim, which only initialize their own globals.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| {
        anyhow::anyhow!("{}: cannot load the compiled design ({e})", path.display())
    })?;
    macro_rules! sym {
        ($name:literal, $ty:ty) => {{
            let name = format!("{prefix}_{}\0", $name);
            // SAFETY: the symbol is the shim's entry point of exactly this signature
            // (csrc/cnn_shim.cpp); the fn pointer is used only while `lib` is alive (the
            // Design keeps it).
            let s: Symbol<$ty> = unsafe { lib.get(name.as_bytes()) }
                .map_err(|e| lib_error(path, &name[..name.len() - 1], e))?;
            *s
        }};
    }
    let api = Api {
        new: sym!("new", NewFn),
        free: sym!("free", unsafe extern "C" fn(*mut CnnModel)),
        error: sym!("error", unsafe extern "C" fn(*const CnnModel) -> *const c_char),
        reset: sym!("reset", unsafe extern "C" fn(*mut CnnModel, u32) -> c_int),
        run: sym!("run", unsafe extern "C" fn(*mut CnnModel, *const u8, u32, *mut RunBuf) -> c_int),
        host: sym!("host", HostFn),
        dump: sym!("dump", unsafe extern "C" fn(*mut CnnModel, c_int)),
        coverage_write: sym!(
            "coverage_write",
            unsafe extern "C" fn(*mut CnnModel, *const c_char) -> c_int
        ),
    };
    libs.push(lib);
    Ok(api)
}

fn lib_error(path: &Path, name: &str, e: libloading::Error) -> anyhow::Error {
    anyhow::anyhow!("{}: the compiled design has no {name} ({e})", path.display())
}

/// The taps the built-in RTL brings out (see [`Design::taps`]).
pub fn taps() -> Vec<(String, usize)> {
    Design::built_in().taps.clone()
}

/// Checks `net` against the built-in RTL ([`Design::check_taps`]).
pub fn check_taps(net: &crate::network::Network) -> Result<()> {
    Design::built_in().check_taps(net)
}

/// A Verilated design with its own simulation context.
pub struct Model {
    ptr: NonNull<CnnModel>,
    api: &'static Api,
    /// Cycles in a row a pixel may wait for ready (see [`Model::set_stall_limit`]).
    stall_limit: u32,
    /// Values per beat of each tap, in the shim's order.
    lanes: Vec<usize>,
    /// Whether tap beats are kept (see [`Model::drop_taps`]).
    keep_taps: bool,
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: the C++ model has no thread affinity; each call first makes its own context the
// calling thread's current one. `Cell` in `_not_sync` keeps `Model` from being `Sync`, so
// two threads never drive it at once.
unsafe impl Send for Model {}

impl Model {
    /// Builds a model of `design` with the plusargs `args` (how it finds its weights:
    /// [`crate::sim::binding::Binding::weight_args`]) and runs its initial blocks. `seed` seeds
    /// Verilator's random initial state (used with `--x-initial unique`).
    pub fn new(design: &'static Design, args: &[String], seed: u64) -> Result<Model> {
        Model::build(design, &design.fast, args, seed, None)
    }

    /// A model of `design` reading its weights from `dir` (in the design's layout) however
    /// its binding says — a plusarg, its working directory, or the parameter it was built
    /// with (then `dir` is [`Design::staging`]'s) — traced into `fst` when given.
    pub fn with_weights(
        design: &'static Design,
        dir: &Path,
        seed: u64,
        fst: Option<&Path>,
    ) -> Result<Model> {
        let args = design.binding.weight_args(dir);
        match fst {
            _ if design.binding.weights.load == crate::sim::binding::WeightLoad::Workdir => {
                Model::new_in(design, dir, &args, seed, fst)
            }
            None => Model::new(design, &args, seed),
            Some(fst) => Model::new_traced(design, &args, seed, fst),
        }
    }

    /// Like [`Model::new`] (or [`Model::new_traced`] with `fst`), for a design whose
    /// `$readmemh` opens fixed file names relative to the working directory: built with the
    /// process's working directory set to `dir` (under a lock, restored at once; the
    /// weights are read while it is built).
    pub fn new_in(
        design: &'static Design,
        dir: &Path,
        args: &[String],
        seed: u64,
        fst: Option<&Path>,
    ) -> Result<Model> {
        static CWD: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = CWD.lock().unwrap_or_else(|e| e.into_inner());
        let back = std::env::current_dir().context("cannot read the working directory")?;
        // Absolute, since the working directory changes under it.
        let fst = fst.map(|f| back.join(f));
        std::env::set_current_dir(dir)
            .with_context(|| format!("{}: cannot enter the weight directory", dir.display()))?;
        let model = match &fst {
            None => Model::new(design, args, seed),
            Some(f) => Model::new_traced(design, args, seed, f),
        };
        std::env::set_current_dir(&back).with_context(|| {
            format!("{}: cannot return to the working directory", back.display())
        })?;
        model
    }

    /// Like [`Model::new`], but a separately built model that writes an FST waveform of
    /// every cycle to `fst` while [`Model::dump`] is on (off at first).
    pub fn new_traced(
        design: &'static Design,
        args: &[String],
        seed: u64,
        fst: &Path,
    ) -> Result<Model> {
        match &design.traced {
            Some(api) => Model::build(design, api, args, seed, Some(fst)),
            None => bail!(
                "{}: cannot write a waveform: this design was built without its traced model",
                fst.display()
            ),
        }
    }

    fn build(
        design: &'static Design,
        api: &'static Api,
        args: &[String],
        seed: u64,
        fst: Option<&Path>,
    ) -> Result<Model> {
        let args: Vec<CString> =
            args.iter().map(|a| CString::new(a.as_bytes())).collect::<Result<_, _>>()?;
        let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
        let fst = CString::new(fst.map(|p| p.to_string_lossy().into_owned()).unwrap_or_default())?;
        // SAFETY: `argv` holds `argv.len()` valid C strings (alive in `args` for the call);
        // `fst` is a valid C string; `new` never returns null.
        let raw = unsafe { (api.new)(argv.as_ptr(), argv.len() as u32, seed, fst.as_ptr()) };
        let ptr = NonNull::new(raw).expect("cnn_new never returns null");
        let lanes: Vec<usize> = design.taps.iter().map(|(l, _)| design.stride(l)).collect();
        let model = Model {
            ptr,
            api,
            stall_limit: u32::MAX,
            lanes,
            keep_taps: true,
            _not_sync: PhantomData,
        };
        model.check(0)?;
        Ok(model)
    }

    /// With a ready: the most cycles in a row a pixel may wait for it before [`Model::run`]
    /// stops with [`RunEnd::stalled`].
    pub fn set_stall_limit(&mut self, cycles: u32) {
        self.stall_limit = cycles.max(1);
    }

    /// From now on, no tap beat is kept: [`Model::run`] and [`Model::host`] leave the tap
    /// buffers as they are and the model only runs (a bare loop: `bench`'s ceiling).
    pub fn drop_taps(&mut self) {
        self.keep_taps = false;
    }

    /// Writes the coverage counts of every point since the model was built to `path`
    /// (Verilator's coverage.dat format; a model built with coverage only:
    /// [`Design::coverage`]).
    pub fn write_coverage(&mut self, path: &Path) -> Result<()> {
        let c = CString::new(path.to_string_lossy().as_bytes())?;
        // SAFETY: ptr is live and exclusively borrowed; `c` is a valid C string for the call.
        let rc = unsafe { (self.api.coverage_write)(self.ptr.as_ptr(), c.as_ptr()) };
        if rc != 0 {
            let why = self.check(rc).err().map_or("unknown error".into(), |s| s.message);
            bail!("{}: cannot write the coverage counts: {why}", path.display());
        }
        Ok(())
    }

    /// Starts or stops writing cycles to the waveform (traced models; a no-op otherwise).
    pub fn dump(&mut self, on: bool) {
        // SAFETY: ptr is live and exclusively borrowed.
        unsafe { (self.api.dump)(self.ptr.as_ptr(), on as c_int) }
    }

    fn check(&self, rc: c_int) -> Result<(), Stopped> {
        // SAFETY: ptr is live; the returned string lives as long as the model and is copied.
        let err = unsafe { (self.api.error)(self.ptr.as_ptr()) };
        if rc == 0 && err.is_null() {
            return Ok(());
        }
        let msg = if err.is_null() {
            "unknown error".to_string()
        } else {
            // SAFETY: non-null, NUL-terminated, owned by the live model.
            unsafe { CStr::from_ptr(err) }.to_string_lossy().into_owned()
        };
        Err(Stopped { message: msg, cycles: 0 })
    }

    /// Holds the reset active for `cycles` clock cycles.
    pub fn reset(&mut self, cycles: u32) -> Result<()> {
        // SAFETY: ptr is live and exclusively borrowed.
        let rc = unsafe { (self.api.reset)(self.ptr.as_ptr(), cycles) };
        Ok(self.check(rc)?)
    }

    /// Consumes `inputs` (out of reset), one clock cycle each — with a ready, a pixel is held
    /// until a cycle accepts it — appending every tap beat to `taps` (one buffer per tap of
    /// the design, its lanes' values per beat), and stops early right after the first cycle
    /// with the class valid, or when a pixel has waited for ready longer than the stall
    /// limit, or — with `stop_at_first_pixel` — right after the cycle that accepts the first
    /// pixel; the cycles go into C++ in one call.
    pub fn run(
        &mut self,
        inputs: &[Input],
        taps: &mut [Vec<i64>],
        stop_at_first_pixel: bool,
    ) -> Result<RunEnd> {
        let lanes = &self.lanes;
        if taps.len() != lanes.len() {
            bail!("internal error: the RTL has {} taps, {} buffers given", lanes.len(), taps.len());
        }
        let mut done = 0usize;
        let mut end = RunEnd {
            cycles: 0,
            consumed: 0,
            first_accept: None,
            last_accept: None,
            stalled: false,
            class: None,
        };
        loop {
            let n = u32::try_from(inputs.len() - done).unwrap_or(u32::MAX);
            let mut r =
                RunBuf::over(taps, lanes, self.stall_limit, stop_at_first_pixel, !self.keep_taps);
            // SAFETY: ptr is live and exclusively borrowed; `inputs[done..]` holds `n` inputs
            // of `CNN_IN_STRIDE` (= size_of::<Input>()) bytes; buffer `i` has room for `cap[i]` beats of `lanes[i]` contiguous
            // i64s, of which the first `len[i]` are initialized (the buffers only ever hold
            // whole beats); the shim writes only beats `len[i]..cap[i]` of its `CNN_NTAPS`
            // (= `lanes.len()`, checked against `cnn_ntaps` when the design was loaded or,
            // built in, first used) taps and reports the new lengths.
            let rc = unsafe {
                (self.api.run)(self.ptr.as_ptr(), inputs[done..].as_ptr().cast(), n, &mut r)
            };
            r.taken(taps, lanes);
            if rc != 0 {
                let cycles = (end.cycles + r.cycles as usize) as u64;
                self.check(rc).map_err(|s| Stopped { cycles, ..s })?;
            }
            let at = |k: u32| (k > 0).then(|| end.cycles + k as usize);
            if end.first_accept.is_none() {
                end.first_accept = at(r.first_accept);
            }
            end.last_accept = at(r.last_accept).or(end.last_accept);
            end.cycles += r.cycles as usize;
            done += r.consumed as usize;
            end.consumed = done;
            if r.class_valid != 0 {
                end.class = Some(r.class_id);
                return Ok(end);
            }
            if r.stalled != 0 {
                end.stalled = true;
                return Ok(end);
            }
            if stop_at_first_pixel && end.first_accept.is_some() {
                return Ok(end);
            }
            if done == inputs.len() {
                return Ok(end);
            }
        }
    }
}

pub use crate::sim::bus::HostEnd;

impl crate::sim::bus::Clocked for Model {
    fn clock(
        &mut self,
        inputs: &[u64],
        n: u64,
        outputs: &mut [u64],
        taps: &mut [Vec<i64>],
    ) -> Result<HostEnd, (anyhow::Error, u64)> {
        self.host(inputs, n, outputs, taps).map_err(|e| {
            let cycles = e.downcast_ref::<Stopped>().map_or(0, |s| s.cycles);
            (e, cycles)
        })
    }
}

impl Model {
    /// A host-driven design: up to `n` cycles out of reset with the bus inputs `inputs` (the
    /// glue's order), appending every tap beat to `taps`; `outputs` gets the bus outputs of
    /// the last cycle, read before its rising edge. Stops early right after the first cycle
    /// with done (a done port).
    pub fn host(
        &mut self,
        inputs: &[u64],
        n: u64,
        outputs: &mut [u64],
        taps: &mut [Vec<i64>],
    ) -> Result<HostEnd> {
        let lanes = &self.lanes;
        if taps.len() != lanes.len() {
            bail!("internal error: the RTL has {} taps, {} buffers given", lanes.len(), taps.len());
        }
        if inputs.len() < crate::sim::glue::MAX_HOST_SIGNALS
            || outputs.len() < crate::sim::glue::MAX_HOST_SIGNALS
        {
            bail!("internal error: host signal arrays of the wrong size");
        }
        let mut end = HostEnd { cycles: 0, done: None };
        while end.cycles < n {
            let want = u32::try_from(n - end.cycles).unwrap_or(u32::MAX);
            let mut r = RunBuf::over(taps, lanes, u32::MAX, false, !self.keep_taps);
            // SAFETY: ptr is live and exclusively borrowed; `inputs` holds at least as many
            // values as the glue sets (checked when the design's host ports were resolved)
            // and `outputs` room for MAX_HOST_SIGNALS (checked above), the most the glue
            // reads; the tap buffers as in [`Model::run`].
            let rc = unsafe {
                (self.api.host)(
                    self.ptr.as_ptr(),
                    inputs.as_ptr(),
                    want,
                    outputs.as_mut_ptr(),
                    &mut r,
                )
            };
            r.taken(taps, lanes);
            if rc != 0 {
                let cycles = end.cycles + r.cycles as u64;
                self.check(rc).map_err(|s| Stopped { cycles, ..s })?;
            }
            end.cycles += r.cycles as u64;
            if r.class_valid != 0 {
                end.done = Some(r.class_id);
                return Ok(end);
            }
        }
        Ok(end)
    }
}

/// The design ended the simulation (`$finish`, `$stop`/`$fatal`) or Verilator hit a fatal
/// error: the model only returns errors from then on.
#[derive(Debug)]
pub struct Stopped {
    pub message: String,
    /// Clock cycles of the call that completed before it stopped.
    pub cycles: u64,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RTL simulation stopped: {}", self.message)
    }
}

impl std::error::Error for Stopped {}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: ptr came from this api's `new` and is freed exactly once.
        unsafe { (self.api.free)(self.ptr.as_ptr()) }
    }
}

/// Runs `f` with the process's stdout and stderr sent to `/dev/null`, C's buffers included:
/// for models whose initial blocks print what is expected (`bind init` probing a design's
/// weight files, where every `$readmem` that finds nothing makes the design complain). Output
/// of other threads meanwhile is lost too, so it is for single-threaded moments only.
pub fn silenced<T>(f: impl FnOnce() -> T) -> T {
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else { return f() };
    use std::os::fd::AsRawFd as _;
    // SAFETY: dup/dup2/close/fflush on file descriptors this function owns (the copies of 1
    // and 2 it makes, and `null`, alive for the whole call); fflush(NULL) flushes every C
    // stream.
    let saved = unsafe { [libc::dup(1), libc::dup(2)] };
    if saved.iter().any(|&fd| fd < 0) {
        return f();
    }
    unsafe {
        libc::dup2(null.as_raw_fd(), 1);
        libc::dup2(null.as_raw_fd(), 2);
    }
    let out = f();
    // SAFETY: as above; the saved descriptors are restored, then closed.
    unsafe {
        libc::fflush(std::ptr::null_mut());
        libc::dup2(saved[0], 1);
        libc::dup2(saved[1], 2);
        libc::close(saved[0]);
        libc::close(saved[1]);
    }
    out
}

/// The Verilator runtime's own version string.
pub fn runtime_version() -> String {
    // SAFETY: returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(cnn_verilator_version()) }.to_string_lossy().into_owned()
}

/// The weight directory of a design that takes it as a parameter, held (an exclusive lock on
/// its `.lock` file) for as long as the design is loaded, so concurrent runs of the same
/// design write their weight sets into it one after another.
/// A clone shares the lock (a profile-guided build's instrumented design and the final one
/// use one directory in one process).
#[derive(Debug, Clone)]
pub struct Staging {
    pub dir: PathBuf,
    _lock: std::sync::Arc<std::fs::File>,
}

impl Staging {
    pub(crate) fn take(dir: &Path) -> Result<Staging> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the weight directory", dir.display()))?;
        let lock = std::fs::File::create(dir.join(".lock"))
            .with_context(|| format!("{}: cannot create its lock file", dir.display()))?;
        lock.lock().with_context(|| format!("{}: cannot lock", dir.display()))?;
        Ok(Staging { dir: dir.to_path_buf(), _lock: std::sync::Arc::new(lock) })
    }
}
