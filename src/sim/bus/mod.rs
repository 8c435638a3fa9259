//! The buses a host-driven design is written over, one file each: a bus is its signal roles
//! and how the host performs one write and one read on them, cycle by cycle, through a
//! [`Port`]. A new bus (APB, Wishbone) is one more file and one line in [`PROTOCOLS`].

pub mod axi4_lite;
pub mod load_port;
pub mod obi;

use crate::sim::glue::MAX_HOST_SIGNALS;

/// What a [`Port`] clocks: a model of the design (`crate::sim::model::Model`), kept behind
/// this trait so the buses sit below the model and the binding that holds them.
pub trait Clocked {
    /// Up to `n` cycles with the bus inputs `inputs`, appending every tap beat to `taps`;
    /// `outputs` gets the bus outputs of the last cycle, read before its rising edge. Stops
    /// after the first cycle with done (a done port). On an error, the cycles that ran
    /// before it.
    fn clock(
        &mut self,
        inputs: &[u64],
        n: u64,
        outputs: &mut [u64],
        taps: &mut [Vec<i64>],
    ) -> Result<HostEnd, (anyhow::Error, u64)>;
}

/// Where [`Clocked::clock`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostEnd {
    /// Clock cycles run.
    pub cycles: u64,
    /// The class port's value when the last cycle run had done (a done port).
    pub done: Option<u8>,
}

/// A signal role of a bus: its key in `[bus]`, whether a binding must name it, and its
/// width when the protocol fixes it (`None`: any; `Some(0)`: the bus's data width).
#[derive(Debug, Clone, Copy)]
pub struct Role {
    pub key: &'static str,
    pub required: bool,
    pub width: Option<u32>,
}

/// A role the bus's data width sizes.
pub const DATA: Option<u32> = Some(0);
/// The byte enables of a data word (data width / 8).
pub const STROBE: Option<u32> = Some(u32::MAX);

/// One word the host writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub addr: u64,
    pub data: u64,
    /// Byte enables (all ones: every byte).
    pub strobe: u64,
    /// A load port's select value.
    pub select: Option<u64>,
}

/// Why a bus operation did not complete.
#[derive(Debug)]
pub enum Fail {
    /// A handshake did not come within the timeout, said in words (which signal, which
    /// transaction).
    Timeout(String),
    /// The design answered with an error response.
    Response(String),
    /// The model stopped (`$finish`, `$fatal`) or failed.
    Model(anyhow::Error),
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Fail {
        Fail::Model(e)
    }
}

/// A bus protocol.
pub trait Protocol: Sync + std::fmt::Debug {
    /// Its `[bus] protocol` name.
    fn name(&self) -> &'static str;
    /// The roles the host drives (the design's inputs), in [`Port::set`]'s numbering.
    fn inputs(&self) -> &'static [Role];
    /// The roles the host reads, in [`Port::get`]'s numbering.
    fn outputs(&self) -> &'static [Role];
    /// Whether addresses count bytes (else words).
    fn byte_addressed(&self) -> bool;
    /// Whether the host can read over it (a load port cannot).
    fn can_read(&self) -> bool;
    /// Writes one word; `what` names the transaction for a timeout's message.
    fn write(&self, port: &mut Port, w: Word, what: &dyn Fn() -> String) -> Result<(), Fail>;
    /// Reads the word at `addr`.
    fn read(&self, port: &mut Port, addr: u64, what: &dyn Fn() -> String) -> Result<u64, Fail>;
    /// The same write and read as Verilog tasks for the Icarus testbench
    /// (`src/sim/icarus.rs`): `bus_write(addr, data, strobe, select)` and `bus_read(addr,
    /// data)`, driving `h_<role>` and reading `s_<role>` (the design's outputs sampled just
    /// before the rising edge) through the testbench's `step` (one clock cycle), giving up
    /// after `Timeout` cycles of waiting with `guard`.
    fn verilog(&self) -> &'static str;
}

/// Every bus, by name.
pub const PROTOCOLS: [&dyn Protocol; 3] = [&load_port::LoadPort, &obi::Obi, &axi4_lite::Axi4Lite];

/// The bus named `name`.
pub fn find(name: &str) -> Option<&'static dyn Protocol> {
    PROTOCOLS.iter().copied().find(|p| p.name() == name)
}

/// The host's side of the bus, one clock cycle at a time: the values it drives (held until
/// changed), what it read before the last rising edge, and the cycles run.
pub struct Port<'a> {
    model: &'a mut dyn Clocked,
    taps: &'a mut [Vec<i64>],
    inputs: [u64; MAX_HOST_SIGNALS],
    outputs: [u64; MAX_HOST_SIGNALS],
    /// Clock cycles run through this port.
    pub cycles: u64,
    /// Cycles a handshake may take.
    pub timeout: u64,
}

impl<'a> Port<'a> {
    /// Every input idle (0).
    pub fn new(model: &'a mut dyn Clocked, taps: &'a mut [Vec<i64>], timeout: u64) -> Port<'a> {
        Port {
            model,
            taps,
            inputs: [0; MAX_HOST_SIGNALS],
            outputs: [0; MAX_HOST_SIGNALS],
            cycles: 0,
            timeout,
        }
    }

    /// Drives input role `k` (the protocol's numbering; the start port after the bus's)
    /// from the next cycle on.
    pub fn set(&mut self, k: usize, v: u64) {
        self.inputs[k] = v;
    }

    /// Output role `k` as it was before the last rising edge.
    pub fn get(&self, k: usize) -> u64 {
        self.outputs[k]
    }

    /// Runs one cycle.
    pub fn cycle(&mut self) -> Result<(), Fail> {
        self.run(1).map(|_| ())
    }

    /// Runs up to `n` cycles with the inputs as they are; stops after a cycle with done (a
    /// done port), returning the class port's value.
    pub fn run(&mut self, n: u64) -> Result<Option<u8>, Fail> {
        let end = self.model.clock(&self.inputs, n, &mut self.outputs, self.taps);
        let end = end.map_err(|(e, cycles)| {
            self.cycles += cycles;
            Fail::Model(e)
        })?;
        self.cycles += end.cycles;
        Ok(end.done)
    }

    /// Runs cycles until `ready(self)` holds after one (the handshake happened at its
    /// edge), at most the timeout; else a timeout naming `signal` and the transaction.
    pub fn until(
        &mut self,
        signal: &str,
        what: &dyn Fn() -> String,
        ready: impl Fn(&Port) -> bool,
    ) -> Result<(), Fail> {
        for _ in 0..self.timeout.max(1) {
            self.cycle()?;
            if ready(self) {
                return Ok(());
            }
        }
        Err(Fail::Timeout(format!("no {signal} within {} cycles for {}", self.timeout, what())))
    }

    /// The tap buffers (to hand beats to an image).
    pub fn taps(&mut self) -> &mut [Vec<i64>] {
        self.taps
    }
}
