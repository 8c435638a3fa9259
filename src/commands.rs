//! The subcommands' logic, called by the thin CLI in `main.rs`. Each returns an error for bad
//! input (exit 2); `verify` also says whether the RTL was bit-exact (exit 0) or not (exit 1).

use crate::baseline::Baseline;
use crate::compare::Layer;
use crate::debug;
use crate::driver::{self, Between, Config, ImageResult, Shard, Stimulus};
use crate::float_model::FloatWeights;
use crate::html::HtmlReport;
use crate::junit::JunitReport;
use crate::memfile::{self, QuantWeights, Rounding};
use crate::mnist::{self, Split};
use crate::reference::{self, Layers};
use crate::report::{Reports, Totals};
use crate::rtl;
use crate::stimulus;
#[cfg(feature = "train")]
use crate::train::{self, TrainConfig};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The float weights file inside a weight directory.
pub const SAFETENSORS: &str = "model.safetensors";

/// Where `verify`'s images and weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StimulusKind {
    /// MNIST test images with the weights of --weights.
    Mnist,
    /// Seeded random weight sets and images (src/stimulus.rs).
    Random,
}

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
    pub stimulus: StimulusKind,
    /// Random stimulus: weight sets 0..sets, or only `set`.
    pub sets: u64,
    pub set: Option<u64>,
    /// Random stimulus: images per weight set.
    pub count: usize,
    /// Debug one image (replaying its segment so the RTL state before it is the same).
    pub image: Option<usize>,
    pub dump: Option<PathBuf>,
    /// With `image`: write its FST waveform here.
    pub trace: Option<PathBuf>,
    /// Write FST waveforms of the first this-many failing images to `reports/waves/`.
    pub trace_failures: usize,
    /// Also write a JUnit XML file here.
    pub junit: Option<PathBuf>,
    /// Compare counts and RTL timing with this baseline; a change fails the run.
    pub baseline: Option<PathBuf>,
    /// Record this run's baseline here.
    pub write_baseline: Option<PathBuf>,
    pub driver: Config,
}

impl VerifyArgs {
    /// The command that reruns image `image` (of weight set `set`) alone with these options.
    pub fn repro_command(&self, set: Option<u64>, image: usize) -> String {
        let mut c = String::from("cnn-cosim verify");
        match set {
            Some(k) => c += &format!(" --stimulus random --seed {} --set {k}", self.driver.seed),
            None => {
                if self.mnist != Path::new(DEFAULT_MNIST) {
                    c += &format!(" --mnist {}", self.mnist.display());
                }
                if self.weights != Path::new(DEFAULT_WEIGHTS) {
                    c += &format!(" --weights {}", self.weights.display());
                }
                if self.driver.bubbles > 0.0 {
                    c += &format!(" --seed {}", self.driver.seed);
                }
            }
        }
        if self.driver.bubbles > 0.0 {
            c += &format!(" --bubbles {}", self.driver.bubbles);
        }
        if self.driver.between != Between::BackToBack {
            c += &format!(" --between {}", self.driver.between);
        }
        c + &format!(" --image {image}")
    }
}

/// Default `--mnist`.
pub const DEFAULT_MNIST: &str = "vectors/mnist";
/// Default `--weights`.
pub const DEFAULT_WEIGHTS: &str = "vectors/weights";

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

/// A weight set ready for the RTL: the values, and a directory holding their `.mem` files
/// (kept alive as long as the set is used).
struct WeightDir {
    qw: QuantWeights,
    path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl WeightDir {
    fn load(dir: &Path) -> Result<WeightDir> {
        let qw = QuantWeights::load(dir)?;
        let path = dir
            .canonicalize()
            .with_context(|| format!("{}: cannot resolve weight directory", dir.display()))?;
        Ok(WeightDir { qw, path, _tmp: None })
    }

    fn random(seed: u64, set: u64) -> Result<WeightDir> {
        let (qw, _) = stimulus::weight_set(seed, set);
        let tmp = tempfile::Builder::new()
            .prefix("cnn-cosim-weights-")
            .tempdir()
            .context("cannot create a temporary weight directory")?;
        qw.save(tmp.path())?;
        Ok(WeightDir { qw, path: tmp.path().to_path_buf(), _tmp: Some(tmp) })
    }
}

/// Bubble seed of random weight set `set`, so sets do not share bubble patterns.
fn set_seed(seed: u64, set: u64) -> u64 {
    seed ^ (set + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// `verify`: RTL against reference. Ok(true) when bit-exact everywhere.
pub fn verify(a: &VerifyArgs) -> Result<bool> {
    if let Some(i) = a.image {
        return debug_image(a, i);
    }
    let t0 = Instant::now();
    let baseline = a.baseline.as_deref().map(Baseline::load).transpose()?;
    let mut reports;
    let pb;
    let title;
    let run;
    let mut html = HtmlReport::new();
    let mut junit = JunitReport::new();
    match a.stimulus {
        StimulusKind::Mnist => {
            let test = mnist::load(&a.mnist, Split::Test)?;
            let range = select(a.start, a.limit, test.len())?;
            let wd = WeightDir::load(&a.weights)?;
            let fw = load_float(&a.weights)?;
            title = format!(
                "cnn-cosim verify: MNIST test images {}..{}{} from {}, weights {}, RTL {} ({})",
                range.start,
                range.end - 1,
                shard_note(&a.driver),
                a.mnist.display(),
                a.weights.display(),
                rtl::RTL_DIR,
                rtl::VERILATOR_VERSION
            );
            if !a.quiet {
                println!("{title}");
            }
            run = format!(
                "mnist images {}..{}, weights {}, {}, bubbles {}{}",
                range.start,
                range.end - 1,
                a.weights.display(),
                a.driver.between,
                a.driver.bubbles,
                shard_note(&a.driver)
            );
            junit.start_suite(format!("weights {}", a.weights.display()));
            reports = Reports::create(&a.reports, a.max_rows, fw.is_some())?;
            pb = progress_bar(range.len() as u64, a.quiet);
            let stim = Stimulus {
                images: &test.images[range.clone()],
                labels: Some(&test.labels[range.clone()]),
                first: range.start,
            };
            driver::run(&stim, &wd.qw, fw.as_ref(), &wd.path, &a.driver, |r| {
                pb.inc(1);
                html.push(&r, &test.images[r.index], None);
                junit.push(&r, None);
                reports.push(&r, None)
            })?;
            junit.end_suite(t0.elapsed().as_secs_f64());
        }
        StimulusKind::Random => {
            let sets: Vec<u64> = match a.set {
                Some(k) => vec![k],
                None => (0..a.sets).collect(),
            };
            let range = select(a.start, a.limit, a.count)?;
            let which = match a.set {
                Some(k) => k.to_string(),
                None => format!("0..{}", a.sets.saturating_sub(1)),
            };
            title = format!(
                "cnn-cosim verify: random stimulus, seed {}, weight sets {which}, images {}..{} per set{}, RTL {} ({})",
                a.driver.seed,
                range.start,
                range.end - 1,
                shard_note(&a.driver),
                rtl::RTL_DIR,
                rtl::VERILATOR_VERSION
            );
            if !a.quiet {
                println!("{title}");
            }
            run = format!(
                "random seed {}, weight sets {which}, images {}..{}, {}, bubbles {}{}",
                a.driver.seed,
                range.start,
                range.end - 1,
                a.driver.between,
                a.driver.bubbles,
                shard_note(&a.driver)
            );
            reports = Reports::create(&a.reports, a.max_rows, false)?;
            pb = progress_bar((sets.len() * range.len()) as u64, a.quiet);
            for &set in &sets {
                let t_set = Instant::now();
                let kind = stimulus::weight_set(a.driver.seed, set).1;
                junit.start_suite(format!(
                    "random weight set {set} ({kind}), seed {}",
                    a.driver.seed
                ));
                let wd = WeightDir::random(a.driver.seed, set)?;
                let images: Vec<_> =
                    range.clone().map(|i| stimulus::image(a.driver.seed, set, i as u64)).collect();
                let stim = Stimulus { images: &images, labels: None, first: range.start };
                let segs_per_set = a.count.div_ceil(driver::SEGMENT);
                let cfg = Config {
                    seed: set_seed(a.driver.seed, set),
                    shard: a
                        .driver
                        .shard
                        .map(|sh| Shard { base: set as usize * segs_per_set, ..sh }),
                    ..a.driver.clone()
                };
                driver::run(&stim, &wd.qw, None, &wd.path, &cfg, |r| {
                    pb.inc(1);
                    html.push(&r, &images[r.index - range.start], Some(set));
                    junit.push(&r, Some(set));
                    reports.push(&r, Some((set, a.driver.seed)))
                })?;
                junit.end_suite(t_set.elapsed().as_secs_f64());
            }
        }
    }
    pb.finish_and_clear();
    let t = reports.finish()?;
    let secs = t0.elapsed().as_secs_f64();
    let repro = t.first_failure.map(|f| a.repro_command(f.set, f.image));
    html.write(&a.reports.join("index.html"), &t, &title, secs, repro.as_deref())?;
    if let Some(path) = &a.junit {
        junit.write(path, &|set, image| a.repro_command(set, image))?;
    }
    print_summary(&t, a, secs);
    let now = Baseline::from_totals(&run, &t);
    if let Some(path) = &a.write_baseline {
        now.save(path)?;
        println!("baseline written to {}", path.display());
    }
    let mut regressed = false;
    if let (Some(base), Some(path)) = (&baseline, &a.baseline) {
        let (worse, better) = base.compare(&now, path)?;
        for w in &worse {
            println!("baseline REGRESSION: {w}");
        }
        for b in &better {
            println!("baseline: {b}; record it with --write-baseline {}", path.display());
        }
        if worse.is_empty() {
            println!("baseline: counts and RTL timing match {}", path.display());
        }
        regressed = !worse.is_empty();
    }
    if a.trace_failures > 0 && !t.failures.is_empty() {
        let dir = a.reports.join("waves");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create waveform directory", dir.display()))?;
        for f in t.failures.iter().take(a.trace_failures) {
            let name = match f.set {
                Some(k) => format!("set{k}_image{}.fst", f.image),
                None => format!("image{}.fst", f.image),
            };
            let path = dir.join(name);
            replay(a, f.set, f.image, Some(&path))?;
            let set = f.set.map(|k| format!("weight set {k}, ")).unwrap_or_default();
            println!("waveform of {set}image {}: {}", f.image, path.display());
        }
    }
    Ok(t.clean == t.images && !regressed)
}

/// `, shard K/N` for sharded runs.
fn shard_note(c: &Config) -> String {
    c.shard.map(|s| format!(", shard {}/{}", s.index, s.count)).unwrap_or_default()
}

/// `start .. start+limit`, clipped to `len`, and never empty.
fn select(start: usize, limit: Option<usize>, len: usize) -> Result<std::ops::Range<usize>> {
    if start >= len {
        bail!("--start {start} is past the last image ({})", len.saturating_sub(1));
    }
    let end = limit.map_or(len, |l| (start + l).min(len));
    if end == start {
        bail!("--limit 0 selects no images");
    }
    Ok(start..end)
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
    println!("argmax ties (equal top logits in the reference): {} images", t.ties);
    if t.cycles_n > 0 {
        println!(
            "cycles per image (first pixel to class_valid): {:.1}; latency last pixel to class_valid: {}..{} cycles",
            t.cycles_sum as f64 / t.cycles_n as f64,
            t.latency_min.unwrap_or(0),
            t.latency_max.unwrap_or(0)
        );
    }
    let rss = crate::bench::peak_rss_kib()
        .map(|k| format!(", peak RSS {:.1} MB (peak_rss_kib={k})", k as f64 / 1024.0))
        .unwrap_or_default();
    println!(
        "wall time {:.2} s, {:.0} images/s, {} jobs, {}{}{rss}; reports in {}",
        secs,
        t.images as f64 / secs,
        a.driver.jobs,
        a.driver.between,
        if a.driver.bubbles > 0.0 {
            format!(", bubbles {}", a.driver.bubbles)
        } else {
            String::new()
        },
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
        Some(f) => {
            let set = f.set.map(|s| format!("weight set {s}, ")).unwrap_or_default();
            println!(
                "FAIL: {}/{} images bit-exact; {} timeouts; first failure: {set}image {}, layer {}",
                t.clean,
                t.images,
                t.timeouts,
                f.image,
                f.layer.name()
            );
            println!("reproduce it alone: {}", a.repro_command(f.set, f.image));
        }
    }
}

/// One image replayed: its result with the full capture, and what the reference expected.
struct Replay {
    result: ImageResult,
    expected: Layers,
    what: String,
    seg_start: usize,
}

/// Replays image `index` (of random weight set `set`, or of MNIST) from the start of its
/// segment, exactly as a full run streams it, keeping its capture; with `trace`, writes its
/// FST waveform there (via a temporary file renamed at the end).
fn replay(a: &VerifyArgs, set: Option<u64>, index: usize, trace: Option<&Path>) -> Result<Replay> {
    let seg_start = index / driver::SEGMENT * driver::SEGMENT;
    let (images, labels, wd, fw, cfg, what);
    match set {
        None => {
            let test = mnist::load(&a.mnist, Split::Test)?;
            if index >= test.len() {
                bail!("--image {index} is past the last test image ({})", test.len() - 1);
            }
            images = test.images[seg_start..=index].to_vec();
            labels = Some(test.labels[seg_start..=index].to_vec());
            wd = WeightDir::load(&a.weights)?;
            fw = load_float(&a.weights)?;
            cfg = a.driver.clone();
            what = format!("MNIST test image {index}");
        }
        Some(set) => {
            images = (seg_start..=index)
                .map(|i| stimulus::image(a.driver.seed, set, i as u64))
                .collect();
            labels = None;
            wd = WeightDir::random(a.driver.seed, set)?;
            fw = None;
            cfg = Config { seed: set_seed(a.driver.seed, set), ..a.driver.clone() };
            what = format!(
                "random image {index} ({}) of weight set {set} ({}), seed {}",
                stimulus::image_kind(index as u64),
                stimulus::weight_set(a.driver.seed, set).1,
                a.driver.seed
            );
        }
    }
    let tmp_trace = trace.map(memfile::tmp_path);
    let stim = Stimulus { images: &images, labels: labels.as_deref(), first: seg_start };
    let cfg = Config { keep_capture: Some(index), jobs: 1, trace: tmp_trace.clone(), ..cfg };
    let mut result = None;
    driver::run(&stim, &wd.qw, fw.as_ref(), &wd.path, &cfg, |r| {
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
    let expected = reference::run(&wd.qw, &images[index - seg_start]);
    Ok(Replay { result, expected, what, seg_start })
}

/// `verify --image N`: replays N's segment up to N and shows each layer of N.
fn debug_image(a: &VerifyArgs, index: usize) -> Result<bool> {
    let set = match a.stimulus {
        StimulusKind::Mnist => None,
        StimulusKind::Random => Some(a.set.unwrap_or(0)),
    };
    let Replay { result: r, expected, what, seg_start } =
        replay(a, set, index, a.trace.as_deref())?;
    let capture = r.capture.clone().unwrap_or_default();
    println!(
        "{what}: status {}, replayed from image {seg_start} ({})",
        r.status(),
        a.driver.between
    );
    println!(
        "class: reference {}, RTL {}{}",
        expected.class,
        r.rtl_class.map_or("none".into(), |c| c.to_string()),
        r.label.map(|l| format!(", label {l}")).unwrap_or_default()
    );
    debug::print_layers(&expected, &capture, &r.cmp);
    if let Some(dir) = &a.dump {
        debug::dump(dir, &expected, &capture)?;
        println!("wrote {}/{{conv1,pool1,fc1}}.csv", dir.display());
    }
    if let Some(t) = &a.trace {
        println!("wrote {}", t.display());
    }
    Ok(r.cmp.is_clean() && !r.timed_out)
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

#[cfg(feature = "train")]
/// `train`: the notebook's recipe; saves `model.safetensors` and the `.mem` files in `out`.
pub fn train(mnist_dir: &Path, out: &Path, cfg: &TrainConfig, rounding: Rounding) -> Result<()> {
    let tr = mnist::load(mnist_dir, Split::Train)?;
    let te = mnist::load(mnist_dir, Split::Test)?;
    let progress = std::io::stderr().is_terminal();
    let t0 = Instant::now();
    let fw = train::train(&tr, &te, cfg, progress, &mut |s| {
        println!("Epoch {}: {s}  [{:.1} s]", s.epoch, s.seconds);
    })?;
    println!("training took {:.1} s", t0.elapsed().as_secs_f64());
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create output directory", out.display()))?;
    fw.save(&out.join(SAFETENSORS))?;
    export(&fw, out, rounding)
}
