//! `bench --rtl DIR` of a host-driven design: the compiled-in ceiling drives the seed's
//! streaming `cnn_top` and cannot drive it, so this design gets a ceiling of its own, in this
//! binary: its model, Verilated at run time, driven by its binding's host program (weights
//! once, then for each image its words, the start, done and the class) with no tap beat kept
//! ([`Model::drop_taps`]), no reference and nothing compared. (b)–(d) and (p) are those of the
//! seed bench, on this design's network, data set and weights; each is a child process.

use super::{time_children, Sample};
use crate::network::Network;
use crate::plan::{Plan, SetRun, VerifyArgs};
use crate::sim::binding::Binding;
use crate::sim::bus::{Fail, Port};
use crate::sim::driver::{self, Stimulus};
use crate::sim::host;
use crate::sim::model::Model;
use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::Parser;
use std::io::IsTerminal;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// What (a) of a host-driven design is, in the table.
pub const CEILING: &str = "(a) ceiling: bare host loop, no compare";

/// The options a child shares with `verify`: the design, data and weights of the run.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub rtl: &'a Path,
    pub mnist: &'a Path,
    pub weights: Option<&'a Path>,
    pub limit: usize,
    /// The model's compiler and whether it is profile-guided (`verify --compiler`, `--pgo`).
    pub compiler: Option<crate::sim::toolchain::Compiler>,
    pub pgo: bool,
}

impl Inputs<'_> {
    /// These options as `verify` arguments.
    pub(super) fn args(&self) -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec![
            "--rtl".into(),
            self.rtl.into(),
            "--mnist".into(),
            self.mnist.into(),
            "--limit".into(),
            self.limit.to_string().into(),
        ];
        if let Some(w) = self.weights {
            v.extend(["--weights".into(), w.into()]);
        }
        if let Some(c) = self.compiler {
            v.extend(["--compiler".into(), c.name().into()]);
        }
        if self.pgo {
            v.push("--pgo".into());
        }
        v
    }

    /// The run as `verify` on one thread would plan it: design loaded, network, and its one
    /// weight set with the images.
    pub(super) fn plan(&self) -> Result<(VerifyArgs, Network, SetRun)> {
        #[derive(Parser)]
        struct Verify {
            #[command(flatten)]
            v: VerifyArgs,
        }
        let argv = std::iter::once("verify".into()).chain(self.args()).chain([
            "--jobs".into(),
            "1".into(),
            "--quiet".into(),
        ]);
        let mut a = Verify::try_parse_from(argv).map_err(|e| anyhow!("{e}"))?.v;
        a.load_design()?;
        let net = a.network()?;
        let mut plan = Plan::new(&a, &net)?;
        let set = plan.sets(&a, &net).next().context("internal error: no weight set")??;
        Ok((a, net, set))
    }
}

/// The bench of a host-driven design: `runs` interleaved rounds of (a)–(d) and (p), then the
/// table and the cycles per image.
pub fn bench(
    me: &Path,
    binding: Binding,
    inputs: &Inputs,
    runs: usize,
    jobs: usize,
    tmp: &Path,
) -> Result<()> {
    // Built (or found in the cache) once, here, so no round pays for the compile; every
    // input read once here too, so a bad one is one error before any child runs.
    let source = binding.source.clone();
    crate::sim::verilate::build(binding, false, false)?;
    let (_, net, set) = inputs.plan()?;
    let n = set.images.len();
    let share = n.div_ceil(jobs);
    let child = |args: &[&str], limit: usize, reports: Option<&str>| {
        let mut c = Command::new(me);
        c.args(args).args(Inputs { limit, ..inputs.clone() }.args());
        if let Some(r) = reports {
            c.arg("--reports").arg(tmp.join(r));
        }
        c
    };
    let jobs_arg = jobs.to_string();
    let commands = || -> Vec<Vec<Command>> {
        vec![
            vec![child(&["bench", "--ceiling"], n, None)],
            vec![child(&["bench", "--stream-only"], n, None)],
            vec![child(&["verify", "--quiet", "--jobs", "1"], n, Some("c"))],
            vec![child(&["verify", "--quiet", "--jobs", &jobs_arg], n, Some("d"))],
            (0..jobs).map(|_| child(&["bench", "--ceiling"], share, None)).collect(),
        ]
    };
    println!(
        "cnn-cosim bench: {} images 0..{} of network {}, weights {}, {runs} runs of (a)-(d) \
         interleaved, (d) with {jobs} jobs; RTL {} (host-driven, Verilated at run time)",
        set.images.len(),
        n - 1,
        net.name,
        set.wd.path.display(),
        source,
    );
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); 5];
    for run in 0..runs {
        for (m, mut cmds) in commands().into_iter().enumerate() {
            let s = time_children(&mut cmds)
                .with_context(|| format!("run {run}: {}", super::mode_name(m, true)))?;
            samples[m].push(s);
        }
        if std::io::stderr().is_terminal() {
            eprint!("\rrun {}/{runs} done", run + 1);
        }
    }
    if std::io::stderr().is_terminal() {
        eprint!("\r");
    }
    super::print_table(&samples, n as u64, share as u64, jobs as u64, true);
    let a = samples[0].first().context("internal error: no ceiling sample")?;
    if let (Some(load), Some(compute), Some(w)) = (a.load_cycles, a.compute_cycles, a.weight_cycles)
    {
        let per = |c: u64| c as f64 / n as f64;
        println!(
            "cycles per image (first image write to class, (a)): {:.1} = image load {:.1} + \
             compute {:.1}; weights {w} cycles, written once",
            per(load + compute),
            per(load),
            per(compute),
        );
    }
    Ok(())
}

/// (a) inside the child: the design's host program on one model, every image in turn, no
/// beat kept; prints `images=N cycles=C load_cycles=L compute_cycles=K weight_cycles=W
/// seconds=S classes=N class_sum=X peak_rss_kib=R`. Any image that does not finish is an
/// error: a ceiling is only measured on a design that works.
pub fn ceiling(inputs: &Inputs) -> Result<()> {
    let (a, net, set) = inputs.plan()?;
    let design = a.design();
    let (dir, _keep) = crate::plan::design_weights(&set.wd, &net, design)?;
    let mut model = Model::with_weights(design, &dir, set.cfg.seed, None)
        .with_context(|| format!("{}: cannot build the RTL model", dir.display()))?;
    model.drop_taps();
    let Some(p) = design.binding.host.as_ref() else {
        return stream_ceiling(inputs, &mut model, &net, &set);
    };
    let words = p.weight_words(&set.wd.params);
    let mut taps = vec![Vec::new(); design.taps.len()];
    let t0 = Instant::now();
    let reset = design.binding.reset.cycles;
    model.reset(reset)?;
    let (mut weight_cycles, mut load_cycles, mut compute_cycles) = (0u64, 0u64, 0u64);
    let (mut classes, mut class_sum) = (0u64, 0u64);
    let failed = |i: usize, f: Fail| -> anyhow::Error {
        match f {
            Fail::Timeout(m) | Fail::Response(m) => {
                anyhow!("{}: image {i}: {m}", inputs.rtl.display())
            }
            Fail::Model(e) => e.context(format!("{}: image {i}", inputs.rtl.display())),
        }
    };
    for (i, img) in set.images.iter().enumerate() {
        if i == 0 || p.weights == crate::sim::binding_file::WeightsWhen::EveryImage {
            let mut port = Port::new(&mut model, &mut taps, p.timeout);
            let r = p.regions_written(&mut port, &words);
            weight_cycles += port.cycles;
            r.map_err(|f| failed(set.first + i, f))?;
        }
        let mut port = Port::new(&mut model, &mut taps, p.timeout);
        let w = p.input().encode(
            p.data_bits,
            p.protocol.byte_addressed(),
            img.iter().map(|&v| i64::from(v)),
        );
        host::write_words(p, &mut port, "the image", &w).map_err(|f| failed(set.first + i, f))?;
        let load = port.cycles;
        let class = host::start_and_finish(p, &mut port).map_err(|f| failed(set.first + i, f))?;
        load_cycles += load;
        compute_cycles += port.cycles - load;
        classes += 1;
        class_sum += u64::from(class);
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "images={} cycles={} load_cycles={load_cycles} compute_cycles={compute_cycles} \
         weight_cycles={weight_cycles} seconds={secs:.6} classes={classes} class_sum={class_sum} \
         peak_rss_kib={}",
        set.images.len(),
        u64::from(reset) + weight_cycles + load_cycles + compute_cycles,
        super::peak_rss_kib().unwrap_or(0)
    );
    Ok(())
}

/// (a) of a streaming design inside the child: every image's pixels back-to-back (one beat
/// a cycle, held while a ready is low) from one reset, no beat kept, class strobes counted,
/// nothing compared (`csrc/ceiling.cpp`'s loop, through the shim); prints `images=N
/// cycles=C seconds=S classes=N class_sum=X peak_rss_kib=R`. An image without its class is
/// an error, as in the host loop.
fn stream_ceiling(inputs: &Inputs, model: &mut Model, net: &Network, set: &SetRun) -> Result<()> {
    let design = set.cfg.design;
    let input = &design.binding.input;
    let lanes = input.lanes.max(1);
    let mask = driver::lane_mask(net.input_type.bits);
    let mut beats: Vec<crate::sim::model::Input> = Vec::new();
    let idle = [0u8; std::mem::size_of::<crate::sim::model::Input>()];
    if input.valid.is_none() {
        beats.extend(std::iter::repeat_n(idle, input.start_after_reset as usize));
    }
    for img in &set.images {
        for beat in img.chunks(lanes) {
            let mut item = idle;
            item[0] = 1;
            for (d, &p) in item[1..=beat.len()].iter_mut().zip(beat) {
                *d = p as u8 & mask;
            }
            beats.push(item);
        }
    }
    let mut taps = vec![Vec::new(); design.taps.len()];
    let reset = design.binding.reset.cycles;
    let watchdog = driver::watchdog(set.images.first().map_or(0, |i| i.len().div_ceil(lanes)));
    model.set_stall_limit(u32::try_from(watchdog).unwrap_or(u32::MAX));
    let t0 = Instant::now();
    model.reset(reset)?;
    let (mut cycles, mut classes, mut class_sum, mut at) = (u64::from(reset), 0u64, 0u64, 0);
    let drain = vec![idle; watchdog as usize + 1];
    while classes < set.images.len() as u64 {
        // The pixels, then idle cycles for the last images' classes.
        let feed = if at < beats.len() { &beats[at..] } else { &drain[..] };
        let end = model.run(feed, &mut taps, false)?;
        cycles += end.cycles as u64;
        if at < beats.len() {
            at += end.consumed;
        }
        match end.class {
            Some(c) => {
                classes += 1;
                class_sum += u64::from(c);
            }
            None if at >= beats.len()
                && end.consumed == feed.len()
                && feed.len() == drain.len() =>
            {
                bail!(
                    "{}: image {}: no class within {watchdog} cycles of the last pixel",
                    inputs.rtl.display(),
                    set.first + classes as usize
                );
            }
            None if end.stalled => {
                bail!("{}: the design stopped taking pixels (ready low)", inputs.rtl.display());
            }
            None => {}
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "images={} cycles={cycles} seconds={secs:.6} classes={classes} class_sum={class_sum} \
         peak_rss_kib={}",
        set.images.len(),
        super::peak_rss_kib().unwrap_or(0)
    );
    Ok(())
}

/// (b) inside the child for a run-time design: the driver on one thread, streaming only.
pub fn stream_once(inputs: &Inputs) -> Result<()> {
    let (_, net, set) = inputs.plan()?;
    let (dir, _keep) = crate::plan::design_weights(&set.wd, &net, set.cfg.design)?;
    let stim = Stimulus { images: &set.images, labels: None, first: set.first };
    let t0 = Instant::now();
    let s = driver::stream(&stim, &net, &dir, &set.cfg)?;
    let secs = t0.elapsed().as_secs_f64();
    ensure!(
        s.images == set.images.len() as u64 && s.timeouts == 0,
        "{} of {} classes came, {} timeouts",
        s.images,
        set.images.len(),
        s.timeouts
    );
    println!(
        "images={} cycles={} seconds={secs:.6} peak_rss_kib={}",
        s.images,
        s.cycles,
        super::peak_rss_kib().unwrap_or(0)
    );
    Ok(())
}

/// Refuses what this bench cannot time: a streaming design of another network (its ceiling
/// would be the compiled-in C++ loop, which drives the seed's `cnn_top` only).
pub fn check_streaming(binding: &Binding, seed: &str) -> Result<()> {
    if binding.network.name != seed {
        bail!(
            "{}: bench --rtl times a streaming design of the {seed} network against the \
             compiled-in one, or a host-driven design against a host loop of its own; this \
             design streams the {:?} network, which neither fits",
            binding.source,
            binding.network.name
        );
    }
    Ok(())
}
