//! The RTL binding (`docs/binding-format.md`): how the harness reaches into a design — its
//! sources and top, clock and reset, the pixel stream's handshake, how it loads weights, and
//! which signals carry which tapped layer of the network it implements. One TOML file beside
//! the RTL ([`FILE_NAME`]); errors carry `file:line:column` and the key.
//!
//! [`Binding::load`] checks the binding against its network description: every tap names a
//! tapped layer, its beats cover exactly the layer's elements, and its element width holds
//! the layer's derived bounds. Signals are checked against the design itself when it is
//! elaborated.

use crate::network::{line_col, IntType, Network, Shape};
use crate::sim::binding_file::back_to_back;
pub use crate::sim::binding_file::{
    Beats, ClassBinding, Clock, Design, Edge, Input, Level, Reset, Signals, TapBinding, WeightLoad,
    Weights,
};
use crate::sim::host::HostProgram;
use anyhow::{anyhow, bail, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The RTL directory this binary was built from (`CNN_COSIM_RTL` at build time, or `rtl/`).
pub const RTL_DIR: &str = env!("CNN_COSIM_RTL_DIR");
/// The binding file the compiled-in glue was generated from.
pub const RTL_BINDING: &str = env!("CNN_COSIM_RTL_BINDING");

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

/// The binding's file name inside an RTL directory (`verify --rtl DIR` looks for it).
pub const FILE_NAME: &str = "binding.toml";

/// The project's own RTL binding, compiled in with the RTL `build.rs` builds.
const OWN_TOML: &str = include_str!("../../rtl/binding.toml");

/// A validated binding and the network it implements.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Where it was read from, for messages.
    pub source: String,
    /// The directory relative paths are taken from.
    pub dir: PathBuf,
    pub network: Network,
    pub design: Design,
    pub clock: Clock,
    pub reset: Reset,
    pub input: Input,
    /// `back-to-back`, `idle:N` or `reset`.
    pub between: String,
    /// `[stream] timeout`: cycles after the last pixel for the class, and the longest wait
    /// for ready (`None`: the driver's default, 4 × the image's pixels).
    pub timeout: Option<u64>,
    pub weights: Weights,
    /// The network with the weight files laid out as the design reads them (`[weights.files]`
    /// applied): the harness writes the design's weights with it.
    pub design_net: Network,
    /// In pipeline order.
    pub taps: Vec<TapBinding>,
    pub class: ClassBinding,
    /// A host-driven design's host program (`[bus]`, `[host]`, `[[region]]`); `None` for a
    /// streaming design (`input`, `class`, `weights` and `between` are then its own).
    pub host: Option<HostProgram>,
}

impl Binding {
    /// The project's own `rtl/` binding (the compiled-in default).
    pub fn own() -> Binding {
        Binding::parse("rtl/binding.toml", Path::new("rtl"), OWN_TOML, Some(Network::seed()))
            .expect("rtl/binding.toml is valid")
    }

    /// The binding of the compiled-in RTL as a run-time build reads it: the binding file
    /// `build.rs` generated the glue from, with its sources taken from the RTL directory the
    /// binary was built from (for its FST-traced model, built only when a trace is asked for).
    pub fn compiled_in() -> Result<Binding> {
        let path = Path::new(RTL_BINDING);
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow!("{}: cannot read the compiled-in RTL's binding ({e})", path.display())
        })?;
        Binding::parse(&path.display().to_string(), Path::new(RTL_DIR), &text, None)
    }

    /// `--rtl DIR` (its [`FILE_NAME`]) or `--bind FILE`.
    pub fn find(rtl: &Path, bind: Option<&Path>) -> Result<Binding> {
        let path = match bind {
            Some(p) => p.to_path_buf(),
            None => rtl.join(FILE_NAME),
        };
        if bind.is_none() && !path.is_file() {
            bail!(
                "{}: no binding file in the RTL directory (write {FILE_NAME}, see \
                 docs/binding-format.md, or pass --bind FILE)",
                path.display()
            );
        }
        Binding::load(&path)
    }

    /// Reads and validates a binding file.
    pub fn load(path: &Path) -> Result<Binding> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("{}: cannot read binding ({e})", path.display()))?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Binding::parse(&path.display().to_string(), dir, &text, None)
    }

    /// Parses and validates binding text; `network` overrides the one it names (tests).
    pub fn parse(
        source: &str,
        dir: &Path,
        text: &str,
        network: Option<Network>,
    ) -> Result<Binding> {
        let todo = still_missing(text);
        if !todo.is_empty() {
            bail!("{source}: still to fill in: {}", todo.join(", "));
        }
        let raw = crate::sim::binding_file::parse(text).map_err(|e| {
            let at = e.span().map(|s| line_col(text, s.start)).unwrap_or_default();
            anyhow!("{source}{at}: {}", e.message().trim())
        })?;
        let network = match network {
            Some(n) => n,
            None => find_network(source, dir, &raw.network)?,
        };
        let mut taps = Vec::new();
        for spanned in raw.taps {
            let at = line_col(text, spanned.span().start);
            let t = spanned.into_inner();
            check_tap(&format!("{source}{at}: tap {:?}", t.layer), &network, &t, &taps)?;
            taps.push(t);
        }
        // Pipeline order, whatever order the file lists them in.
        let order = |t: &TapBinding| network.layers.iter().position(|l| l.name == t.layer);
        taps.sort_by_key(order);
        let host = match (raw.bus, raw.host) {
            (Some(bus), Some(host)) => {
                for (given, table) in [
                    (raw.input.is_some(), "[input]"),
                    (raw.stream.is_some(), "[stream]"),
                    (raw.weights.is_some(), "[weights]"),
                    (raw.class.is_some(), "[class]"),
                ] {
                    if given {
                        bail!(
                            "{source}: {table} is a streaming design's; this one is host-driven \
                             ([bus], [host]): its image, weights and class go over the bus"
                        );
                    }
                }
                Some(HostProgram::parse(source, text, bus, host, raw.regions, &network)?)
            }
            (Some(_), None) => bail!("{source}: [bus] without [host]: say how an image starts, ends and yields its class"),
            (None, Some(_)) => bail!("{source}: [host] without [bus]: name the bus and its signals"),
            (None, None) if !raw.regions.is_empty() => {
                bail!("{source}: [[region]] without [bus] and [host]: regions are a host-driven design's memory map")
            }
            (None, None) => None,
        };
        let (input, class, weights) = match (&host, raw.input, raw.class, raw.weights) {
            (Some(_), ..) => (
                Input {
                    data: Signals::Many(Vec::new()),
                    valid: None,
                    ready: None,
                    lanes: 1,
                    start_after_reset: 0,
                },
                ClassBinding { valid: String::new(), data: String::new(), edge: Edge::Level },
                Weights { load: WeightLoad::Bus, arg: None, files: Default::default() },
            ),
            (None, Some(i), Some(c), Some(w)) => (i, c, w),
            // still_missing named these.
            (None, ..) => {
                bail!("{source}: a streaming design needs [input], [weights] and [class]")
            }
        };
        let design_net = design_layout(source, &network, &weights)?;
        let (between, timeout) = match raw.stream {
            Some(s) => (s.between, s.timeout),
            None => (back_to_back(), None),
        };
        if timeout == Some(0) {
            bail!("{source}: [stream] timeout = 0: it is a number of cycles, at least 1");
        }
        let b = Binding {
            source: source.to_string(),
            dir: dir.to_path_buf(),
            network,
            design: raw.design,
            clock: raw.clock,
            reset: raw.reset,
            input,
            between,
            timeout,
            weights,
            design_net,
            taps,
            class,
            host,
        };
        b.check(source)?;
        Ok(b)
    }

    fn check(&self, source: &str) -> Result<()> {
        if self.design.sources.is_empty() {
            bail!("{source}: [design] sources lists no files");
        }
        if self.design.top.trim().is_empty() {
            bail!("{source}: [design] top is empty");
        }
        if self.host.is_some() {
            return Ok(());
        }
        let i = &self.input;
        if i.lanes == 0 || !self.network.input_len().is_multiple_of(i.lanes) {
            bail!(
                "{source}: [input] lanes = {}: it must divide the {} pixels of an image",
                i.lanes,
                self.network.input_len()
            );
        }
        if i.ready.is_some() && i.valid.is_none() {
            bail!("{source}: [input] ready without valid: a ready/valid input needs both");
        }
        if self.reset.wait_for_ready && i.ready.is_none() {
            bail!("{source}: [reset] wait_for_ready = true, but [input] names no ready");
        }
        if i.valid.is_some() && i.start_after_reset > 0 {
            bail!(
                "{source}: [input] start_after_reset applies to a design without valid; this \
                 one has valid {:?}",
                i.valid.as_deref().unwrap_or_default()
            );
        }
        if self.between.parse::<Between>().is_err() {
            bail!(
                "{source}: [stream] between = {:?} is not back-to-back, idle:N or reset",
                self.between
            );
        }
        match (self.weights.load, self.weights.arg.as_deref()) {
            (WeightLoad::Plusarg, Some(a)) if a.starts_with('+') && a.contains("{weights}") => {}
            (WeightLoad::Plusarg, _) => bail!(
                "{source}: [weights] load = \"plusarg\" needs arg = \"+NAME={{weights}}\" (the \
                 {{weights}} placeholder becomes the weight directory)"
            ),
            (WeightLoad::Parameter, Some(a)) if !a.trim().is_empty() => {}
            (WeightLoad::Parameter, _) => {
                bail!("{source}: [weights] load = \"parameter\" needs arg = the parameter's name")
            }
            (WeightLoad::Workdir, _) => {}
            (WeightLoad::Bus, _) => bail!(
                "{source}: [weights] load = \"bus\": a host-driven design's weights are written \
                 over its [bus] by [[region]]s"
            ),
        }
        Ok(())
    }

    /// The tap bound to `layer`, if any.
    pub fn tap(&self, layer: &str) -> Option<&TapBinding> {
        self.taps.iter().find(|t| t.layer == layer)
    }

    /// The network's tapped layers that this binding does not bring out (reported as "not
    /// tapped" rather than compared).
    pub fn untapped(&self) -> Vec<String> {
        self.network
            .taps()
            .into_iter()
            .filter(|t| !t.is_class && self.tap(&t.name).is_none())
            .map(|t| t.name)
            .collect()
    }

    /// The weight arguments for a run on `weights`: plusargs, or a parameter override.
    /// The plusargs a model of the design is built with, its weights in `weights` (in the
    /// design's layout): the binding's own, and the weight directory's when the design takes
    /// it as a plusarg. (A `parameter` is set when the design is Verilated, a `workdir`
    /// design is built inside the directory.)
    pub fn weight_args(&self, weights: &Path) -> Vec<String> {
        let mut args = self.design.plusargs.clone();
        if let (WeightLoad::Plusarg, Some(a)) = (self.weights.load, &self.weights.arg) {
            args.push(a.replace("{weights}", &weights.display().to_string()));
        }
        args
    }

    /// What `bind show` prints.
    pub fn show(&self) -> String {
        let mut s = String::new();
        let d = &self.design;
        let _ = writeln!(
            s,
            "binding {}: top {} from {} ({}), network {} ({})",
            self.source,
            d.top,
            d.sources.join(" "),
            self.dir.display(),
            self.network.name,
            self.network.source
        );
        let r = &self.reset;
        let _ = writeln!(
            s,
            "clock {}; reset {} active {}, {} cycles{}",
            self.clock.port,
            r.port,
            match r.active {
                Level::Low => "low",
                Level::High => "high",
            },
            r.cycles,
            if r.wait_for_ready { ", then wait for ready" } else { "" }
        );
        if let Some(h) = &self.host {
            s += &h.show();
        } else {
            let i = &self.input;
            let _ = writeln!(
                s,
                "input {} ({} pixel{} per beat){}{}; between images: {}",
                i.data.expand().map(|v| v.join(", ")).unwrap_or_default(),
                i.lanes,
                if i.lanes == 1 { "" } else { "s" },
                i.valid.as_ref().map(|v| format!(", valid {v}")).unwrap_or_else(|| {
                    format!(
                        ", no valid: one beat per clock from cycle {} after reset",
                        i.start_after_reset
                    )
                }),
                i.ready.as_ref().map(|r| format!(", ready {r}")).unwrap_or_default(),
                self.between
            );
            let _ = writeln!(
                s,
                "weights: {}",
                match (self.weights.load, &self.weights.arg) {
                    (WeightLoad::Plusarg, Some(a)) => format!("plusarg {a}"),
                    (WeightLoad::Parameter, Some(p)) => format!("parameter {p}"),
                    _ => "fixed file names in the working directory".into(),
                }
            );
            for (tensor, f) in &self.weights.files {
                let _ = writeln!(
                    s,
                    "weights: {tensor} read from {} ({} per line)",
                    f.file,
                    f.per_line.unwrap_or(1)
                );
            }
            if let Some(t) = self.timeout {
                let _ = writeln!(s, "timeout: {t} cycles");
            }
        }
        let rising =
            |e: Edge| if e == Edge::Rising { " (rising edge: one beat per pulse)" } else { "" };
        for t in &self.taps {
            let _ = writeln!(
                s,
                "tap {:<8} valid {}{}, data {}, {} × {} bits {}{}",
                t.layer,
                t.valid,
                rising(t.edge),
                t.data.expand().map(|v| v.join(", ")).unwrap_or_default(),
                t.lanes,
                t.bits,
                if t.signed { "signed" } else { "unsigned" },
                match t.beats {
                    Beats::Exact => "",
                    Beats::First => "; the layer's first beats, later ones until the class ignored",
                }
            );
            if let Some(q) = &t.when {
                let _ = writeln!(s, "             counted while {} == {}", q.signal, q.equals);
            }
            if let Some(a) = &t.at {
                let at: Vec<String> = a.signals().iter().map(|(k, v)| format!("{k} {v}")).collect();
                let _ = writeln!(s, "             placed at {}", at.join(", "));
            }
        }
        for u in self.untapped() {
            let _ = writeln!(s, "tap {u:<8} not tapped (not compared)");
        }
        if self.taps.is_empty() {
            let _ = writeln!(
                s,
                "no layer is tapped: only the class is compared (a file bind init wrote has each \
                 layer's [[tap]] block commented out, to uncomment)"
            );
        }
        if self.host.is_none() {
            let _ = writeln!(
                s,
                "class    valid {}{}, data {}",
                self.class.valid,
                rising(self.class.edge),
                self.class.data
            );
        }
        s
    }
}

/// Every required key a binding's text lacks and every value left as `"TODO"` (what `bind
/// init` could not guess), by its table and key, so one message says all that is missing.
/// Empty for text that is not TOML (the parser's own error says where).
pub fn still_missing(text: &str) -> Vec<String> {
    let Ok(t) = text.parse::<toml::Table>() else { return Vec::new() };
    const REQUIRED: [(&str, &[&str]); 7] = [
        ("design", &["sources", "top"]),
        ("clock", &["port"]),
        ("reset", &["port", "active"]),
        ("input", &["data"]),
        ("weights", &["load"]),
        ("class", &["valid", "data"]),
        ("", &["network"]),
    ];
    let mut out = Vec::new();
    let hosted = t.contains_key("bus") || t.contains_key("host");
    for (table, keys) in REQUIRED {
        if hosted && matches!(table, "input" | "weights" | "class") {
            continue; // a host-driven design's come over the bus
        }
        let at = if table.is_empty() { Some(&t) } else { t.get(table).and_then(|v| v.as_table()) };
        for k in keys {
            if at.is_none_or(|x| !x.contains_key(*k)) {
                out.push(if table.is_empty() {
                    (*k).to_string()
                } else {
                    format!("[{table}] {k}")
                });
            }
        }
    }
    fn todo(v: &toml::Value, at: &str, out: &mut Vec<String>) {
        match v {
            toml::Value::String(s) if s == "TODO" => out.push(at.to_string()),
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let inner = if at.is_empty() { k.clone() } else { format!("{at} {k}") };
                    let inner = if matches!(v, toml::Value::Table(_)) && at.is_empty() {
                        format!("[{k}]")
                    } else {
                        inner
                    };
                    todo(v, &inner, out);
                }
            }
            toml::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    todo(v, &format!("{at}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    todo(&toml::Value::Table(t), "", &mut out);
    out
}

/// The network a binding names: a project name, or a path relative to the binding.
/// `network` with `[weights.files]` applied.
fn design_layout(source: &str, network: &Network, w: &Weights) -> Result<Network> {
    let mut net = network.clone();
    for (key, layout) in &w.files {
        let (layer, tensor) = key.split_once('.').unwrap_or((key, ""));
        let Some(l) = net.layers.iter_mut().find(|l| l.name == layer) else {
            bail!("{source}: [weights.files] {key:?}: the network has no layer {layer:?}");
        };
        let Some(a) = l.op.arith_mut() else {
            bail!("{source}: [weights.files] {key:?}: layer {layer:?} has no weights");
        };
        let param = match tensor {
            "weight" => &mut a.weight,
            "bias" => match a.bias.as_mut() {
                Some(b) => b,
                None => bail!("{source}: [weights.files] {key:?}: layer {layer:?} has no bias"),
            },
            _ => bail!(
                "{source}: [weights.files] {key:?}: name a tensor as \"{layer}.weight\" or \
                 \"{layer}.bias\""
            ),
        };
        param.files = crate::network::Files::new(&layout.file, layout.per_line, tensor == "weight")
            .map_err(|e| anyhow!("{source}: [weights.files] {key:?}: file: {e}"))?;
    }
    if let Some(clash) = net.file_clash() {
        bail!("{source}: [weights.files]: {clash}");
    }
    Ok(net)
}

fn find_network(source: &str, dir: &Path, spec: &str) -> Result<Network> {
    let rel = dir.join(spec);
    let net = if (spec.contains('/') || spec.ends_with(".toml")) && rel.is_file() {
        Network::load(&rel)
    } else {
        Network::find(spec)
    };
    net.map_err(|e| anyhow!("{source}: network = {spec:?}: {e:#}"))
}

/// Checks one tap against the network and the taps before it.
fn check_tap(wh: &str, net: &Network, t: &TapBinding, earlier: &[TapBinding]) -> Result<()> {
    let taps = net.taps();
    let Some(nt) = taps.iter().find(|x| x.name == t.layer && !x.is_class) else {
        let names: Vec<&str> =
            taps.iter().filter(|x| !x.is_class).map(|x| x.name.as_str()).collect();
        bail!(
            "{wh}: network {:?} has no tapped layer {:?} (its tapped layers: {}; the class \
             is bound by [class])",
            net.name,
            t.layer,
            names.join(", ")
        );
    };
    if earlier.iter().any(|e| e.layer == t.layer) {
        bail!("{wh}: the layer is bound twice");
    }
    let n = nt.shape.len();
    if let Some(at) = &t.at {
        if t.lanes != 1 {
            bail!(
                "{wh}: lanes = {}: a tap placed by coordinates (at) carries one value per beat",
                t.lanes
            );
        }
        if t.beats == Beats::First {
            bail!("{wh}: beats = \"first\" counts beats in arrival order; a tap placed by coordinates (at) takes every beat");
        }
        let given: Vec<&str> = at.signals().iter().map(|(k, _)| *k).collect();
        let need: Vec<&str> = match nt.shape {
            _ if given == ["index"] => vec![],
            Shape::Map { c, h, w } => [("channel", c), ("row", h), ("col", w)]
                .into_iter()
                .filter(|(k, d)| *d > 1 && !given.contains(k))
                .map(|(k, _)| k)
                .collect(),
            Shape::Vector(_) if given == ["channel"] => vec![],
            Shape::Vector(_) => vec!["index"],
        };
        if !need.is_empty() || (given.contains(&"index") && given.len() > 1) {
            bail!(
                "{wh}: at gives {}; layer {} is {}: give {} (or index alone, its channel-major \
                 position)",
                if given.is_empty() { "nothing".to_string() } else { given.join(", ") },
                t.layer,
                nt.shape,
                match nt.shape {
                    Shape::Map { .. } => "channel, row and col (those whose size is above 1)",
                    Shape::Vector(_) => "index",
                }
            );
        }
    }
    match nt.shape {
        _ if t.at.is_some() => {}
        Shape::Map { c, .. } if t.lanes != c => bail!(
            "{wh}: lanes = {}, but layer {} is {} and its beats carry its {c} channels (one beat \
             per raster position)",
            t.lanes,
            t.layer,
            nt.shape
        ),
        Shape::Vector(_) if t.lanes == 0 || n % t.lanes != 0 => {
            bail!("{wh}: lanes = {}: it must divide the layer's {n} values", t.lanes)
        }
        _ => {}
    }
    let signals = t.data.expand().map_err(|e| anyhow!("{wh}: data: {e}"))?;
    if signals.len() != 1 && signals.len() != t.lanes {
        bail!(
            "{wh}: data names {} signals; give one packed signal or one per lane ({})",
            signals.len(),
            t.lanes
        );
    }
    if t.bits == 0 || t.bits > 64 {
        bail!("{wh}: bits = {}: 1..64 supported", t.bits);
    }
    let ty = IntType { bits: t.bits, signed: t.signed };
    let layer = &net.layers[nt.layer];
    let r = layer.bounds.out;
    if !ty.holds(r.min) || !ty.holds(r.max) {
        bail!(
            "{wh}: {ty} cannot hold the layer's values {}..{} (they need {}; `net show {}`)",
            crate::network::group(r.min),
            crate::network::group(r.max),
            r.needed(),
            net.name
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_binding_matches_the_compiled_in_shim() {
        let b = Binding::own();
        assert_eq!(b.design.top, "cnn_top");
        let taps: Vec<(String, usize, u32, bool)> =
            b.taps.iter().map(|t| (t.layer.clone(), t.lanes, t.bits, t.signed)).collect();
        // What csrc/cnn_shim.cpp unpacks (docs/rtl.md).
        let want = [("conv1", 3, 14, true), ("pool1", 3, 13, false), ("fc1", 10, 23, true)];
        assert_eq!(taps.len(), want.len());
        for ((n, l, bits, s), (wn, wl, wb, ws)) in taps.iter().zip(want) {
            assert_eq!((n.as_str(), *l, *bits, *s), (wn, wl, wb, ws));
        }
        assert!(b.untapped().is_empty());
        assert_eq!(b.weight_args(Path::new("/w")), ["+weights=/w"]);
    }

    #[test]
    fn ranges_expand() {
        let s = Signals::One("u_fc.out_q[0..2]".into());
        assert_eq!(s.expand().unwrap(), ["u_fc.out_q[0]", "u_fc.out_q[1]", "u_fc.out_q[2]"]);
        assert_eq!(Signals::One("a[3]".into()).expand().unwrap(), ["a[3]"]);
        assert!(Signals::One("a[3..1]".into()).expand().is_err());
    }
}
