//! Thin CLI over the `cnn_cosim` library. Exit status: 0 clean, 1 the RTL differs from the
//! reference (verify), 2 bad input or usage.

use clap::{Parser, Subcommand};
use cnn_cosim::commands::{self, StimulusKind, VerifyArgs};
use cnn_cosim::driver::{Between, Config, Shard};
use cnn_cosim::float_model::FloatWeights;
use cnn_cosim::icarus;
use cnn_cosim::memfile::Rounding;
use cnn_cosim::merge;
#[cfg(feature = "train")]
use cnn_cosim::train::TrainConfig;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cnn-cosim",
    version,
    about = "Co-simulate the CNN RTL against its bit-exact reference on MNIST"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Stream MNIST test images through the Verilated RTL and compare every layer with the
    /// fixed-point reference; CSV reports go to --reports.
    Verify {
        /// Directory with the four MNIST IDX files (raw or .gz).
        #[arg(long, default_value = commands::DEFAULT_MNIST)]
        mnist: PathBuf,
        /// Directory with the six .mem files (and optionally model.safetensors).
        #[arg(long, default_value = commands::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        /// Where summary.csv, mismatches.csv and layers.csv are written.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
        /// First image (of the test set, or of each random weight set).
        #[arg(long, default_value_t = 0)]
        start: usize,
        /// How many images (default: all from --start).
        #[arg(long)]
        limit: Option<usize>,
        /// Worker threads, one RTL model each (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// At most this many rows in mismatches.csv (every mismatch is still counted).
        #[arg(long, default_value_t = 100_000)]
        max_rows: u64,
        /// MNIST images with --weights, or seeded random weight sets and images.
        #[arg(long, value_enum, default_value_t = StimulusKind::Mnist)]
        stimulus: StimulusKind,
        /// Seed of the random stimulus and of the bubble pattern.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Random stimulus: number of weight sets.
        #[arg(long, default_value_t = 20)]
        sets: u64,
        /// Random stimulus: run only this weight set.
        #[arg(long)]
        set: Option<u64>,
        /// Random stimulus: images per weight set.
        #[arg(long, default_value_t = 100)]
        count: usize,
        /// Probability of an idle cycle before each pixel.
        #[arg(long, default_value_t = 0.0, value_parser = probability)]
        bubbles: f64,
        /// Between images: back-to-back, idle:N (N idle cycles) or reset.
        #[arg(long, default_value = "back-to-back")]
        between: Between,
        /// Same as --between reset.
        #[arg(long, conflicts_with = "between")]
        reset_each: bool,
        /// Debug one image: print each layer around its first mismatch (no reports written).
        #[arg(long)]
        image: Option<usize>,
        /// With --image: write conv1.csv, pool1.csv and fc1.csv of that image into DIR.
        #[arg(long, requires = "image")]
        dump: Option<PathBuf>,
        /// With --image: write an FST waveform of that image (open it in GTKWave or Surfer).
        #[arg(long, requires = "image", value_name = "FILE.fst")]
        trace: Option<PathBuf>,
        /// Write FST waveforms of the first K failing images to <reports>/waves/.
        #[arg(long, default_value_t = 0, value_name = "K")]
        trace_failures: usize,
        /// Also write a JUnit XML file (one testsuite per weight set, one testcase per layer).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Compare counts, accuracy and RTL timing with a recorded baseline; any change in a
        /// count, or a slower RTL, fails the run (exit 1).
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Record this run's counts and RTL timing as a baseline.
        #[arg(long, value_name = "FILE")]
        write_baseline: Option<PathBuf>,
        /// Run only the K-th of N disjoint slices (500-image segments dealt round-robin);
        /// `merge` combines the shards' reports.
        #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
        shard: Option<Shard>,
        /// Print only the summary (no header, no progress bar).
        #[arg(long)]
        quiet: bool,
    },
    /// Combine the report directories of `verify --shard K/N` runs into one set of reports,
    /// identical to a single run's; exit 1 when any image is not bit-exact.
    Merge {
        /// Where the merged summary.csv, mismatches.csv and layers.csv go.
        #[arg(long)]
        out: PathBuf,
        /// At most this many rows in mismatches.csv (as verify's --max-rows).
        #[arg(long, default_value_t = 100_000)]
        max_rows: u64,
        /// The shards' report directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Run a sample of MNIST test images through the same RTL under Icarus Verilog and
    /// compare every tap with the reference.
    Icarus {
        #[arg(long, default_value = commands::DEFAULT_MNIST)]
        mnist: PathBuf,
        #[arg(long, default_value = commands::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        #[arg(long, default_value_t = 0)]
        start: usize,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Idle cycles between pixels (the testbench's LFSR).
        #[arg(long)]
        bubbles: bool,
    },
    /// Float and fixed-point accuracy of a weight set on the 10,000 test images.
    Eval {
        #[arg(long, default_value = "vectors/mnist")]
        mnist: PathBuf,
        #[arg(long, default_value = "vectors/weights")]
        weights: PathBuf,
    },
    /// Throughput against the ceiling (a bare C++ loop on the same Verilated model): (a) the
    /// ceiling, (b) the driver streaming only, (c) verify on 1 thread, (d) verify on all cores;
    /// medians of interleaved runs, ratios, peak RSS (docs/performance.md).
    Bench {
        #[arg(long, default_value = commands::DEFAULT_MNIST)]
        mnist: PathBuf,
        #[arg(long, default_value = commands::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        /// Rounds of (a)-(d), interleaved.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The first this many test images (default: all).
        #[arg(long)]
        limit: Option<usize>,
        /// Worker threads of (d) (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run (b) once and print its counts (what bench's (b) child process runs).
        #[arg(long, hide = true)]
        stream_only: bool,
    },
    #[cfg(feature = "train")]
    /// Train the notebook's network and write model.safetensors and the .mem files.
    Train {
        #[arg(long, default_value = "vectors/mnist")]
        mnist: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "vectors/weights")]
        out: PathBuf,
        #[arg(long, default_value_t = TrainConfig::default().seed)]
        seed: u64,
        #[arg(long, default_value_t = TrainConfig::default().epochs)]
        epochs: usize,
        #[arg(long, value_enum, default_value_t = Rounding::Trunc)]
        rounding: Rounding,
    },
    /// Quantize a model.safetensors into the six .mem files.
    Export {
        /// The float weights (PyTorch state_dict names).
        #[arg(long, default_value = "vectors/weights/model.safetensors")]
        from: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "vectors/weights")]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = Rounding::Trunc)]
        rounding: Rounding,
    },
}

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability in [0, 1)"))
    }
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.cmd {
        Cmd::Verify {
            mnist,
            weights,
            reports,
            start,
            limit,
            jobs,
            max_rows,
            stimulus,
            seed,
            sets,
            set,
            count,
            bubbles,
            between,
            reset_each,
            image,
            dump,
            trace,
            trace_failures,
            junit,
            baseline,
            write_baseline,
            shard,
            quiet,
        } => {
            let jobs = jobs.unwrap_or_else(rayon::current_num_threads).max(1);
            let between = if reset_each { Between::Reset } else { between };
            let args = VerifyArgs {
                mnist,
                weights,
                reports,
                start,
                limit,
                quiet,
                max_rows,
                stimulus,
                sets,
                set,
                count,
                image,
                dump,
                trace,
                trace_failures,
                junit,
                baseline,
                write_baseline,
                driver: Config {
                    jobs,
                    between,
                    bubbles,
                    seed,
                    max_rows: max_rows as usize,
                    keep_capture: None,
                    trace: None,
                    shard,
                },
            };
            commands::verify(&args)
        }
        Cmd::Merge { out, max_rows, dirs } => merge::merge(&dirs, &out, max_rows),
        Cmd::Icarus { mnist, weights, start, limit, bubbles } => {
            icarus::run(&icarus::IcarusArgs { mnist, weights, start, limit, bubbles })
        }
        Cmd::Eval { mnist, weights } => commands::eval(&mnist, &weights).map(|_| true),
        Cmd::Bench { mnist, weights, runs, limit, jobs, stream_only } => {
            let jobs = jobs.unwrap_or_else(rayon::current_num_threads).max(1);
            let args =
                cnn_cosim::bench::BenchArgs { mnist, weights, runs, limit, jobs, stream_only };
            cnn_cosim::bench::bench(&args).map(|_| true)
        }
        #[cfg(feature = "train")]
        Cmd::Train { mnist, out, seed, epochs, rounding } => {
            let cfg = TrainConfig { seed, epochs, ..TrainConfig::default() };
            commands::train(&mnist, &out, &cfg, rounding).map(|_| true)
        }
        Cmd::Export { from, out, rounding } => {
            let fw = FloatWeights::load(&from)?;
            commands::export(&fw, &out, rounding).map(|_| true)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("cnn-cosim: {e:#}");
            ExitCode::from(2)
        }
    }
}
