//! The subcommands' logic, called by the thin CLI in `main.rs`. Each returns an error for bad
//! input (exit 2); `verify` also says whether the RTL was bit-exact (exit 0) or not (exit 1).

use crate::baseline::Baseline;
use crate::calibrate;
use crate::data;
use crate::debug;
use crate::driver::{self, Between, Config, ImageResult, Reference, Shard, Stimulus};
use crate::float_model::FloatWeights;
use crate::html::HtmlReport;
use crate::junit::JunitReport;
use crate::memfile::Rounding;
use crate::mnist::{self, Image, Split};
use crate::network::Network;
use crate::reference::Outputs;
use crate::report::{Reports, Totals};
use crate::report_set::ReportSet;
use crate::sink::{RunEnd, SetInfo, Sink};
use crate::stimulus;
#[cfg(feature = "train")]
use crate::train::{self, TrainConfig};
use crate::verilate::XInit;
use crate::weights::Params;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
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

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability in [0, 1)"))
    }
}

/// Options of `verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The network: a name from vectors/networks/ or a description file (.toml); default:
    /// the one the RTL's binding names (the seed network for the built-in RTL).
    #[arg(long, value_name = "NAME|FILE")]
    pub net: Option<String>,
    /// Verify the design in DIR through its binding (DIR/binding.toml): Verilated and
    /// compiled at run time into a cache, then loaded. Default: the RTL built in.
    #[arg(long, value_name = "DIR")]
    pub rtl: Option<PathBuf>,
    /// The binding file (instead of DIR/binding.toml; the RTL is found from it).
    #[arg(long, value_name = "FILE")]
    pub bind: Option<PathBuf>,
    /// Directory with the four MNIST IDX files (raw or .gz).
    #[arg(long, default_value = DEFAULT_MNIST)]
    pub mnist: PathBuf,
    /// Test images from a file instead of MNIST: IDX or .npy, N×28×28 or N×1×28×28, values
    /// 0..255 (with --labels).
    #[arg(long, value_name = "FILE", requires = "labels")]
    pub images: Option<PathBuf>,
    /// Their labels: IDX or .npy, N values 0..9 (with --images).
    #[arg(long, value_name = "FILE", requires = "images")]
    pub labels: Option<PathBuf>,
    /// Directory with the network's .mem files (and optionally model.safetensors); default:
    /// the one the network description names.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Where summary.csv, mismatches.csv, layers.csv and index.html are written.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// First image (of the test set, or of each random weight set).
    #[arg(long, default_value_t = 0)]
    pub start: usize,
    /// How many images (default: all from --start).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Worker threads, one RTL model each (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// At most this many rows in mismatches.csv (every mismatch is still counted).
    #[arg(long, default_value_t = 100_000)]
    pub max_rows: u64,
    /// MNIST images with --weights, or seeded random weight sets and images.
    #[arg(long, value_enum, default_value_t = StimulusKind::Mnist)]
    pub stimulus: StimulusKind,
    /// Seed of the random stimulus and of the bubble pattern.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Random stimulus: number of weight sets.
    #[arg(long, default_value_t = 20)]
    pub sets: u64,
    /// Random stimulus: run only this weight set.
    #[arg(long)]
    pub set: Option<u64>,
    /// Random stimulus: images per weight set.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Probability of an idle cycle before each pixel.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub bubbles: f64,
    /// Between images: back-to-back, idle:N (N idle cycles) or reset; default: what the
    /// RTL's binding says (back-to-back for the built-in RTL).
    #[arg(long)]
    pub between: Option<Between>,
    /// Same as --between reset.
    #[arg(long, conflicts_with = "between")]
    pub reset_each: bool,
    /// Debug one image: print each layer around its first mismatch (no reports written).
    #[arg(long)]
    pub image: Option<usize>,
    /// With --image: write <layer>.csv of every tapped layer of that image into DIR.
    #[arg(long, requires = "image")]
    pub dump: Option<PathBuf>,
    /// With --image: write an FST waveform of that image (open it in GTKWave or Surfer).
    #[arg(long, requires = "image", value_name = "FILE.fst")]
    pub trace: Option<PathBuf>,
    /// Write FST waveforms of the first K failing images to <reports>/waves/.
    #[arg(long, default_value_t = 0, value_name = "K")]
    pub trace_failures: usize,
    /// Also write a JUnit XML file (one testsuite per weight set, one testcase per layer).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Compare counts, accuracy and RTL timing with a recorded baseline; any change in a
    /// count, or a slower RTL, fails the run (exit 1).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record this run's counts and RTL timing as a baseline.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Run only the K-th of N disjoint slices (500-image segments dealt round-robin);
    /// `merge` combines the shards' reports.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Registers the design does not reset start at zero (fast), or random from --seed
    /// (unique: Verilator's --x-initial unique, a model of its own; the reset-bug lane).
    #[arg(long, value_enum, default_value_t = XInit::Fast)]
    pub x_init: XInit,
    /// Print only the summary (no header, no progress bar).
    #[arg(long)]
    pub quiet: bool,
    /// The design under test, once built ([`VerifyArgs::load_design`]); the built-in RTL
    /// until then.
    #[arg(skip)]
    pub design: Option<&'static crate::rtl::Design>,
}

impl VerifyArgs {
    /// The design under test.
    pub fn design(&self) -> &'static crate::rtl::Design {
        self.design.unwrap_or_else(crate::rtl::Design::built_in)
    }

    /// With `--rtl`/`--bind`: reads the binding, builds (or finds in the cache) and loads
    /// the design; prints what was built unless quiet.
    /// Without them, a trace (`--trace`, `--trace-failures`) builds the compiled-in RTL's
    /// FST-traced model (and its fast twin) the same way: nothing traced is compiled in.
    pub fn load_design(&mut self) -> Result<()> {
        let traced = self.trace.is_some() || self.trace_failures > 0;
        let binding = match (&self.rtl, &self.bind) {
            (None, None) if !traced && self.x_init == XInit::Fast => return Ok(()),
            (None, None) => crate::binding::Binding::compiled_in()?,
            (rtl, bind) => {
                let rtl = rtl.clone().unwrap_or_else(|| PathBuf::from("."));
                crate::binding::Binding::find(&rtl, bind.as_deref())?
            }
        };
        let (design, info) = crate::verilate::build_with(binding, traced, self.x_init, self.quiet)?;
        if !self.quiet && info.compile_secs > 0.0 {
            println!("compiled {} in {:.1} s", design.label(), info.compile_secs);
        }
        self.design = Some(design);
        Ok(())
    }

    /// The network: `--net`, else the one the design's binding names.
    pub fn network(&self) -> Result<Network> {
        match (&self.net, self.design) {
            (Some(n), _) => Network::find(n),
            (None, Some(d)) => Ok(d.binding.network.clone()),
            (None, None) => Network::find(crate::network::DEFAULT_NET),
        }
    }

    /// `--between`, else the binding's.
    fn between(&self) -> Between {
        if self.reset_each {
            return Between::Reset;
        }
        self.between
            .unwrap_or_else(|| self.design().binding.between.parse().unwrap_or(Between::BackToBack))
    }

    /// The driver's options.
    /// Where `net`'s test images come from (`--images` and `--labels`, the files its
    /// description names, or `--mnist`).
    pub fn data(&self, net: &Network) -> Result<data::Source> {
        data::Source::from_args(net, &self.mnist, self.images.as_deref(), self.labels.as_deref())
    }

    pub fn driver(&self) -> Config {
        Config {
            jobs: self.jobs.unwrap_or_else(rayon::current_num_threads).max(1),
            between: self.between(),
            bubbles: self.bubbles,
            seed: self.seed,
            max_rows: self.max_rows as usize,
            keep_capture: None,
            trace: None,
            shard: self.shard,
            design: self.design(),
        }
    }

    /// The command that reruns image `image` (of weight set `set`) alone with these options.
    pub fn repro_command(&self, set: Option<u64>, image: usize) -> String {
        let d = self.driver();
        let mut c = String::from("cnn-cosim verify");
        if let Some(r) = &self.rtl {
            c += &format!(" --rtl {}", r.display());
        }
        if let Some(b) = &self.bind {
            c += &format!(" --bind {}", b.display());
        }
        if let Some(n) = &self.net {
            c += &format!(" --net {n}");
        }
        match set {
            Some(k) => c += &format!(" --stimulus random --seed {} --set {k}", d.seed),
            None => {
                if self.mnist != Path::new(DEFAULT_MNIST) {
                    c += &format!(" --mnist {}", self.mnist.display());
                }
                if let Some(w) = &self.weights {
                    c += &format!(" --weights {}", w.display());
                }
                if d.bubbles > 0.0 {
                    c += &format!(" --seed {}", d.seed);
                }
            }
        }
        if d.bubbles > 0.0 {
            c += &format!(" --bubbles {}", d.bubbles);
        }
        if self.between.is_some() || self.reset_each {
            c += &format!(" --between {}", d.between);
        }
        if self.x_init == XInit::Unique {
            if set.is_none() && d.bubbles == 0.0 {
                c += &format!(" --seed {}", d.seed);
            }
            c += " --x-init unique";
        }
        c + &format!(" --image {image}")
    }
}

/// Default `--mnist`.
pub const DEFAULT_MNIST: &str = "vectors/mnist";
/// Default weights when a network description names none.
pub const DEFAULT_WEIGHTS: &str = "vectors/weights";

/// The weight directory: `--weights`, else the one the description names.
pub fn weights_dir(net: &Network, weights: Option<&Path>) -> PathBuf {
    match weights {
        Some(w) => w.to_path_buf(),
        None => net.weights.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_WEIGHTS)),
    }
}

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

/// Loads the float model of a weight directory when it has one.
pub fn load_float(net: &Network, weights: &Path) -> Result<Option<FloatWeights>> {
    let p = weights.join(SAFETENSORS);
    if p.exists() {
        Ok(Some(FloatWeights::load(net, &p)?))
    } else {
        Ok(None)
    }
}

/// A weight set ready for the RTL: the values, and a directory holding their `.mem` files
/// (kept alive as long as the set is used).
struct WeightDir {
    params: Params,
    path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl WeightDir {
    fn load(net: &Network, dir: &Path) -> Result<WeightDir> {
        let params = Params::load(net, dir)?;
        let path = dir
            .canonicalize()
            .with_context(|| format!("{}: cannot resolve weight directory", dir.display()))?;
        Ok(WeightDir { params, path, _tmp: None })
    }

    fn random(net: &Network, seed: u64, set: u64) -> Result<WeightDir> {
        let (params, _) = stimulus::weight_set(net, seed, set);
        let tmp = tempfile::Builder::new()
            .prefix("cnn-cosim-weights-")
            .tempdir()
            .context("cannot create a temporary weight directory")?;
        params.save(net, tmp.path())?;
        Ok(WeightDir { params, path: tmp.path().to_path_buf(), _tmp: Some(tmp) })
    }
}

/// The weight directory a design reads: `wd` itself, or — when the design's binding lays
/// the files out differently (`[weights.files]`) or reads fixed names from its working
/// directory — a temporary directory with the weights written in the design's layout
/// (`.1` keeps it alive).
fn design_weights(
    wd: &WeightDir,
    net: &Network,
    design: &crate::rtl::Design,
) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    let b = &design.binding;
    let workdir = b.weights.load == crate::binding::WeightLoad::Workdir;
    let layout = if b.weights.files.is_empty() { net } else { &b.design_net };
    if let Some(staging) = &design.staging {
        // The directory baked into the design as its parameter: this set's files replace
        // the last set's.
        for e in std::fs::read_dir(&staging.dir)
            .with_context(|| format!("{}: cannot read", staging.dir.display()))?
        {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "mem") {
                std::fs::remove_file(&p)
                    .with_context(|| format!("{}: cannot remove", p.display()))?;
            }
        }
        wd.params
            .save(layout, &staging.dir)
            .with_context(|| format!("cannot write the weights in the layout of {}", b.source))?;
        return Ok((staging.dir.clone(), None));
    }
    if b.weights.files.is_empty() && !workdir {
        return Ok((wd.path.clone(), None));
    }
    let tmp = tempfile::Builder::new()
        .prefix("cnn-cosim-design-weights-")
        .tempdir()
        .context("cannot create a temporary weight directory")?;
    wd.params
        .save(layout, tmp.path())
        .with_context(|| format!("cannot write the weights in the layout of {}", b.source))?;
    Ok((tmp.path().to_path_buf(), Some(tmp)))
}

/// Bubble seed of random weight set `set`, so sets do not share bubble patterns.
fn set_seed(seed: u64, set: u64) -> u64 {
    seed ^ (set + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// One weight set of a run: its label for the sinks, its weights, images and labels.
struct SetRun {
    info: SetInfo,
    wd: WeightDir,
    fw: Option<FloatWeights>,
    images: Vec<Image>,
    labels: Option<Vec<u8>>,
    first: usize,
    cfg: Config,
}

/// What a verify run will do, worked out (and every input read and checked) before any
/// report file is opened.
struct Plan {
    title: String,
    /// The run's description for the baseline.
    run: String,
    has_float: bool,
    images: usize,
    /// MNIST: its one set, ready; random: the set numbers, built one at a time.
    mnist: Option<SetRun>,
    random: Vec<u64>,
}

impl Plan {
    fn new(a: &VerifyArgs, net: &Network) -> Result<Plan> {
        let d = a.driver();
        let mut netnote = if net.name == crate::network::DEFAULT_NET {
            String::new()
        } else {
            format!(", network {}", net.name)
        };
        if a.x_init == XInit::Unique {
            netnote += &format!("{}", XInitNote(a));
        }
        let rtl = a.design().label();
        let timing = |what: &str| {
            format!("{what}{netnote}, {}, bubbles {}{}", d.between, d.bubbles, shard_note(&d))
        };
        match a.stimulus {
            StimulusKind::Mnist => {
                let source = a.data(net)?;
                let test = source.load(net)?;
                let range = select(a.start, a.limit, test.len())?;
                let weights = weights_dir(net, a.weights.as_deref());
                let wd = WeightDir::load(net, &weights)?;
                let fw = load_float(net, &weights)?;
                let images = format!("images {}..{}", range.start, range.end - 1);
                let from = match &source {
                    data::Source::Mnist(_) => "mnist".to_string(),
                    data::Source::Files { images, .. } => format!("{}", images.display()),
                };
                Ok(Plan {
                    title: format!(
                        "cnn-cosim verify: {} {}..{}{} from {}, weights {}{netnote}, {rtl}",
                        source.noun(),
                        range.start,
                        range.end - 1,
                        shard_note(&d),
                        source.path().display(),
                        weights.display(),
                    ),
                    run: timing(&format!("{from} {images}, weights {}", weights.display())),
                    has_float: fw.is_some(),
                    images: range.len(),
                    mnist: Some(SetRun {
                        info: SetInfo {
                            set: None,
                            seed: d.seed,
                            name: format!("weights {}", weights.display()),
                        },
                        wd,
                        fw,
                        images: test.images[range.clone()].to_vec(),
                        labels: Some(test.labels[range.clone()].to_vec()),
                        first: range.start,
                        cfg: d.clone(),
                    }),
                    random: Vec::new(),
                })
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
                let images = format!("images {}..{}", range.start, range.end - 1);
                Ok(Plan {
                    title: format!(
                        "cnn-cosim verify: random stimulus, seed {}, weight sets {which}, {images} per set{}{netnote}, {rtl}",
                        d.seed,
                        shard_note(&d),
                    ),
                    run: timing(&format!("random seed {}, weight sets {which}, {images}", d.seed)),
                    has_float: false,
                    images: sets.len() * range.len(),
                    mnist: None,
                    random: sets,
                })
            }
        }
    }
}

/// Random weight set `set` of the campaign: its weights (in a temporary `.mem` directory)
/// and images.
fn random_set(a: &VerifyArgs, net: &Network, set: u64) -> Result<SetRun> {
    let d = a.driver();
    let range = select(a.start, a.limit, a.count)?;
    let kind = stimulus::weight_set(net, d.seed, set).1;
    let segs_per_set = a.count.div_ceil(driver::SEGMENT);
    Ok(SetRun {
        info: SetInfo {
            set: Some(set),
            seed: d.seed,
            name: format!("random weight set {set} ({kind}), seed {}", d.seed),
        },
        wd: WeightDir::random(net, d.seed, set)?,
        fw: None,
        images: range.clone().map(|i| stimulus::image(net, d.seed, set, i as u64)).collect(),
        labels: None,
        first: range.start,
        cfg: Config {
            seed: set_seed(d.seed, set),
            shard: d.shard.map(|sh| Shard { base: set as usize * segs_per_set, ..sh }),
            ..d
        },
    })
}

/// `verify`: RTL against reference. Ok(true) when bit-exact everywhere.
pub fn verify(a: &VerifyArgs) -> Result<bool> {
    let mut a = a.clone();
    a.load_design()?;
    let a = &a;
    let net = a.network()?;
    driver::check_input_width(&net)?;
    a.design().check_taps(&net)?;
    let b = &a.design().binding;
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
    let mut reports = Reports::create(set, &taps, a.max_rows, plan.has_float)?;
    let mut sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(Progress::new(plan.images as u64, a.quiet)),
        Box::new(HtmlReport::new(&taps, set.path("index.html")).input(net.input, net.input_type)),
    ];
    if let Some(path) = &a.junit {
        sinks.push(Box::new(
            JunitReport::new(&taps, set.output(path)?).with_untapped(a.design().untapped(net)),
        ));
    }
    let sets = plan.mnist.take().into_iter().map(Ok);
    let random = plan.random.iter().map(|&s| random_set(a, net, s));
    for sr in sets.chain(random) {
        let sr = sr?;
        let t_set = Instant::now();
        sinks.iter_mut().for_each(|s| s.start_set(&sr.info));
        let reference = Reference::new(net, &sr.wd.params, a.design());
        let stim = Stimulus { images: &sr.images, labels: sr.labels.as_deref(), first: sr.first };
        let (wpath, _keep) = design_weights(&sr.wd, net, a.design())?;
        driver::run(&stim, &reference, sr.fw.as_ref(), &wpath, &sr.cfg, |r| {
            let image = &sr.images[r.index - sr.first];
            reports.push(&r, sr.info.set.map(|k| (k, sr.info.seed)))?;
            *done += 1;
            sinks.iter_mut().try_for_each(|s| s.push(&r, image, &sr.info))
        })?;
        sinks.iter_mut().for_each(|s| s.end_set(t_set.elapsed().as_secs_f64()));
    }
    let mut t = reports.finish()?;
    t.untapped = a.design().untapped(net);
    let secs = t0.elapsed().as_secs_f64();
    let repro = |set: Option<u64>, image: usize| a.repro_command(set, image);
    let end = RunEnd { totals: &t, title: &plan.title, secs, repro: &repro };
    sinks.iter_mut().try_for_each(|s| s.finish(&end))?;
    print_summary(&t, a, secs);
    let regressed = check_baseline(a, set, &plan.run, &t, baseline)?;
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

/// `, registers not reset start random (--x-init unique, seed S)`.
struct XInitNote<'a>(&'a VerifyArgs);

impl std::fmt::Display for XInitNote<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, ", registers not reset start random (--x-init unique, seed {})", self.0.seed)
    }
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
        .filter(|l| l.ref_overflowed > 0)
        .map(|l| format!("{} {}", l.name, l.ref_overflowed))
        .collect();
    if !overflowed.is_empty() {
        println!(
            "values the overflow rule saturated or wrapped in the reference (layers.csv \
             ref_overflowed): {}",
            overflowed.join(", ")
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
    if t.cycles_n > 0 {
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
        d.between,
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
    let d = a.driver();
    let seg_start = index / driver::SEGMENT * driver::SEGMENT;
    let (images, labels, wd, fw, cfg, what);
    match set {
        None => {
            let test = a.data(net)?.load(net)?;
            if index >= test.len() {
                bail!("--image {index} is past the last test image ({})", test.len() - 1);
            }
            images = test.images[seg_start..=index].to_vec();
            labels = Some(test.labels[seg_start..=index].to_vec());
            let weights = weights_dir(net, a.weights.as_deref());
            wd = WeightDir::load(net, &weights)?;
            fw = load_float(net, &weights)?;
            cfg = d.clone();
            what = format!("MNIST test image {index}");
        }
        Some(set) => {
            images =
                (seg_start..=index).map(|i| stimulus::image(net, d.seed, set, i as u64)).collect();
            labels = None;
            wd = WeightDir::random(net, d.seed, set)?;
            fw = None;
            cfg = Config { seed: set_seed(d.seed, set), ..d.clone() };
            what = format!(
                "random image {index} ({}) of weight set {set} ({}), seed {}",
                stimulus::image_kind(net.input_type, index as u64),
                stimulus::weight_set(net, d.seed, set).1,
                d.seed
            );
        }
    }
    let tmp_trace = trace.map(crate::memfile::tmp_path);
    let stim = Stimulus { images: &images, labels: labels.as_deref(), first: seg_start };
    let cfg = Config { keep_capture: Some(index), jobs: 1, trace: tmp_trace.clone(), ..cfg };
    let reference = Reference::new(net, &wd.params, a.design());
    let mut result = None;
    let (wpath, _keep) = design_weights(&wd, net, a.design())?;
    driver::run(&stim, &reference, fw.as_ref(), &wpath, &cfg, |r| {
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
    let expected = reference.run(&images[index - seg_start]);
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
    fw.save(&out.join(SAFETENSORS))?;
    export(net, &fw, mnist_dir, out, rounding)
}
