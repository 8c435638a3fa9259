//! The co-simulation driver: streams images through one Verilated model per worker thread,
//! runs the reference (and the float model) beside it, compares, and hands each image's
//! result to a sink in image order.
//!
//! Work is cut into fixed segments of [`SEGMENT`] images aligned on absolute image indices.
//! A worker resets its model at the start of a segment and streams the segment's images
//! back-to-back, so results depend only on the images and options — never on `--jobs`,
//! thread scheduling or `--start`/`--limit` boundaries inside a segment.

use crate::compare::{compare, Beats, Capture, Comparison};
use crate::float_model::FloatWeights;
use crate::image::Image;
use crate::network::{Network, Tap};
use crate::reference;
use crate::sim::binding::Between;
use crate::sim::model::{Input, Model};
use crate::weights::Params;
use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Images per segment (one reset, then back-to-back streaming).
pub const SEGMENT: usize = 500;
/// An image whose `class_valid` has not come this many cycles after its last pixel is a
/// timeout: 4× the cycles of a whole image at one pixel per clock.
pub fn watchdog(input_len: usize) -> u64 {
    4 * input_len as u64
}

/// What the driver does between and inside images.
#[derive(Debug, Clone)]
pub struct Config {
    pub jobs: usize,
    pub between: Between,
    /// Probability of an idle cycle before each pixel (repeats, so gaps can be long).
    pub bubbles: f64,
    /// Seeds the bubble pattern (per image, so it does not depend on scheduling).
    pub seed: u64,
    /// Mismatch rows kept per image (the counts include every mismatch).
    pub max_rows: usize,
    /// Keep the full capture of this image (absolute index) in its result.
    pub keep_capture: Option<usize>,
    /// Write an FST waveform of the `keep_capture` image here (traced model).
    pub trace: Option<std::path::PathBuf>,
    /// Run only this shard's segments.
    pub shard: Option<Shard>,
    /// The design under test.
    pub design: &'static crate::sim::model::Design,
    /// A design built with coverage: each model's counts go into a file of their own here
    /// when it is done (at the end of its worker, or before a stopped model is replaced).
    pub coverage: Option<std::path::PathBuf>,
}

/// `--shard K/N`: segment number `g` (counted from 0 over the whole run, see `base`) belongs
/// to shard `g % N + 1`. Segments start from reset, so a shard streams exactly what a
/// single run streams for those images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, 1-based.
    pub index: usize,
    /// N.
    pub count: usize,
    /// Segment number of this stimulus's image 0 (a random campaign counts on across sets).
    pub base: usize,
}

impl Shard {
    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("{s:?} is not K/N"))?;
        let (k, n): (usize, usize) = match (k.parse(), n.parse()) {
            (Ok(k), Ok(n)) => (k, n),
            _ => return Err(format!("{s:?} is not K/N with whole numbers")),
        };
        if k == 0 || k > n {
            return Err(format!("shard {k}/{n}: K must be between 1 and N"));
        }
        Ok(Shard { index: k, count: n, base: 0 })
    }

    /// Whether segment `g` of the stimulus (its images from `g * SEGMENT`) is this shard's.
    pub fn owns(&self, g: usize) -> bool {
        (self.base + g) % self.count == self.index - 1
    }
}

/// One image's verdict.
#[derive(Debug, Clone)]
pub struct ImageResult {
    pub index: usize,
    pub label: Option<u8>,
    pub ref_class: u8,
    pub rtl_class: Option<u8>,
    pub float_class: Option<u8>,
    /// Cycles from accepting the first pixel to `class_valid`.
    pub cycles: Option<u64>,
    /// Cycles from accepting the last pixel to `class_valid`.
    pub latency: Option<u64>,
    /// Cycles from accepting the previous image's first pixel to accepting this one's, when
    /// both came in one stream with no reset between: the design's throughput.
    pub interval: Option<u64>,
    /// A host-driven design: the cycles of the writes that loaded this image (`latency` is
    /// then its compute: from the start to the class) and of the weight writes just before
    /// it, when there were any.
    pub load_cycles: Option<u64>,
    pub weight_cycles: Option<u64>,
    /// Per network layer: the reference's values its overflow rule changed (saturated or
    /// wrapped) on this image, by rail.
    pub overflowed: Vec<crate::reference::Rails>,
    /// Per network layer: the smallest and largest value of the reference on this image
    /// (tapped layers and the class).
    pub ranges: Vec<Option<(i64, i64)>>,
    /// No class came: in time (a timeout), or at all because the design ended the simulation
    /// (`stopped`).
    pub timed_out: bool,
    /// The design ended the simulation (`$finish`, `$fatal`) while this image was in flight.
    pub stopped: bool,
    /// The reference's largest logit is shared by several outputs (an argmax tie).
    pub tie: bool,
    pub cmp: Comparison,
    /// Every beat the RTL produced, when [`Config::keep_capture`] asked for this image.
    pub capture: Option<Capture>,
}

impl ImageResult {
    pub fn status(&self) -> &'static str {
        if self.stopped {
            "stopped"
        } else if self.timed_out {
            "timeout"
        } else if self.cmp.is_clean() {
            "ok"
        } else if self.cmp.only_beats() {
            "protocol"
        } else {
            "mismatch"
        }
    }
}

/// The bits of an input value a pixel lane carries (its two's complement, `bits` ≤ 8 wide,
/// checked when the run is planned: [`check_input_width`]).
pub fn lane_mask(bits: u32) -> u8 {
    if bits >= 8 {
        u8::MAX
    } else {
        (1u8 << bits) - 1
    }
}

/// Refuses a network whose input values are wider than a pixel lane (8 bits), naming where.
pub fn check_input_width(net: &Network) -> anyhow::Result<()> {
    if net.input_type.bits > 8 {
        anyhow::bail!(
            "{}: [input] bits = {}: the harness drives input values of up to 8 bits into an \
             RTL design today (eval and net show take any width)",
            net.source,
            net.input_type.bits
        );
    }
    Ok(())
}

/// The images of a run: `images[i]` is MNIST test image `first + i`.
pub struct Stimulus<'a> {
    pub images: &'a [Image],
    /// MNIST labels; `None` for random stimulus.
    pub labels: Option<&'a [u8]>,
    pub first: usize,
}

/// The reference side of a run: the network with its integer weights, and the taps that
/// are compared (those the design brings out, and the class).
pub struct Reference<'a> {
    pub model: reference::Model<'a>,
    pub taps: Vec<Tap>,
    /// Which of each tap's beats are its layer's (the binding's `beats`).
    pub beats: Vec<Beats>,
    /// Positions of `taps` among the network's taps.
    keep: Vec<usize>,
}

impl<'a> Reference<'a> {
    pub fn new(
        net: &'a Network,
        params: &'a Params,
        design: &crate::sim::model::Design,
    ) -> Reference<'a> {
        let all = net.taps();
        let keep: Vec<usize> = (0..all.len()).filter(|&i| design.brings_out(&all[i])).collect();
        let taps: Vec<Tap> = keep.iter().map(|&i| all[i].clone()).collect();
        let beats = taps
            .iter()
            .map(|t| design.binding.tap(&t.name).map_or(Beats::Exact, |b| b.beats))
            .collect();
        Reference { model: reference::Model::new(net, params), taps, beats, keep }
    }

    /// The reference's outputs of one image, restricted to the compared taps.
    pub fn run(&self, image: &[i32]) -> reference::Outputs {
        let mut out = self.model.run(image);
        if self.keep.len() != out.taps.len() {
            let mut all = std::mem::take(&mut out.taps);
            out.taps = self.keep.iter().map(|&i| std::mem::take(&mut all[i])).collect();
        }
        out
    }
}

/// Everything a worker reads.
struct Shared<'a> {
    stim: &'a Stimulus<'a>,
    net: &'a Network,
    taps: Vec<Tap>,
    /// The reference; `None` streams only ([`stream`]).
    reference: Option<&'a Reference<'a>>,
    fw: Option<&'a FloatWeights>,
    /// Cycles after an image's last pixel before it is a timeout.
    watchdog: u64,
    cfg: &'a Config,
    segments: Vec<Range<usize>>,
    next_segment: AtomicUsize,
    abort: AtomicBool,
    /// A host-driven design's weight words (per region), written over its bus.
    host_words: Vec<(usize, Vec<crate::sim::bus::Word>)>,
    /// Totals of [`stream`].
    images: AtomicU64,
    timeouts: AtomicU64,
    cycles: AtomicU64,
}

impl<'a> Shared<'a> {
    fn new(
        stim: &'a Stimulus<'a>,
        net: &'a Network,
        reference: Option<&'a Reference<'a>>,
        fw: Option<&'a FloatWeights>,
        cfg: &'a Config,
        weights_dir: &Path,
    ) -> Result<Shared<'a>> {
        let host_words = match &cfg.design.binding.host {
            None => Vec::new(),
            Some(h) => match reference {
                Some(r) => h.weight_words(r.model.params),
                None => h.weight_words(&crate::weights::Params::load(
                    &cfg.design.binding.design_net,
                    weights_dir,
                )?),
            },
        };
        let end = stim.first + stim.images.len();
        let mut segments = Vec::new();
        let mut s = stim.first;
        while s < end {
            let e = ((s / SEGMENT + 1) * SEGMENT).min(end);
            if cfg.shard.is_none_or(|sh| sh.owns(s / SEGMENT)) {
                segments.push(s - stim.first..e - stim.first);
            }
            s = e;
        }
        Ok(Shared {
            host_words,
            stim,
            net,
            taps: net.taps().into_iter().filter(|t| cfg.design.brings_out(t)).collect(),
            reference,
            fw,
            watchdog: cfg.design.binding.timeout.unwrap_or_else(|| watchdog(net.input_len())),
            cfg,
            segments,
            next_segment: AtomicUsize::new(0),
            abort: AtomicBool::new(false),
            images: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            cycles: AtomicU64::new(0),
        })
    }

    fn pool(&self) -> Result<rayon::ThreadPool> {
        let jobs = self.cfg.jobs.max(1).min(self.segments.len().max(1));
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .context("cannot start worker threads")
    }
}

/// Runs every image of `stim` and calls `sink` with each result in image order.
pub fn run(
    stim: &Stimulus,
    reference: &Reference,
    fw: Option<&FloatWeights>,
    weights_dir: &Path,
    cfg: &Config,
    mut sink: impl FnMut(ImageResult) -> Result<()>,
) -> Result<()> {
    let shared = Shared::new(stim, reference.model.net, Some(reference), fw, cfg, weights_dir)?;
    // The images that run, in the order the sink gets them.
    let order: Vec<usize> = shared.segments.iter().flat_map(|s| s.clone()).collect();
    let n = order.len();
    if n == 0 {
        return Ok(()); // a shard that owns no segment of this stimulus
    }
    let pool = shared.pool()?;
    let (tx, rx) = mpsc::sync_channel::<Vec<ImageResult>>(4 * SEGMENT / RESULT_BATCH);

    std::thread::scope(|scope| {
        let shared = &shared;
        let workers = scope.spawn(move || {
            pool.broadcast(|_| {
                let r = worker(shared, weights_dir, Some(tx.clone()));
                if r.is_err() {
                    shared.abort.store(true, Ordering::Relaxed);
                }
                r
            })
        });
        // Reorder: results arrive per segment from several workers.
        let mut waiting = BTreeMap::new();
        let mut next = 0usize;
        let mut sink_result = Ok(());
        for r in rx.into_iter().flatten() {
            waiting.insert(r.index - stim.first, r);
            while let Some(r) = order.get(next).and_then(|i| waiting.remove(i)) {
                next += 1;
                if sink_result.is_ok() {
                    sink_result = sink(r);
                    if sink_result.is_err() {
                        shared.abort.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        let worker_results = workers.join().expect("worker threads do not panic");
        for r in worker_results {
            r?;
        }
        sink_result?;
        crate::interrupt::check(String::new)?;
        anyhow::ensure!(next == n, "internal error: {next} of {n} results arrived");
        Ok(())
    })
}

/// What [`stream`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Images whose class came.
    pub images: u64,
    pub timeouts: u64,
    /// Clock cycles simulated, reset cycles included.
    pub cycles: u64,
}

/// Streams every image of `stim` through the RTL exactly as [`run`] does (same segments,
/// timing, beat capture and attribution) but runs no reference or float model, compares
/// nothing and makes no results: the driver's own streaming cost (`cnn-cosim bench`).
pub fn stream(
    stim: &Stimulus,
    net: &Network,
    weights_dir: &Path,
    cfg: &Config,
) -> Result<StreamStats> {
    let shared = Shared::new(stim, net, None, None, cfg, weights_dir)?;
    let pool = shared.pool()?;
    let results = pool.broadcast(|_| {
        let r = worker(&shared, weights_dir, None);
        if r.is_err() {
            shared.abort.store(true, Ordering::Relaxed);
        }
        r
    });
    for r in results {
        r?;
    }
    Ok(StreamStats {
        images: shared.images.into_inner(),
        timeouts: shared.timeouts.into_inner(),
        cycles: shared.cycles.into_inner(),
    })
}

/// One worker: its own model, segments taken in turn until none is left. With `tx`, each
/// image's result goes there; without, images are only counted ([`stream`]).
fn worker(
    sh: &Shared,
    weights_dir: &Path,
    tx: Option<mpsc::SyncSender<Vec<ImageResult>>>,
) -> Result<()> {
    let design = sh.cfg.design;
    let build = || -> Result<Model> {
        let mut model =
            Model::with_weights(design, weights_dir, sh.cfg.seed, sh.cfg.trace.as_deref())
                .with_context(|| {
                    format!("{}: cannot build the RTL model", weights_dir.display())
                })?;
        model.set_stall_limit(u32::try_from(sh.watchdog).unwrap_or(u32::MAX));
        Ok(model)
    };
    let mut model = build()?;
    let mut st = WorkerState {
        inputs: Vec::new(),
        spare: Vec::new(),
        scratch: Capture::for_taps(&sh.taps),
        batch: Vec::new(),
        cycles: 0,
        taps: sh.taps.clone(),
    };
    let (mut images, mut timeouts) = (0u64, 0u64);
    let result = loop {
        if sh.abort.load(Ordering::Relaxed) {
            break Ok(());
        }
        let s = sh.next_segment.fetch_add(1, Ordering::Relaxed);
        let Some(seg) = sh.segments.get(s) else { break Ok(()) };
        let mut done = |sh: &Shared, st: &mut WorkerState, p: Pending, cc: Option<u64>, to| {
            images += cc.is_some() as u64;
            timeouts += to as u64;
            if let (Some(tx), Some(rf)) = (&tx, sh.reference) {
                st.batch.push(finish(sh, rf, &p, cc, to));
                if st.batch.len() >= RESULT_BATCH {
                    tx.send(std::mem::take(&mut st.batch)).ok();
                }
            }
            st.recycle(p);
        };
        let r = if design.binding.host.is_some() {
            host_segment(sh, &mut model, &build, seg.clone(), &mut st, &mut done)
        } else {
            run_segment(sh, &mut model, &build, seg.clone(), &mut st, &mut done)
        };
        if let Some(tx) = &tx {
            if !st.batch.is_empty() {
                tx.send(std::mem::take(&mut st.batch)).ok();
            }
        }
        if r.is_err() {
            break r;
        }
    };
    sh.images.fetch_add(images, Ordering::Relaxed);
    sh.timeouts.fetch_add(timeouts, Ordering::Relaxed);
    sh.cycles.fetch_add(st.cycles, Ordering::Relaxed);
    result?;
    save_coverage(sh, &mut model)
}

/// With `--coverage`: the model's counts into a new file of the run's coverage directory
/// (merged when the run ends, [`crate::coverage`]).
fn save_coverage(sh: &Shared, model: &mut Model) -> Result<()> {
    let Some(dir) = &sh.cfg.coverage else { return Ok(()) };
    let (_, path) = tempfile::Builder::new()
        .prefix("model-")
        .suffix(".dat")
        .tempfile_in(dir)
        .and_then(|f| f.keep().map_err(|e| e.error))
        .with_context(|| format!("{}: cannot create a coverage file", dir.display()))?;
    model.write_coverage(&path)
}

/// An idle input (valid low).
const IDLE: Input = [0; std::mem::size_of::<Input>()];

/// Results a worker sends at once (one wake-up of the collecting thread per batch, not per
/// image; also sent at the end of each segment).
const RESULT_BATCH: usize = 50;

/// What a worker keeps across images and segments.
struct WorkerState {
    /// The inputs of the image being fed (or of a drain), one per cycle.
    inputs: Vec<Input>,
    /// Captures of finished images, cleared, for the next ones (no allocation per image).
    spare: Vec<Capture>,
    /// Beats that arrive while no image is waiting for its class (dropped).
    scratch: Capture,
    /// Results not yet sent.
    batch: Vec<ImageResult>,
    /// Clock cycles simulated, reset cycles included.
    cycles: u64,
    taps: Vec<Tap>,
}

impl WorkerState {
    fn capture(&mut self) -> Capture {
        self.spare.pop().unwrap_or_else(|| Capture::for_taps(&self.taps))
    }

    fn recycle(&mut self, p: Pending) {
        let mut c = p.cap;
        c.clear();
        self.spare.push(c);
    }
}

/// An image fed (or being fed) to the RTL whose `class_valid` has not come yet.
struct Pending {
    i: usize,
    cap: Capture,
    /// The cycles that accepted its first and last pixels (set as they are accepted); a
    /// host-driven design's: 0 and the end of its image's writes.
    first_cycle: Option<u64>,
    last_cycle: Option<u64>,
    /// Cycles since the previous image's first pixel (see [`ImageResult::interval`]).
    interval: Option<u64>,
    /// A handshake problem seen while it was pending (reported with it).
    note: Option<String>,
    /// Beats that came after the previous image's class and before this image's first
    /// pixel, said in words (they cannot be this image's; not counted for it).
    strays: Option<String>,
    /// The design ended the simulation while this image was in flight.
    stopped: bool,
    /// A host-driven design: the cycles spent writing the weights just before this image.
    weight_cycles: Option<u64>,
}

/// Called with each image whose class came (`Some(cycle)`) or that timed out.
type Done<'f> = dyn FnMut(&Shared, &mut WorkerState, Pending, Option<u64>, bool) + 'f;

fn reset(sh: &Shared, model: &mut Model, st: &mut WorkerState) -> Result<()> {
    let cycles = sh.cfg.design.binding.reset.cycles;
    st.cycles += cycles as u64;
    model.reset(cycles)
}

/// Streams one segment. The inputs of a whole image (idle cycles, bubbles and pixels) are
/// generated ahead and run in one call into the model ([`Model::run`]), which stops at each
/// `class_valid` so every beat still goes to the oldest image waiting for its class; the
/// watchdog bounds each call.
fn run_segment(
    sh: &Shared,
    model: &mut Model,
    build: &dyn Fn() -> Result<Model>,
    seg: Range<usize>,
    st: &mut WorkerState,
    done: &mut Done,
) -> Result<()> {
    let cfg = sh.cfg;
    let input = &cfg.design.binding.input;
    let lanes = input.lanes.max(1);
    let mask = lane_mask(sh.net.input_type.bits);
    reset(sh, model, st)?;
    // Whether the next image is the first since a reset (a design without valid takes its
    // first pixel `start_after_reset` cycles after it).
    let mut after_reset = true;
    // The cycle that accepted the first pixel of the image before, since the last reset.
    let mut prev_first: Option<u64> = None;
    // The image whose inputs are being fed.
    let mut fed = usize::MAX;
    let mut cycle = 0u64;
    let mut pending: VecDeque<Pending> = VecDeque::new();
    // The inputs in `st.inputs[at..]` are the rest of the image being fed; `feeding` is
    // false while draining (idle inputs generated per call).
    let mut at = 0usize;
    let mut feeding = false;
    let mut next = seg.start;
    let reset_each = cfg.between == Between::Reset;
    loop {
        if at == st.inputs.len() || !feeding {
            st.inputs.clear();
            at = 0;
            feeding = false;
            if sh.abort.load(Ordering::Relaxed) || crate::interrupt::requested().is_some() {
                return Ok(()); // the run stops: the images still pending are abandoned
            }
        }
        if !feeding && next < seg.end && (!reset_each || pending.is_empty()) {
            if reset_each && next > seg.start {
                reset(sh, model, st)?;
                after_reset = true;
                prev_first = None;
            }
            let abs = (sh.stim.first + next) as u64;
            let mut rng =
                ChaCha8Rng::seed_from_u64(cfg.seed ^ abs.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let idle = match cfg.between {
                Between::Idle(n) if next > seg.start => n,
                _ => 0,
            };
            if cfg.keep_capture == Some(sh.stim.first + next) {
                model.dump(true);
            }
            let img = &sh.stim.images[next];
            let inputs = &mut st.inputs;
            inputs.extend(std::iter::repeat_n(IDLE, idle as usize));
            if after_reset && input.valid.is_none() {
                inputs.extend(std::iter::repeat_n(IDLE, input.start_after_reset as usize));
            }
            after_reset = false;
            inputs.reserve(img.len().div_ceil(lanes));
            if lanes == 1 && cfg.bubbles == 0.0 {
                // The common case, a pixel per beat and no bubbles, without a copy call per
                // pixel.
                inputs.extend(img.iter().map(|&p| {
                    let mut item = IDLE;
                    item[0] = 1;
                    item[1] = p as u8 & mask;
                    item
                }));
            } else {
                for beat in img.chunks(lanes) {
                    while cfg.bubbles > 0.0 && rng.random_bool(cfg.bubbles) {
                        inputs.push(IDLE);
                    }
                    let mut item = IDLE;
                    item[0] = 1;
                    for (d, &p) in item[1..=beat.len()].iter_mut().zip(beat) {
                        *d = p as u8 & mask;
                    }
                    inputs.push(item);
                }
            }
            let cap = st.capture();
            pending.push_back(Pending {
                i: next,
                cap,
                first_cycle: None,
                last_cycle: None,
                interval: None,
                note: None,
                strays: None,
                stopped: false,
                weight_cycles: None,
            });
            fed = next;
            feeding = true;
            next += 1;
        }
        if !feeding {
            if pending.is_empty() {
                return Ok(());
            }
            // Drain: idle cycles up to the oldest image's watchdog.
            st.inputs.resize(sh.watchdog as usize + 1, IDLE);
        }
        // Run until the oldest pending image's watchdog expires at the latest.
        let deadline = pending.front().and_then(|p| p.last_cycle).map(|l| l + sh.watchdog + 1);
        let room = deadline.map_or(u64::MAX, |d| d.saturating_sub(cycle).max(1));
        let end = at + (st.inputs.len() - at).min(usize::try_from(room).unwrap_or(usize::MAX));
        // Until the image being fed has a pixel accepted, a beat arriving while it is the
        // oldest waiting cannot be its own: run to that pixel, then set such beats aside.
        let before_first_pixel =
            feeding && pending.front().is_some_and(|p| p.i == fed && p.first_cycle.is_none());
        let ran = {
            let cap = match pending.front_mut() {
                Some(p) => &mut p.cap,
                None => &mut st.scratch,
            };
            model.run(&st.inputs[at..end], &mut cap.taps, before_first_pixel)
        };
        let ran = match ran {
            Ok(ran) => ran,
            Err(e) => {
                // The design ended the simulation ($finish, $fatal): every image in flight
                // ends here with the reason, and the stream goes on from the next image on a
                // new model. With no image in flight there is nothing to pin it on.
                let stop = e.downcast::<crate::sim::model::Stopped>()?;
                if pending.is_empty() {
                    return Err(stop.into());
                }
                let when = cycle + stop.cycles;
                st.cycles += stop.cycles;
                for mut p in pending.drain(..) {
                    let how = if feeding && p.i == fed {
                        "while its pixels were going in"
                    } else {
                        "while it waited for its class"
                    };
                    p.note = Some(format!(
                        "{} at cycle {when} of the stream, {how}; the next image runs on a new \
                         model",
                        stop.message
                    ));
                    p.stopped = true;
                    done(sh, st, p, None, true);
                }
                save_coverage(sh, model)?;
                *model = build()?;
                st.inputs.clear();
                at = 0;
                feeding = false;
                reset(sh, model, st)?;
                after_reset = true;
                prev_first = None;
                continue;
            }
        };
        if before_first_pixel && (ran.first_accept.is_some() || ran.class.is_some()) {
            if let Some(p) = pending.front_mut() {
                let n: Vec<String> = p
                    .cap
                    .taps
                    .iter()
                    .zip(sh.taps.iter().filter(|t| !t.is_class))
                    .filter(|(b, _)| !b.is_empty())
                    .map(|(b, t)| {
                        let n = b.len() / t.shape.beats().0.max(1);
                        format!("{n} {} beat{}", t.name, if n == 1 { "" } else { "s" })
                    })
                    .collect();
                if !n.is_empty() {
                    p.strays = Some(format!(
                        "{} came after the previous image's class (or the reset) and before this \
                         image's first pixel; not counted for this image",
                        n.join(", ")
                    ));
                    p.cap.taps.iter_mut().for_each(Vec::clear);
                }
            }
        }
        if pending.is_empty() {
            st.scratch.clear();
        }
        if feeding {
            // The pixels this call accepted: the image's first, and (when its inputs are all
            // consumed) its last, which ends them.
            let done_feeding = at + ran.consumed == st.inputs.len();
            if let Some(p) = pending.iter_mut().find(|p| p.i == fed) {
                if p.first_cycle.is_none() {
                    p.first_cycle = ran.first_accept.map(|k| cycle + k as u64);
                    if let Some(f) = p.first_cycle {
                        p.interval = prev_first.map(|pf| f - pf);
                        prev_first = Some(f);
                    }
                }
                if done_feeding {
                    p.last_cycle = ran.last_accept.map(|k| cycle + k as u64);
                }
            }
        }
        at += ran.consumed;
        cycle += ran.cycles as u64;
        st.cycles += ran.cycles as u64;
        let Some(p) = pending.front_mut() else { continue };
        if let Some(class) = ran.class {
            p.cap.class = Some(class);
            let mut p = pending.pop_front().expect("front exists");
            // Pixels scheduled after the class were not presented before it.
            p.first_cycle = p.first_cycle.filter(|&f| f <= cycle);
            p.last_cycle = p.last_cycle.filter(|&l| l <= cycle);
            if cfg.keep_capture == Some(sh.stim.first + p.i) {
                model.dump(false);
            }
            done(sh, st, p, Some(cycle), false);
        } else if ran.stalled || p.last_cycle.is_some_and(|l| l <= cycle && cycle - l > sh.watchdog)
        {
            // Timeout — no class in time, or ready stayed low: report it on the oldest image
            // waiting (with the reason), then restart the stream cleanly from the next image.
            let mut p = pending.pop_front().expect("front exists");
            if ran.stalled {
                let k = lanes * st.inputs[..at].iter().filter(|i| i[0] != 0).count();
                p.note = Some(format!(
                    "ready stayed low for {} cycles in a row while pixel {k} of image {} waited",
                    sh.watchdog,
                    sh.stim.first + fed
                ));
            }
            done(sh, st, p, None, true);
            if let Some(rest) = pending.front() {
                next = rest.i;
            }
            for p in pending.drain(..) {
                st.recycle(p);
            }
            feeding = false;
            reset(sh, model, st)?;
            after_reset = true;
            prev_first = None;
        }
    }
}

/// Runs one segment of a host-driven design: reset, then per image — the weights when due,
/// the image's writes, start, done, class — every tap beat in between the image's. A
/// timeout or an error response ends the image with the reason and resets the design (the
/// weights are written again); a design that ends the simulation is rebuilt.
fn host_segment(
    sh: &Shared,
    model: &mut Model,
    build: &dyn Fn() -> Result<Model>,
    seg: std::ops::Range<usize>,
    st: &mut WorkerState,
    done: &mut Done,
) -> Result<()> {
    let cfg = sh.cfg;
    let p = cfg.design.binding.host.as_ref().expect("a host-driven design");
    reset(sh, model, st)?;
    let mut loaded = false;
    // Why the weights could not be written since the last reset: every later image of
    // the segment ends with it, unsimulated.
    let mut unloadable: Option<String> = None;
    for i in seg {
        if sh.abort.load(std::sync::atomic::Ordering::Relaxed)
            || crate::interrupt::requested().is_some()
        {
            return Ok(());
        }
        let mut img = Pending {
            i,
            cap: st.capture(),
            first_cycle: None,
            last_cycle: None,
            interval: None,
            note: None,
            strays: None,
            stopped: false,
            weight_cycles: None,
        };
        if let Some(why) = &unloadable {
            img.note = Some(format!("not run: {why}"));
            done(sh, st, img, None, true);
            continue;
        }
        let keep = cfg.keep_capture == Some(sh.stim.first + i);
        if keep {
            model.dump(true);
        }
        // The weights, when due: their beats (none expected) are not the image's.
        let mut failure = None;
        if !loaded || p.weights == crate::sim::binding_file::WeightsWhen::EveryImage {
            st.scratch.clear();
            let mut port = crate::sim::bus::Port::new(model, &mut st.scratch.taps, p.timeout);
            let r = p.regions_written(&mut port, &sh.host_words);
            st.cycles += port.cycles;
            img.weight_cycles = Some(port.cycles);
            match r {
                Ok(()) => {
                    loaded = true;
                    let n: usize = st.scratch.taps.iter().map(Vec::len).sum();
                    if n > 0 {
                        img.strays = Some(format!(
                            "{n} tap values came while the weights were written; not counted \
                             for this image"
                        ));
                    }
                }
                Err(f) => failure = Some((f, "while the weights were written")),
            }
        }
        if failure.is_none() {
            let mut port = crate::sim::bus::Port::new(model, &mut img.cap.taps, p.timeout);
            let words = p.input().encode(
                p.data_bits,
                p.protocol.byte_addressed(),
                sh.stim.images[i].iter().map(|&v| i64::from(v)),
            );
            let r =
                crate::sim::host::write_words(p, &mut port, "the image", &words).and_then(|()| {
                    let load = port.cycles;
                    crate::sim::host::start_and_finish(p, &mut port).map(|c| (load, c))
                });
            let cycles = port.cycles;
            st.cycles += cycles;
            match r {
                Ok((load, class)) => {
                    img.first_cycle = Some(0);
                    img.last_cycle = Some(load);
                    img.cap.class = Some(class);
                    if keep {
                        model.dump(false);
                    }
                    done(sh, st, img, Some(cycles), false);
                    continue;
                }
                Err(f) => failure = Some((f, "")),
            }
        }
        let Some((f, when)) = failure else { continue };
        if keep {
            model.dump(false);
        }
        let when = if when.is_empty() { String::new() } else { format!(" {when}") };
        match f {
            crate::sim::bus::Fail::Timeout(m) | crate::sim::bus::Fail::Response(m) => {
                if !loaded {
                    unloadable =
                        Some(format!("the weights could not be written after a reset: {m}"));
                }
                img.note = Some(format!("{m}{when}; the design is reset for the next image"));
                done(sh, st, img, None, true);
                reset(sh, model, st)?;
                loaded = false;
            }
            crate::sim::bus::Fail::Model(e) => {
                let stop = e.downcast::<crate::sim::model::Stopped>()?;
                img.note =
                    Some(format!("{}{when}; the next image runs on a new model", stop.message));
                img.stopped = true;
                done(sh, st, img, None, true);
                save_coverage(sh, model)?;
                *model = build()?;
                reset(sh, model, st)?;
                loaded = false;
            }
        }
    }
    Ok(())
}

fn finish(
    sh: &Shared,
    rf: &Reference,
    p: &Pending,
    class_cycle: Option<u64>,
    timed_out: bool,
) -> ImageResult {
    let img = &sh.stim.images[p.i];
    let expected = rf.run(img);
    // Beats placed by their coordinates into arrival order first.
    let binding = &sh.cfg.design.binding;
    let placed_cap;
    let (cap, placed) = if crate::sim::place::any(binding) {
        let mut c = p.cap.clone();
        let placed = crate::sim::place::place(binding, &sh.taps, &mut c, !timed_out);
        placed_cap = c;
        (&placed_cap, Some(placed))
    } else {
        (&p.cap, None)
    };
    let mut cmp = compare(&rf.model, &rf.taps, &rf.beats, &expected, cap, sh.cfg.max_rows);
    if let Some(placed) = placed {
        for (k, e) in placed.extra.iter().enumerate() {
            cmp.extra_beats[k] += e;
        }
        cmp.protocol.extend(placed.notes);
    }
    if let Some(s) = &p.strays {
        cmp.protocol.insert(0, s.clone());
    }
    match &p.note {
        // A host-driven design's note says why the image ended: first.
        Some(n) if binding.host.is_some() => cmp.protocol.insert(0, n.clone()),
        Some(n) => cmp.protocol.push(n.clone()),
        None if timed_out => {
            cmp.protocol.push(format!("no class within {} cycles of the last pixel", sh.watchdog))
        }
        None => {}
    }
    let index = sh.stim.first + p.i;
    ImageResult {
        index,
        label: sh.stim.labels.map(|l| l[p.i]),
        ref_class: expected.class,
        rtl_class: p.cap.class,
        float_class: sh.fw.map(|f| f.classify(sh.net, img)),
        cycles: class_cycle.zip(p.first_cycle).map(|(c, f)| c - f),
        latency: class_cycle.zip(p.last_cycle).map(|(c, l)| c - l),
        interval: p.interval,
        load_cycles: sh
            .cfg
            .design
            .binding
            .host
            .as_ref()
            .and(p.last_cycle.zip(p.first_cycle).map(|(l, f)| l - f)),
        weight_cycles: p.weight_cycles,
        tie: expected.tie(),
        overflowed: expected.overflowed,
        ranges: expected.ranges,
        timed_out,
        stopped: p.stopped,
        cmp,
        capture: (sh.cfg.keep_capture == Some(index)).then(|| cap.clone()),
    }
}
