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

/// One clock cycle's outputs: each `*_valid` says whether the matching data is a new beat.
/// Layout shared with `CnnTaps` in `csrc/cnn_shim.cpp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taps {
    pub conv1_valid: u8,
    pub pool1_valid: u8,
    pub fc1_valid: u8,
    pub class_valid: u8,
    pub class_id: u8,
    pub conv1: [i32; 3],
    pub pool1: [i32; 3],
    pub fc1: [i32; 10],
}

#[repr(C)]
struct CnnModel {
    _opaque: [u8; 0],
}

extern "C" {
    fn cnn_new(weights_dir: *const c_char, seed: u64) -> *mut CnnModel;
    fn cnn_free(m: *mut CnnModel);
    fn cnn_error(m: *const CnnModel) -> *const c_char;
    fn cnn_reset(m: *mut CnnModel, cycles: u32) -> c_int;
    fn cnn_tick(m: *mut CnnModel, valid: u8, pixel: u8, out: *mut Taps) -> c_int;
    fn cnn_verilator_version() -> *const c_char;
}

/// The RTL directory this binary was built from (`CNN_COSIM_RTL` at build time, or `rtl/`).
pub const RTL_DIR: &str = env!("CNN_COSIM_RTL_DIR");
/// `verilator --version` of the Verilator that generated the model.
pub const VERILATOR_VERSION: &str = env!("CNN_COSIM_VERILATOR_VERSION");

/// A Verilated `cnn_top` with its own simulation context.
pub struct Model {
    ptr: NonNull<CnnModel>,
    taps: Taps,
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
        let dir = CString::new(weights_dir.to_string_lossy().as_bytes())?;
        // SAFETY: `dir` is a valid C string for the call; cnn_new never returns null.
        let raw = unsafe { cnn_new(dir.as_ptr(), seed) };
        let ptr = NonNull::new(raw).expect("cnn_new never returns null");
        let model = Model { ptr, taps: Taps::default(), _not_sync: PhantomData };
        model.check(0)?;
        Ok(model)
    }

    fn check(&self, rc: c_int) -> Result<()> {
        // SAFETY: ptr is live; the returned string lives as long as the model and is copied.
        let err = unsafe { cnn_error(self.ptr.as_ptr()) };
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
        let rc = unsafe { cnn_reset(self.ptr.as_ptr(), cycles) };
        self.check(rc)
    }

    /// One clock cycle with `pixel_valid_i = valid`, `pixel_i = pixel`; returns the taps
    /// after the rising edge.
    #[inline]
    pub fn tick(&mut self, valid: bool, pixel: u8) -> Result<&Taps> {
        // SAFETY: ptr is live and exclusively borrowed; `taps` is a valid CnnTaps.
        let rc = unsafe { cnn_tick(self.ptr.as_ptr(), valid as u8, pixel, &mut self.taps) };
        if rc != 0 {
            self.check(rc)?;
        }
        Ok(&self.taps)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: ptr came from cnn_new and is freed exactly once.
        unsafe { cnn_free(self.ptr.as_ptr()) }
    }
}

/// The Verilator runtime's own version string.
pub fn runtime_version() -> String {
    // SAFETY: returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(cnn_verilator_version()) }.to_string_lossy().into_owned()
}
