//! `cnn-cosim bind init DIR --top NAME`: the first binding of a design, written for the
//! user to finish (`docs/binding-format.md`, "The first step").
//!
//! 1. The design is Verilated once with every signal kept (`verilate::inspect`): its ports
//!    with their directions and widths, and every internal signal.
//! 2. Clock, reset (and its level), the pixel input (data, valid, ready) and the class are
//!    guessed from port names and widths; the weight loading from the sources'
//!    `$value$plusargs`.
//! 3. For each tapped layer of the network, the signals that can hold its derived bounds are
//!    ranked (names, widths, a valid beside them).
//! 4. A model is built from that guess (through the binding, as `verify --rtl` builds it);
//!    constructing it over a directory that starts empty names, one `$readmem` at a time, every weight
//!    file the design opens and how many values each holds, from which the files' layout
//!    (`[weights.files]`) is inferred.
//! 5. A trial on a few random images (random weights, in that layout) judges each tap's
//!    first candidate against the reference, finds strobes that keep pulsing after their
//!    layer (`beats = "first"`) and a class valid held for several cycles
//!    (`edge = "rising"`).
//!
//! The file says what was guessed and what the trial saw; taps are written commented out
//! (`#[[tap]]`, `#layer = …`) for the user to uncomment. An existing file is never touched.

use crate::network::{Files, IntType, Network, Op, Shape, Tap};
use crate::sim::binding::{Binding, Level, FILE_NAME};
use crate::sim::driver::{self, Config, ImageResult, Reference, Stimulus};
use crate::sim::glue::{DesignSignals, Sig};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What `bind init` is given.
#[derive(Debug, Clone)]
pub struct InitArgs {
    /// The design's directory; `binding.toml` is written there.
    pub dir: PathBuf,
    pub top: String,
    /// The network: a name from `vectors/networks/` or a description file.
    pub net: String,
    /// Source globs relative to `dir` (default: its `*.v` and `*.sv`).
    pub sources: Vec<String>,
    pub quiet: bool,
}

/// Images of the trial run.
const TRIAL_IMAGES: usize = 8;
/// The trial's random weight set (`stimulus::WEIGHT_KINDS`: uniform) and seed.
const TRIAL_SET: u64 = 6;
const TRIAL_SEED: u64 = 1;

/// Writes `DIR/binding.toml`; returns its path.
pub fn init(a: &InitArgs) -> Result<PathBuf> {
    let path = a.dir.join(FILE_NAME);
    if path.exists() {
        bail!(
            "{}: already exists; bind init never overwrites a binding (edit it, or move it away \
             and run bind init again)",
            path.display()
        );
    }
    if !a.dir.is_dir() {
        bail!("{}: not a directory", a.dir.display());
    }
    let net = Network::find(&a.net)?;
    let globs = source_globs(&a.dir, &a.sources)?;
    let sources = crate::sim::verilate::expand_sources(&a.dir, &globs, "bind init: --sources")?;
    let what = format!("{} (top {})", a.dir.display(), a.top);
    let signals = crate::sim::verilate::inspect(&sources, &a.top, &what)?;
    if signals.ports.is_empty() {
        bail!("{what}: Verilator found no ports on the top");
    }
    let text = elaborated_text(&sources, &a.top);
    let mut g = Guess::new(&signals, &net, &text);
    g.candidates = net
        .taps()
        .into_iter()
        .filter(|t| !t.is_class)
        .map(|t| {
            let c = tap_candidates(&signals, &net, &t, &g.reserved());
            (t, c)
        })
        .collect();
    let spec = network_spec(&a.net, &a.dir);
    let mut found = Found::default();
    if g.complete() {
        if !a.quiet {
            eprintln!(
                "bind init: building a trial model of {} (weights and taps are checked on it)",
                a.top
            );
        }
        found = try_design(&g, &spec, &globs, a, &net)
            .unwrap_or_else(|e| Found { failed: Some(format!("{e:#}")), ..Found::default() });
    }
    let out = render(&g, &found, &spec, &globs, a, &net);
    crate::memfile::write_atomic(&path, &out)?;
    Ok(path)
}

/// `--sources`, else the directory's `*.v` and `*.sv`.
fn source_globs(dir: &Path, given: &[String]) -> Result<Vec<String>> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    let mut globs = Vec::new();
    for ext in ["v", "sv"] {
        let any = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot read", dir.display()))?
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == ext));
        if any {
            globs.push(format!("*.{ext}"));
        }
    }
    if globs.is_empty() {
        bail!("{}: no .v or .sv files (name the sources with --sources)", dir.display());
    }
    Ok(globs)
}

/// The `network = …` value: a project name as given, a file relative to the binding.
fn network_spec(net: &str, dir: &Path) -> String {
    let is_path = net.contains('/') || net.ends_with(".toml");
    if !is_path {
        return net.to_string();
    }
    match (Path::new(net).canonicalize(), dir.canonicalize()) {
        (Ok(file), Ok(dir)) => relative(&file, &dir).display().to_string(),
        _ => net.to_string(),
    }
}

/// `to` relative to the directory `from` (both absolute).
fn relative(to: &Path, from: &Path) -> PathBuf {
    let (a, b): (Vec<_>, Vec<_>) = (to.components().collect(), from.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut p = PathBuf::new();
    for _ in common..b.len() {
        p.push("..");
    }
    for c in &a[common..] {
        p.push(c);
    }
    p
}

// ---- what the ports say ----

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn has_any(name: &str, words: &[&str]) -> bool {
    let n = lower(name);
    words.iter().any(|w| n.contains(w))
}

/// The pixel input as guessed.
#[derive(Debug, Clone, Default)]
struct InputGuess {
    data: Option<String>,
    lanes: usize,
    valid: Option<String>,
    ready: Option<String>,
}

/// Everything guessed from the design before building it.
struct Guess<'a> {
    signals: &'a DesignSignals,
    clock: Option<String>,
    reset: Option<(String, Level)>,
    input: InputGuess,
    class: Option<(String, String)>,
    /// `+NAME={weights}`, or `None`: fixed names in the working directory.
    plusarg: Option<String>,
    candidates: Vec<(Tap, Vec<Candidate>)>,
}

impl<'a> Guess<'a> {
    fn new(d: &'a DesignSignals, net: &Network, text: &str) -> Guess<'a> {
        let one_bit_in = |n: &&String| d.inputs.contains(*n) && d.ports[*n].width == 1;
        let clock = d
            .ports
            .keys()
            .filter(one_bit_in)
            .filter(|n| has_any(n, &["clk", "clock"]))
            .min_by_key(|n| n.len())
            .cloned();
        let reset = d
            .ports
            .keys()
            .filter(one_bit_in)
            .filter(|n| has_any(n, &["rst", "reset"]))
            .min_by_key(|n| n.len())
            .map(|n| (n.clone(), reset_level(n)));
        let input = guess_input(d, net, clock.as_deref(), reset.as_ref().map(|r| r.0.as_str()));
        let class = guess_class(d, net);
        Guess {
            signals: d,
            clock,
            reset,
            input,
            class,
            plusarg: plusarg(text),
            candidates: Vec::new(),
        }
    }

    /// Whether the guess is complete enough to build a model.
    fn complete(&self) -> bool {
        self.clock.is_some()
            && self.reset.is_some()
            && self.input.data.is_some()
            && self.class.is_some()
    }

    /// The ports the guess gave a role.
    fn reserved(&self) -> BTreeSet<String> {
        let mut r: BTreeSet<String> = BTreeSet::new();
        r.extend(self.clock.clone());
        r.extend(self.reset.as_ref().map(|x| x.0.clone()));
        r.extend(self.input.data.clone());
        r.extend(self.input.valid.clone());
        r.extend(self.input.ready.clone());
        if let Some((v, d)) = &self.class {
            r.insert(v.clone());
            r.insert(d.clone());
        }
        r
    }
}

/// Low when the name ends like an active-low reset (`rst_n`, `rst_ni`, `resetn`, `rst_b`).
fn reset_level(name: &str) -> Level {
    let n = lower(name);
    let n = n.strip_suffix("_i").or_else(|| n.strip_suffix("_in")).unwrap_or(&n).to_string();
    let low = n.ends_with('n') && !n.ends_with("_in")
        || n.ends_with("_ni")
        || n.ends_with("_b")
        || n.ends_with("_l")
        || n.contains("rstn")
        || n.contains("resetn")
        || n.contains("rst_n")
        || n.contains("reset_n");
    if low {
        Level::Low
    } else {
        Level::High
    }
}

fn guess_input(
    d: &DesignSignals,
    net: &Network,
    clock: Option<&str>,
    reset: Option<&str>,
) -> InputGuess {
    let bits = net.input_type.bits;
    let pixels = net.input_len();
    let data = d
        .ports
        .iter()
        .filter(|(n, _)| {
            d.inputs.contains(*n) && Some(n.as_str()) != clock && Some(n.as_str()) != reset
        })
        .filter_map(|(n, s)| {
            let lanes = (s.width % bits == 0).then_some((s.width / bits) as usize)?;
            (1..=crate::sim::glue::MAX_LANES).contains(&lanes).then_some(())?;
            pixels.is_multiple_of(lanes).then_some(())?;
            let name = has_any(n, &["pix", "px", "data", "din", "in", "img", "image"]) as i32;
            Some((name * 4 - lanes as i32, n.clone(), lanes))
        })
        .max_by_key(|(score, n, _)| (*score, std::cmp::Reverse(n.len())));
    let Some((_, data, lanes)) = data else { return InputGuess::default() };
    let one_bit = |input: bool| {
        d.ports
            .iter()
            .filter(move |(n, s)| s.width == 1 && d.inputs.contains(*n) == input)
            .map(|(n, _)| n.clone())
            .filter(|n| Some(n.as_str()) != clock && Some(n.as_str()) != reset)
    };
    let near = |n: &str| common_prefix(n, &data) as i32;
    let valid = one_bit(true)
        .filter(|n| has_any(n, &["valid", "vld", "en", "start", "stb", "strobe"]))
        .max_by_key(|n| {
            (has_any(n, &["valid", "vld"]) as i32 * 4 + near(n), std::cmp::Reverse(n.len()))
        });
    let ready = valid.as_ref().and_then(|_| {
        one_bit(false)
            .filter(|n| has_any(n, &["ready", "rdy"]))
            .max_by_key(|n| (near(n), std::cmp::Reverse(n.len())))
    });
    InputGuess { data: Some(data), lanes, valid, ready }
}

fn guess_class(d: &DesignSignals, net: &Network) -> Option<(String, String)> {
    let classes = net.classes().max(2);
    let need = IntType::needed(0, classes as i128 - 1).bits;
    let data = d
        .ports
        .iter()
        .filter(|(n, s)| !d.inputs.contains(*n) && s.width >= need && s.width <= 32)
        .filter(|(n, _)| {
            has_any(
                n,
                &["class", "cls", "label", "digit", "pred", "result", "argmax", "idx", "out"],
            )
        })
        .max_by_key(|(n, s)| {
            let strong = has_any(n, &["class", "cls", "label", "digit", "pred"]) as i32;
            (strong * 8 - (s.width - need) as i32, std::cmp::Reverse(n.len()))
        })
        .map(|(n, _)| n.clone())?;
    let valid = d
        .ports
        .iter()
        .filter(|(n, s)| !d.inputs.contains(*n) && s.width == 1)
        .filter(|(n, _)| has_any(n, &["valid", "vld", "done", "ready_o", "stb", "strobe"]))
        .filter(|(n, _)| !has_any(n, &["ready"]))
        .max_by_key(|(n, _)| {
            let kind =
                has_any(n, &["class", "cls", "label", "digit", "pred", "result", "out"]) as i32;
            (kind * 6 + common_prefix(n, &data) as i32, std::cmp::Reverse(n.len()))
        })
        .map(|(n, _)| n.clone())?;
    Some((valid, data))
}

/// The text of the modules `top` instantiates, itself included, from `sources` (a
/// testbench beside the design reads plusargs of its own): each `module NAME … endmodule`,
/// comments removed, kept when a kept module's body names it.
fn elaborated_text(sources: &[PathBuf], top: &str) -> String {
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    for src in sources {
        let text = strip_comments(&std::fs::read_to_string(src).unwrap_or_default());
        for part in text.split("endmodule") {
            let Some(at) = part.find("module") else { continue };
            let rest = &part[at + "module".len()..];
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                modules.insert(name, rest.to_string());
            }
        }
    }
    let words = |body: &str| -> BTreeSet<String> {
        body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map(String::from).collect()
    };
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut todo = vec![top.to_string()];
    while let Some(m) = todo.pop() {
        if !keep.insert(m.clone()) {
            continue;
        }
        if let Some(body) = modules.get(&m) {
            todo.extend(
                words(body).into_iter().filter(|w| modules.contains_key(w) && !keep.contains(w)),
            );
        }
    }
    keep.iter().filter_map(|m| modules.get(m)).cloned().collect::<Vec<_>>().join("\n")
}

/// Verilog text without `//` and `/* */` comments (string literals kept as they are).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The first `$value$plusargs("NAME=%s", …)` of the sources, as `+NAME={weights}`; one
/// naming weights or a directory is preferred.
fn plusarg(text: &str) -> Option<String> {
    let mut found: Vec<String> = Vec::new();
    for part in text.split("$value$plusargs").skip(1) {
        let Some(start) = part.find('"') else { continue };
        let rest = &part[start + 1..];
        let Some(end) = rest.find('"') else { continue };
        let lit = &rest[..end];
        if let Some((name, fmt)) = lit.split_once('=') {
            if fmt.starts_with('%') && fmt.ends_with('s') && !name.is_empty() {
                found.push(name.to_string());
            }
        }
    }
    let best = found
        .iter()
        .find(|n| has_any(n, &["weight", "dir", "path", "mem"]))
        .or_else(|| found.first())?;
    Some(format!("+{best}={{weights}}"))
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

// ---- tap candidates ----

/// Where a tap's values are read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DataRef {
    /// One signal, `lanes × bits` wide.
    Packed(String),
    /// An unpacked array of `lanes` elements: `name[first..last]`.
    Array(String, i64),
    /// One signal per lane.
    Lanes(Vec<String>),
}

/// One way to bind a tapped layer.
#[derive(Debug, Clone)]
struct Candidate {
    data: DataRef,
    valid: String,
    bits: u32,
    signed: bool,
    score: i32,
}

impl Candidate {
    fn data_toml(&self, lanes: usize) -> String {
        match &self.data {
            DataRef::Packed(n) => format!("{n:?}"),
            DataRef::Array(n, first) => format!("\"{n}[{first}..{}]\"", first + lanes as i64 - 1),
            DataRef::Lanes(v) => {
                format!("[{}]", v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "))
            }
        }
    }

    fn describe(&self, lanes: usize) -> String {
        match &self.data {
            DataRef::Packed(n) => {
                format!("{n} ({} = {lanes} × {} bits)", self.bits * lanes as u32, self.bits)
            }
            DataRef::Array(n, first) => {
                format!(
                    "{n}[{first}..{}] ({lanes} elements of {} bits)",
                    first + lanes as i64 - 1,
                    self.bits
                )
            }
            DataRef::Lanes(v) => format!("{} ({} bits each)", v.join(", "), self.bits),
        }
    }
}

/// A signal as a binding names it, with its scope, leaf name and what it is.
#[derive(Debug, Clone)]
struct Named {
    path: String,
    scope: String,
    leaf: String,
    sig: Sig,
    port: bool,
}

/// Every port but the inputs, and every internal signal Verilator kept, by binding name.
fn named_signals(d: &DesignSignals) -> Vec<Named> {
    let mut v: Vec<Named> = d
        .ports
        .iter()
        .filter(|(n, _)| !d.inputs.contains(*n))
        .map(|(n, s)| Named {
            path: n.clone(),
            scope: String::new(),
            leaf: n.clone(),
            sig: *s,
            port: true,
        })
        .collect();
    for (member, s) in &d.internal {
        let path = d.display(member);
        // Verilator's own temporaries and escaped names are not the design's.
        if member.contains("__V") || path.contains("__") || path.contains('\\') {
            continue;
        }
        let (scope, leaf) = match path.rsplit_once('.') {
            Some((s, l)) => (s.to_string(), l.to_string()),
            None => (String::new(), path.clone()),
        };
        if scope.is_empty() && d.ports.contains_key(&leaf) {
            continue; // a port's copy
        }
        v.push(Named { path, scope, leaf, sig: *s, port: false });
    }
    v
}

/// Words that name a layer of this kind.
fn family(op: &Op) -> &'static [&'static str] {
    match op {
        Op::Pad(_) | Op::Rescale(_) => &["pad", "scale", "quant", "in"],
        Op::Conv2d(_) => &["conv"],
        Op::MaxPool(_) | Op::AvgPool(_) | Op::GlobalAvgPool(_) | Op::Relu(_) | Op::Clamp(_) => {
            &["pool", "relu", "clamp", "avg"]
        }
        Op::Linear(_) => &["fc", "logit", "dense", "linear", "neuron"],
        Op::Flatten(_) => &["flat"],
        Op::Add(_) => &["add", "res", "sum", "skip"],
        Op::Argmax(_) => &["class", "argmax"],
    }
}

/// How well a signal's name fits tap `t` of `net` (layer name, op family, other layers'
/// names against it).
fn name_score(net: &Network, t: &Tap, leaf: &str) -> i32 {
    let n = lower(leaf);
    let layer = &net.layers[t.layer];
    let mut s = 0;
    if n.contains(&lower(&layer.name)) {
        s += 8;
    } else if family(&layer.op).iter().any(|w| n.contains(w)) {
        s += 4;
    }
    for other in net.taps().iter().filter(|o| o.name != t.name) {
        let ol = &net.layers[other.layer];
        if n.contains(&lower(&ol.name)) {
            s -= 6;
        } else if family(&ol.op).iter().any(|w| n.contains(w))
            && !family(&layer.op).iter().any(|w| n.contains(w))
        {
            s -= 3;
        }
    }
    s
}

/// How much a 1-bit signal's name says "valid": 3 for `valid`/`vld`/`…_v`, 2 for a done or
/// strobe, 1 for an enable.
fn validness(leaf: &str) -> i32 {
    let n = lower(leaf);
    let n =
        ["_o", "_q", "_r", "_reg"].iter().fold(n.as_str(), |n, s| n.strip_suffix(s).unwrap_or(n));
    if n.contains("valid") || n.contains("vld") || n.ends_with("_v") {
        3
    } else if n.contains("done") || n.contains("stb") || n.contains("strobe") {
        2
    } else if n.ends_with("en") || n.ends_with("_en") {
        1
    } else {
        0
    }
}

/// The ranked ways to bind tap `t`: data that can hold its bounds and a valid beside it.
fn tap_candidates(
    d: &DesignSignals,
    net: &Network,
    t: &Tap,
    reserved: &BTreeSet<String>,
) -> Vec<Candidate> {
    let (lanes, _) = t.shape.beats();
    let r = net.layers[t.layer].bounds.out;
    let need = r.needed();
    let signed = r.min < 0;
    let all: Vec<Named> =
        named_signals(d).into_iter().filter(|n| !reserved.contains(&n.path)).collect();
    let depth = |n: &Named| n.path.matches('.').count() as i32;
    let width_score = |bits: u32| {
        if bits == need.bits {
            3
        } else if bits <= need.bits + 8 {
            0
        } else {
            -2
        }
    };
    let mut data: Vec<(DataRef, u32, i32, &Named)> = Vec::new();
    for n in &all {
        let base = name_score(net, t, &n.leaf) + 2 * n.port as i32
            - depth(n)
            - 2 * (lower(&n.leaf).ends_with("_i") || lower(&n.leaf).ends_with("_in")) as i32;
        match n.sig.elements {
            None if n.sig.width % lanes as u32 == 0 => {
                let bits = n.sig.width / lanes as u32;
                if bits >= need.bits && bits <= 64 && (bits > 1 || lanes > 1) {
                    data.push((DataRef::Packed(n.path.clone()), bits, base + width_score(bits), n));
                }
            }
            Some(e) if e == lanes && n.sig.width >= need.bits && n.sig.width <= 64 => {
                let bits = n.sig.width;
                data.push((
                    DataRef::Array(n.path.clone(), n.sig.first),
                    bits,
                    base + width_score(bits),
                    n,
                ));
            }
            _ => {}
        }
    }
    // One signal per lane: stem0..stemN-1 or stem1..stemN of one width, in one scope.
    if lanes > 1 {
        let mut groups: BTreeMap<(String, String, u32), BTreeMap<usize, &Named>> = BTreeMap::new();
        for n in all.iter().filter(|n| n.sig.elements.is_none() && n.sig.width >= need.bits) {
            let digits = n.leaf.len() - n.leaf.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 || digits > 2 {
                continue;
            }
            let (stem, idx) = n.leaf.split_at(n.leaf.len() - digits);
            if let Ok(i) = idx.parse::<usize>() {
                groups
                    .entry((n.scope.clone(), stem.to_string(), n.sig.width))
                    .or_default()
                    .insert(i, n);
            }
        }
        for ((_, stem, width), members) in groups {
            for first in [0usize, 1] {
                let picked: Option<Vec<&Named>> =
                    (first..first + lanes).map(|i| members.get(&i).copied()).collect();
                if let Some(p) = picked {
                    let base = name_score(net, t, &stem) - depth(p[0]) + width_score(width);
                    let names = p.iter().map(|n| n.path.clone()).collect();
                    data.push((DataRef::Lanes(names), width, base, p[0]));
                    break;
                }
            }
        }
    }
    let valids: Vec<&Named> = all
        .iter()
        .filter(|n| n.sig.width == 1 && n.sig.elements.is_none())
        .filter(|n| has_any(&n.leaf, &["valid", "vld", "done", "stb", "strobe", "_v", "en"]))
        .collect();
    let mut out: Vec<Candidate> = Vec::new();
    for (dref, bits, score, n) in data {
        let stem = match &dref {
            DataRef::Lanes(v) => v[0]
                .rsplit('.')
                .next()
                .unwrap_or("")
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_string(),
            _ => n.leaf.clone(),
        };
        let best = valids
            .iter()
            .map(|v| {
                let mut s = common_prefix(&lower(&v.leaf), &lower(&stem)).min(8) as i32;
                s += validness(&v.leaf);
                // The valid of an input side (a pixel's) is not a layer's.
                s -= 3 * has_any(&v.leaf, &["pix", "px", "in_", "input"]) as i32;
                s += 2 * (v.scope == n.scope) as i32 - depth(v);
                s += name_score(net, t, &v.leaf) / 2;
                s -= (lower(&v.leaf).ends_with("_i")) as i32;
                (s, v)
            })
            .max_by_key(|(s, v)| (*s, std::cmp::Reverse(v.path.len())));
        if let Some((vs, v)) = best {
            out.push(Candidate {
                data: dref,
                valid: v.path.clone(),
                bits,
                signed,
                score: score + vs,
            });
        }
    }
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.valid.len().cmp(&b.valid.len())));
    out.truncate(6);
    out
}

// ---- the trial model: weight files and a run ----

/// What building and running the guess found.
#[derive(Debug, Default)]
struct Found {
    /// Weight files the design opened, by name (relative to its weight directory), with the
    /// values each holds.
    files: BTreeMap<String, usize>,
    /// Why the probe stopped early (a message the design gave), if it did.
    probe_stop: Option<String>,
    /// `[weights.files]` entries: tensor, pattern, note.
    layouts: Vec<(String, String, String)>,
    /// Tensors whose files were not found, and files no tensor explains.
    unexplained: Vec<String>,
    /// Per tap (network order, class excluded): the trial's verdict and whether
    /// `beats = "first"` is needed.
    taps: BTreeMap<String, (String, bool)>,
    /// The class valid is held for several cycles: `edge = "rising"`.
    class_rising: bool,
    class_note: Option<String>,
    /// The trial could not run: why.
    failed: Option<String>,
    /// Between images and after reset, as the trial found it.
    timing: Option<Timing>,
}

/// The binding text of the guess with the taps' first candidates and `layouts`.
fn provisional(
    g: &Guess,
    spec: &str,
    globs: &[String],
    top: &str,
    layouts: &[(String, String, String)],
    rising: bool,
) -> String {
    let mut s = render_head(g, spec, globs, top, None);
    for (t, c) in &g.candidates {
        if let Some(c) = c.first() {
            s += &tap_block(t, c, false, "");
        }
    }
    if !layouts.is_empty() {
        s += "\n[weights.files]\n";
        for (tensor, pattern, _) in layouts {
            let _ = writeln!(s, "{tensor:?} = {{ file = {pattern:?} }}");
        }
    }
    s += &class_block(g, rising, "");
    s
}

fn try_design(
    g: &Guess,
    spec: &str,
    globs: &[String],
    a: &InitArgs,
    net: &Network,
) -> Result<Found> {
    let mut found = Found::default();
    let build = |text: &str| -> Result<&'static crate::sim::model::Design> {
        let tmp = tempfile::Builder::new()
            .prefix(".bind-init-")
            .suffix(".toml")
            .tempfile_in(&a.dir)
            .with_context(|| format!("{}: cannot write a trial binding", a.dir.display()))?;
        std::fs::write(tmp.path(), text).context("cannot write the trial binding")?;
        let b = Binding::load(tmp.path())?;
        let (design, _) = crate::sim::verilate::build(b, false, a.quiet)?;
        Ok(design)
    };
    let design = build(&provisional(g, spec, globs, &a.top, &[], false))?;
    let (files, stop) = probe_files(design, net)?;
    found.files = files;
    found.probe_stop = stop;
    let (layouts, unexplained) = infer_layouts(net, &found.files);
    found.layouts = layouts;
    found.unexplained = unexplained;
    let layout_net = apply_layouts(net, &found.layouts)?;
    let staging = design.staging.as_ref().map(|s| s.dir.clone());
    let trials =
        |d, betweens: &[&str]| search(d, net, &layout_net, staging.as_deref(), g, betweens);
    let (mut results, mut timing) = trials(design, &["back-to-back"])?;
    let mut used = design;
    // A class valid held for several cycles gives the next image a class at once, before
    // any of its beats: try the class on its rising edge.
    let tapped: Vec<&Tap> =
        g.candidates.iter().filter(|(_, c)| !c.is_empty()).map(|(t, _)| t).collect();
    let held = |r: &[ImageResult]| {
        !tapped.is_empty()
            && r.iter().any(|r| {
                r.rtl_class.is_some()
                    && tapped
                        .iter()
                        .enumerate()
                        .all(|(k, t)| r.cmp.missing_beats[k] == t.shape.beats().1 as u64)
            })
    };
    if timing.right < TRIAL_IMAGES && held(&results) {
        let rising = build(&provisional(g, spec, globs, &a.top, &found.layouts, true))?;
        let (again, t2) = trials(rising, &["back-to-back"])?;
        if t2.right > timing.right {
            found.class_rising = true;
            (results, timing, used) = (again, t2, rising);
        }
    }
    // A design that needs a reset between images (its counters do not wrap).
    if timing.right < TRIAL_IMAGES {
        let (again, t2) = trials(used, &["reset"])?;
        if t2.right > timing.right {
            (results, timing) = (again, t2);
        }
    }
    found.timing = Some(timing);
    judge_trial(&results, g, &mut found);
    Ok(found)
}

/// Constructs the model over a directory that holds only the files it has asked for so far:
/// each `$readmem` that finds nothing names a file (which is then written, one value too
/// many), each that reads past its array says how many values it holds (the file is then
/// rewritten to exactly that).
fn probe_files(
    design: &'static crate::sim::model::Design,
    net: &Network,
) -> Result<(BTreeMap<String, usize>, Option<String>)> {
    let tmp = tempfile::Builder::new()
        .prefix("cnn-cosim-probe-")
        .tempdir()
        .context("cannot create a probe directory")?;
    let dir = match &design.staging {
        Some(s) => s.dir.clone(),
        None => tmp.path().to_path_buf(),
    };
    let most = net
        .layers
        .iter()
        .filter_map(|l| l.weight_pairs().map(|(o, i, k)| o * i * k))
        .max()
        .unwrap_or(1);
    let fill = |path: &Path, n: usize| {
        std::fs::write(path, "00\n".repeat(n))
            .with_context(|| format!("{}: cannot write", path.display()))
    };
    let name_of = |p: &str| -> String {
        let p = Path::new(p);
        p.strip_prefix(&dir).unwrap_or(p).display().to_string()
    };
    let mut files: BTreeMap<String, Option<usize>> = BTreeMap::new();
    let mut stop = None;
    for _ in 0..4096 {
        let built = crate::sim::model::silenced(|| {
            crate::sim::model::Model::with_weights(design, &dir, 1, None)
        });
        let err = match built {
            Ok(_) => break,
            Err(e) => format!("{e:#}"),
        };
        let msg = err.trim_start_matches("RTL simulation stopped: ");
        if let Some((path, _)) = msg.split_once(": $readmem file not found") {
            let name = name_of(path);
            if files.contains_key(&name) || name.contains('/') {
                stop = Some(msg.to_string());
                break;
            }
            fill(&dir.join(&name), most + 1)?;
            files.insert(name, None);
        } else if let Some((at, _)) =
            msg.split_once(": $readmem file address beyond bounds of array")
        {
            // Verilator counts lines from 0 here: with one value per line, the first value
            // past the array is on line `values`.
            let (path, line) = at.rsplit_once(':').unwrap_or((at, "0"));
            let name = name_of(path);
            let values = line.trim().parse::<usize>().unwrap_or(0);
            let known = files.get(&name).copied();
            if known.is_none() || known.flatten().is_some_and(|v| v <= values) || values == 0 {
                stop = Some(msg.to_string());
                break;
            }
            fill(&dir.join(&name), values)?;
            files.insert(name, Some(values));
        } else {
            stop = Some(msg.to_string());
            break;
        }
    }
    let out = files.into_iter().filter_map(|(n, v)| Some((n, v?))).collect();
    if design.staging.is_some() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.file_name() != ".lock" {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok((out, stop))
}

/// A weight tensor of the network: `layer.weight`/`layer.bias`, its dimensions and pattern.
struct Tensor {
    key: String,
    layer: String,
    bias: bool,
    outs: usize,
    ins: usize,
    inner: usize,
    files: Files,
}

fn tensors(net: &Network) -> Vec<Tensor> {
    let mut v = Vec::new();
    for l in &net.layers {
        let (Some((outs, ins, inner)), Some(a)) = (l.weight_pairs(), l.op.arith()) else {
            continue;
        };
        v.push(Tensor {
            key: format!("{}.weight", l.name),
            layer: l.name.clone(),
            bias: false,
            outs,
            ins,
            inner,
            files: a.weight.files.clone(),
        });
        if let Some(b) = &a.bias {
            v.push(Tensor {
                key: format!("{}.bias", l.name),
                layer: l.name.clone(),
                bias: true,
                outs,
                ins: 1,
                inner: 1,
                files: b.files.clone(),
            });
        }
    }
    v
}

/// Whether `pattern` names exactly unused files of `found` with the right sizes for `t`.
fn fits(
    t: &Tensor,
    pattern: &Files,
    found: &BTreeMap<String, usize>,
    used: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let layout = pattern.layout(t.outs, t.ins, t.inner);
    let mut names = Vec::new();
    for (name, ranges) in layout {
        let n: usize = ranges.iter().map(|r| r.len()).sum();
        if found.get(&name) != Some(&n) || used.contains(&name) {
            return None;
        }
        names.push(name);
    }
    Some(names)
}

/// Patterns a file name could be an instance of: each run of digits replaced by output or
/// input numbers (a two-digit run also as one digit of each), output first.
fn patterns_from(name: &str, bias: bool) -> Vec<String> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((s, i));
        } else {
            i += 1;
        }
    }
    let os = ["{o}", "{o+1}"];
    let is: &[&str] = if bias { &[] } else { &["{i}", "{i+1}"] };
    let mut out = vec![name.to_string()];
    let sub = |at: &[((usize, usize), String)]| {
        let mut s = name.to_string();
        let mut sorted = at.to_vec();
        sorted.sort_by_key(|((a, _), _)| std::cmp::Reverse(*a));
        for ((a, e), r) in sorted {
            s.replace_range(a..e, &r);
        }
        s
    };
    for (k, &r) in runs.iter().enumerate() {
        for o in os.iter().chain(is) {
            out.push(sub(&[(r, o.to_string())]));
        }
        if !bias && r.1 - r.0 == 2 {
            for o in os {
                for i in is {
                    out.push(sub(&[(r, format!("{o}{i}"))]));
                    out.push(sub(&[(r, format!("{i}{o}"))]));
                }
            }
        }
        if !bias {
            for &r2 in &runs[k + 1..] {
                for o in os {
                    for i in is {
                        out.push(sub(&[(r, o.to_string()), (r2, i.to_string())]));
                        out.push(sub(&[(r, i.to_string()), (r2, o.to_string())]));
                    }
                }
            }
        }
    }
    out
}

/// The files' layout per tensor: the network's own where the design reads exactly it, else a
/// pattern the names and sizes fit (`[weights.files]`), best named first; and what no
/// layout explains.
fn infer_layouts(
    net: &Network,
    found: &BTreeMap<String, usize>,
) -> (Vec<(String, String, String)>, Vec<String>) {
    let ts = tensors(net);
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut open: Vec<&Tensor> = Vec::new();
    for t in &ts {
        match fits(t, &t.files, found, &used) {
            Some(names) => used.extend(names),
            None => open.push(t),
        }
    }
    let mut layouts = Vec::new();
    let mut unexplained = Vec::new();
    // Every (tensor, pattern) that fits, scored by how its name fits the tensor.
    let mut options: Vec<(i32, usize, String, Vec<String>)> = Vec::new();
    for (k, t) in open.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for f in found.keys().filter(|f| !used.contains(*f)) {
            for p in patterns_from(f, t.bias) {
                if !seen.insert(p.clone()) {
                    continue;
                }
                let Ok(files) = Files::new(&p, None, !t.bias) else { continue };
                if let Some(names) = fits(t, &files, found, &used) {
                    let n = lower(&p);
                    let mut score = 0;
                    score += 8 * n.contains(&lower(&t.layer)) as i32;
                    score += if t.bias {
                        4 * n.contains("bias") as i32
                    } else {
                        -4 * n.contains("bias") as i32
                    };
                    // Output before input, as PyTorch orders the dimensions.
                    let o_first = match (p.find("{o"), p.find("{i")) {
                        (Some(o), Some(i)) => o < i,
                        _ => true,
                    };
                    score += o_first as i32;
                    options.push((score, k, p, names));
                }
            }
        }
    }
    options.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)));
    let mut done: BTreeSet<usize> = BTreeSet::new();
    for (score, k, p, names) in &options {
        if done.contains(k) || names.iter().any(|n| used.contains(n)) {
            continue;
        }
        let also: Vec<&String> = options
            .iter()
            .filter(|(s, k2, p2, n2)| {
                let same: BTreeSet<&String> = n2.iter().collect();
                k2 == k && s < score && *s >= score - 1 && p2 != p && same == names.iter().collect()
            })
            .map(|(_, _, p2, _)| p2)
            .collect();
        let t = open[*k];
        let note = format!(
            "{} file{} the design reads{}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            if also.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} names the same files (outputs and inputs numbered alike): the usual \
                     order, output first, is written",
                    also.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
                )
            }
        );
        layouts.push((t.key.clone(), p.clone(), note));
        used.extend(names.iter().cloned());
        done.insert(*k);
    }
    for (k, t) in open.iter().enumerate() {
        if !done.contains(&k) && !found.is_empty() {
            unexplained.push(format!(
                "{}: no file the design reads fits it ({} × {} × {} values)",
                t.key, t.outs, t.ins, t.inner
            ));
        }
    }
    for (f, n) in found {
        if !used.contains(f) {
            unexplained.push(format!("{f} ({n} values): no tensor of the network fits it"));
        }
    }
    (layouts, unexplained)
}

/// `net` with the `[weights.files]` layouts applied.
fn apply_layouts(net: &Network, layouts: &[(String, String, String)]) -> Result<Network> {
    let mut n = net.clone();
    for (key, pattern, _) in layouts {
        let (layer, what) = key.split_once('.').unwrap_or((key, ""));
        let Some(a) = n.layers.iter_mut().find(|l| l.name == layer).and_then(|l| l.op.arith_mut())
        else {
            continue;
        };
        let param = match what {
            "bias" => a.bias.as_mut(),
            _ => Some(&mut a.weight),
        };
        if let Some(p) = param {
            p.files = Files::new(pattern, None, what != "bias").map_err(anyhow::Error::msg)?;
        }
    }
    Ok(n)
}

/// Trial images that came out right: every value the taps gave equal, no beat missing,
/// the class right (extra beats are allowed: `beats = "first"` takes them).
fn quality(results: &[ImageResult]) -> usize {
    results
        .iter()
        .filter(|r| {
            !r.timed_out
                && r.cmp.counts.iter().all(|&c| c == 0)
                && r.cmp.missing_beats.iter().all(|&m| m == 0)
        })
        .count()
}

/// What the driver needs between and before images, as the trial found it: the first of the
/// ways tried (back-to-back, a class on its rising edge, a reset per image; for a design
/// without valid, each with 0 to 8 cycles after reset before its first pixel) that gets
/// every trial image right, else the best.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Timing {
    between: String,
    start_after_reset: u32,
    /// How many of the trial images it got right.
    right: usize,
}

fn search(
    design: &'static crate::sim::model::Design,
    net: &Network,
    layout: &Network,
    staging: Option<&Path>,
    g: &Guess,
    betweens: &[&str],
) -> Result<(Vec<ImageResult>, Timing)> {
    let starts: Vec<u32> = if g.input.valid.is_some() { vec![0] } else { (0..=8).collect() };
    let mut best: Option<(Vec<ImageResult>, Timing)> = None;
    for &between in betweens {
        for &start in &starts {
            let mut b = design.binding.clone();
            b.between = between.to_string();
            b.input.start_after_reset = start;
            let results = trial(design.rebind(b), net, layout, staging)?;
            let right = quality(&results);
            let timing = Timing { between: between.to_string(), start_after_reset: start, right };
            if best.as_ref().is_none_or(|(_, t)| right > t.right) {
                best = Some((results, timing));
            }
            if right == TRIAL_IMAGES {
                return Ok(best.expect("just set"));
            }
        }
    }
    Ok(best.expect("at least one trial"))
}

/// Runs the trial images through `design` beside the reference; the weights go to
/// `staging` (a design that takes its directory as a parameter) or a directory of their own.
fn trial(
    design: &'static crate::sim::model::Design,
    net: &Network,
    layout: &Network,
    staging: Option<&Path>,
) -> Result<Vec<ImageResult>> {
    let (params, _) = crate::stimulus::weight_set(net, TRIAL_SEED, TRIAL_SET);
    let tmp = tempfile::Builder::new()
        .prefix("cnn-cosim-trial-")
        .tempdir()
        .context("cannot create a weight directory")?;
    let dir = staging.map_or_else(|| tmp.path().to_path_buf(), Path::to_path_buf);
    params.save(layout, &dir)?;
    let images: Vec<_> = (0..TRIAL_IMAGES as u64)
        .map(|i| crate::stimulus::image(net, TRIAL_SEED, TRIAL_SET, i))
        .collect();
    let stim = Stimulus { images: &images, labels: None, first: 0 };
    let reference = Reference::new(net, &params, design);
    let cfg = Config {
        jobs: 1,
        between: design.binding.between.parse().unwrap_or(crate::sim::binding::Between::BackToBack),
        bubbles: 0.0,
        seed: TRIAL_SEED,
        max_rows: 0,
        keep_capture: None,
        trace: None,
        shard: None,
        design,

        coverage: None,
    };
    let mut results = Vec::new();
    driver::run(&stim, &reference, None, &dir, &cfg, |r| {
        results.push(r);
        Ok(())
    })?;
    Ok(results)
}

/// Each tap's verdict from the trial's results.
fn judge_trial(results: &[ImageResult], g: &Guess, found: &mut Found) {
    let n = results.len();
    let timeouts = results.iter().filter(|r| r.timed_out).count();
    let tapped: Vec<&Tap> =
        g.candidates.iter().filter(|(_, c)| !c.is_empty()).map(|(t, _)| t).collect();
    for (k, t) in tapped.iter().enumerate() {
        let ok = |r: &ImageResult| r.cmp.counts[k] == 0 || r.cmp.local_counts[k] == 0;
        let exact = results
            .iter()
            .filter(|r| {
                !r.timed_out && ok(r) && r.cmp.missing_beats[k] == 0 && r.cmp.extra_beats[k] == 0
            })
            .count();
        let first = results
            .iter()
            .filter(|r| {
                !r.timed_out && ok(r) && r.cmp.missing_beats[k] == 0 && r.cmp.extra_beats[k] > 0
            })
            .count();
        let ran = n - timeouts;
        let (verdict, needs_first) = if ran == 0 {
            ("not judged: no class came on any trial image".to_string(), false)
        } else if exact == ran {
            (format!("bit-exact on {ran} trial images"), false)
        } else if exact + first == ran && first > 0 {
            (
                format!(
                "bit-exact on {ran} trial images taking the layer's first beats; the strobe keeps \
                 pulsing after them (beats = \"first\")"
            ),
                true,
            )
        } else {
            let values: u64 = results.iter().map(|r| r.cmp.counts[k]).sum();
            let (missing, extra): (u64, u64) = (
                results.iter().map(|r| r.cmp.missing_beats[k]).sum(),
                results.iter().map(|r| r.cmp.extra_beats[k]).sum(),
            );
            (
                format!(
                "NOT right on the trial: {values} values differ, {missing} beats missing, {extra} \
                 extra over {ran} images — try another candidate"
            ),
                false,
            )
        };
        found.taps.insert(t.name.clone(), (verdict, needs_first));
    }
    let class = results.first().map_or(0, |r| r.cmp.counts.len() - 1);
    let right =
        results.iter().filter(|r| !r.timed_out && r.cmp.counts.get(class) == Some(&0)).count();
    found.class_note = Some(if timeouts == n {
        format!(
            "no class came on any of the {n} trial images: check [class] valid, the input's \
             handshake and the reset level"
        )
    } else {
        format!(
            "the trial's class agreed with the reference on {right} of {n} images{}",
            if timeouts > 0 { format!(" ({timeouts} timeouts)") } else { String::new() }
        )
    });
}

// ---- writing ----

/// The top of the file: header comment, network, design, clock, reset, input, weights.
fn render_head(
    g: &Guess,
    spec: &str,
    globs: &[String],
    top: &str,
    timing: Option<&Timing>,
) -> String {
    let comments = timing.is_some();
    let mut s = String::new();
    let c = |s: &str| if comments { format!("   # {s}") } else { String::new() };
    let _ = writeln!(s, "network = {spec:?}\n");
    let _ = writeln!(s, "[design]");
    let _ = writeln!(
        s,
        "sources = [{}]",
        globs.iter().map(|g| format!("{g:?}")).collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(s, "top = {top:?}\n");
    let _ = writeln!(s, "[clock]");
    match &g.clock {
        Some(p) => {
            let _ = writeln!(s, "port = {p:?}{}", c("a 1-bit input named like a clock"));
        }
        None => {
            let _ = writeln!(s, "port = \"TODO\"{}", c("no 1-bit input is named like a clock"));
        }
    }
    let _ = writeln!(s, "\n[reset]");
    match &g.reset {
        Some((p, level)) => {
            let (l, why) = match level {
                Level::Low => ("low", "its name ends like an active-low reset"),
                Level::High => ("high", "its name does not end like an active-low reset (…_n)"),
            };
            let _ = writeln!(s, "port = {p:?}\nactive = {l:?}{}", c(why));
        }
        None => {
            let _ = writeln!(
                s,
                "port = \"TODO\"{}\nactive = \"low\"",
                c("no 1-bit input is named like a reset")
            );
        }
    }
    let _ = writeln!(s, "\n[input]");
    match &g.input.data {
        Some(d) => {
            let _ = writeln!(
                s,
                "data = {d:?}{}",
                c(&format!(
                    "{} pixel{} per beat",
                    g.input.lanes,
                    if g.input.lanes == 1 { "" } else { "s" }
                ))
            );
            if g.input.lanes > 1 {
                let _ = writeln!(s, "lanes = {}", g.input.lanes);
            }
        }
        None => {
            let _ =
                writeln!(s, "data = \"TODO\"{}", c("no input is a whole number of pixels wide"));
        }
    }
    match &g.input.valid {
        Some(v) => {
            let _ = writeln!(s, "valid = {v:?}");
        }
        None => {
            let start = timing.map_or(0, |t| t.start_after_reset);
            let why = match timing {
                Some(t) if t.right == TRIAL_IMAGES => {
                    "no valid input: the design takes its \
                    first pixel at this clock edge after reset, the one of 0..8 the trial got right"
                        .to_string()
                }
                _ => "no valid input: check the clock edges after reset before the design takes \
                      its first pixel"
                    .to_string(),
            };
            let _ = writeln!(s, "start_after_reset = {start}{}", c(&why));
        }
    }
    if let Some(r) = &g.input.ready {
        let _ = writeln!(s, "ready = {r:?}");
    }
    if let Some(t) = timing.filter(|t| t.between == "reset") {
        let _ = writeln!(
            s,
            "\n[stream]\nbetween = \"reset\"{}",
            c(&format!(
                "the trial got {} of {TRIAL_IMAGES} images right only with a reset before each",
                t.right
            ))
        );
    }
    let _ = writeln!(s, "\n[weights]");
    match &g.plusarg {
        Some(p) => {
            let _ = writeln!(
                s,
                "load = \"plusarg\"\narg = {p:?}{}",
                c("the sources read this $value$plusargs")
            );
        }
        None => {
            let _ = writeln!(
                s,
                "load = \"workdir\"{}",
                c("no $value$plusargs of a directory: fixed names in the working directory")
            );
        }
    }
    s
}

fn tap_block(t: &Tap, c: &Candidate, commented: bool, beats: &str) -> String {
    let h = if commented { "#" } else { "" };
    let (lanes, _) = t.shape.beats();
    let mut s = format!(
        "\n{h}[[tap]]\n{h}layer = {:?}\n{h}valid = {:?}\n{h}data = {}\n{h}lanes = {lanes}\n{h}bits = {}\n{h}signed = {}\n",
        t.name,
        c.valid,
        c.data_toml(lanes),
        c.bits,
        c.signed
    );
    if !beats.is_empty() {
        let _ = writeln!(s, "{h}beats = {beats:?}");
    }
    s
}

fn class_block(g: &Guess, rising: bool, note: &str) -> String {
    let mut s = String::from("\n[class]\n");
    match &g.class {
        Some((v, d)) => {
            let _ = writeln!(s, "valid = {v:?}\ndata = {d:?}");
        }
        None => {
            s += "valid = \"TODO\"   # no 1-bit output named like a valid or done beside a class\n";
            s += "data = \"TODO\"    # no output named like a class, wide enough for its index\n";
        }
    }
    if rising {
        let _ = writeln!(
            s,
            "edge = \"rising\"   # the trial saw the class valid high for several cycles"
        );
    }
    if !note.is_empty() {
        let _ = writeln!(s, "# {note}");
    }
    s
}

fn render(
    g: &Guess,
    f: &Found,
    spec: &str,
    globs: &[String],
    a: &InitArgs,
    net: &Network,
) -> String {
    let mut cmd = format!("cnn-cosim bind init {} --top {}", a.dir.display(), a.top);
    if a.net != crate::network::DEFAULT_NET {
        cmd += &format!(" --net {}", a.net);
    }
    for g in &a.sources {
        cmd += &format!(" --sources '{g}'");
    }
    let mut s = format!(
        "# Written by `{cmd}` for network {} (docs/binding-format.md).\n\
         # What was guessed is set below, with why; check it. The taps are commented out: each\n\
         # [[tap]] block holds the best candidate and what a trial on {TRIAL_IMAGES} random\n\
         # images said of it. Uncomment a block's lines that start with \"#\" and no space\n\
         # (\"#[[tap]]\", \"#layer = …\") to compare the layer; `cnn-cosim bind show` says what\n\
         # is still missing.\n",
        net.name
    );
    if let Some(e) = &f.failed {
        let _ =
            writeln!(s, "# The trial model could not be built or run: {}", e.replace('\n', " "));
    }
    let none = Timing { between: "back-to-back".into(), start_after_reset: 0, right: 0 };
    s += &render_head(g, spec, globs, &a.top, Some(f.timing.as_ref().unwrap_or(&none)));
    if !f.layouts.is_empty() {
        s += "\n# The weight files, as the design opened them when its model was built:\n";
        s += "[weights.files]\n";
        for (tensor, pattern, note) in &f.layouts {
            let _ = writeln!(s, "{tensor:?} = {{ file = {pattern:?} }}   # {note}");
        }
    } else if !f.files.is_empty() && f.unexplained.is_empty() {
        let _ = writeln!(
            s,
            "# The design reads the network's own weight files ({} of them).",
            f.files.len()
        );
    }
    for u in &f.unexplained {
        let _ = writeln!(s, "# weights: {u}");
    }
    if let Some(stop) = &f.probe_stop {
        let _ = writeln!(s, "# weights: the probe stopped at: {}", stop.replace('\n', " "));
    }
    // Every port not given a role.
    let reserved = g.reserved();
    let others: Vec<String> = g
        .signals
        .ports
        .iter()
        .filter(|(n, _)| !reserved.contains(*n))
        .map(|(n, p)| {
            let dir = if g.signals.inputs.contains(n) { "input " } else { "output" };
            format!("#   {dir} {n:<24} {} bit{}", p.width, if p.width == 1 { "" } else { "s" })
        })
        .collect();
    if !others.is_empty() {
        s += "\n# The other ports:\n";
        for o in others {
            let _ = writeln!(s, "{o}");
        }
    }
    for (t, cands) in &g.candidates {
        let l = &net.layers[t.layer];
        let r = l.bounds.out;
        let _ = write!(
            s,
            "\n# {}: {}, values {}..{} (they need {}); ",
            t.name,
            match t.shape {
                Shape::Map { .. } => format!(
                    "{} as one beat per raster position of {} channels",
                    t.shape,
                    t.shape.beats().0
                ),
                Shape::Vector(n) => format!("{n} values in one beat"),
            },
            crate::network::group(r.min),
            crate::network::group(r.max),
            r.needed()
        );
        let Some(best) = cands.first() else {
            s += "no signal of the design can hold them.\n";
            continue;
        };
        let (verdict, first) =
            f.taps.get(&t.name).cloned().unwrap_or_else(|| ("not tried".into(), false));
        let _ = writeln!(s, "{verdict}.");
        let (lanes, _) = t.shape.beats();
        if cands.len() > 1 {
            s += "# other candidates:\n";
            for c in &cands[1..] {
                let _ = writeln!(s, "#   data {}, valid {}", c.describe(lanes), c.valid);
            }
        }
        s += tap_block(t, best, true, if first { "first" } else { "" }).trim_start_matches('\n');
    }
    s += &class_block(g, f.class_rising, f.class_note.as_deref().unwrap_or(""));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_levels_from_names() {
        for n in ["rst_n", "rst_ni", "resetn", "aresetn", "reset_n", "rstn_i", "rst_b"] {
            assert_eq!(reset_level(n), Level::Low, "{n}");
        }
        for n in ["rst", "reset", "rst_i", "reset_in", "arst"] {
            assert_eq!(reset_level(n), Level::High, "{n}");
        }
    }

    #[test]
    fn a_plusarg_naming_a_directory_is_found() {
        let text = r#"if (!$value$plusargs("quiet=%d", q)) q = 0;
            if (!$value$plusargs("WEIGHT_DIR=%s", dir)) $sformat(dir, "%0s", WeightsDir);"#;
        assert_eq!(plusarg(text).as_deref(), Some("+WEIGHT_DIR={weights}"));
        assert_eq!(plusarg("$readmemh(\"w.mem\", m);"), None);
    }

    #[test]
    fn file_layouts_are_inferred_from_names_and_sizes() {
        let net = Network::find("two_conv").unwrap();
        // What pairs_top opens: the network's own files, but conv2's kernels per pair.
        let mut found: BTreeMap<String, usize> = BTreeMap::new();
        for (n, v) in [("conv1_bias.mem", 3), ("conv2_bias.mem", 3), ("fc_bias.mem", 10)] {
            found.insert(n.into(), v);
        }
        for o in 0..3 {
            found.insert(format!("conv1_weight_{o}.mem"), 25);
            for i in 1..=3 {
                found.insert(format!("conv2_weight_{}{i}.txt", o + 1), 25);
            }
        }
        for o in 0..10 {
            found.insert(format!("neuron_weights_{o}.mem"), 48);
        }
        let (layouts, unexplained) = infer_layouts(&net, &found);
        assert!(unexplained.is_empty(), "{unexplained:?}");
        assert_eq!(layouts.len(), 1, "{layouts:?}");
        assert_eq!(layouts[0].0, "conv2.weight");
        assert_eq!(layouts[0].1, "conv2_weight_{o+1}{i+1}.txt");
        assert!(layouts[0].2.contains("{i+1}{o+1}"), "the other order is named: {layouts:?}");
        // A file nothing explains is said.
        found.insert("extra.mem".into(), 7);
        let (_, unexplained) = infer_layouts(&net, &found);
        assert_eq!(unexplained, ["extra.mem (7 values): no tensor of the network fits it"]);
    }
}
