//! A `verify` run's plan: its arguments ([`VerifyArgs`]) resolved, before anything runs and
//! before any report file is opened, into the design, the data source, the weight sets with
//! their images and float model, and the run's title. Each stage takes what it needs from
//! it: the driver a [`SetRun`] (images, weights in the design's layout, configuration), the
//! reports the title and image count, `verify --image` one image's segment
//! ([`SetRun::segment`]).

use crate::data;
use crate::float_model::{self, FloatWeights};
use crate::image::{Dataset, Image};
use crate::network::Network;
use crate::sim::binding::Between;
use crate::sim::driver::{self, Config, Shard};
use crate::sim::verilate::XInit;
use crate::sink::SetInfo;
use crate::stimulus;
use crate::weights::{self, Params};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

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
    /// Test images from a file instead of MNIST (or the description's files): IDX or .npy,
    /// N×C×H×W of the network's input shape, values within its width (with --labels).
    #[arg(long, value_name = "FILE", requires = "labels")]
    pub images: Option<PathBuf>,
    /// Their labels: IDX or .npy, N values below the class count (with --images).
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
    /// Also measure the RTL's line, toggle and expression coverage (a model of its own,
    /// built with Verilator's coverage): coverage.dat and coverage.info (lcov) in the
    /// reports, per module in index.html, totals in the summary.
    #[arg(long, conflicts_with = "image")]
    pub coverage: bool,
    /// The C++ compiler of the model (default: the one the built-in model was compiled
    /// with, `c++`, or `$CXX`); another than the built-in one's Verilates the RTL at run
    /// time, a model of its own in the cache.
    #[arg(long, value_enum)]
    pub compiler: Option<crate::sim::toolchain::Compiler>,
    /// Build the model profile-guided: compiled instrumented, run on this run's first
    /// 300 images (its stimulus, weights and timing), compiled again with the profile;
    /// cached per workload (docs/performance.md, "Compilers and PGO").
    #[arg(long, conflicts_with = "image")]
    pub pgo: bool,
    /// Print only the summary (no header, no progress bar).
    #[arg(long)]
    pub quiet: bool,
    /// Print nothing at all (`mutate`'s runs: the reports say it all).
    #[arg(skip)]
    pub silent: bool,
    /// The design under test, once built ([`VerifyArgs::load_design`]); the built-in RTL
    /// until then.
    #[arg(skip)]
    pub design: Option<&'static crate::sim::model::Design>,
}

impl VerifyArgs {
    /// The design under test.
    pub fn design(&self) -> &'static crate::sim::model::Design {
        self.design.unwrap_or_else(crate::sim::model::Design::built_in)
    }

    /// With `--rtl`/`--bind`: reads the binding, builds (or finds in the cache) and loads
    /// the design; prints what was built unless quiet.
    /// Without them, a trace (`--trace`, `--trace-failures`) builds the compiled-in RTL's
    /// FST-traced model (and its fast twin) the same way: nothing traced is compiled in.
    pub fn load_design(&mut self) -> Result<()> {
        let traced = self.trace.is_some() || self.trace_failures > 0;
        let built_in_compiler =
            self.compiler.is_none_or(|c| c.name() == crate::sim::model::BUILT_IN_COMPILER);
        let binding = match (&self.rtl, &self.bind) {
            (None, None)
                if !traced
                    && self.x_init == XInit::Fast
                    && !self.coverage
                    && !self.pgo
                    && built_in_compiler =>
            {
                return Ok(())
            }
            (None, None) => crate::sim::binding::Binding::compiled_in()?,
            (rtl, bind) => {
                let rtl = rtl.clone().unwrap_or_else(|| PathBuf::from("."));
                crate::sim::binding::Binding::find(&rtl, bind.as_deref())?
            }
        };
        let variant = crate::sim::verilate::Variant {
            x_init: self.x_init,
            coverage: self.coverage,
            compiler: self.compiler,
        };
        let (design, info) = if self.pgo {
            let net = match &self.net {
                Some(n) => Network::find(n)?,
                None => binding.network.clone(),
            };
            let workload = crate::pgo::Workload::plan(self, &binding, &net)?;
            let run = |d| workload.run(d);
            let pgo = crate::sim::verilate::Pgo { workload: workload.digest.clone(), run: &run };
            crate::sim::verilate::build_pgo(binding, traced, variant, self.quiet, &pgo)?
        } else {
            crate::sim::verilate::build_with(binding, traced, variant, self.quiet)?
        };
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
            coverage: None,
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
/// A weight set ready for the RTL: the values, and a directory holding their `.mem` files
/// (kept alive as long as the set is used).
pub struct WeightDir {
    pub params: Params,
    pub path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl WeightDir {
    pub fn load(net: &Network, dir: &Path) -> Result<WeightDir> {
        let params = Params::load(net, dir)?;
        let path = dir
            .canonicalize()
            .with_context(|| format!("{}: cannot resolve weight directory", dir.display()))?;
        Ok(WeightDir { params, path, _tmp: None })
    }

    pub fn random(net: &Network, seed: u64, set: u64) -> Result<WeightDir> {
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
pub fn design_weights(
    wd: &WeightDir,
    net: &Network,
    design: &crate::sim::model::Design,
) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    let b = &design.binding;
    let workdir = b.weights.load == crate::sim::binding::WeightLoad::Workdir;
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
pub struct SetRun {
    pub info: SetInfo,
    pub wd: WeightDir,
    pub fw: Option<FloatWeights>,
    pub images: Vec<Image>,
    pub labels: Option<Vec<u8>>,
    pub first: usize,
    pub cfg: Config,
}

/// What a verify run will do, worked out (and every input read and checked) before any
/// report file is opened.
pub struct Plan {
    pub title: String,
    /// The run's description for the baseline.
    pub run: String,
    pub has_float: bool,
    pub images: usize,
    /// Test images (MNIST or files): their one set, ready; random: the set numbers, built
    /// one at a time.
    given: Option<SetRun>,
    random: Vec<u64>,
}

impl Plan {
    pub fn new(a: &VerifyArgs, net: &Network) -> Result<Plan> {
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
                let weights = weights::dir(net, a.weights.as_deref());
                let set = SetRun::given(a, net, test, range.clone(), &weights)?;
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
                    has_float: set.fw.is_some(),
                    images: range.len(),
                    given: Some(set),
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
                    given: None,
                    random: sets,
                })
            }
        }
    }

    /// The weight sets in order, each with its images, built as it is reached (a random
    /// set's weights are written only when its turn comes).
    pub fn sets<'p>(
        &'p mut self,
        a: &'p VerifyArgs,
        net: &'p Network,
    ) -> impl Iterator<Item = Result<SetRun>> + 'p {
        let given = self.given.take().into_iter().map(Ok);
        given.chain(self.random.iter().map(move |&s| random_set(a, net, s)))
    }
}

/// Random weight set `set` of the campaign: its weights (in a temporary `.mem` directory)
/// and images.
fn random_set(a: &VerifyArgs, net: &Network, set: u64) -> Result<SetRun> {
    let d = a.driver();
    let range = select(a.start, a.limit, a.count)?;
    let segs_per_set = a.count.div_ceil(driver::SEGMENT);
    let cfg = Config {
        seed: set_seed(d.seed, set),
        shard: d.shard.map(|sh| Shard { base: set as usize * segs_per_set, ..sh }),
        ..d
    };
    SetRun::random(net, (d.seed, set), range, cfg)
}

impl SetRun {
    /// Images `range` of `test` with the weight set in directory `weights` (and its float
    /// model when it has one). Takes the data set: its images move, not copy (10,000 MNIST
    /// images are 31 MB).
    fn given(
        a: &VerifyArgs,
        net: &Network,
        test: Dataset,
        range: std::ops::Range<usize>,
        weights: &Path,
    ) -> Result<SetRun> {
        let d = a.driver();
        Ok(SetRun {
            info: SetInfo {
                set: None,
                seed: d.seed,
                name: format!("weights {}", weights.display()),
            },
            wd: WeightDir::load(net, weights)?,
            fw: float_model::load_dir(net, weights)?,
            images: test.images.into_iter().skip(range.start).take(range.len()).collect(),
            labels: Some(test.labels[range.clone()].to_vec()),
            first: range.start,
            cfg: d,
        })
    }

    /// Images `range` of random weight set `set` of the campaign seeded with `seed`,
    /// streamed with `cfg`.
    fn random(
        net: &Network,
        (seed, set): (u64, u64),
        range: std::ops::Range<usize>,
        cfg: Config,
    ) -> Result<SetRun> {
        let kind = stimulus::weight_set(net, seed, set).1;
        Ok(SetRun {
            info: SetInfo {
                set: Some(set),
                seed,
                name: format!("random weight set {set} ({kind}), seed {seed}"),
            },
            wd: WeightDir::random(net, seed, set)?,
            fw: None,
            images: range.clone().map(|i| stimulus::image(net, seed, set, i as u64)).collect(),
            labels: None,
            first: range.start,
            cfg,
        })
    }
}

impl SetRun {
    /// The segment of image `index` (of random weight set `set`, or of the test images) up to
    /// it, as a full run streams it, and the image said in words.
    pub fn segment(
        a: &VerifyArgs,
        net: &Network,
        set: Option<u64>,
        index: usize,
    ) -> Result<(SetRun, String)> {
        let d = a.driver();
        let seg_start = index / driver::SEGMENT * driver::SEGMENT;
        Ok(match set {
            None => {
                let test = a.data(net)?.load(net)?;
                if index >= test.len() {
                    bail!("--image {index} is past the last test image ({})", test.len() - 1);
                }
                let weights = weights::dir(net, a.weights.as_deref());
                let run = SetRun::given(a, net, test, seg_start..index + 1, &weights)?;
                (run, format!("MNIST test image {index}"))
            }
            Some(set) => {
                let cfg = Config { seed: set_seed(d.seed, set), ..d.clone() };
                let run = SetRun::random(net, (d.seed, set), seg_start..index + 1, cfg)?;
                let what = format!(
                    "random image {index} ({}) of weight set {set} ({}), seed {}",
                    stimulus::image_kind(net.input_type, index as u64),
                    stimulus::weight_set(net, d.seed, set).1,
                    d.seed
                );
                (run, what)
            }
        })
    }
}

/// `, shard K/N` for sharded runs.
pub fn shard_note(c: &Config) -> String {
    c.shard.map(|s| format!(", shard {}/{}", s.index, s.count)).unwrap_or_default()
}

/// `start .. start+limit`, clipped to `len`, and never empty.
pub fn select(start: usize, limit: Option<usize>, len: usize) -> Result<std::ops::Range<usize>> {
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
pub struct XInitNote<'a>(pub &'a VerifyArgs);

impl std::fmt::Display for XInitNote<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, ", registers not reset start random (--x-init unique, seed {})", self.0.seed)
    }
}
