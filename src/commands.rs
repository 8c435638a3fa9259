//! The subcommands' logic, called by the thin CLI in `main.rs`. Each returns an error for bad
//! input (exit 2); `verify` also says whether the RTL was bit-exact (exit 0) or not (exit 1).

use crate::baseline::Baseline;
use crate::calibrate;
use crate::debug;
use crate::float_model::FloatWeights;
use crate::html::HtmlReport;
use crate::junit::JunitReport;
use crate::memfile::Rounding;
use crate::mnist::{self, Image, Split};
use crate::network::Network;
use crate::plan::{self, Plan, SetRun, StimulusKind, VerifyArgs};
use crate::reference::Outputs;
use crate::report::{Reports, Totals};
use crate::report_set::ReportSet;
use crate::sim::driver::{self, Config, ImageResult, Reference, Stimulus};
use crate::sim::verilate::XInit;
use crate::sink::{RunEnd, SetInfo, Sink};
#[cfg(feature = "train")]
use crate::train::{self, TrainConfig};
use crate::weights::Params;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

/// `100 · n / d`, 0 when `d` is 0.
pub(crate) fn pct(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

/// The progress bar: a sink that counts images (hidden when quiet or not on a terminal).
struct Progress(ProgressBar);

impl Progress {
    fn new(len: u64, quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(ProgressBar::hidden());
        }
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Progress(pb)
    }
}

impl Sink for Progress {
    fn push(&mut self, _: &ImageResult, _: &Image, _: &SetInfo) -> Result<()> {
        self.0.inc(1);
        Ok(())
    }

    fn finish(&mut self, _: &RunEnd) -> Result<()> {
        self.0.finish_and_clear();
        Ok(())
    }
}

/// `verify`: RTL against reference. Ok(true) when bit-exact everywhere.
pub fn verify(a: &VerifyArgs) -> Result<bool> {
    let mut a = a.clone();
    a.load_design()?;
    let a = &a;
    let net = a.network()?;
    let b = &a.design().binding;
    if b.host.is_none() {
        driver::check_input_width(&net)?;
    }
    a.design().check_taps(&net)?;
    if b.host.is_some() && (a.bubbles > 0.0 || a.between.is_some()) {
        anyhow::bail!(
            "{}: a host-driven design ([bus], [host]) has no pixel stream: --bubbles and \
             --between do not apply (its host program says when each image goes in)",
            b.source
        );
    }
    if b.input.valid.is_none() && a.bubbles > 0.0 {
        anyhow::bail!(
            "{}: [input] has no valid, so the design takes a pixel every clock and the driver \
             cannot pause inside an image: --bubbles {} cannot apply",
            b.source,
            a.bubbles
        );
    }
    if let Some(i) = a.image {
        return debug_image(a, &net, i);
    }
    let t0 = Instant::now();
    let baseline = a.baseline.as_deref().map(Baseline::load).transpose()?;
    let mut plan = Plan::new(a, &net)?;
    crate::interrupt::install()?;
    let mut set = ReportSet::begin(&a.reports)?;
    if !a.quiet {
        println!("{}", plan.title);
    }
    let mut done = 0u64;
    let result = verify_into(a, &net, &mut plan, &mut set, baseline.as_ref(), t0, &mut done);
    if let Err(e) = &result {
        if let Some(i) = e.downcast_ref::<crate::interrupt::Interrupted>() {
            let kept = if ReportSet::has_published(&a.reports) {
                "keeps its previous run"
            } else {
                "holds no run"
            };
            return Err(crate::interrupt::Interrupted {
                signal: i.signal,
                detail: format!(
                    "after {done} of {} images; nothing was published: {} {kept}",
                    plan.images,
                    a.reports.display()
                ),
            }
            .into());
        }
    }
    let ok = result?;
    set.publish()?;
    Ok(ok)
}

/// The body of [`verify`]: every output into `set`'s run directory; `done` counts the
/// images finished. Ok(true) when bit-exact everywhere.
fn verify_into(
    a: &VerifyArgs,
    net: &Network,
    plan: &mut Plan,
    set: &mut ReportSet,
    baseline: Option<&Baseline>,
    t0: Instant,
    done: &mut u64,
) -> Result<bool> {
    // The results flow one way: driver → CSV reports (which keep the totals) → every sink.
    let taps: Vec<_> = net.taps().into_iter().filter(|t| a.design().brings_out(t)).collect();
    let mut reports =
        Reports::create(set, &taps, a.max_rows, plan.has_float, a.design().binding.host.is_some())?;
    let mut sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(Progress::new(plan.images as u64, a.quiet)),
        Box::new(HtmlReport::new(&taps, set.path("index.html")).input(net.input, net.input_type)),
    ];
    if let Some(path) = &a.junit {
        sinks.push(Box::new(
            JunitReport::new(&taps, set.output(path)?).with_untapped(a.design().untapped(net)),
        ));
    }
    let (title, run) = (plan.title.clone(), plan.run.clone());
    // With --coverage each model's counts land here, merged when the run ends.
    let coverage_parts = if a.coverage {
        let d = set.path("coverage-parts");
        std::fs::create_dir_all(&d).with_context(|| format!("{}: cannot create", d.display()))?;
        Some(d)
    } else {
        None
    };
    for sr in plan.sets(a, net) {
        let sr = sr?;
        let t_set = Instant::now();
        sinks.iter_mut().for_each(|s| s.start_set(&sr.info));
        let reference = Reference::new(net, &sr.wd.params, a.design());
        let stim = Stimulus { images: &sr.images, labels: sr.labels.as_deref(), first: sr.first };
        let (wpath, _keep) = plan::design_weights(&sr.wd, net, a.design())?;
        let cfg = driver::Config { coverage: coverage_parts.clone(), ..sr.cfg.clone() };
        driver::run(&stim, &reference, sr.fw.as_ref(), &wpath, &cfg, |r| {
            let image = &sr.images[r.index - sr.first];
            reports.push(&r, sr.info.set.map(|k| (k, sr.info.seed)))?;
            *done += 1;
            sinks.iter_mut().try_for_each(|s| s.push(&r, image, &sr.info))
        })?;
        sinks.iter_mut().for_each(|s| s.end_set(t_set.elapsed().as_secs_f64()));
    }
    let mut t = reports.finish()?;
    t.untapped = a.design().untapped(net);
    let coverage = match &coverage_parts {
        Some(parts) => Some(crate::coverage::finish(
            parts,
            &set.path("coverage.dat"),
            &set.path("coverage.info"),
        )?),
        None => None,
    };
    let secs = t0.elapsed().as_secs_f64();
    let repro = |set: Option<u64>, image: usize| a.repro_command(set, image);
    let end =
        RunEnd { totals: &t, title: &title, secs, repro: &repro, coverage: coverage.as_ref() };
    sinks.iter_mut().try_for_each(|s| s.finish(&end))?;
    if !a.silent {
        print_summary(&t, a, secs);
    }
    if let Some(c) = coverage.as_ref().filter(|_| !a.silent) {
        println!(
            "{}; {} and coverage.info (lcov)",
            c.line(),
            a.reports.join("coverage.dat").display()
        );
    }
    let regressed = check_baseline(a, set, &run, &t, baseline)?;
    write_failure_waves(a, set, net, &t)?;
    crate::interrupt::check(String::new)?;
    Ok(t.clean == t.images && !regressed)
}

/// `--write-baseline` / `--baseline`: records this run, or compares it; Ok(true) when a
/// count changed or the RTL got slower.
fn check_baseline(
    a: &VerifyArgs,
    set: &mut ReportSet,
    run: &str,
    t: &Totals,
    baseline: Option<&Baseline>,
) -> Result<bool> {
    let now = Baseline::from_totals(run, t);
    if let Some(path) = &a.write_baseline {
        now.save(&set.beside(path)?)?;
        println!("baseline written to {}", path.display());
    }
    let (Some(base), Some(path)) = (baseline, &a.baseline) else { return Ok(false) };
    let names: Vec<String> = t.layers.iter().map(|l| l.name.clone()).collect();
    let (worse, better) = base.compare(&now, &names, path)?;
    for w in &worse {
        println!("baseline REGRESSION: {w}");
    }
    for b in &better {
        println!("baseline: {b}; record it with --write-baseline {}", path.display());
    }
    if worse.is_empty() {
        println!("baseline: counts and RTL timing match {}", path.display());
    }
    Ok(!worse.is_empty())
}

/// `--trace-failures K`: replays the first K failing images with the traced model.
fn write_failure_waves(a: &VerifyArgs, set: &ReportSet, net: &Network, t: &Totals) -> Result<()> {
    if a.trace_failures == 0 || t.failures.is_empty() {
        return Ok(());
    }
    crate::report_set::fault("waves")?;
    let dir = set.path("waves");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create waveform directory", dir.display()))?;
    for f in t.failures.iter().take(a.trace_failures) {
        crate::interrupt::check(String::new)?;
        let name = match f.set {
            Some(k) => format!("set{k}_image{}.fst", f.image),
            None => format!("image{}.fst", f.image),
        };
        replay(a, net, f.set, f.image, Some(&dir.join(&name)))?;
        let ws = f.set.map(|k| format!("weight set {k}, ")).unwrap_or_default();
        let shown = a.reports.join("waves").join(&name);
        println!("waveform of {ws}image {}: {}", f.image, shown.display());
    }
    Ok(())
}

fn print_summary(t: &Totals, a: &VerifyArgs, secs: f64) {
    let d = a.driver();
    if a.x_init == XInit::Unique {
        println!(
            "registers without a reset started from random values (--x-init unique, Verilator \
             seed from --seed {}): a design that reads one before resetting it fails here",
            a.seed
        );
    }
    println!(
        "layer   elements     mismatching  images_with_mismatch  max_abs_diff   on the RTL's own input: mismatching  images"
    );
    for l in &t.layers {
        println!(
            "{:<7} {:<12} {:<12} {:<21} {:<14} {:<36} {}",
            l.name,
            l.elements,
            l.mismatching_elements,
            l.images_with_mismatch,
            l.max_abs_diff,
            l.local_mismatching_elements,
            l.local_images_with_mismatch
        );
    }
    let overflowed: Vec<String> = t
        .layers
        .iter()
        .filter(|l| l.ref_overflowed.total() > 0)
        .map(|l| {
            let r = l.ref_overflowed;
            format!("{} {} ({} low, {} high)", l.name, r.total(), r.low, r.high)
        })
        .collect();
    if !overflowed.is_empty() {
        println!(
            "values the overflow rule saturated or wrapped in the reference (layers.csv \
             ref_overflowed_low, _high): {}",
            overflowed.join(", ")
        );
    }
    let reached: Vec<String> = t
        .layers
        .iter()
        .filter_map(|l| {
            let (lo, hi) = l.ref_range?;
            let pct = l.range_reached_pct()?;
            Some(format!("{} {lo}..{hi} {pct:.0} %", l.name))
        })
        .collect();
    if !reached.is_empty() {
        println!(
            "reference values reached, of the range the description derives (layers.csv \
             ref_min, ref_max, range_reached_pct): {}",
            reached.join(", ")
        );
    }
    let beats: Vec<String> = t
        .layers
        .iter()
        .filter(|l| l.missing_beats + l.extra_beats > 0)
        .map(|l| format!("{} {} missing, {} extra", l.name, l.missing_beats, l.extra_beats))
        .collect();
    if !beats.is_empty() {
        println!(
            "beats, apart from the values (layers.csv missing_beats, extra_beats): {}",
            beats.join("; ")
        );
    }
    let ignored: Vec<String> = t
        .layers
        .iter()
        .filter(|l| l.ignored_beats > 0)
        .map(|l| format!("{} {}", l.name, l.ignored_beats))
        .collect();
    if !ignored.is_empty() {
        println!(
            "beats after each layer's count ignored, as the binding says (beats = \"first\"; \
             layers.csv ignored_beats): {}",
            ignored.join(", ")
        );
    }
    if t.labelled > 0 {
        let float = if t.has_float {
            format!("{:.2} %", pct(t.float_correct, t.labelled))
        } else {
            "n/a (no model.safetensors)".into()
        };
        println!(
            "accuracy: RTL {:.2} %, reference {:.2} %, float {float}",
            pct(t.rtl_correct, t.labelled),
            pct(t.ref_correct, t.labelled)
        );
    }
    if !t.untapped.is_empty() {
        println!(
            "not tapped by the binding, not compared: {} (the verdict covers the layers listed \
             above)",
            t.untapped.join(", ")
        );
    }
    println!("argmax ties (equal top logits in the reference): {} images", t.ties);
    if t.cycle_split && t.cycles_n > 0 {
        let n = t.cycles_n as f64;
        println!(
            "cycles per image (first image write to class): {:.1} = image load {:.1} + compute {:.1} \
             (start to class, {}..{}); weights {} per load, {} load{} (after each reset)",
            t.cycles_sum as f64 / n,
            t.load_sum as f64 / n,
            t.compute_sum as f64 / n,
            t.latency_min.unwrap_or(0),
            t.latency_max.unwrap_or(0),
            t.weight_cycles_sum / t.weight_loads.max(1),
            t.weight_loads,
            if t.weight_loads == 1 { "" } else { "s" }
        );
    } else if t.cycles_n > 0 {
        println!(
            "cycles per image (first pixel to class_valid): {:.1}; latency last pixel to class_valid: {}..{} cycles",
            t.cycles_sum as f64 / t.cycles_n as f64,
            t.latency_min.unwrap_or(0),
            t.latency_max.unwrap_or(0)
        );
    }
    if t.interval_n > 0 {
        println!(
            "throughput: {:.1} cycles per image (first pixel to the next image's first pixel, {} \
             images in the stream)",
            t.interval_sum as f64 / t.interval_n as f64,
            t.interval_n
        );
    }
    let rss = crate::bench::peak_rss_kib()
        .map(|k| format!(", peak RSS {:.1} MB (peak_rss_kib={k})", k as f64 / 1024.0))
        .unwrap_or_default();
    println!(
        "wall time {:.2} s, {:.0} images/s, {} jobs, {}{}{rss}; reports in {}",
        secs,
        t.images as f64 / secs,
        d.jobs,
        match &d.design.binding.host {
            Some(h) => format!("host-driven over {}", h.protocol.name()),
            None => d.between.to_string(),
        },
        if d.bubbles > 0.0 { format!(", bubbles {}", d.bubbles) } else { String::new() },
        a.reports.display()
    );
    if t.mismatch_rows_dropped > 0 {
        println!(
            "mismatches.csv holds the first {} mismatching elements; {} more were counted but not listed (--max-rows)",
            t.mismatch_rows, t.mismatch_rows_dropped
        );
    }
    if let Some((image, what)) = &t.first_protocol {
        println!(
            "protocol: {} images with a handshake problem; the first, image {image}: {what}",
            t.protocol_images
        );
    }
    let local_bad: Vec<&str> = t
        .layers
        .iter()
        .filter(|l| l.local_mismatching_elements > 0)
        .map(|l| l.name.as_str())
        .collect();
    match t.first_failure {
        None if t.untapped.is_empty() => {
            println!("PASS: {}/{} images bit-exact at every layer", t.clean, t.images)
        }
        None => println!(
            "PASS: {}/{} images bit-exact at every compared layer ({} not tapped)",
            t.clean,
            t.images,
            t.untapped.join(", ")
        ),
        Some(f) => {
            let set = f.set.map(|s| format!("weight set {s}, ")).unwrap_or_default();
            let stopped = match t.stopped {
                0 => String::new(),
                n => format!(" ({n} of them in flight when the RTL ended the simulation)"),
            };
            println!(
                "FAIL: {}/{} images bit-exact; {} timeouts{stopped}; first failure: {set}image {}, \
                 layer {}",
                t.clean,
                t.images,
                t.timeouts,
                f.image,
                t.layer_name(f.layer)
            );
            if !local_bad.is_empty() {
                println!("wrong on the RTL's own input (layer-local): {}", local_bad.join(", "));
            }
            println!("reproduce it alone: {}", a.repro_command(f.set, f.image));
        }
    }
}

/// One image replayed: its result with the full capture, and what the reference expected.
struct Replay {
    result: ImageResult,
    expected: Outputs,
    what: String,
    seg_start: usize,
}

/// Replays image `index` (of random weight set `set`, or of MNIST) from the start of its
/// segment, exactly as a full run streams it, keeping its capture; with `trace`, writes its
/// FST waveform there (via a temporary file renamed at the end).
fn replay(
    a: &VerifyArgs,
    net: &Network,
    set: Option<u64>,
    index: usize,
    trace: Option<&Path>,
) -> Result<Replay> {
    let (sr, what) = SetRun::segment(a, net, set, index)?;
    let seg_start = sr.first;
    let tmp_trace = trace.map(crate::memfile::tmp_path);
    let stim = Stimulus { images: &sr.images, labels: sr.labels.as_deref(), first: seg_start };
    let cfg = Config { keep_capture: Some(index), jobs: 1, trace: tmp_trace.clone(), ..sr.cfg };
    let reference = Reference::new(net, &sr.wd.params, a.design());
    let mut result = None;
    let (wpath, _keep) = plan::design_weights(&sr.wd, net, a.design())?;
    driver::run(&stim, &reference, sr.fw.as_ref(), &wpath, &cfg, |r| {
        if r.index == index {
            result = Some(r);
        }
        Ok(())
    })?;
    if let (Some(tmp), Some(path)) = (&tmp_trace, trace) {
        std::fs::rename(tmp, path)
            .with_context(|| format!("{}: cannot write waveform", path.display()))?;
    }
    let result = result.context("internal error: the replayed image produced no result")?;
    let expected = reference.run(&sr.images[index - seg_start]);
    Ok(Replay { result, expected, what, seg_start })
}

/// `verify --image N`: replays N's segment up to N and shows each layer of N.
fn debug_image(a: &VerifyArgs, net: &Network, index: usize) -> Result<bool> {
    let set = match a.stimulus {
        StimulusKind::Mnist => None,
        StimulusKind::Random => Some(a.set.unwrap_or(0)),
    };
    let Replay { result: r, expected, what, seg_start } =
        replay(a, net, set, index, a.trace.as_deref())?;
    let taps: Vec<_> = net.taps().into_iter().filter(|t| a.design().brings_out(t)).collect();
    let capture = r.capture.clone().unwrap_or_else(|| crate::compare::Capture::for_taps(&taps));
    println!(
        "{what}: status {}, replayed from image {seg_start} ({})",
        r.status(),
        a.driver().between
    );
    println!(
        "class: reference {}, RTL {}{}",
        expected.class,
        r.rtl_class.map_or("none".into(), |c| c.to_string()),
        r.label.map(|l| format!(", label {l}")).unwrap_or_default()
    );
    debug::print_layers(&taps, &expected, &capture, &r.cmp);
    let local: Vec<String> = taps
        .iter()
        .zip(&r.cmp.local_counts)
        .filter(|(_, &n)| n > 0)
        .map(|(t, n)| format!("{} ({n})", t.name))
        .collect();
    if !local.is_empty() {
        println!("wrong on the RTL's own input (layer-local): {}", local.join(", "));
    }
    if let Some(dir) = &a.dump {
        let names = debug::dump(dir, &taps, &expected, &capture)?;
        println!("wrote {}/{{{}}}", dir.display(), names.join(","));
    }
    if let Some(t) = &a.trace {
        println!("wrote {}", t.display());
    }
    Ok(r.cmp.is_clean() && !r.timed_out)
}

/// Training images a calibrated export runs through the float model.
pub const CALIBRATION_IMAGES: usize = 5000;

/// Quantizes `fw` into the network's `.mem` files in `out`, printing every saturated value:
/// by each tensor's fixed scale, or — for a network that loads its requantization with its
/// weights — calibrated on the first [`CALIBRATION_IMAGES`] training images in `mnist_dir`.
pub fn export(
    net: &Network,
    fw: &FloatWeights,
    mnist_dir: &Path,
    out: &Path,
    rounding: Rounding,
) -> Result<()> {
    let calibrated = net.layers.iter().any(|l| l.op.arith().is_some_and(|a| a.loaded.any()));
    let (params, sat) = if calibrated {
        let mut train = mnist::load(mnist_dir, Split::Train)?;
        train.images.truncate(CALIBRATION_IMAGES);
        let r = calibrate::calibrate(net, fw, &train.images)?;
        println!("calibrated on the first {} training images", train.images.len());
        r
    } else {
        Params::quantize(net, fw, rounding)?
    };
    for s in &sat {
        eprintln!(
            "warning: {}: value {} at index {} is outside its declared width and was saturated",
            out.join(&s.file).display(),
            s.value,
            s.index
        );
    }
    let files = params.save(net, out)?;
    // Every file by name up to a handful; beyond, how many.
    let listed = if files.len() <= 12 {
        files.iter().map(|f| out.join(f).display().to_string()).collect::<Vec<_>>().join(", ")
    } else {
        format!("{} files to {}", files.len(), out.display())
    };
    println!("wrote {listed} ({} values saturated)", sat.len());
    Ok(())
}

#[cfg(feature = "train")]
/// `train`: the notebook's recipe; saves `model.safetensors` and the `.mem` files in `out`.
pub fn train(
    net: &Network,
    mnist_dir: &Path,
    out: &Path,
    cfg: &TrainConfig,
    rounding: Rounding,
) -> Result<()> {
    let tr = mnist::load(mnist_dir, Split::Train)?;
    let te = mnist::load(mnist_dir, Split::Test)?;
    let progress = std::io::stderr().is_terminal();
    let t0 = Instant::now();
    let fw = train::train(net, &tr, &te, cfg, progress, &mut |s| {
        println!("Epoch {}: {s}  [{:.1} s]", s.epoch, s.seconds);
    })?;
    println!("training took {:.1} s", t0.elapsed().as_secs_f64());
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create output directory", out.display()))?;
    fw.save(&out.join(crate::float_model::SAFETENSORS))?;
    export(net, &fw, mnist_dir, out, rounding)
}
