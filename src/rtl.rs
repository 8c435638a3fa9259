//! Safe wrapper around the Verilated `cnn_top` (the only module with `unsafe`).
//!
//! One [`Model`] owns one `VerilatedContext` and one model instance. It is `Send` (a worker
//! thread may own it) but not `Sync` (one thread drives it at a time), and dropping it frees
//! both. The C side is `csrc/cnn_shim.cpp`.

use anyhow::{bail, Result};
use std::cell::Cell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;

/// One cycle's input for [`Model::run`]: `pixel_valid_i`, `pixel_i`.
pub type Input = [u8; 2];

/// Where [`Model::run`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEnd {
    /// Cycles run (all of the inputs unless a class came first).
    pub cycles: usize,
    /// `class_id` when the last cycle run had `class_valid`.
    pub class: Option<u8>,
}

/// Layout shared with `CnnRun` in `csrc/cnn_shim.cpp`.
#[repr(C)]
struct RunBuf {
    tap: [*mut i64; MAX_TAPS],
    len: [u32; MAX_TAPS],
    cap: [u32; MAX_TAPS],
    cycles: u32,
    class_valid: u8,
    class_id: u8,
}

#[repr(C)]
struct CnnModel {
    _opaque: [u8; 0],
}

extern "C" {
    fn cnn_new(weights_dir: *const c_char, seed: u64, fst: *const c_char) -> *mut CnnModel;
    fn cnn_free(m: *mut CnnModel);
    fn cnn_error(m: *const CnnModel) -> *const c_char;
    fn cnn_reset(m: *mut CnnModel, cycles: u32) -> c_int;
    fn cnn_run(m: *mut CnnModel, inputs: *const u8, n: u32, r: *mut RunBuf) -> c_int;
    fn cnn_dump(m: *mut CnnModel, on: c_int);
    fn cnn_verilator_version() -> *const c_char;
    fn cnn_ntaps() -> c_int;
}

/// Taps the shim's run buffer holds at most (`CNN_MAX_TAPS` in `csrc/cnn_shim.cpp`).
const MAX_TAPS: usize = crate::glue::MAX_TAPS;

#[cfg(feature = "trace")]
extern "C" {
    fn cnn_trace_new(weights_dir: *const c_char, seed: u64, fst: *const c_char) -> *mut CnnModel;
    fn cnn_trace_free(m: *mut CnnModel);
    fn cnn_trace_error(m: *const CnnModel) -> *const c_char;
    fn cnn_trace_reset(m: *mut CnnModel, cycles: u32) -> c_int;
    fn cnn_trace_run(m: *mut CnnModel, inputs: *const u8, n: u32, r: *mut RunBuf) -> c_int;
    fn cnn_trace_dump(m: *mut CnnModel, on: c_int);
}

/// The entry points of one compiled model (fast, or FST-traced).
struct Api {
    new: unsafe extern "C" fn(*const c_char, u64, *const c_char) -> *mut CnnModel,
    free: unsafe extern "C" fn(*mut CnnModel),
    error: unsafe extern "C" fn(*const CnnModel) -> *const c_char,
    reset: unsafe extern "C" fn(*mut CnnModel, u32) -> c_int,
    run: unsafe extern "C" fn(*mut CnnModel, *const u8, u32, *mut RunBuf) -> c_int,
    dump: unsafe extern "C" fn(*mut CnnModel, c_int),
}

static FAST: Api = Api {
    new: cnn_new,
    free: cnn_free,
    error: cnn_error,
    reset: cnn_reset,
    run: cnn_run,
    dump: cnn_dump,
};

#[cfg(feature = "trace")]
static TRACED: Api = Api {
    new: cnn_trace_new,
    free: cnn_trace_free,
    error: cnn_trace_error,
    reset: cnn_trace_reset,
    run: cnn_trace_run,
    dump: cnn_trace_dump,
};

/// The taps the built-in RTL brings out, in pipeline order: name and values per beat, as
/// its binding (`rtl/binding.toml`) states them; the shim (`csrc/cnn_shim.cpp`) fills one
/// buffer per tap in this order.
pub fn taps() -> Vec<(String, usize)> {
    // Parsed once per process, not once per worker model.
    static TAPS: std::sync::OnceLock<Vec<(String, usize)>> = std::sync::OnceLock::new();
    TAPS.get_or_init(|| {
        crate::binding::Binding::own().taps.iter().map(|t| (t.layer.clone(), t.lanes)).collect()
    })
    .clone()
}

/// Checks that `net` taps exactly the layers the built-in RTL brings out, with the same
/// values per beat.
pub fn check_taps(net: &crate::network::Network) -> Result<()> {
    let taps: Vec<(String, usize)> = net
        .taps()
        .iter()
        .filter(|t| !t.is_class)
        .map(|t| (t.name.clone(), t.shape.beats().0))
        .collect();
    let want = self::taps();
    if taps != want {
        let show = |v: &[(String, usize)]| {
            v.iter().map(|(n, l)| format!("{n} ({l} per beat)")).collect::<Vec<_>>().join(", ")
        };
        bail!(
            "{}: network {:?} taps {}, but the built-in RTL ({}) brings out {}; it cannot be \
             verified against this RTL",
            net.source,
            net.name,
            show(&taps),
            RTL_DIR,
            show(&want)
        );
    }
    Ok(())
}

/// The RTL directory this binary was built from (`CNN_COSIM_RTL` at build time, or `rtl/`).
pub const RTL_DIR: &str = env!("CNN_COSIM_RTL_DIR");
/// `verilator --version` of the Verilator that generated the model.
pub const VERILATOR_VERSION: &str = env!("CNN_COSIM_VERILATOR_VERSION");

/// A Verilated `cnn_top` with its own simulation context.
pub struct Model {
    ptr: NonNull<CnnModel>,
    api: &'static Api,
    /// Values per beat of each tap, in the shim's order.
    lanes: Vec<usize>,
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: the C++ model has no thread affinity; each call first makes its own context the
// calling thread's current one. `Cell` in `_not_sync` keeps `Model` from being `Sync`, so
// two threads never drive it at once.
unsafe impl Send for Model {}

impl Model {
    /// Builds a model that `$readmemh`s its weights from `weights_dir` and runs its initial
    /// blocks. `seed` seeds Verilator's random initial state (used with `--x-initial unique`).
    pub fn new(weights_dir: &Path, seed: u64) -> Result<Model> {
        Model::build(&FAST, weights_dir, seed, None)
    }

    /// Like [`Model::new`], but a separately built model that writes an FST waveform of
    /// every cycle to `fst` while [`Model::dump`] is on (off at first).
    pub fn new_traced(weights_dir: &Path, seed: u64, fst: &Path) -> Result<Model> {
        #[cfg(feature = "trace")]
        return Model::build(&TRACED, weights_dir, seed, Some(fst));
        #[cfg(not(feature = "trace"))]
        {
            let _ = (weights_dir, seed);
            bail!("{}: cannot write a waveform: built without the `trace` feature", fst.display())
        }
    }

    fn build(
        api: &'static Api,
        weights_dir: &Path,
        seed: u64,
        fst: Option<&Path>,
    ) -> Result<Model> {
        let dir = CString::new(weights_dir.to_string_lossy().as_bytes())?;
        let fst = CString::new(fst.map(|p| p.to_string_lossy().into_owned()).unwrap_or_default())?;
        // SAFETY: both are valid C strings for the call; `new` never returns null.
        let raw = unsafe { (api.new)(dir.as_ptr(), seed, fst.as_ptr()) };
        let ptr = NonNull::new(raw).expect("cnn_new never returns null");
        let lanes: Vec<usize> = taps().into_iter().map(|(_, l)| l).collect();
        // SAFETY: returns a constant.
        let ntaps = unsafe { cnn_ntaps() } as usize;
        let model = Model { ptr, api, lanes, _not_sync: PhantomData };
        if ntaps != model.lanes.len() {
            bail!(
                "internal error: the shim was built for {ntaps} taps, the binding has {}",
                model.lanes.len()
            );
        }
        model.check(0)?;
        Ok(model)
    }

    /// Starts or stops writing cycles to the waveform (traced models; a no-op otherwise).
    pub fn dump(&mut self, on: bool) {
        // SAFETY: ptr is live and exclusively borrowed.
        unsafe { (self.api.dump)(self.ptr.as_ptr(), on as c_int) }
    }

    fn check(&self, rc: c_int) -> Result<()> {
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
        bail!("RTL simulation stopped: {msg}")
    }

    /// Holds reset (`rst_ni` low) for `cycles` clock cycles.
    pub fn reset(&mut self, cycles: u32) -> Result<()> {
        // SAFETY: ptr is live and exclusively borrowed.
        let rc = unsafe { (self.api.reset)(self.ptr.as_ptr(), cycles) };
        self.check(rc)
    }

    /// Runs one clock cycle per element of `inputs` (out of reset), appending every tap
    /// beat to `taps` (one buffer per tap of [`taps`], its lanes' values per beat), and stops
    /// early right after the first cycle with the class valid; the cycles go into C++ in one
    /// call.
    pub fn run(&mut self, inputs: &[Input], taps: &mut [Vec<i64>]) -> Result<RunEnd> {
        let lanes = &self.lanes;
        if taps.len() != lanes.len() {
            bail!("internal error: the RTL has {} taps, {} buffers given", lanes.len(), taps.len());
        }
        let mut done = 0usize;
        loop {
            let n = u32::try_from(inputs.len() - done).unwrap_or(u32::MAX);
            let mut r = RunBuf {
                tap: [std::ptr::null_mut(); MAX_TAPS],
                len: [0; MAX_TAPS],
                cap: [0; MAX_TAPS],
                cycles: 0,
                class_valid: 0,
                class_id: 0,
            };
            for (i, (buf, &l)) in taps.iter_mut().zip(lanes).enumerate() {
                // Room for at least a few beats; the shim stops when a buffer is full.
                buf.reserve(16 * l);
                r.tap[i] = buf.as_mut_ptr();
                r.len[i] = u32::try_from(buf.len() / l).unwrap_or(u32::MAX);
                r.cap[i] = u32::try_from(buf.capacity() / l).unwrap_or(u32::MAX);
            }
            // SAFETY: ptr is live and exclusively borrowed; `inputs[done..]` holds `n` cycles
            // of 2 bytes; buffer `i` has room for `cap[i]` beats of `lanes[i]` contiguous
            // i64s, of which the first `len[i]` are initialized (the buffers only ever hold
            // whole beats); the shim writes only beats `len[i]..cap[i]` of its `CNN_NTAPS`
            // (= `lanes.len()`, checked when the model was built) taps and reports the new
            // lengths.
            let rc = unsafe {
                (self.api.run)(self.ptr.as_ptr(), inputs[done..].as_ptr().cast(), n, &mut r)
            };
            for (i, (buf, &l)) in taps.iter_mut().zip(lanes).enumerate() {
                // SAFETY: the shim initialized every beat below the returned length, which it
                // keeps within the capacity.
                unsafe { buf.set_len(r.len[i] as usize * l) };
            }
            if rc != 0 {
                self.check(rc)?;
            }
            done += r.cycles as usize;
            if r.class_valid != 0 {
                return Ok(RunEnd { cycles: done, class: Some(r.class_id) });
            }
            if done == inputs.len() {
                return Ok(RunEnd { cycles: done, class: None });
            }
        }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: ptr came from this api's `new` and is freed exactly once.
        unsafe { (self.api.free)(self.ptr.as_ptr()) }
    }
}

/// The Verilator runtime's own version string.
pub fn runtime_version() -> String {
    // SAFETY: returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(cnn_verilator_version()) }.to_string_lossy().into_owned()
}
