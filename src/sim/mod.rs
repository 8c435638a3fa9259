//! The simulation side: everything between a design's sources and the results of driving
//! it. A [`binding`] (its TOML form in [`binding_file`], `bind init` in [`bind_init`]) says
//! how the harness reaches into the design; [`glue`] turns it into the C++ the shim
//! includes; [`verilate`] builds a design at run time (with [`verilator_files`]'s lists and
//! flags, shared with `build.rs`); [`model`] is the safe face of a Verilated model, compiled
//! in or loaded; [`driver`] runs images through models on every core, streaming them in
//! (the pixel-stream protocol) or as a host ([`host`]'s program over one of the [`bus`]es),
//! with [`place`] putting coordinate taps in order; [`icarus`] runs the same binding under a
//! second simulator.
//!
//! Imports run one way: `binding_file`, `glue`, `bus` ← `host` ← `binding` ← `place`,
//! `model` ← `verilate`, `driver`, `icarus` (a bus clocks the model through the
//! `bus::Clocked` trait, which the model implements).

pub mod bind_init;
pub mod binding;
pub mod binding_file;
pub mod bus;
pub mod driver;
pub mod glue;
pub mod host;
pub mod icarus;
pub mod model;
pub mod place;
pub mod toolchain;
pub mod verilate;
pub mod verilator_files;
