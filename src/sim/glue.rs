//! The C++ glue between a Verilated design and `csrc/cnn_shim.cpp`, generated from the
//! design's binding: which ports the clock, reset and pixel stream drive, whether the input
//! has a ready, and how each tap beat and the class are read and unpacked. `build.rs`
//! generates it from `rtl/binding.toml` for the compiled-in model (`#[path]`, so this file
//! depends only on [`binding_file`]), `src/sim/verilate.rs` for a design Verilated at run time
//! (then with the design's signals, so internal signals are reachable and every width is
//! checked); there is no hand-written port code in the shim.
//!
//! [`binding_file`]: super::binding_file

use super::binding_file::{Edge, File, Level};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Taps the shim's run buffer holds at most (`CNN_MAX_TAPS`, `RunBuf` in `src/sim/model.rs`).
pub const MAX_TAPS: usize = 8;
/// Pixels per input beat at most (`CNN_IN_STRIDE` − 1 in the shim, `Input` in `src/sim/model.rs`).
pub const MAX_LANES: usize = 8;

/// One signal of a Verilated design: its packed width and, for an unpacked array, its
/// element count and the lowest index it is declared with (`[9:0]` and `[0:9]`: 0; `[10:1]`:
/// 1), which Verilator's C++ array starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sig {
    pub width: u32,
    pub elements: Option<usize>,
    pub first: i64,
}

/// The signals a Verilated design exposes, read from the headers Verilator wrote
/// (`Vcnn_top.h`: the top-level ports; `Vcnn_top___024root.h`: every signal kept as a member,
/// which includes every signal marked public), with the widths Verilator notes beside them.
#[derive(Debug, Clone, Default)]
pub struct DesignSignals {
    /// The top module's name (the prefix of every internal member: `top__DOT__u_a__DOT__x`).
    pub top: String,
    pub ports: BTreeMap<String, Sig>,
    /// The ports that are inputs.
    pub inputs: std::collections::BTreeSet<String>,
    /// By member name.
    pub internal: BTreeMap<String, Sig>,
}

impl DesignSignals {
    /// Parses the two headers' text.
    pub fn parse(top: &str, model_h: &str, root_h: &str) -> DesignSignals {
        let mut ports = BTreeMap::new();
        let mut inputs = std::collections::BTreeSet::new();
        for line in model_h.lines() {
            // VL_IN8(&clk_i,0,0);  VL_OUTW(&fc1_data_o,229,0,8);
            let t = line.trim();
            let (rest, input) = match (t.strip_prefix("VL_IN"), t.strip_prefix("VL_OUT")) {
                (Some(r), _) => (r, true),
                (_, Some(r)) => (r, false),
                _ => continue,
            };
            let Some((_, args)) = rest.split_once("(&") else { continue };
            let mut it = args.trim_end_matches(");").split(',');
            let (Some(name), Some(msb), Some(lsb)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            if let (Ok(m), Ok(l)) = (msb.trim().parse::<u32>(), lsb.trim().parse::<u32>()) {
                let name = name.trim().to_string();
                if input {
                    inputs.insert(name.clone());
                }
                ports
                    .insert(name, Sig { width: m.max(l) - m.min(l) + 1, elements: None, first: 0 });
            }
        }
        let mut internal = BTreeMap::new();
        for line in root_h.lines() {
            // CData/*4:0*/ top__DOT__u__DOT__x;   VlUnpacked<SData/*15:0*/, 3> top__DOT__y;
            let t = line.trim();
            let Some(open) = t.find("/*") else { continue };
            let Some(close) = t[open..].find("*/").map(|c| open + c) else { continue };
            let Some((m, l)) = t[open + 2..close].split_once(':') else { continue };
            let (Ok(m), Ok(l)) = (m.parse::<u32>(), l.parse::<u32>()) else { continue };
            let after = t[close + 2..].trim();
            let (elements, name) = if t.starts_with("VlUnpacked<") {
                let Some((n, rest)) = after.trim_start_matches(',').split_once('>') else {
                    continue;
                };
                (n.trim().parse::<usize>().ok(), rest.trim())
            } else {
                (None, after)
            };
            let name = name.trim_end_matches(';').trim();
            if name.starts_with(&format!("{top}__DOT__")) && !name.contains(' ') {
                let width = m.max(l) - m.min(l) + 1;
                internal.insert(name.to_string(), Sig { width, elements, first: 0 });
            }
        }
        DesignSignals { top: top.to_string(), ports, inputs, internal }
    }

    /// Takes each public unpacked array's declared range from the `varInsert` calls of the
    /// model's `__Syms` files (`syms`, their text), so `a[k]` of an array declared `[10:1]`
    /// reads C++ element `k − 1`. Verilator 5.006 writes `…, FLAGS, dims, packed…,
    /// unpacked…)`, later releases `…, FLAGS, udims, pdims, unpacked…, packed…)`.
    pub fn set_ranges(&mut self, syms: &str) {
        for line in syms.lines() {
            let Some(at) = line.find("varInsert(") else { continue };
            let args = line[at + "varInsert(".len()..].trim_end().trim_end_matches(';');
            let args = args.strip_suffix(')').unwrap_or(args);
            let Some(member) = args.split("&(TOP.").nth(1).and_then(|r| r.split(')').next()) else {
                continue;
            };
            let parts: Vec<&str> = args.split(',').map(str::trim).collect();
            let Some(flags) = parts.iter().position(|p| p.starts_with("VLVD_")) else { continue };
            let nums: Option<Vec<i64>> =
                parts[flags + 1..].iter().map(|p| p.parse().ok()).collect();
            let Some(nums) = nums else { continue };
            let unpacked = if nums.len() % 2 == 0 {
                // udims, pdims, then the unpacked ranges first.
                (nums.first().copied().unwrap_or(0) >= 1 && nums.len() >= 4)
                    .then(|| (nums[2], nums[3]))
            } else {
                // dims, packed ranges, then the unpacked ones: the last pair.
                (nums.len() >= 3).then(|| (nums[nums.len() - 2], nums[nums.len() - 1]))
            };
            if let (Some(sig), Some((a, b))) = (self.internal.get_mut(member), unpacked) {
                if sig.elements == Some((a - b).unsigned_abs() as usize + 1) {
                    sig.first = a.min(b);
                }
            }
        }
    }

    /// The hierarchical name of a member (`top__DOT__u_a__DOT__x` → `u_a.x`), as a binding
    /// writes it.
    pub fn display(&self, member: &str) -> String {
        member
            .strip_prefix(&format!("{}__DOT__", self.top))
            .unwrap_or(member)
            .replace("__DOT__", ".")
            .replace("__BRA__", "[")
            .replace("__KET__", "]")
    }

    /// Up to five names of the design closest to `name` (by edit distance), for an error.
    pub fn closest(&self, name: &str) -> Vec<String> {
        let mut all: Vec<(usize, String)> = self
            .ports
            .keys()
            .cloned()
            .chain(self.internal.keys().map(|m| self.display(m)))
            .filter(|n| !n.contains("__V")) // Verilator's own temporaries
            .map(|n| (distance(name, &n), n))
            .collect();
        all.sort();
        all.into_iter().take(5).map(|(_, n)| n).collect()
    }
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + (ca != cb) as usize).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// `name[3]` → (`name`, Some(3)).
fn split_index(s: &str) -> Result<(&str, Option<usize>), String> {
    match s.strip_suffix(']').and_then(|r| r.rsplit_once('[')) {
        Some((base, i)) => i
            .trim()
            .parse()
            .map(|i| (base, Some(i)))
            .map_err(|_| format!("{s:?}: an index is a whole number")),
        None => Ok((s, None)),
    }
}

/// How the glue reaches the design's signals.
struct Resolver<'a> {
    signals: Option<&'a DesignSignals>,
}

impl Resolver<'_> {
    /// The C++ expression for signal `name` (a port, or a hierarchical path with an optional
    /// array index at the end) and its width (when the design's signals are known).
    fn expr(&self, what: &str, name: &str) -> Result<(String, Option<u32>), String> {
        let (base, index) = split_index(name).map_err(|e| format!("{what}: {e}"))?;
        let plain = !base.contains('.');
        if plain && !is_ident(base) {
            return Err(format!("{what} {name:?}: not a port name or a hierarchical path"));
        }
        // A plain name is a port first, then a signal of the top module itself.
        match self.signals {
            None if plain && index.is_none() => return Ok((format!("t->{base}"), None)),
            Some(d) if plain && index.is_none() && d.ports.contains_key(base) => {
                return Ok((format!("t->{base}"), d.ports.get(base).map(|s| s.width)));
            }
            Some(d) if plain && d.ports.contains_key(base) => {
                return Err(format!("{what} {name:?}: port {base:?} is not an array"));
            }
            _ => {}
        }
        let Some(d) = self.signals else {
            return Err(format!(
                "{what} {name:?}: the compiled-in model binds top-level ports only (an \
                 internal signal needs `verify --rtl`, which Verilates the design at run time)"
            ));
        };
        let mut member = d.top.clone();
        for part in base.split('.') {
            let (id, gen) = split_index(part).map_err(|e| format!("{what}: {e}"))?;
            if !is_ident(id) {
                return Err(format!("{what} {name:?}: {part:?} is not a name"));
            }
            member += "__DOT__";
            member += id;
            if let Some(g) = gen {
                // A generate block's instance: g_ch[2] → g_ch__BRA__2__KET__.
                let _ = write!(member, "__BRA__{g}__KET__");
            }
        }
        // A member of the root class, which the shim includes (marked public, so Verilator
        // keeps it up to date).
        let Some(sig) = d.internal.get(&member) else { return Err(self.missing(what, name)) };
        match (index, sig.elements) {
            (Some(i), Some(n)) if (sig.first..sig.first + n as i64).contains(&(i as i64)) => {
                let at = i as i64 - sig.first;
                Ok((format!("t->rootp->{member}[{at}]"), Some(sig.width)))
            }
            (Some(i), Some(n)) => Err(format!(
                "{what} {name:?}: index {i} is outside the design's array, declared with \
                 indices {}..{}",
                sig.first,
                sig.first + n as i64 - 1
            )),
            (Some(_), None) => Err(format!("{what} {name:?}: the design's signal is not an array")),
            (None, Some(n)) => Err(format!(
                "{what} {name:?}: the design's signal is an array of {n}; bind its elements \
                 (\"{base}[{}..{}]\")",
                sig.first,
                sig.first + n as i64 - 1
            )),
            (None, None) => Ok((format!("t->rootp->{member}"), Some(sig.width))),
        }
    }

    fn missing(&self, what: &str, name: &str) -> String {
        let near = self.signals.map(|d| d.closest(name)).unwrap_or_default();
        format!(
            "{what} {name:?}: the design has no such signal{}",
            if near.is_empty() {
                String::new()
            } else {
                format!(" (closest: {})", near.join(", "))
            }
        )
    }

    /// Like [`Resolver::expr`], and the width must be `want` when it is known.
    fn sized(&self, what: &str, name: &str, want: u32) -> Result<String, String> {
        let (e, w) = self.expr(what, name)?;
        match w {
            Some(w) if w != want => Err(format!(
                "{what} {name:?} is {w} bit{} wide in the design; the binding says {want}",
                if w == 1 { "" } else { "s" }
            )),
            _ => Ok(e),
        }
    }
}

/// What a host-driven design's glue drives and reads, from its binding's `[bus]` and
/// `[host]` (the crate's binding resolves each bus protocol's roles into this order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPorts {
    /// (what, port, width) the host drives every cycle, in order: `cnn_host_set`'s values
    /// (an empty port: an optional role the design lacks; a width: what the port must be).
    pub inputs: Vec<(String, String, Option<u32>)>,
    /// (what, signal, width) read before each rising edge: `cnn_host_get`'s values.
    pub outputs: Vec<(String, String, Option<u32>)>,
    /// A done port and its edge (else done is polled over the bus).
    pub done: Option<(String, Edge)>,
    /// A class port, sampled in the cycle done comes (else read over the bus).
    pub class: Option<String>,
}

/// Signals a host-driven design's glue drives or reads at most (`cnn_host`'s arrays).
pub const MAX_HOST_SIGNALS: usize = 32;

/// The glue header for `file`'s design, whose Verilated class the shim names `CNN_TOP`.
/// `signals`: the Verilated design's signals (run-time Verilation), which lets the glue
/// reach internal signals and check every width; `None` (build.rs, before Verilating)
/// binds top-level ports only, unchecked. `pixel_bits` is the network input's width.
/// `host`: a host-driven design's bus and control signals (`None`: a streaming design).
pub fn generate(
    file: &File,
    source: &str,
    signals: Option<&DesignSignals>,
    pixel_bits: u32,
    host: Option<&HostPorts>,
) -> Result<String, String> {
    let r = Resolver { signals };
    let mut body = String::new();
    let w = |h: &mut String, s: &str| {
        h.push_str(s);
        h.push('\n');
    };
    if file.taps.len() > MAX_TAPS {
        return Err(format!("{} taps: the shim holds at most {MAX_TAPS}", file.taps.len()));
    }
    let h = &mut body;
    let _ = writeln!(h, "#define CNN_NTAPS {}", file.taps.len());
    let clk = r.sized("[clock] port", &file.clock.port, 1)?;
    let rst = r.sized("[reset] port", &file.reset.port, 1)?;
    for (what, e) in [("[clock] port", &clk), ("[reset] port", &rst)] {
        if e.contains("rootp") {
            return Err(format!("{what}: must be a top-level input port"));
        }
    }
    let (active, idle) = match file.reset.active {
        Level::Low => (0, 1),
        Level::High => (1, 0),
    };
    match (host, &file.input) {
        (Some(host), _) => host_inputs(h, &r, host, &clk, &rst, active, idle)?,
        (None, Some(input)) => stream_inputs(
            h,
            &r,
            input,
            file.reset.wait_for_ready,
            &clk,
            &rst,
            active,
            idle,
            pixel_bits,
        )?,
        (None, None) => {
            return Err("[input] is missing: a streaming design needs its pixel stream, a \
                        host-driven one [bus] and [host]"
                .into())
        }
    }
    // Tap beats. A rising-edge valid keeps its last sampled value in the model
    // (`edge_q[i]`; the class's at CNN_MAX_TAPS), updated every cycle, reset cycles included.
    // A beat holds the tap's coordinates (`at`), then its lanes' values.
    let mut track = Vec::new();
    w(h, "inline void cnn_append_taps(CnnModel* m, const CNN_TOP* t, CnnRun* r) {");
    w(h, "    (void)m;");
    for (i, spanned) in file.taps.iter().enumerate() {
        let t = spanned.get_ref();
        let wh = format!("tap {:?}", t.layer);
        let valid = r.sized(&format!("{wh} valid"), &t.valid, 1)?;
        let signals = t.data.expand().map_err(|e| format!("{wh} data: {e}"))?;
        let when = match &t.when {
            Some(q) => {
                let (e, width) = r.expr(&format!("{wh} when signal"), &q.signal)?;
                if width.is_some_and(|w| w > 64) {
                    return Err(format!("{wh} when signal {:?}: wider than 64 bits", q.signal));
                }
                let bits = width.unwrap_or(64);
                format!(" && (uint64_t)field({e}, 0, {bits}, false) == {}ULL", q.equals)
            }
            None => String::new(),
        };
        match t.edge {
            Edge::Level => {
                let _ = writeln!(h, "    if ({valid}{when}) {{");
            }
            Edge::Rising => {
                let _ = writeln!(
                    h,
                    "    const bool v{i} = {valid};\n    const bool fire{i} = v{i} && !m->edge_q[{i}];\n    m->edge_q[{i}] = v{i};\n    if (fire{i}{when}) {{"
                );
                track.push(format!("m->edge_q[{i}] = {valid};"));
            }
        }
        let coords = t.at.as_ref().map(|a| a.signals()).unwrap_or_default();
        let stride = coords.len() + t.lanes;
        let _ = writeln!(h, "        int64_t* d = r->tap[{i}] + {stride} * r->len[{i}]++;");
        for (k, (name, sig)) in coords.iter().enumerate() {
            let (e, width) = r.expr(&format!("{wh} at {name}"), sig)?;
            if width.is_some_and(|w| w > 63) {
                return Err(format!("{wh} at {name} {sig:?}: wider than 63 bits"));
            }
            let _ = writeln!(h, "        d[{k}] = field({e}, 0, {}, false);", width.unwrap_or(63));
        }
        let c = coords.len();
        let signed = if t.signed { "true" } else { "false" };
        if signals.len() == 1 {
            let sig = r.sized(&format!("{wh} data"), &signals[0], t.lanes as u32 * t.bits)?;
            let at = if c == 0 { "k".to_string() } else { format!("{c} + k") };
            let _ = writeln!(
                h,
                "        for (int k = 0; k < {}; ++k) d[{at}] = field({sig}, {} * k, {}, {signed});",
                t.lanes, t.bits, t.bits
            );
        } else if signals.len() == t.lanes {
            for (k, s) in signals.iter().enumerate() {
                let sig = r.sized(&format!("{wh} data"), s, t.bits)?;
                let _ =
                    writeln!(h, "        d[{}] = field({sig}, 0, {}, {signed});", c + k, t.bits);
            }
        } else {
            return Err(format!(
                "{wh} data: {} signals for {} lanes (one packed signal, or one per lane)",
                signals.len(),
                t.lanes
            ));
        }
        w(h, "    }");
    }
    w(h, "}");
    // The class: a streaming design's valid and data; a host-driven one's done and class
    // ports (without them, done and the class are read over the bus, and the glue never
    // sees a class).
    let (valid, edge, data) = match (host, &file.class) {
        (Some(host), _) => {
            let done = host.done.as_ref().map(|(d, e)| (d.as_str(), *e));
            (done, done.map_or(Edge::Level, |d| d.1), host.class.as_deref())
        }
        (None, Some(c)) => (Some((c.valid.as_str(), c.edge)), c.edge, Some(c.data.as_str())),
        (None, None) => return Err("[class] is missing: a streaming design's class".into()),
    };
    let (what_valid, what_data) = match host {
        Some(_) => ("[host] done port", "[host] class port"),
        None => ("[class] valid", "[class] data"),
    };
    let cv = match valid {
        Some((v, _)) => r.sized(what_valid, v, 1)?,
        None => "false".to_string(),
    };
    let cd = match data {
        Some(d) => {
            let (cd, cw) = r.expr(what_data, d)?;
            if cw.is_some_and(|w| w > 32) {
                return Err(format!("{what_data} {d:?}: wider than 32 bits"));
            }
            cd
        }
        None => "0".to_string(),
    };
    // Called once per cycle, after the taps.
    match edge {
        Edge::Level => {
            let _ = writeln!(
                h,
                "inline bool cnn_class_valid(CnnModel* m, const CNN_TOP* t) {{ (void)m; (void)t; return {cv}; }}"
            );
        }
        Edge::Rising => {
            let _ = writeln!(
                h,
                "inline bool cnn_class_valid(CnnModel* m, const CNN_TOP* t) {{\n    const bool v = {cv};\n    const bool fire = v && !m->edge_q[CNN_MAX_TAPS];\n    m->edge_q[CNN_MAX_TAPS] = v;\n    return fire;\n}}"
            );
            track.push(format!("m->edge_q[CNN_MAX_TAPS] = {cv};"));
        }
    }
    // In a reset cycle: rising-edge valids are sampled, nothing is taken.
    w(h, "inline void cnn_track_edges(CnnModel* m, const CNN_TOP* t) {");
    w(h, "    (void)m;\n    (void)t;");
    for line in &track {
        let _ = writeln!(h, "    {line}");
    }
    w(h, "}");
    let _ = writeln!(
        h,
        "inline uint8_t cnn_class(const CNN_TOP* t) {{ (void)t; return (uint8_t){cd}; }}"
    );

    let mut out = String::new();
    let _ = writeln!(out, "// Generated from {source} (src/sim/glue.rs): do not edit.");
    out.push_str("#pragma once\n");
    out += &body;
    Ok(out)
}

/// A streaming design's inputs: clock, reset, the pixel stream and its handshake.
#[allow(clippy::too_many_arguments)]
fn stream_inputs(
    h: &mut String,
    r: &Resolver,
    input: &super::binding_file::Input,
    wait_for_ready: bool,
    clk: &str,
    rst: &str,
    active: u8,
    idle: u8,
    pixel_bits: u32,
) -> Result<(), String> {
    let _ = writeln!(h, "#define CNN_HOST 0");
    let _ = writeln!(h, "#define CNN_HAS_READY {}", input.ready.is_some() as u8);
    let _ = writeln!(h, "#define CNN_WAIT_READY {}", wait_for_ready as u8);
    // The beat's pixels: one packed port (pixel k at [k·bits +: bits]) or one port each.
    let lanes = input.lanes;
    if lanes == 0 || lanes > MAX_LANES {
        return Err(format!("[input] lanes = {lanes}: 1 to {MAX_LANES} pixels per beat"));
    }
    let signals = input.data.expand().map_err(|e| format!("[input] data: {e}"))?;
    let data: Vec<String> = match signals.len() {
        1 => {
            let e = r.sized("[input] data", &signals[0], lanes as u32 * pixel_bits)?;
            let packed: Vec<String> = (0..lanes)
                .map(|k| format!("((uint64_t)pixel[{k}] << {})", k as u32 * pixel_bits))
                .collect();
            if lanes == 1 {
                vec![format!("{e} = pixel[0];")]
            } else {
                vec![format!("{e} = {};", packed.join(" | "))]
            }
        }
        n if n == lanes => signals
            .iter()
            .enumerate()
            .map(|(k, s)| Ok(format!("{} = pixel[{k}];", r.sized("[input] data", s, pixel_bits)?)))
            .collect::<Result<_, String>>()?,
        n => {
            return Err(format!(
                "[input] data: {n} signals for {lanes} pixels per beat (one packed port, or \
                 one per pixel)"
            ))
        }
    };
    if data.iter().any(|d| d.contains("rootp")) {
        return Err("[input] data: must be a top-level input port".into());
    }
    let _ = writeln!(h, "inline void cnn_set_inputs(CNN_TOP* t, uint8_t clk, bool in_reset, uint8_t valid, const uint8_t* pixel) {{");
    let _ = writeln!(h, "    {clk} = clk;");
    let _ = writeln!(h, "    {rst} = in_reset ? {active} : {idle};");
    match &input.valid {
        Some(v) => {
            let _ = writeln!(h, "    {} = valid;", r.sized("[input] valid", v, 1)?);
        }
        None => {
            let _ = writeln!(h, "    (void)valid;");
        }
    }
    for d in &data {
        let _ = writeln!(h, "    {d}");
    }
    let _ = writeln!(h, "}}");
    if let Some(ready) = &input.ready {
        let e = r.sized("[input] ready", ready, 1)?;
        let _ = writeln!(h, "inline bool cnn_ready(const CNN_TOP* t) {{ return {e}; }}");
    }
    let _ = writeln!(
        h,
        "inline void cnn_host_set(CNN_TOP* t, const uint64_t* v) {{ (void)t; (void)v; }}"
    );
    let _ = writeln!(
        h,
        "inline void cnn_host_get(const CNN_TOP* t, uint64_t* v) {{ (void)t; (void)v; }}"
    );
    Ok(())
}

/// A host-driven design's inputs: clock and reset (every bus input idle, 0, while reset is
/// held), and the bus's signals set and read by `cnn_host`.
fn host_inputs(
    h: &mut String,
    r: &Resolver,
    host: &HostPorts,
    clk: &str,
    rst: &str,
    active: u8,
    idle: u8,
) -> Result<(), String> {
    if host.inputs.len() > MAX_HOST_SIGNALS || host.outputs.len() > MAX_HOST_SIGNALS {
        return Err(format!("the bus has more than {MAX_HOST_SIGNALS} signals each way"));
    }
    let _ = writeln!(h, "#define CNN_HOST 1\n#define CNN_HAS_READY 0\n#define CNN_WAIT_READY 0");
    let mut set = Vec::new();
    let sized = |what: &str, sig: &str, want: Option<u32>| match want {
        Some(w) => r.sized(what, sig, w).map(|e| (e, Some(w))),
        None => r.expr(what, sig),
    };
    for (k, (what, sig, want)) in host.inputs.iter().enumerate() {
        if sig.is_empty() {
            continue;
        }
        let (e, width) = sized(what, sig, *want)?;
        if e.contains("rootp") {
            return Err(format!("{what} {sig:?}: must be a top-level input port"));
        }
        if let Some(d) = r.signals {
            if !d.inputs.contains(sig) {
                return Err(format!("{what} {sig:?}: an output of the design; the host drives it"));
            }
        }
        if width.is_some_and(|w| w > 64) {
            return Err(format!("{what} {sig:?}: wider than 64 bits"));
        }
        set.push((k, e));
    }
    let _ = writeln!(h, "inline void cnn_set_inputs(CNN_TOP* t, uint8_t clk, bool in_reset, uint8_t valid, const uint8_t* pixel) {{");
    let _ = writeln!(h, "    (void)valid;\n    (void)pixel;");
    let _ = writeln!(h, "    {clk} = clk;");
    let _ = writeln!(h, "    {rst} = in_reset ? {active} : {idle};");
    if !set.is_empty() {
        let zero: Vec<String> = set.iter().map(|(_, e)| format!("{e} = 0;")).collect();
        let _ = writeln!(h, "    if (in_reset) {{ {} }}", zero.join(" "));
    }
    let _ = writeln!(h, "}}");
    let _ = writeln!(h, "inline void cnn_host_set(CNN_TOP* t, const uint64_t* v) {{");
    let _ = writeln!(h, "    (void)t;\n    (void)v;");
    for (k, e) in &set {
        let _ = writeln!(h, "    {e} = v[{k}];");
    }
    let _ = writeln!(h, "}}");
    let _ = writeln!(h, "inline void cnn_host_get(const CNN_TOP* t, uint64_t* v) {{");
    let _ = writeln!(h, "    (void)t;\n    (void)v;");
    for (k, (what, sig, want)) in host.outputs.iter().enumerate() {
        if sig.is_empty() {
            continue;
        }
        let (e, width) = sized(what, sig, *want)?;
        if width.is_some_and(|w| w > 64) {
            return Err(format!("{what} {sig:?}: wider than 64 bits"));
        }
        let _ = writeln!(h, "    v[{k}] = field({e}, 0, {}, false);", width.unwrap_or(64));
    }
    let _ = writeln!(h, "}}");
    Ok(())
}

/// The signals of `file` the glue reads (taps, class, ready) that Verilator must keep as
/// readable members, for a control file marking them public (`public_flat_rw`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publics {
    /// The last names of hierarchical paths (`u_conv.sum_q` → `sum_q`), marked in every
    /// module: `public_flat_rw -module "*" -var "sum_q"`.
    pub anywhere: Vec<String>,
    /// Plain names: a port, or else a signal of the top module itself (which only the
    /// Verilated design tells apart), marked in the top module only.
    pub plain: Vec<String>,
}

/// The signals the glue of `file` reads, by how they must be made public.
pub fn public_vars(file: &File) -> Publics {
    let mut p = Publics::default();
    let mut add = |s: &str| {
        if let Ok((base, _)) = split_index(s) {
            match base.rsplit_once('.') {
                Some((_, leaf)) => p.anywhere.push(leaf.to_string()),
                None => p.plain.push(base.to_string()),
            }
        }
    };
    for t in &file.taps {
        let t = t.get_ref();
        add(&t.valid);
        for s in t.data.expand().unwrap_or_default() {
            add(&s);
        }
        if let Some(q) = &t.when {
            add(&q.signal);
        }
        for (_, s) in t.at.as_ref().map(|a| a.signals()).unwrap_or_default() {
            add(s);
        }
    }
    if let Some(c) = &file.class {
        add(&c.valid);
        add(&c.data);
    }
    if let Some(r) = file.input.as_ref().and_then(|i| i.ready.as_ref()) {
        add(r);
    }
    for v in [&mut p.anywhere, &mut p.plain] {
        v.sort();
        v.dedup();
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = include_str!("../../rtl/binding.toml");

    #[test]
    fn the_projects_binding_gives_the_shims_port_code() {
        let file = crate::sim::binding_file::parse(OWN).unwrap();
        let h = generate(&file, "rtl/binding.toml", None, 8, None).unwrap();
        assert!(h.contains("#define CNN_NTAPS 3"), "{h}");
        assert!(h.contains("t->rst_ni = in_reset ? 0 : 1;"), "{h}");
        assert!(h.contains("t->pixel_valid_i = valid;"), "{h}");
        assert!(h.contains("d[k] = field(t->conv1_data_o, 14 * k, 14, true);"), "{h}");
        assert!(h.contains("d[k] = field(t->pool1_data_o, 13 * k, 13, false);"), "{h}");
        assert!(h.contains("int64_t* d = r->tap[2] + 10 * r->len[2]++;"), "{h}");
        assert!(h.contains("return (uint8_t)t->class_o;"), "{h}");
    }

    #[test]
    fn one_signal_per_lane_active_high_reset_and_no_valid() {
        let text = OWN
            .replace("active = \"low\"", "active = \"high\"")
            .replace("valid = \"pixel_valid_i\"", "")
            .replace("data = \"fc1_data_o\"", "data = [\"l0\", \"l1\", \"l2\", \"l3\", \"l4\", \"l5\", \"l6\", \"l7\", \"l8\", \"l9\"]");
        let h =
            generate(&crate::sim::binding_file::parse(&text).unwrap(), "b", None, 8, None).unwrap();
        assert!(h.contains("t->rst_ni = in_reset ? 1 : 0;"), "{h}");
        assert!(h.contains("(void)valid;"), "{h}");
        assert!(h.contains("d[9] = field(t->l9, 0, 23, true);"), "{h}");
    }

    /// What Verilator wrote for a top `t` with a port `q`, a wire `w` and arrays declared
    /// `[9:0]`, `[10:1]` (Verilator 5.48's varInsert) and `[0:3]` (5.006's).
    fn signals() -> DesignSignals {
        let model_h = "    VL_IN8(&clk,0,0);\n    VL_OUT8(&q,7,0);\n";
        let root_h = "    CData/*7:0*/ t__DOT__w;\n    VlUnpacked<SData/*15:0*/, 10> t__DOT__desc;\n    \
                      VlUnpacked<SData/*15:0*/, 10> t__DOT__off;\n    VlUnpacked<CData/*3:0*/, 4> t__DOT__old;\n";
        let syms = r#"    __Vscopep_t->varInsert("desc", &(TOP.t__DOT__desc), false, VLVT_UINT16, VLVD_NODIR|VLVF_PUB_RW, 1, 1 ,9,0 ,15,0);
    __Vscopep_t->varInsert("off", &(TOP.t__DOT__off), false, VLVT_UINT16, VLVD_NODIR|VLVF_PUB_RW, 1, 1 ,10,1 ,15,0);
        __Vscope_t.varInsert(__Vfinal,"old", &(TOP.t__DOT__old), false, VLVT_UINT8,VLVD_NODIR|VLVF_PUB_RW,2 ,3,0 ,3,0);
"#;
        let mut d = DesignSignals::parse("t", model_h, root_h);
        d.set_ranges(syms);
        d
    }

    #[test]
    fn plain_names_are_ports_first_then_the_tops_own_signals() {
        let d = signals();
        assert!(d.inputs.contains("clk") && !d.inputs.contains("q"));
        let r = Resolver { signals: Some(&d) };
        assert_eq!(r.expr("x", "q").unwrap(), ("t->q".to_string(), Some(8)));
        assert_eq!(r.expr("x", "w").unwrap(), ("t->rootp->t__DOT__w".to_string(), Some(8)));
        // Declared [9:0]: element k is C++ element k; [10:1]: element k is k − 1.
        assert_eq!(r.expr("x", "desc[9]").unwrap().0, "t->rootp->t__DOT__desc[9]");
        assert_eq!(r.expr("x", "off[1]").unwrap().0, "t->rootp->t__DOT__off[0]");
        assert_eq!(r.expr("x", "off[10]").unwrap().0, "t->rootp->t__DOT__off[9]");
        assert_eq!(r.expr("x", "old[3]").unwrap().0, "t->rootp->t__DOT__old[3]");
        let e = r.expr("x", "off[0]").unwrap_err();
        assert!(e.contains("outside the design's array, declared with indices 1..10"), "{e}");
        let e = r.expr("x", "off").unwrap_err();
        assert!(e.contains("bind its elements (\"off[1..10]\")"), "{e}");
        assert!(r.expr("x", "q[1]").unwrap_err().contains("port \"q\" is not an array"));
        let e = r.expr("x", "wx").unwrap_err();
        assert!(e.contains("no such signal (closest: w"), "{e}");
    }

    #[test]
    fn what_the_compiled_in_model_cannot_bind_is_refused_by_name() {
        let internal = OWN.replace("data = \"fc1_data_o\"", "data = \"u_fc.acc_q\"");
        let e = generate(&crate::sim::binding_file::parse(&internal).unwrap(), "b", None, 8, None)
            .unwrap_err();
        assert!(
            e.contains("tap \"fc1\" data \"u_fc.acc_q\"") && e.contains("top-level ports only"),
            "{e}"
        );
        let ready =
            OWN.replace("valid = \"pixel_valid_i\"", "valid = \"pixel_valid_i\"\nready = \"r\"");
        let h = generate(&crate::sim::binding_file::parse(&ready).unwrap(), "b", None, 8, None)
            .unwrap();
        assert!(h.contains("#define CNN_HAS_READY 1"), "{h}");
        assert!(h.contains("return t->r; }"), "{h}");
    }
}
