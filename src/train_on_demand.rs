//! `train` in a build without the trainer (the default: candle takes about four minutes to
//! compile on two cores, and `verify` never needs it). The first `train` builds this crate
//! once more with the `train` feature, into `target/trainer` of the checkout this binary
//! was built from, and runs that binary with the same arguments; later runs find it built
//! (cargo's check takes a fraction of a second) and start at once.

use anyhow::{anyhow, bail, Context, Result};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Builds the trainer if needed and runs `cnn-cosim train ARGS` on it. `Ok(true)` when it
/// succeeded, `Ok(false)` when it exited 1; any other exit status ends this process with it
/// (the trainer has already said why).
pub fn run(args: &[OsString]) -> Result<bool> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join("Cargo.toml").is_file() {
        bail!(
            "{}: the checkout this binary was built from is gone, and this build has no \
             trainer; build one with `cargo build --release --features train`",
            root.display()
        );
    }
    let target = root.join("target/trainer");
    let exe = target.join("release/cnn-cosim");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    if !exe.is_file() {
        eprintln!(
            "cnn-cosim: this build has no trainer; building it once with the `train` feature \
             into {} (about 5 minutes on 2 cores)",
            target.display()
        );
    }
    let t0 = Instant::now();
    let status = Command::new(&cargo)
        .current_dir(root)
        .args(["build", "--release", "--quiet", "--features", "train", "--bin", "cnn-cosim"])
        .arg("--target-dir")
        .arg(&target)
        .status()
        .with_context(|| format!("cannot run {} to build the trainer", cargo.to_string_lossy()))?;
    if !status.success() {
        bail!("building the trainer failed ({status}); the cargo output above says why");
    }
    let secs = t0.elapsed().as_secs_f64();
    if secs > 5.0 {
        eprintln!("cnn-cosim: built the trainer in {secs:.0} s ({})", exe.display());
    }
    let status = Command::new(&exe)
        .arg("train")
        .args(args)
        .status()
        .with_context(|| format!("{}: cannot run the trainer", exe.display()))?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        Some(code) => std::process::exit(code),
        None => Err(anyhow!("the trainer was stopped by a signal ({status})")),
    }
}
