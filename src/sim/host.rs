//! The host program of a host-driven design (`[bus]`, `[host]`, `[[region]]` in its
//! binding, `docs/binding-format.md`): the harness, as the host, writes the weights and
//! each image into the design's memory map over the bus, starts it, waits for done and
//! takes the class. [`HostProgram`] is the validated program; [`write_words`] and
//! [`start_and_finish`] perform it cycle by cycle through a [`Port`]; the driver runs it
//! per segment (`crate::sim::driver`).

use crate::network::{line_col, IntType, Network, Shape};
use crate::sim::binding_file::{
    Access, BusFile, ByteOrder, Edge, HostFile, RegionFile, WeightsWhen,
};
use crate::sim::bus::{self, Fail, Port, Protocol, Word};
use crate::sim::glue::HostPorts;
use crate::weights::{Params, Which};
use anyhow::{anyhow, bail, Result};

/// How an image starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A one-cycle pulse on this input (its slot in the glue's inputs).
    Port(usize),
    /// A register write.
    Write(Word),
}

/// How the host learns an image is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// A done port (the glue watches it).
    Port,
    /// Read this address until every bit of `mask` is set.
    Poll { addr: u64, mask: u64 },
}

/// Where the class comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// The class port, in the cycle done comes.
    Port,
    /// A register read; the class is `(value & mask) >> mask's lowest set bit`.
    Read { addr: u64, mask: u64 },
}

/// Which tensor a region holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tensor {
    Input,
    Param { layer: usize, which: Which },
}

/// One tensor's place in the memory map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// As the binding names it (`input`, `c1.weight`).
    pub name: String,
    pub tensor: Tensor,
    pub base: u64,
    pub select: Option<u64>,
    /// `perm[k]`: the network-order element written k-th.
    perm: Vec<usize>,
    pub bits: u32,
    pub per_word: u32,
    pub byte_order: ByteOrder,
    /// Words written.
    pub words: u64,
    /// Address units the region spans (its `size`, else what its words take).
    pub span: u64,
}

/// A host-driven design's validated host program.
#[derive(Debug, Clone)]
pub struct HostProgram {
    pub protocol: &'static dyn Protocol,
    pub data_bits: u32,
    /// What the glue drives and reads.
    pub ports: HostPorts,
    pub weights: WeightsWhen,
    pub start: Start,
    pub done: Done,
    pub class: Class,
    /// Cycles from an image's start to its done, and for any handshake.
    pub timeout: u64,
    /// The input's region first, then the weight regions in network order.
    pub regions: Vec<Region>,
}

/// The default timeout: 100 × the image's values.
pub fn default_timeout(net: &Network) -> u64 {
    100 * net.input_len() as u64
}

impl HostProgram {
    /// Validates `[bus]`, `[host]` and the regions against `net`; `text` is the binding's
    /// (for `line:column`).
    pub fn parse(
        source: &str,
        text: &str,
        bus: toml::Spanned<BusFile>,
        host: toml::Spanned<HostFile>,
        regions: Vec<toml::Spanned<RegionFile>>,
        net: &Network,
    ) -> Result<HostProgram> {
        let at = |span: std::ops::Range<usize>| line_col(text, span.start);
        let bus_at = format!("{source}{}: [bus]", at(bus.span()));
        let host_at = format!("{source}{}: [host]", at(host.span()));
        let (bus, host) = (bus.into_inner(), host.into_inner());
        let Some(protocol) = bus::find(&bus.protocol) else {
            let names: Vec<&str> = bus::PROTOCOLS.iter().map(|p| p.name()).collect();
            bail!(
                "{bus_at} protocol = {:?}: not a bus this harness drives ({})",
                bus.protocol,
                names.join(", ")
            );
        };
        let data_bits = match bus.signals.get("data_bits") {
            None => 32,
            Some(v) => match v.as_integer() {
                Some(b) if b % 8 == 0 && (8..=64).contains(&b) => b as u32,
                _ => bail!("{bus_at} data_bits = {v}: a multiple of 8 from 8 to 64"),
            },
        };
        let mut names = std::collections::BTreeMap::new();
        for (k, v) in &bus.signals {
            match (k.as_str(), v.as_str()) {
                ("data_bits", _) => {}
                (_, Some(name)) => {
                    names.insert(k.clone(), name.to_string());
                }
                (_, None) => bail!("{bus_at} {k} = {v}: a signal's name, in quotes"),
            }
        }
        let mut ports = HostPorts::default();
        let known: Vec<&str> = protocol
            .inputs()
            .iter()
            .chain(protocol.outputs())
            .map(|r| r.key)
            .chain(["data_bits"])
            .collect();
        if let Some(k) =
            bus.signals.keys().find(|k| !known.contains(&k.as_str()) && *k != "protocol")
        {
            bail!(
                "{bus_at}: {k:?} is not a signal of {} (its keys: {})",
                protocol.name(),
                known.join(", ")
            );
        }
        for (roles, out) in
            [(protocol.inputs(), &mut ports.inputs), (protocol.outputs(), &mut ports.outputs)]
        {
            for r in roles {
                let sig = names.get(r.key).cloned().unwrap_or_default();
                if sig.is_empty() && r.required {
                    bail!(
                        "{bus_at}: {} needs its {} signal ({} = \"PORT\")",
                        protocol.name(),
                        r.key,
                        r.key
                    );
                }
                let width = match r.width {
                    Some(0) => Some(data_bits),
                    Some(u32::MAX) => Some(data_bits / 8),
                    w => w,
                };
                out.push((format!("[bus] {}", r.key), sig, width));
            }
        }
        let addr = |what: &str, a: &Access| -> Result<()> {
            if a.read.is_some() && !protocol.can_read() {
                bail!("{host_at} {what}: a {} cannot read; give a port", protocol.name());
            }
            Ok(())
        };
        let only = |what: &str, a: &Access, keys: &[&str]| -> Result<()> {
            let given = [
                ("port", a.port.is_some()),
                ("edge", a.edge.is_some()),
                ("write", a.write.is_some()),
                ("value", a.value.is_some()),
                ("read", a.read.is_some()),
                ("mask", a.mask.is_some()),
                ("select", a.select.is_some()),
            ];
            if let Some((k, _)) = given.iter().find(|(k, g)| *g && !keys.contains(k)) {
                bail!("{host_at} {what}: {k} does not go with {}", keys[0]);
            }
            Ok(())
        };
        let start = match (&host.start.port, host.start.write) {
            (Some(p), None) => {
                only("start", &host.start, &["port"])?;
                ports.inputs.push(("[host] start port".into(), p.clone(), Some(1)));
                Start::Port(ports.inputs.len() - 1)
            }
            (None, Some(a)) => {
                only("start", &host.start, &["write", "value", "select"])?;
                let Some(value) = host.start.value else {
                    bail!("{host_at} start: write = {a:#x} needs the value written (value = V)");
                };
                Start::Write(Word {
                    addr: a,
                    data: value,
                    strobe: strobe_all(data_bits),
                    select: host.start.select,
                })
            }
            _ => bail!(
                "{host_at} start: give port = \"PORT\" (a pulse) or write = ADDRESS with value = V"
            ),
        };
        let done = match (&host.done.port, host.done.read) {
            (Some(p), None) => {
                only("done", &host.done, &["port", "edge"])?;
                ports.done = Some((p.clone(), host.done.edge.unwrap_or(Edge::Level)));
                Done::Port
            }
            (None, Some(a)) => {
                only("done", &host.done, &["read", "mask"])?;
                addr("done", &host.done)?;
                let mask = host.done.mask.unwrap_or(1);
                if mask == 0 {
                    bail!("{host_at} done: mask = 0 would never be set");
                }
                Done::Poll { addr: a, mask }
            }
            _ => bail!("{host_at} done: give port = \"PORT\" or read = ADDRESS (with mask = BITS)"),
        };
        let class = match (&host.class.port, host.class.read) {
            (Some(p), None) => {
                only("class", &host.class, &["port"])?;
                if done != Done::Port {
                    bail!("{host_at} class: a class port is sampled when the done port rises; with a polled done, read the class over the bus");
                }
                ports.class = Some(p.clone());
                Class::Port
            }
            (None, Some(a)) => {
                only("class", &host.class, &["read", "mask"])?;
                addr("class", &host.class)?;
                Class::Read { addr: a, mask: host.class.mask.unwrap_or(u64::MAX) }
            }
            _ => bail!("{host_at} class: give port = \"PORT\" or read = ADDRESS"),
        };
        if host.timeout == Some(0) {
            bail!("{host_at} timeout = 0: it is a number of cycles, at least 1");
        }
        // Regions: every tensor exactly once.
        let mut want: Vec<(String, Tensor)> = vec![("input".into(), Tensor::Input)];
        for (i, l) in net.layers.iter().enumerate() {
            let Some(a) = l.op.arith() else { continue };
            want.push((
                format!("{}.weight", l.name),
                Tensor::Param { layer: i, which: Which::Weight },
            ));
            if a.bias.is_some() {
                want.push((
                    format!("{}.bias", l.name),
                    Tensor::Param { layer: i, which: Which::Bias },
                ));
            }
            if a.loaded.multiplier.is_some() {
                want.push((
                    format!("{}.multiplier", l.name),
                    Tensor::Param { layer: i, which: Which::Multiplier },
                ));
            }
            if a.loaded.shift.is_some() {
                want.push((
                    format!("{}.shift", l.name),
                    Tensor::Param { layer: i, which: Which::Shift },
                ));
            }
        }
        let mut out: Vec<(usize, Region)> = Vec::new();
        for spanned in regions {
            let wh = format!("{source}{}: region", at(spanned.span()));
            let r = spanned.into_inner();
            let wh = format!("{wh} {:?}", r.tensor);
            let Some(pos) = want.iter().position(|(n, _)| *n == r.tensor) else {
                let names: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
                bail!(
                    "{wh}: network {:?} has no such tensor (its tensors: {})",
                    net.name,
                    names.join(", ")
                );
            };
            if out.iter().any(|(p, _)| *p == pos) {
                bail!("{wh}: the tensor has two regions");
            }
            out.push((pos, region(&wh, &r, want[pos].1, net, protocol, data_bits)?));
        }
        let missing: Vec<&str> = (0..want.len())
            .filter(|p| !out.iter().any(|(q, _)| q == p))
            .map(|p| want[p].0.as_str())
            .collect();
        if !missing.is_empty() {
            bail!(
                "{source}: no [[region]] for {}: the host writes every tensor of the network",
                missing.join(", ")
            );
        }
        out.sort_by_key(|(p, _)| *p);
        let regions: Vec<Region> = out.into_iter().map(|(_, r)| r).collect();
        for (k, a) in regions.iter().enumerate() {
            for b in &regions[k + 1..] {
                if a.select == b.select && a.base < b.base + b.span && b.base < a.base + a.span {
                    bail!(
                        "{source}: regions {:?} ({:#x}..{:#x}) and {:?} ({:#x}..{:#x}) overlap{}",
                        a.name,
                        a.base,
                        a.base + a.span,
                        b.name,
                        b.base,
                        b.base + b.span,
                        a.select.map(|s| format!(" (both select {s})")).unwrap_or_default()
                    );
                }
            }
        }
        Ok(HostProgram {
            protocol,
            data_bits,
            ports,
            weights: host.weights,
            start,
            done,
            class,
            timeout: host.timeout.unwrap_or_else(|| default_timeout(net)),
            regions,
        })
    }

    /// The words of every weight region, in order, for a weight set.
    pub fn weight_words(&self, params: &Params) -> Vec<(usize, Vec<Word>)> {
        self.regions
            .iter()
            .enumerate()
            .filter_map(|(k, r)| match r.tensor {
                Tensor::Input => None,
                Tensor::Param { layer, which } => {
                    let lp = params.layers[layer].as_ref()?;
                    let v = match which {
                        Which::Weight => &lp.weight,
                        Which::Bias => &lp.bias,
                        Which::Multiplier => &lp.multiplier,
                        Which::Shift => &lp.shift,
                    };
                    Some((
                        k,
                        r.encode(self.data_bits, self.protocol.byte_addressed(), v.iter().copied()),
                    ))
                }
            })
            .collect()
    }

    /// The input's region.
    pub fn input(&self) -> &Region {
        &self.regions[0]
    }

    /// What `bind show` prints of it.
    pub fn show(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let sig = |v: &[(String, String, Option<u32>)]| {
            v.iter()
                .filter(|(_, s, _)| !s.is_empty())
                .map(|(w, s, _)| format!("{} {s}", w.trim_start_matches("[bus] ")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let reads = sig(&self.ports.outputs);
        let _ = writeln!(
            s,
            "bus {} ({} data bits): drives {}{}",
            self.protocol.name(),
            self.data_bits,
            sig(&self.ports.inputs[..self.protocol.inputs().len()]),
            if reads.is_empty() { String::new() } else { format!("; reads {reads}") }
        );
        let _ = writeln!(
            s,
            "host: weights {}; start {}; done {}; class {}; timeout {} cycles",
            match self.weights {
                WeightsWhen::Once => "once after each reset",
                WeightsWhen::EveryImage => "before every image",
            },
            match &self.start {
                Start::Port(k) => format!("pulse on {}", self.ports.inputs[*k].1),
                Start::Write(w) => format!("write {:#x} to {:#x}", w.data, w.addr),
            },
            match &self.done {
                Done::Port => {
                    let (p, e) = self.ports.done.clone().unwrap_or_default();
                    format!("port {p}{}", if e == Edge::Rising { " (rising edge)" } else { "" })
                }
                Done::Poll { addr, mask } => format!("poll {addr:#x} until mask {mask:#x}"),
            },
            match &self.class {
                Class::Port => format!("port {}", self.ports.class.clone().unwrap_or_default()),
                Class::Read { addr, mask } => format!("read {addr:#x} mask {mask:#x}"),
            },
            self.timeout
        );
        for r in &self.regions {
            let _ = writeln!(
                s,
                "region {:<18} {}{:#07x}..{:#07x}: {} words, {} × {} bits per word, {}",
                r.name,
                r.select.map(|v| format!("select {v}, ")).unwrap_or_default(),
                r.base,
                r.base + r.span,
                r.words,
                r.per_word,
                r.bits,
                match r.byte_order {
                    ByteOrder::Little => "element 0 lowest",
                    ByteOrder::Big => "element 0 highest",
                }
            );
        }
        s
    }
}

fn strobe_all(data_bits: u32) -> u64 {
    let n = data_bits / 8;
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

impl Region {
    /// The words holding `values` (in the network's order).
    pub fn encode(
        &self,
        data_bits: u32,
        bytes: bool,
        values: impl Iterator<Item = i64>,
    ) -> Vec<Word> {
        let v: Vec<i64> = values.collect();
        let mask = if self.bits >= 64 { u64::MAX } else { (1u64 << self.bits) - 1 };
        let step = if bytes { u64::from(data_bits / 8) } else { 1 };
        let per = self.per_word as usize;
        (0..self.words as usize)
            .map(|w| {
                let mut data = 0u64;
                for k in 0..per {
                    let Some(&src) = self.perm.get(w * per + k) else { break };
                    let lane = match self.byte_order {
                        ByteOrder::Little => k,
                        ByteOrder::Big => per - 1 - k,
                    } as u32;
                    data |= (v[src] as u64 & mask) << (lane * self.bits);
                }
                Word {
                    addr: self.base + w as u64 * step,
                    data,
                    strobe: strobe_all(data_bits),
                    select: self.select,
                }
            })
            .collect()
    }
}

/// Checks one region and lays it out.
fn region(
    wh: &str,
    r: &RegionFile,
    tensor: Tensor,
    net: &Network,
    protocol: &dyn Protocol,
    data_bits: u32,
) -> Result<Region> {
    // The tensor's axes in the network's order, by letter, and its type.
    let (axes, ty): (Vec<(char, usize)>, IntType) = match tensor {
        Tensor::Input => match net.input {
            Shape::Map { c, h, w } => (vec![('C', c), ('S', h * w)], net.input_type),
            Shape::Vector(n) => (vec![('N', n)], net.input_type),
        },
        Tensor::Param { layer, which } => {
            let l = &net.layers[layer];
            let (outs, ins, inner) =
                l.weight_pairs().ok_or_else(|| anyhow!("{wh}: the layer has no weights"))?;
            let (lo, hi) = crate::weights::range(net, layer, which);
            let ty = IntType::needed(lo as i128, hi as i128);
            match which {
                Which::Weight if inner > 1 => (vec![('O', outs), ('I', ins), ('S', inner)], ty),
                Which::Weight => (vec![('O', outs), ('I', ins)], ty),
                _ => (vec![('O', outs)], ty),
            }
        }
    };
    let n: usize = axes.iter().map(|(_, d)| d).product();
    // The order asked for, as a permutation of the axes ("HW" is one axis).
    let default: String = axes
        .iter()
        .map(|(a, _)| if *a == 'S' { "HW".to_string() } else { a.to_string() })
        .collect();
    let order = r.order.clone().unwrap_or_else(|| default.clone());
    let letters: Vec<char> = order.replace("HW", "S").chars().collect();
    let mut sorted = letters.clone();
    sorted.sort_unstable();
    let mut have: Vec<char> = axes.iter().map(|(a, _)| *a).collect();
    have.sort_unstable();
    if sorted != have {
        let examples = match axes.len() {
            3 => "OIHW, OHWI, HWIO, IHWO",
            2 if axes[0].0 == 'C' => "CHW, HWC",
            2 => "OI, IO",
            _ => "O",
        };
        bail!("{wh}: order = {order:?} does not name the tensor's axes {default} ({examples})");
    }
    let dims: Vec<usize> =
        letters.iter().map(|l| axes.iter().find(|(a, _)| a == l).map_or(1, |(_, d)| *d)).collect();
    // Network-order strides of each axis.
    let mut stride = vec![0usize; axes.len()];
    let mut s = 1;
    for k in (0..axes.len()).rev() {
        stride[k] = s;
        s *= axes[k].1;
    }
    let perm: Vec<usize> = (0..n)
        .map(|mut j| {
            let mut src = 0;
            for (k, l) in letters.iter().enumerate().rev() {
                let d = dims[k];
                let idx = j % d;
                j /= d;
                let a = axes.iter().position(|(x, _)| x == l).expect("a letter of the axes");
                src += idx * stride[a];
            }
            src
        })
        .collect();
    let need = ty.bits;
    let bits = match r.bits {
        Some(b) => b,
        None => [8, 16, 32, 64].into_iter().find(|&b| b >= need).unwrap_or(64),
    };
    if bits < need || bits == 0 {
        bail!("{wh}: bits = {bits}, but the tensor's values are {ty} (its declared range)");
    }
    if bits > data_bits {
        bail!("{wh}: bits = {bits} is wider than the bus's {data_bits}-bit data");
    }
    let per_word = r.per_word.unwrap_or(data_bits / bits);
    if per_word == 0 || per_word * bits > data_bits {
        bail!(
            "{wh}: per_word = {per_word} elements of {bits} bits do not fit a {data_bits}-bit word"
        );
    }
    let words = n.div_ceil(per_word as usize) as u64;
    let step = if protocol.byte_addressed() { u64::from(data_bits / 8) } else { 1 };
    if protocol.byte_addressed() && !r.base.is_multiple_of(step) {
        bail!("{wh}: base = {:#x} is not aligned to the {step}-byte data word", r.base);
    }
    let takes = words * step;
    let span = match r.size {
        Some(size) if size < takes => bail!(
            "{wh}: {n} values take {words} words ({takes} address units), more than its size = {size}"
        ),
        Some(size) => size,
        None => takes,
    };
    if r.select.is_some() && protocol.name() != "load_port" {
        bail!(
            "{wh}: select is a load port's bank value; {} addresses every region",
            protocol.name()
        );
    }
    Ok(Region {
        name: r.tensor.clone(),
        tensor,
        base: r.base,
        select: r.select,
        perm,
        bits,
        per_word,
        byte_order: r.byte_order,
        words,
        span,
    })
}

/// Writes `words` (a tensor's) through the bus; `what` names the tensor for a timeout.
pub fn write_words(
    p: &HostProgram,
    port: &mut Port,
    name: &str,
    words: &[Word],
) -> Result<(), Fail> {
    for (k, w) in words.iter().enumerate() {
        p.protocol.write(port, *w, &|| format!("{name} word {k}"))?;
    }
    Ok(())
}

/// Starts the image, waits for done (at most the timeout from the start) and takes the
/// class. Returns the class, or the reason there is none.
pub fn start_and_finish(p: &HostProgram, port: &mut Port) -> Result<u8, Fail> {
    let started = port.cycles;
    // A done port counts from the cycle after the start: a level done of the image before
    // may still be high until then.
    match &p.start {
        Start::Port(k) => {
            port.set(*k, 1);
            port.run(1)?;
            port.set(*k, 0);
        }
        Start::Write(w) => p.protocol.write(port, *w, &|| "the start register".to_string())?,
    }
    let mut port_class = None;
    let timeout = p.timeout;
    match &p.done {
        Done::Port => {
            while port_class.is_none() {
                let used = port.cycles - started;
                if used >= timeout {
                    return Err(Fail::Timeout(format!(
                        "done stayed low for {timeout} cycles after the start"
                    )));
                }
                port_class = port.run(timeout - used)?;
            }
        }
        Done::Poll { addr, mask } => {
            let mut polls = 0u64;
            loop {
                let v = p.protocol.read(port, *addr, &|| "the status register".to_string())?;
                polls += 1;
                if v & mask == *mask {
                    break;
                }
                if port.cycles - started >= timeout {
                    return Err(Fail::Timeout(format!(
                        "not done {timeout} cycles after the start: the status register at \
                         {addr:#x} was polled {polls} times, last {v:#x}, mask {mask:#x}"
                    )));
                }
            }
        }
    }
    match &p.class {
        Class::Port => Ok(port_class.unwrap_or(0)),
        Class::Read { addr, mask } => {
            let v = p.protocol.read(port, *addr, &|| "the class register".to_string())?;
            let v = (v & mask) >> mask.trailing_zeros().min(63);
            u8::try_from(v).map_err(|_| {
                Fail::Response(format!("the class register at {addr:#x} read {v}, not a class"))
            })
        }
    }
}

impl HostProgram {
    /// Writes every weight region's words.
    pub fn regions_written(
        &self,
        port: &mut Port,
        words: &[(usize, Vec<Word>)],
    ) -> Result<(), Fail> {
        for (k, w) in words {
            write_words(self, port, &self.regions[*k].name, w)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(tensor: &str, order: Option<&str>) -> RegionFile {
        RegionFile {
            tensor: tensor.into(),
            base: 0x100,
            select: None,
            order: order.map(String::from),
            bits: None,
            per_word: None,
            byte_order: ByteOrder::Little,
            size: None,
        }
    }

    #[test]
    fn orders_permute_the_networks_axes() {
        let net = Network::find("lenet5").unwrap();
        let c3 = net.layers.iter().position(|l| l.name == "c3").unwrap();
        let t = Tensor::Param { layer: c3, which: Which::Weight };
        let axi = &crate::sim::bus::axi4_lite::Axi4Lite;
        // c3.weight is [16][6][25] (O, I, HW) in the network's order.
        let at =
            |order: &str| region("r", &file("c3.weight", Some(order)), t, &net, axi, 32).unwrap();
        assert_eq!(at("OIHW").perm[..3], [0, 1, 2]);
        // OHWI: element 1 is (o 0, hw 0, i 1) = 25; element 6 is (o 0, hw 1, i 0) = 1.
        assert_eq!((at("OHWI").perm[1], at("OHWI").perm[6]), (25, 1));
        // HWIO: element 1 is (hw 0, i 0, o 1) = 150.
        assert_eq!(at("HWIO").perm[1], 150);
        let r = at("OIHW");
        assert_eq!((r.words, r.span, r.bits, r.per_word), (600, 2400, 8, 4));
        let e = region("r", &file("c3.weight", Some("OIH")), t, &net, axi, 32).unwrap_err();
        assert!(e.to_string().contains("does not name the tensor's axes OIHW"), "{e}");
    }

    #[test]
    fn elements_pack_into_words_in_either_byte_order() {
        let net = Network::find("lenet5").unwrap();
        let axi = &crate::sim::bus::axi4_lite::Axi4Lite;
        let mut f = file("input", None);
        let little = region("r", &f, Tensor::Input, &net, axi, 32).unwrap();
        f.byte_order = ByteOrder::Big;
        let big = region("r", &f, Tensor::Input, &net, axi, 32).unwrap();
        let values = (0..784).map(|v| v % 256);
        let w = little.encode(32, true, values.clone());
        assert_eq!((w.len(), w[0].addr, w[0].data, w[1].addr), (196, 0x100, 0x0302_0100, 0x104));
        assert_eq!(big.encode(32, true, values)[0].data, 0x0001_0203);
        // A load port counts words, and a negative value is its two's complement.
        let lp = &crate::sim::bus::load_port::LoadPort;
        let c1 = net.layers.iter().position(|l| l.name == "c1").unwrap();
        let mut b = file("c1.bias", None);
        b.bits = Some(32);
        let r =
            region("r", &b, Tensor::Param { layer: c1, which: Which::Bias }, &net, lp, 32).unwrap();
        let w = r.encode(32, false, [-2i64, 5, 0, 0, 0, 0].into_iter());
        assert_eq!((w[0].data, w[1].addr, w[1].data), (0xffff_fffe, 0x101, 5));
    }
}
