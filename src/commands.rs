//! The subcommands' logic, called by the thin CLI in `main.rs`. Each returns an error for bad
//! input (exit 2); `verify` also says whether the RTL was bit-exact (exit 0) or not (exit 1).

use crate::compare::Layer;
use crate::driver::{self, Config, Stimulus};
use crate::float_model::FloatWeights;
use crate::memfile::{self, QuantWeights, Rounding};
use crate::mnist::{self, Split};
use crate::reference;
use crate::report::{Reports, Totals};
use crate::rtl;
use crate::train::{self, TrainConfig};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The float weights file inside a weight directory.
pub const SAFETENSORS: &str = "model.safetensors";

/// Options of `verify`.
#[derive(Debug, Clone)]
pub struct VerifyArgs {
    pub mnist: PathBuf,
    pub weights: PathBuf,
    pub reports: PathBuf,
    pub start: usize,
    pub limit: Option<usize>,
    pub quiet: bool,
    pub max_rows: u64,
    pub driver: Config,
}

fn pct(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb
}

/// Loads the float model of a weight directory when it has one.
pub fn load_float(weights: &Path) -> Result<Option<FloatWeights>> {
    let p = weights.join(SAFETENSORS);
    if p.exists() {
        Ok(Some(FloatWeights::load(&p)?))
    } else {
        Ok(None)
    }
}

/// `verify`: RTL against reference on MNIST test images. Ok(true) when bit-exact everywhere.
pub fn verify(a: &VerifyArgs) -> Result<bool> {
    let t0 = Instant::now();
    let test = mnist::load(&a.mnist, Split::Test)?;
    if a.start >= test.len() {
        bail!("--start {} is past the last test image ({})", a.start, test.len() - 1);
    }
    let end = a.limit.map_or(test.len(), |l| (a.start + l).min(test.len()));
    if end == a.start {
        bail!("--limit 0 selects no images");
    }
    let qw = QuantWeights::load(&a.weights)?;
    let fw = load_float(&a.weights)?;
    let weights_abs = a
        .weights
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve weight directory", a.weights.display()))?;
    let stim = Stimulus {
        images: &test.images[a.start..end],
        labels: &test.labels[a.start..end],
        first: a.start,
    };
    let n = stim.images.len() as u64;
    if !a.quiet {
        println!(
            "cnn-cosim verify: images {}..{} of {}, weights {}, RTL {} ({})",
            a.start,
            end - 1,
            a.mnist.display(),
            a.weights.display(),
            rtl::RTL_DIR,
            rtl::VERILATOR_VERSION
        );
    }
    let mut reports = Reports::create(&a.reports, a.max_rows, fw.is_some())?;
    let pb = progress_bar(n, a.quiet);
    pb.set_prefix("verify");
    driver::run(&stim, &qw, fw.as_ref(), &weights_abs, &a.driver, |r| {
        pb.inc(1);
        reports.push(&r)
    })?;
    pb.finish_and_clear();
    let t = reports.finish()?;
    let secs = t0.elapsed().as_secs_f64();
    print_summary(&t, a, secs);
    Ok(t.clean == t.images)
}

fn print_summary(t: &Totals, a: &VerifyArgs, secs: f64) {
    println!("layer   elements     mismatching  images_with_mismatch  max_abs_diff");
    for (i, layer) in Layer::ALL.into_iter().enumerate() {
        let l = &t.layers[i];
        println!(
            "{:<7} {:<12} {:<12} {:<21} {}",
            layer.name(),
            l.elements,
            l.mismatching_elements,
            l.images_with_mismatch,
            l.max_abs_diff
        );
    }
    let float = if t.has_float {
        format!("{:.2} %", pct(t.float_correct, t.images))
    } else {
        "n/a (no model.safetensors)".into()
    };
    println!(
        "accuracy: RTL {:.2} %, reference {:.2} %, float {float}",
        pct(t.rtl_correct, t.images),
        pct(t.ref_correct, t.images)
    );
    if t.cycles_n > 0 {
        println!(
            "cycles per image (first pixel to class_valid): {:.1}; latency last pixel to class_valid: {}..{} cycles",
            t.cycles_sum as f64 / t.cycles_n as f64,
            t.latency_min.unwrap_or(0),
            t.latency_max.unwrap_or(0)
        );
    }
    println!(
        "wall time {:.2} s, {:.0} images/s, {} jobs; reports in {}",
        secs,
        t.images as f64 / secs,
        a.driver.jobs,
        a.reports.display()
    );
    if t.mismatch_rows_dropped > 0 {
        println!(
            "mismatches.csv holds the first {} mismatching elements; {} more were counted but not listed (--max-rows)",
            t.mismatch_rows, t.mismatch_rows_dropped
        );
    }
    match t.first_failure {
        None => println!("PASS: {}/{} images bit-exact at every layer", t.clean, t.images),
        Some((img, layer)) => println!(
            "FAIL: {}/{} images bit-exact; {} timeouts; first failure: image {img}, layer {}",
            t.clean,
            t.images,
            t.timeouts,
            layer.name()
        ),
    }
}

/// `eval`: float and fixed-point accuracy of a weight directory on the test set.
pub fn eval(mnist_dir: &Path, weights: &Path) -> Result<()> {
    let test = mnist::load(mnist_dir, Split::Test)?;
    let qw = QuantWeights::load(weights)?;
    let fw = load_float(weights)?;
    let fixed: Vec<u8> = test.images.par_iter().map(|img| reference::run(&qw, img).class).collect();
    let n = test.len() as u64;
    let fixed_ok = fixed.iter().zip(&test.labels).filter(|(a, b)| a == b).count() as u64;
    println!("test images: {n}");
    println!("fixed-point accuracy: {fixed_ok}/{n} ({:.2} %)", pct(fixed_ok, n));
    match fw {
        None => println!("float accuracy: n/a ({} has no {SAFETENSORS})", weights.display()),
        Some(fw) => {
            let float: Vec<u8> = test.images.par_iter().map(|img| fw.classify(img)).collect();
            let float_ok = float.iter().zip(&test.labels).filter(|(a, b)| a == b).count() as u64;
            let changed = float.iter().zip(&fixed).filter(|(a, b)| a != b).count();
            println!("float accuracy: {float_ok}/{n} ({:.2} %)", pct(float_ok, n));
            println!("images whose class changes between float and fixed-point: {changed}");
        }
    }
    Ok(())
}

/// Quantizes `fw` into `.mem` files in `out`, printing every saturated value.
pub fn export(fw: &FloatWeights, out: &Path, rounding: Rounding) -> Result<()> {
    let (qw, sat) = memfile::quantize_all(fw, rounding);
    for s in &sat {
        eprintln!(
            "warning: {}: value {} at index {} is outside -128..127 and was saturated",
            out.join(s.file).display(),
            s.value,
            s.index
        );
    }
    qw.save(out)?;
    println!(
        "wrote {} ({} values saturated)",
        memfile::FILES.map(|f| out.join(f).display().to_string()).join(", "),
        sat.len()
    );
    Ok(())
}

/// `train`: the notebook's recipe; saves `model.safetensors` and the `.mem` files in `out`.
pub fn train(mnist_dir: &Path, out: &Path, cfg: &TrainConfig, rounding: Rounding) -> Result<()> {
    let tr = mnist::load(mnist_dir, Split::Train)?;
    let te = mnist::load(mnist_dir, Split::Test)?;
    let progress = std::io::stderr().is_terminal();
    let t0 = Instant::now();
    let fw = train::train(&tr, &te, cfg, progress, &mut |s| {
        println!(
            "Epoch {}: Test set: Average loss: {:.4}, Accuracy: {}/{} ({:.2}%)  [{:.1} s]",
            s.epoch,
            s.test_loss,
            s.correct,
            s.total,
            100.0 * s.correct as f64 / s.total as f64,
            s.seconds
        );
    })?;
    println!("training took {:.1} s", t0.elapsed().as_secs_f64());
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create output directory", out.display()))?;
    fw.save(&out.join(SAFETENSORS))?;
    export(&fw, out, rounding)
}
