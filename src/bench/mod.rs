//! `cnn-cosim bench`: how close the harness gets to the ceiling, a bare C++ loop driving the
//! same Verilated model (csrc/ceiling.cpp, linked by build.rs against the very library this
//! binary links). On the same images, interleaved, `--runs` times:
//!
//! - (a) the ceiling: pixels in, class strobes counted, nothing compared;
//! - (b) the driver, one thread, streaming only ([`driver::stream`]: no reference, no compare);
//! - (c) full `verify`, one thread;
//! - (d) full `verify`, all cores;
//!
//! - (p) `--jobs` ceilings at once, each on its share of the images: what this machine's cores
//!   give the bare loop together (p/a), for d/c to be read against. On a VM the cores are not
//!   always independent: two bare loops at once have run 1.5–1.95x one;
//!
//! - (e) with `--rtl DIR`: full `verify`, one thread, of the design in DIR Verilated at run
//!   time (built into the cache before the rounds), against (c);
//!
//! and with `--rtl DIR` of a host-driven design, (a)–(d) and (p) of that design instead, its
//! ceiling a bare host loop in this binary ([`design`]);
//!
//! each a child process timed from spawn to exit (so every one pays its own start-up and input
//! loading), then the medians, the per-run ratios b/a, c/a, d/c, p/a and their medians, and the
//! peak RSS of the full runs. docs/performance.md has the numbers and how they were made.

mod compilers;
mod design;

use crate::mnist::{self, Split};
use crate::network::Network;
use crate::sim::binding::Between;
use crate::sim::driver::{self, Config, Stimulus};
use crate::sim::model;
use crate::weights::Params;
use anyhow::{bail, ensure, Context, Result};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The ceiling executable build.rs linked beside this binary's model.
pub const CEILING: &str = env!("CNN_COSIM_CEILING");

/// Options of `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    #[arg(long, default_value = crate::plan::DEFAULT_MNIST)]
    pub mnist: PathBuf,
    /// Default: vectors/weights, or the weights a host-driven --rtl design's network names.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Rounds of (a)-(d), interleaved.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// The first this many test images (default: all).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Worker threads of (d) (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Also time (e): verify of the design bound in DIR, Verilated at run time; a
    /// host-driven design is timed on its own instead, against a host loop.
    #[arg(long, value_name = "DIR")]
    pub rtl: Option<PathBuf>,
    /// Run (b) once and print its counts (what bench's (b) child process runs).
    #[arg(long, hide = true)]
    pub stream_only: bool,
    /// Run (a) of the --rtl design once and print its counts.
    #[arg(long, hide = true, requires = "rtl", conflicts_with = "stream_only")]
    pub ceiling: bool,
    /// Instead of (a)-(d): the ceiling (a) of the --rtl design (default: rtl/) built four
    /// ways, gcc, gcc+PGO, clang and clang+PGO, interleaved; medians and ratios to gcc.
    #[arg(long, conflicts_with_all = ["stream_only", "ceiling"])]
    pub compilers: bool,
    /// The model (a) runs: its C++ compiler (what --compilers' children run).
    #[arg(long, hide = true, value_enum)]
    pub compiler: Option<crate::sim::toolchain::Compiler>,
    /// The model (a) runs: profile-guided (what --compilers' children run).
    #[arg(long, hide = true)]
    pub pgo: bool,
}

/// One timed child process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    secs: f64,
    /// The simulation loop's own seconds, when the child says (`seconds=`).
    loop_secs: Option<f64>,
    /// Clock cycles it simulated, when it says.
    cycles: Option<u64>,
    /// Peak resident set, KiB.
    max_rss_kib: Option<u64>,
    /// A host loop's cycles writing images, computing (start to class) and writing weights.
    load_cycles: Option<u64>,
    compute_cycles: Option<u64>,
    weight_cycles: Option<u64>,
}

/// The throughputs, in table order ((e) only with `--rtl`).
const MODES: [&str; 6] = [
    "(a) ceiling: bare C++ loop, no compare",
    "(b) driver, 1 thread, streaming only",
    "(c) verify, 1 thread",
    "(d) verify, all cores",
    "(p) ceilings, one per job, at once",
    "(e) verify, 1 thread, --rtl (run time)",
];

/// Mode `m`'s name in the table, for a host-driven design's bench or the seed's.
fn mode_name(m: usize, host: bool) -> &'static str {
    if host && m == 0 {
        design::CEILING
    } else {
        MODES[m]
    }
}

/// `bench`.
pub fn bench(a: &BenchArgs) -> Result<()> {
    let jobs = a.jobs.unwrap_or_else(rayon::current_num_threads).max(1);
    let me = std::env::current_exe().context("cannot find the cnn-cosim executable")?;
    if a.compilers {
        return compilers::bench(&me, a);
    }
    if let Some(dir) = &a.rtl {
        let inputs = design::Inputs {
            rtl: dir,
            mnist: &a.mnist,
            weights: a.weights.as_deref(),
            limit: a.limit.unwrap_or(usize::MAX),
            compiler: a.compiler,
            pgo: a.pgo,
        };
        if a.ceiling {
            return design::ceiling(&inputs);
        }
        let binding = crate::sim::binding::Binding::find(dir, None)?;
        if binding.host.is_some() {
            if a.stream_only {
                return design::stream_once(&inputs);
            }
            ensure!(a.runs > 0, "--runs 0 runs nothing");
            ensure!(a.limit != Some(0), "--limit 0 selects no images");
            let tmp = tempfile::Builder::new().prefix("cnn-cosim-bench-").tempdir()?;
            return design::bench(&me, binding, &inputs, a.runs, jobs, tmp.path());
        }
        design::check_streaming(&binding, &Network::seed().name)?;
    }
    if a.ceiling {
        bail!("--ceiling runs the ceiling of a host-driven design: give it with --rtl DIR");
    }
    let net = Network::seed();
    let given = a.weights.clone().unwrap_or_else(|| PathBuf::from(crate::weights::DEFAULT_WEIGHTS));
    Params::load(&net, &given)?; // bad weights: a clear error here, not in a child
    let weights = given
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve weight directory", given.display()))?;
    if a.stream_only {
        let test = mnist::load(&a.mnist, Split::Test)?;
        let n = a.limit.unwrap_or(test.len()).min(test.len());
        return stream_once(&net, &test.images[..n], &weights);
    }
    ensure!(a.runs > 0, "--runs 0 runs nothing");
    // The images are never loaded here: each child loads its own and reports its own peak.
    let tmp = tempfile::Builder::new().prefix("cnn-cosim-bench-").tempdir()?;
    let (idx, count) = raw_test_images(&a.mnist, tmp.path())?;
    let n = a.limit.unwrap_or(count).min(count);
    ensure!(n > 0, "--limit 0 selects no images");
    let limit = n.to_string();
    let jobs_arg = jobs.to_string();
    if let Some(dir) = &a.rtl {
        // Built (or found in the cache) once, here, so no round pays for the compile.
        // (e) runs on (a)-(d)'s images and weights, against the compiled-in seed design.
        let binding = crate::sim::binding::Binding::find(dir, None)?;
        crate::sim::verilate::build(binding, false, false)?;
    }
    let share = n.div_ceil(jobs);
    let share_arg = share.to_string();
    let commands = |ceiling: &Path, me: &Path| -> Vec<Vec<Command>> {
        let cosim = |args: &[&str], reports: Option<&str>| {
            let mut c = Command::new(me);
            c.args(args).arg("--mnist").arg(&a.mnist).arg("--weights").arg(&weights);
            c.args(["--limit", &limit]);
            if let Some(r) = reports {
                c.arg("--reports").arg(tmp.path().join(r));
            }
            c
        };
        let ceil = |images: &str| {
            let mut c = Command::new(ceiling);
            c.arg(&idx).arg(&weights).arg(images);
            c
        };
        let mut v = vec![
            vec![ceil(&limit)],
            vec![cosim(&["bench", "--stream-only"], None)],
            vec![cosim(&["verify", "--quiet", "--jobs", "1"], Some("c"))],
            vec![cosim(&["verify", "--quiet", "--jobs", &jobs_arg], Some("d"))],
            (0..jobs).map(|_| ceil(&share_arg)).collect(),
        ];
        if let Some(dir) = &a.rtl {
            let mut e = cosim(&["verify", "--quiet", "--jobs", "1"], Some("e"));
            e.arg("--rtl").arg(dir);
            v.push(vec![e]);
        }
        v
    };
    println!(
        "cnn-cosim bench: MNIST test images 0..{} from {}, weights {}, {} runs of (a)-(d) \
         interleaved, (d) with {} jobs; RTL {} ({})",
        n - 1,
        a.mnist.display(),
        given.display(),
        a.runs,
        jobs,
        crate::sim::binding::RTL_DIR,
        model::VERILATOR_VERSION
    );
    println!("ceiling: {CEILING} (csrc/ceiling.cpp)");
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); 5 + a.rtl.is_some() as usize];
    for run in 0..a.runs {
        // Fresh copies of both executables each round: on this project's VMs the same file
        // was seen to run 2x slower until its page cache was dropped (docs/performance.md),
        // so no round depends on one file's pages.
        let dir = tmp.path().join(format!("round{run}"));
        std::fs::create_dir_all(&dir)?;
        let (ceiling, cosim) = (dir.join("cnn-ceiling"), dir.join("cnn-cosim"));
        std::fs::copy(CEILING, &ceiling)
            .with_context(|| format!("{CEILING}: cannot copy the ceiling executable"))?;
        std::fs::copy(&me, &cosim).with_context(|| format!("{}: cannot copy", me.display()))?;
        for (m, mut cmds) in commands(&ceiling, &cosim).into_iter().enumerate() {
            let s = time_children(&mut cmds)
                .with_context(|| format!("run {run}: {}", mode_name(m, false)))?;
            samples[m].push(s);
        }
        std::fs::remove_dir_all(&dir)?;
        if std::io::stderr().is_terminal() {
            eprint!("\rrun {}/{} done", run + 1, a.runs);
        }
    }
    if std::io::stderr().is_terminal() {
        eprint!("\r");
    }
    print_table(&samples, n as u64, share as u64, jobs as u64, false);
    Ok(())
}

/// The raw IDX file of the test images in `dir` (a `.gz` one is unpacked into `tmp`, as a
/// stream) and how many images its header says it holds.
fn raw_test_images(dir: &Path, tmp: &Path) -> Result<(PathBuf, usize)> {
    let name = "t10k-images-idx3-ubyte";
    let raw = dir.join(name);
    let path = if raw.is_file() {
        raw
    } else {
        let gz = dir.join(format!("{name}.gz"));
        let f = std::fs::File::open(&gz).with_context(|| {
            format!("{}: MNIST file missing (neither it nor {name}.gz exists)", raw.display())
        })?;
        let out = tmp.join(name);
        let mut w = std::fs::File::create(&out)?;
        std::io::copy(&mut flate2::read::GzDecoder::new(f), &mut w)
            .with_context(|| format!("{}: not a valid gzip file", gz.display()))?;
        out
    };
    let mut head = [0u8; 16];
    std::fs::File::open(&path)
        .and_then(|mut f| f.read_exact(&mut head))
        .with_context(|| format!("{}: cannot read its header", path.display()))?;
    let word = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    ensure!(
        word(0) == 2051 && word(8) == 28 && word(12) == 28,
        "{}: not an IDX file of 28x28 images",
        path.display()
    );
    Ok((path, word(4) as usize))
}

/// (b) inside the child: streams `images` through the driver on one thread and prints
/// `images=N cycles=C seconds=S`.
fn stream_once(net: &Network, images: &[mnist::Image], weights: &Path) -> Result<()> {
    let stim = Stimulus { images, labels: None, first: 0 };
    let cfg = Config {
        jobs: 1,
        between: Between::BackToBack,
        bubbles: 0.0,
        seed: 1,
        max_rows: 0,
        keep_capture: None,
        trace: None,
        shard: None,
        design: crate::sim::model::Design::built_in(),

        coverage: None,
    };
    let t0 = Instant::now();
    let s = driver::stream(&stim, net, weights, &cfg)?;
    let secs = t0.elapsed().as_secs_f64();
    ensure!(
        s.images == images.len() as u64 && s.timeouts == 0,
        "{} of {} classes came, {} timeouts",
        s.images,
        images.len(),
        s.timeouts
    );
    println!(
        "images={} cycles={} seconds={secs:.6} peak_rss_kib={}",
        s.images,
        s.cycles,
        peak_rss_kib().unwrap_or(0)
    );
    Ok(())
}

/// `key=value` from a child's one-line report.
fn field(out: &str, key: &str) -> Option<u64> {
    out.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ';')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

/// Runs `cmds` at once to their ends; wall time from the first spawn to the last exit, the
/// sum of their `cycles=` and the largest peak RSS.
fn time_children(cmds: &mut [Command]) -> Result<Sample> {
    let t0 = Instant::now();
    let mut children = Vec::new();
    for cmd in cmds.iter_mut() {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        children.push(cmd.spawn().with_context(|| format!("cannot run {cmd:?}"))?);
    }
    // Each child prints one short line at its end, well within a pipe's buffer, so reading
    // them one after another never blocks a child.
    let mut outs = Vec::new();
    for (cmd, child) in cmds.iter().zip(&mut children) {
        let mut out = String::new();
        child.stdout.take().expect("piped").read_to_string(&mut out)?;
        let code = child.wait()?.code();
        if code != Some(0) {
            bail!("{cmd:?} exited with {code:?}:\n{out}");
        }
        outs.push(out);
    }
    let secs = t0.elapsed().as_secs_f64();
    // Each child reports its own peak (verify in its summary, the others as a field).
    let max_rss_kib = outs.iter().filter_map(|o| field(o, "peak_rss_kib")).max();
    let cycles = outs.iter().map(|o| field(o, "cycles")).sum();
    let first = |key: &str| outs.first().and_then(|o| field(o, key));
    let loop_secs = match outs.as_slice() {
        [one] => one.split_whitespace().find_map(|kv| kv.strip_prefix("seconds=")?.parse().ok()),
        _ => None,
    };
    Ok(Sample {
        secs,
        loop_secs,
        cycles,
        max_rss_kib,
        load_cycles: first("load_cycles"),
        compute_cycles: first("compute_cycles"),
        weight_cycles: first("weight_cycles"),
    })
}

/// This process's peak resident set in KiB (`VmHWM` of `/proc/self/status`; Linux only).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// `images`: what (a)–(e) each run; (p) runs `share` on each of its `jobs` ceilings. `host`:
/// the bench of a host-driven design (its own ceiling, no targets).
fn print_table(samples: &[Vec<Sample>], images: u64, share: u64, jobs: u64, host: bool) {
    // (c)-(e) run the same segments as (b), so they simulate the cycles (b) counted; the
    // ceilings count their own.
    let cycles = |m: usize| {
        let own = if m == 0 || m == 4 { m } else { 1 };
        samples[own].iter().find_map(|s| s.cycles)
    };
    let images_of = |m: usize| if m == 4 { share * jobs } else { images };
    println!(
        "{:<40} {:>10} {:>11} {:>9} {:>17}",
        "throughput (median of runs)", "images/s", "Mcycles/s", "median s", "min..max s"
    );
    for (m, runs) in samples.iter().enumerate() {
        let name = mode_name(m, host);
        let secs: Vec<f64> = runs.iter().map(|s| s.secs).collect();
        let (lo, hi) = secs.iter().fold((f64::MAX, 0f64), |(l, h), &x| (l.min(x), h.max(x)));
        let t = median(secs);
        let mc = cycles(m).map_or("?".into(), |c| format!("{:.3}", c as f64 / t / 1e6));
        println!(
            "{name:<40} {:>10.0} {mc:>11} {t:>9.3} {:>17}",
            images_of(m) as f64 / t,
            format!("{lo:.3}..{hi:.3}")
        );
    }
    let ratio = |x: usize, y: usize| {
        median(samples[x].iter().zip(&samples[y]).map(|(sx, sy)| sy.secs / sx.secs).collect())
    };
    println!(
        "ratios (throughput, median of per-run ratios): b/a {:.3}, c/a {:.3}, d/c {:.3}{}",
        ratio(1, 0),
        ratio(2, 0),
        ratio(3, 2),
        if host { "" } else { "   (targets: c/a >= 0.9, d/c >= 1.8 on 2 cores)" }
    );
    println!(
        "the machine: p/a {:.3} (the bare loop on every core at once against one core: what \
         the cores give together, for d/c to be read against)",
        ratio(4, 0) * images_of(4) as f64 / images as f64
    );
    if samples.len() > 5 {
        println!(
            "run-time Verilation: e/c {:.3} (the --rtl design against the compiled-in one, \
             both verify on 1 thread; target >= 0.95)",
            ratio(5, 2)
        );
    }
    let rss = |m: usize| {
        samples[m].iter().filter_map(|s| s.max_rss_kib).max().map(|k| k as f64 * 1.024e-3)
    };
    match (rss(2), rss(3)) {
        (Some(c), Some(d)) => println!(
            "peak RSS (largest of the runs): full verify (c) {c:.1} MB, (d) {d:.1} MB \
             (target < 200 MB); ceiling (a) {:.1} MB",
            rss(0).unwrap_or(0.0)
        ),
        _ => println!("peak RSS: not measured on this platform"),
    }
    if let Some(c) = cycles(0) {
        println!(
            "simulated cycles: (a) {c}, (b)-(d) {} (500-image segments, each from reset), (p) {} \
             ({jobs} x {share} images)",
            cycles(1).map_or("?".into(), |c| c.to_string()),
            cycles(4).map_or("?".into(), |c| c.to_string())
        );
    }
}
