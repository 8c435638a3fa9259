//! cnn-cosim: proves a Verilog CNN accelerator computes exactly what its fixed-point
//! reference computes, on every MNIST test image, layer by layer.
//!
//! Data flows one way: [`mnist`] and [`memfile`] (weights) → stimulus → ([`rtl`] ‖
//! [`reference`]) → [`compare`] → [`report`]. [`driver`] runs that loop in parallel;
//! [`commands`] holds what each subcommand does.

pub mod baseline;
pub mod bench;
pub mod commands;
pub mod compare;
pub mod debug;
pub mod driver;
pub mod float_model;
pub mod html;
pub mod icarus;
pub mod junit;
pub mod memfile;
pub mod merge;
pub mod mnist;
pub mod reference;
pub mod report;
pub mod rtl;
pub mod stimulus;
#[cfg(feature = "train")]
pub mod train;
