//! Thin CLI over the `cnn_cosim` library. Exit status: 0 clean, 1 the RTL differs from the
//! reference (verify), 2 bad input or usage.

use clap::{Parser, Subcommand};
use cnn_cosim::commands;
use cnn_cosim::float_model::{self, FloatWeights};
use cnn_cosim::memfile::Rounding;
use cnn_cosim::merge;
use cnn_cosim::network::{self, Network};
use cnn_cosim::plan::{self, VerifyArgs};
use cnn_cosim::sim::binding::Binding;
use cnn_cosim::sim::icarus;
#[cfg(feature = "train")]
use cnn_cosim::train::TrainConfig;
use cnn_cosim::{data, eval, weights};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a verify run allocates per image (the reference's
/// layers, the results), and the 10,000 images up front.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Stream MNIST test images through the Verilated RTL and compare every tapped layer with
    /// the fixed-point reference of the network description; reports go to --reports.
    Verify(Box<VerifyArgs>),
    /// Combine the report directories of `verify --shard K/N` runs into one set of reports,
    /// identical to a single run's; exit 1 when any image is not bit-exact.
    Merge {
        /// Where the merged summary.csv, mismatches.csv and layers.csv go (and coverage.dat
        /// and coverage.info, when the shards ran with --coverage).
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
        #[arg(long, default_value = plan::DEFAULT_MNIST)]
        mnist: PathBuf,
        /// The weight directory (default: the one the network description names).
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long, default_value_t = 0)]
        start: usize,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Idle cycles between pixels (the testbench's LFSR; rtl/ only).
        #[arg(long)]
        bubbles: bool,
        /// A design bound in DIR (DIR/binding.toml), driven by a testbench generated from
        /// its binding.
        #[arg(long, value_name = "DIR")]
        rtl: Option<PathBuf>,
        /// The binding file (instead of DIR/binding.toml).
        #[arg(long, value_name = "FILE")]
        bind: Option<PathBuf>,
    },
    /// Float and fixed-point accuracy of a weight set on the 10,000 test images.
    Eval {
        /// The network: a name from vectors/networks/ or a description file (.toml).
        #[arg(long, default_value = network::DEFAULT_NET, value_name = "NAME|FILE")]
        net: String,
        #[arg(long, default_value = "vectors/mnist")]
        mnist: PathBuf,
        /// Default: the weight directory the network description names.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Test images from a file instead of MNIST (or the description's files): IDX or
        /// .npy, N×C×H×W of the network's input shape, values within its width (with --labels).
        #[arg(long, value_name = "FILE", requires = "labels")]
        images: Option<PathBuf>,
        /// Their labels: IDX or .npy, N values below the class count (with --images).
        #[arg(long, value_name = "FILE", requires = "images")]
        labels: Option<PathBuf>,
        /// Also write every image's reference and float classes (CSV: image, label,
        /// reference, float, reference_tie).
        #[arg(long, value_name = "FILE")]
        classes: Option<PathBuf>,
        /// Also write one image's every layer as the reference computes it (one CSV per
        /// layer, and the float logits) into DIR; needs --image.
        #[arg(long, value_name = "DIR", requires = "image")]
        dump: Option<PathBuf>,
        /// The test image --dump writes.
        #[arg(long, value_name = "N", requires = "dump")]
        image: Option<usize>,
    },
    /// Network descriptions.
    Net {
        #[command(subcommand)]
        cmd: NetCmd,
    },
    /// RTL bindings (docs/binding-format.md).
    Bind {
        #[command(subcommand)]
        cmd: BindCmd,
    },
    /// Mutation score of a bound design's verification: each mutant (one change to one
    /// source) built at run time and verified with the verify options after `--`; a survivor
    /// is tried again with a seeded random campaign. Writes mutants.csv; exit 1 when any
    /// mutant survived (docs/mutation.md).
    Mutate(cnn_cosim::mutate::MutateArgs),
    /// Throughput against the ceiling (a bare C++ loop on the same Verilated model): (a) the
    /// ceiling, (b) the driver streaming only, (c) verify on 1 thread, (d) verify on all cores;
    /// medians of interleaved runs, ratios, peak RSS (docs/performance.md). With --rtl of a
    /// host-driven design, the same of that design, its ceiling a bare host loop.
    Bench(cnn_cosim::bench::BenchArgs),
    #[cfg(not(feature = "train"))]
    /// Train a described network with the notebook's recipe and write model.safetensors and
    /// the .mem files. This build has no trainer: the first run builds one (the `train`
    /// feature, into target/trainer, about 5 minutes), then runs it with these arguments
    /// (`train --help` lists them).
    #[command(disable_help_flag = true)]
    Train {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    #[cfg(feature = "train")]
    /// Train a described network with the notebook's recipe and write model.safetensors and
    /// the .mem files.
    Train {
        /// The network: a name from vectors/networks/ or a description file (.toml).
        #[arg(long, default_value = network::DEFAULT_NET, value_name = "NAME|FILE")]
        net: String,
        #[arg(long, default_value = "vectors/mnist")]
        mnist: PathBuf,
        /// Output directory (default: the weight directory the network description names).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Default: the description's `[train]` seed, else 8 (the seed network's weights).
        #[arg(long)]
        seed: Option<u64>,
        /// Default: the description's `[train]` epochs, else the notebook's 9.
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long, value_enum, default_value_t = Rounding::Trunc)]
        rounding: Rounding,
    },
    /// Quantize a model.safetensors into the network's .mem files.
    Export {
        /// The network: a name from vectors/networks/ or a description file (.toml).
        #[arg(long, default_value = network::DEFAULT_NET, value_name = "NAME|FILE")]
        net: String,
        /// The float weights (PyTorch state_dict names); default: model.safetensors in the
        /// network's weight directory.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Output directory (default: the network's weight directory).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Rounding::Trunc)]
        rounding: Rounding,
        /// MNIST, whose training images calibrate a network that loads its multipliers.
        #[arg(long, default_value = "vectors/mnist")]
        mnist: PathBuf,
    },
}

#[derive(Subcommand)]
enum BindCmd {
    /// Write DIR/binding.toml for a design: sources, top, clock, reset, pixel input, class
    /// and weight files guessed (and checked on a trial model), every other port listed,
    /// and per tapped layer the candidate signals, commented out. Never overwrites.
    Init {
        /// The design's directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The design's top module.
        #[arg(long)]
        top: String,
        /// The network it implements: a name from vectors/networks/ or a description file.
        #[arg(long, default_value = network::DEFAULT_NET, value_name = "NAME|FILE")]
        net: String,
        /// Source globs relative to DIR (default: DIR's *.v and *.sv); repeat for more.
        #[arg(long, value_name = "GLOB")]
        sources: Vec<String>,
        /// No progress on stderr.
        #[arg(long)]
        quiet: bool,
    },
    /// Check a binding against its network description and print what it binds.
    Show {
        /// The RTL directory holding binding.toml.
        #[arg(default_value = "rtl", value_name = "DIR")]
        rtl: PathBuf,
        /// A binding file elsewhere (instead of DIR/binding.toml).
        #[arg(long, value_name = "FILE")]
        bind: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum NetCmd {
    /// Print every layer's shapes and the exact bounds of its products, accumulator and
    /// output over any weights and inputs of the declared widths, with the bits each needs.
    Show {
        /// A name from vectors/networks/ or a description file (.toml).
        #[arg(default_value = network::DEFAULT_NET, value_name = "NAME|FILE")]
        net: String,
    },
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.cmd {
        Cmd::Verify(args) => commands::verify(&args),
        Cmd::Merge { out, max_rows, dirs } => merge::merge(&dirs, &out, max_rows),
        Cmd::Icarus { mnist, weights, start, limit, bubbles, rtl, bind } => {
            icarus::run(&icarus::IcarusArgs { mnist, weights, start, limit, bubbles, rtl, bind })
        }
        Cmd::Eval { net, mnist, weights, images, labels, classes, dump, image } => {
            let net = Network::find(&net)?;
            let weights = weights::dir(&net, weights.as_deref());
            let source =
                data::Source::from_args(&net, &mnist, images.as_deref(), labels.as_deref())?;
            let out = eval::EvalOutputs { classes, dump: dump.zip(image) };
            eval::run(&net, &source, &weights, &out).map(|_| true)
        }
        Cmd::Net { cmd: NetCmd::Show { net } } => {
            print!("{}", Network::find(&net)?.show());
            Ok(true)
        }
        Cmd::Bind { cmd: BindCmd::Init { dir, top, net, sources, quiet } } => {
            let a = cnn_cosim::sim::bind_init::InitArgs { dir, top, net, sources, quiet };
            let path = cnn_cosim::sim::bind_init::init(&a)?;
            println!(
                "wrote {}: check what it guessed, uncomment the taps you want compared, then \
                 `cnn-cosim bind show --bind {0}` and `cnn-cosim verify --rtl {}`",
                path.display(),
                a.dir.display()
            );
            Ok(true)
        }
        Cmd::Bind { cmd: BindCmd::Show { rtl, bind } } => {
            print!("{}", Binding::find(&rtl, bind.as_deref())?.show());
            Ok(true)
        }
        Cmd::Mutate(a) => cnn_cosim::mutate::run(&a),
        Cmd::Bench(a) => cnn_cosim::bench::bench(&a).map(|_| true),
        #[cfg(not(feature = "train"))]
        Cmd::Train { args } => cnn_cosim::train_on_demand::run(&args),
        #[cfg(feature = "train")]
        Cmd::Train { net, mnist, out, seed, epochs, rounding } => {
            let net = Network::find(&net)?;
            let out = weights::dir(&net, out.as_deref());
            let cfg = TrainConfig::for_network(&net, epochs, seed);
            commands::train(&net, &mnist, &out, &cfg, rounding).map(|_| true)
        }
        Cmd::Export { net, from, out, rounding, mnist } => {
            let net = Network::find(&net)?;
            let dir = weights::dir(&net, None);
            let from = from.unwrap_or_else(|| dir.join(float_model::SAFETENSORS));
            let fw = FloatWeights::load(&net, &from)?;
            let out = weights::dir(&net, out.as_deref());
            commands::export(&net, &fw, &mnist, &out, rounding).map(|_| true)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("cnn-cosim: {e:#}");
            match e.downcast_ref::<cnn_cosim::interrupt::Interrupted>() {
                Some(i) => ExitCode::from(u8::try_from(128 + i.signal).unwrap_or(130)),
                None => ExitCode::from(2),
            }
        }
    }
}
