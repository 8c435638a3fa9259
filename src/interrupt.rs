//! SIGINT and SIGTERM during a run. The first one asks the run to stop: the workers stop at
//! the next image, nothing is published, and the report directory keeps what it held (see
//! [`crate::report_set`]). A second one of either ends the process at once, exit 128 + the
//! signal's number (what a shell reports for a process the signal killed).

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The first signal received (0: none).
static SIGNAL: AtomicUsize = AtomicUsize::new(0);
/// Whether a signal came: the next one exits.
static SEEN: AtomicBool = AtomicBool::new(false);
static INSTALLED: OnceLock<std::io::Result<()>> = OnceLock::new();

/// Catches SIGINT and SIGTERM from now on (once per process).
pub fn install() -> anyhow::Result<()> {
    let r = INSTALLED.get_or_init(|| {
        for sig in [SIGINT, SIGTERM] {
            // Handlers run in registration order: a second signal finds SEEN set and exits.
            flag::register_conditional_shutdown(sig, 128 + sig, &SEEN)?;
            flag::register_usize(sig, &SIGNAL, sig as usize)?;
            flag::register(sig, &SEEN)?;
        }
        Ok(())
    });
    r.as_ref().map_err(|e| anyhow::anyhow!("cannot catch SIGINT/SIGTERM ({e})")).copied()
}

/// The signal that asked the run to stop, if one did.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s as i32),
    }
}

/// A run stopped by a signal; `main` exits with 128 + `signal`.
#[derive(Debug)]
pub struct Interrupted {
    pub signal: i32,
    /// What the run had done and what it kept, in words.
    pub detail: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", name(self.signal))?;
        if !self.detail.is_empty() {
            write!(f, " {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for Interrupted {}

/// `Err(Interrupted)` once a signal came, saying `detail`.
pub fn check(detail: impl FnOnce() -> String) -> anyhow::Result<()> {
    match requested() {
        Some(signal) => Err(Interrupted { signal, detail: detail() }.into()),
        None => Ok(()),
    }
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
