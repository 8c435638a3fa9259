//! The co-simulation driver: streams images through one Verilated model per worker thread,
//! runs the reference (and the float model) beside it, compares, and hands each image's
//! result to a sink in image order.
//!
//! Work is cut into fixed segments of [`SEGMENT`] images aligned on absolute image indices.
//! A worker resets its model at the start of a segment and streams the segment's images
//! back-to-back, so results depend only on the images and options — never on `--jobs`,
//! thread scheduling or `--start`/`--limit` boundaries inside a segment.

use crate::compare::{compare, Capture, Comparison};
use crate::float_model::FloatWeights;
use crate::memfile::QuantWeights;
use crate::mnist::{Image, PIXELS};
use crate::reference;
use crate::rtl::Model;
use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Images per segment (one reset, then back-to-back streaming).
pub const SEGMENT: usize = 500;
/// Reset cycles at the start of a segment.
pub const RESET_CYCLES: u32 = 2;
/// An image whose `class_valid` has not come this many cycles after its last pixel is a
/// timeout (4× the cycles of a whole image).
pub const WATCHDOG: u64 = 4 * PIXELS as u64;

/// What happens between two images of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Between {
    /// The next image's first pixel may follow the last pixel at once.
    BackToBack,
    /// This many idle cycles before each next image.
    Idle(u32),
    /// Wait for the class, then reset.
    Reset,
}

impl std::str::FromStr for Between {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "back-to-back" => Ok(Between::BackToBack),
            "reset" => Ok(Between::Reset),
            _ => s
                .strip_prefix("idle:")
                .and_then(|n| n.parse().ok())
                .map(Between::Idle)
                .ok_or_else(|| format!("{s:?} is not back-to-back, idle:N or reset")),
        }
    }
}

impl std::fmt::Display for Between {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Between::BackToBack => write!(f, "back-to-back"),
            Between::Idle(n) => write!(f, "idle:{n}"),
            Between::Reset => write!(f, "reset"),
        }
    }
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
    pub timed_out: bool,
    /// The reference's largest logit is shared by several outputs (an argmax tie).
    pub tie: bool,
    pub cmp: Comparison,
    /// Every beat the RTL produced, when [`Config::keep_capture`] asked for this image.
    pub capture: Option<Capture>,
}

impl ImageResult {
    pub fn status(&self) -> &'static str {
        if self.timed_out {
            "timeout"
        } else if self.cmp.is_clean() {
            "ok"
        } else {
            "mismatch"
        }
    }
}

/// The images of a run: `images[i]` is MNIST test image `first + i`.
pub struct Stimulus<'a> {
    pub images: &'a [Image],
    /// MNIST labels; `None` for random stimulus.
    pub labels: Option<&'a [u8]>,
    pub first: usize,
}

/// Everything a worker reads.
struct Shared<'a> {
    stim: &'a Stimulus<'a>,
    qw: &'a QuantWeights,
    fw: Option<&'a FloatWeights>,
    cfg: &'a Config,
    segments: Vec<Range<usize>>,
    next_segment: AtomicUsize,
    abort: AtomicBool,
}

/// Runs every image of `stim` and calls `sink` with each result in image order.
pub fn run(
    stim: &Stimulus,
    qw: &QuantWeights,
    fw: Option<&FloatWeights>,
    weights_dir: &Path,
    cfg: &Config,
    mut sink: impl FnMut(ImageResult) -> Result<()>,
) -> Result<()> {
    let n = stim.images.len();
    let end = stim.first + n;
    let mut segments = Vec::new();
    let mut s = stim.first;
    while s < end {
        let e = ((s / SEGMENT + 1) * SEGMENT).min(end);
        segments.push(s - stim.first..e - stim.first);
        s = e;
    }
    let shared = Shared {
        stim,
        qw,
        fw,
        cfg,
        segments,
        next_segment: AtomicUsize::new(0),
        abort: AtomicBool::new(false),
    };
    let jobs = cfg.jobs.max(1).min(shared.segments.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start worker threads")?;
    let (tx, rx) = mpsc::sync_channel::<ImageResult>(4 * SEGMENT);

    std::thread::scope(|scope| {
        let shared = &shared;
        let workers = scope.spawn(move || {
            pool.broadcast(|_| {
                let r = worker(shared, weights_dir, tx.clone());
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
        for r in rx {
            waiting.insert(r.index - stim.first, r);
            while let Some(r) = waiting.remove(&next) {
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
        anyhow::ensure!(next == n, "internal error: {next} of {n} results arrived");
        Ok(())
    })
}

fn worker(sh: &Shared, weights_dir: &Path, tx: mpsc::SyncSender<ImageResult>) -> Result<()> {
    let mut model = match &sh.cfg.trace {
        None => Model::new(weights_dir, sh.cfg.seed),
        Some(fst) => Model::new_traced(weights_dir, sh.cfg.seed, fst),
    }
    .with_context(|| format!("{}: cannot build the RTL model", weights_dir.display()))?;
    loop {
        if sh.abort.load(Ordering::Relaxed) {
            return Ok(());
        }
        let s = sh.next_segment.fetch_add(1, Ordering::Relaxed);
        let Some(seg) = sh.segments.get(s) else { return Ok(()) };
        run_segment(sh, &mut model, seg.clone(), &tx)?;
    }
}

/// An image fed (or being fed) to the RTL whose `class_valid` has not come yet.
struct Pending {
    i: usize,
    cap: Capture,
    first_cycle: Option<u64>,
    last_cycle: Option<u64>,
}

/// The image currently entering the RTL.
struct Feed {
    i: usize,
    pos: usize,
    /// Idle cycles still to insert before the first pixel.
    idle: u32,
    rng: ChaCha8Rng,
}

fn run_segment(
    sh: &Shared,
    model: &mut Model,
    seg: Range<usize>,
    tx: &mpsc::SyncSender<ImageResult>,
) -> Result<()> {
    let cfg = sh.cfg;
    model.reset(RESET_CYCLES)?;
    let mut cycle = 0u64;
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut feed: Option<Feed> = None;
    let mut next = seg.start;
    loop {
        let reset_each = cfg.between == Between::Reset;
        if feed.is_none() && next < seg.end && (!reset_each || pending.is_empty()) {
            if reset_each && next > seg.start {
                model.reset(RESET_CYCLES)?;
            }
            let abs = (sh.stim.first + next) as u64;
            let rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ abs.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let idle = match cfg.between {
                Between::Idle(n) if next > seg.start => n,
                _ => 0,
            };
            feed = Some(Feed { i: next, pos: 0, idle, rng });
            if cfg.keep_capture == Some(sh.stim.first + next) {
                model.dump(true);
            }
            pending.push_back(Pending {
                i: next,
                cap: Capture::default(),
                first_cycle: None,
                last_cycle: None,
            });
            next += 1;
        }
        if feed.is_none() && pending.is_empty() {
            return Ok(());
        }
        let (valid, pixel) = match feed.as_mut() {
            Some(f) if f.idle > 0 => {
                f.idle -= 1;
                (false, 0)
            }
            Some(f) => {
                let idle = cfg.bubbles > 0.0 && f.rng.random_bool(cfg.bubbles);
                (!idle, if idle { 0 } else { sh.stim.images[f.i][f.pos] })
            }
            None => (false, 0),
        };
        let taps = *model.tick(valid, pixel)?;
        cycle += 1;
        if valid {
            let f = feed.as_mut().expect("valid only while feeding");
            let entry = pending.iter_mut().find(|p| p.i == f.i);
            f.pos += 1;
            if let Some(p) = entry {
                if f.pos == 1 {
                    p.first_cycle = Some(cycle);
                }
                if f.pos == PIXELS {
                    p.last_cycle = Some(cycle);
                }
            }
            if f.pos == PIXELS {
                feed = None;
            }
        }
        // Every beat belongs to the oldest image still waiting for its class.
        if let Some(p) = pending.front_mut() {
            if taps.conv1_valid != 0 {
                p.cap.conv1.push(taps.conv1);
            }
            if taps.pool1_valid != 0 {
                p.cap.pool1.push(taps.pool1);
            }
            if taps.fc1_valid != 0 {
                p.cap.fc1.push(taps.fc1);
            }
            if taps.class_valid != 0 {
                p.cap.class = Some(taps.class_id);
                let p = pending.pop_front().expect("front exists");
                if cfg.keep_capture == Some(sh.stim.first + p.i) {
                    model.dump(false);
                }
                tx.send(finish(sh, p, Some(cycle), false)).ok();
            } else if p.last_cycle.is_some_and(|l| cycle - l > WATCHDOG) {
                // Timeout: report it, then restart the stream cleanly from the next image.
                let p = pending.pop_front().expect("front exists");
                tx.send(finish(sh, p, None, true)).ok();
                if let Some(rest) = pending.front() {
                    next = rest.i;
                }
                pending.clear();
                feed = None;
                model.reset(RESET_CYCLES)?;
            }
        }
    }
}

fn finish(sh: &Shared, p: Pending, class_cycle: Option<u64>, timed_out: bool) -> ImageResult {
    let img = &sh.stim.images[p.i];
    let expected = reference::run(sh.qw, img);
    let cmp = compare(&expected, &p.cap, sh.cfg.max_rows);
    let index = sh.stim.first + p.i;
    let top = expected.fc1[expected.class as usize];
    ImageResult {
        index,
        label: sh.stim.labels.map(|l| l[p.i]),
        ref_class: expected.class,
        rtl_class: p.cap.class,
        float_class: sh.fw.map(|f| f.classify(img)),
        cycles: class_cycle.zip(p.first_cycle).map(|(c, f)| c - f),
        latency: class_cycle.zip(p.last_cycle).map(|(c, l)| c - l),
        timed_out,
        tie: expected.fc1.iter().filter(|&&v| v == top).count() > 1,
        cmp,
        capture: (sh.cfg.keep_capture == Some(index)).then_some(p.cap),
    }
}
