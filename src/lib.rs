//! cnn-cosim: proves a Verilog CNN accelerator computes exactly what its fixed-point
//! reference computes, on every MNIST test image, layer by layer.
//!
//! The network is data: a [`network`] description names the layers, their fixed-point
//! arithmetic, the tapped layers and the [`weights`] files. Data flows one way: [`mnist`] /
//! [`stimulus`] and [`weights`] → ([`sim`] ‖ [`reference`]) → [`compare`] → [`sink`]s
//! ([`report`], [`html`], [`junit`]). [`sim::driver`] runs that loop in parallel; [`commands`]
//! holds what each subcommand does.

pub mod baseline;
pub mod bench;
pub mod calibrate;
pub mod commands;
pub mod compare;
pub mod coverage;
pub mod data;
pub mod debug;
pub mod eval;
pub mod float_model;
pub mod html;
pub mod image;
pub mod interrupt;
pub mod junit;
pub mod memfile;
pub mod merge;
pub mod mnist;
pub mod mutate;
pub mod network;
pub mod pgo;
pub mod plan;
pub mod reference;
pub mod report;
pub mod report_set;
pub mod sim;
pub mod sink;
pub mod stimulus;
pub mod tensor_file;
#[cfg(feature = "train")]
pub mod train;
#[cfg(not(feature = "train"))]
pub mod train_on_demand;
pub mod weights;
