//! `bench --compilers`: the ceiling (a) of one design built four ways (gcc, gcc+PGO, clang,
//! clang+PGO), each a model Verilated at run time with the same flags but the compiler and
//! the profile, driven by the same bare loop in this binary (`bench --ceiling`, one child
//! process per sample), interleaved `--runs` times: the medians of the loop's own time (the
//! child's start-up and input loading, the same for every variant, left out), and each
//! variant's speed against gcc as the median of the per-round ratios.

use super::design::Inputs;
use super::{median, time_children, BenchArgs, Sample};
use crate::sim::toolchain::Compiler;
use anyhow::{ensure, Context, Result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variants, in table order: the compiler and whether the model is profile-guided.
const VARIANTS: [(Compiler, bool); 4] = [
    (Compiler::Gcc, false),
    (Compiler::Gcc, true),
    (Compiler::Clang, false),
    (Compiler::Clang, true),
];

fn name((c, pgo): (Compiler, bool)) -> String {
    if pgo {
        format!("{c}+PGO")
    } else {
        c.to_string()
    }
}

/// `bench --compilers`.
pub fn bench(me: &Path, a: &BenchArgs) -> Result<()> {
    ensure!(a.runs > 0, "--runs 0 runs nothing");
    ensure!(a.limit != Some(0), "--limit 0 selects no images");
    // The seed's RTL by default: built at run time like the rest, not the compiled-in model.
    let rtl: PathBuf = a.rtl.clone().unwrap_or_else(|| PathBuf::from(crate::sim::binding::RTL_DIR));
    let inputs = |(compiler, pgo): (Compiler, bool)| Inputs {
        rtl: &rtl,
        mnist: &a.mnist,
        weights: a.weights.as_deref(),
        limit: a.limit.unwrap_or(usize::MAX),
        compiler: Some(compiler),
        pgo,
    };
    // Every model built (or found in the cache) here, before any round, and every input
    // checked: a round times only the loop.
    let mut images = 0;
    let mut label = String::new();
    for v in VARIANTS {
        let (args, net, set) =
            inputs(v).plan().with_context(|| format!("building the {} model", name(v)))?;
        images = set.images.len();
        let d = args.design();
        label = format!(
            "{} images {}..{} of network {}, weights {}, RTL {} bound by {} ({})",
            set.images.len(),
            set.first,
            set.first + set.images.len() - 1,
            net.name,
            set.wd.path.display(),
            d.binding.design.top,
            d.binding.source,
            // What built it, less the compiler: the Verilator.
            d.built_with.rsplit_once(", ").map_or(d.built_with.as_str(), |(v, _)| v)
        );
    }
    println!(
        "cnn-cosim bench --compilers: {label}; {} runs, the four variants interleaved, each (a): \
         a bare loop in this binary on the model Verilated at run time",
        a.runs
    );
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); VARIANTS.len()];
    for run in 0..a.runs {
        for (k, v) in VARIANTS.into_iter().enumerate() {
            let mut c = Command::new(me);
            c.args(["bench", "--ceiling"]).args(inputs(v).args());
            let s = time_children(std::slice::from_mut(&mut c))
                .with_context(|| format!("run {run}: (a) of the {} model", name(v)))?;
            samples[k].push(s);
        }
        if std::io::stderr().is_terminal() {
            eprint!("\rrun {}/{} done", run + 1, a.runs);
        }
    }
    if std::io::stderr().is_terminal() {
        eprint!("\r");
    }
    println!(
        "{:<34} {:>10} {:>11} {:>9} {:>17} {:>8}",
        "(a) ceiling, loop, median of runs",
        "images/s",
        "Mcycles/s",
        "median s",
        "min..max s",
        "vs gcc"
    );
    for (k, v) in VARIANTS.into_iter().enumerate() {
        let secs: Vec<f64> = samples[k].iter().map(|s| s.loop_secs.unwrap_or(s.secs)).collect();
        let (lo, hi) = secs.iter().fold((f64::MAX, 0f64), |(l, h), &x| (l.min(x), h.max(x)));
        let t = median(secs);
        let cycles = samples[k].iter().find_map(|s| s.cycles);
        let mc = cycles.map_or("?".into(), |c| format!("{:.3}", c as f64 / t / 1e6));
        // Throughput against gcc's, round by round.
        let secs = |s: &Sample| s.loop_secs.unwrap_or(s.secs);
        let ratio =
            median(samples[0].iter().zip(&samples[k]).map(|(g, s)| secs(g) / secs(s)).collect());
        println!(
            "{:<34} {:>10.0} {mc:>11} {t:>9.3} {:>17} {ratio:>8.3}",
            format!("(a) {}", name(v)),
            images as f64 / t,
            format!("{lo:.3}..{hi:.3}")
        );
    }
    Ok(())
}
