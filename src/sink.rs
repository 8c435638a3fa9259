//! Where a verify run's results go. The driver hands each image's result, in image order,
//! to every sink; when the run is complete each sink writes its output. The CSV reports
//! ([`crate::report::Reports`]) keep the run's [`Totals`], which the others receive at the
//! end; a new output is one more `Sink` and touches one file.

use crate::mnist::Image;
use crate::report::Totals;
use crate::sim::driver::ImageResult;
use anyhow::Result;

/// The weight set an image belongs to.
#[derive(Debug, Clone)]
pub struct SetInfo {
    /// The random weight set; `None` for MNIST with the given weights.
    pub set: Option<u64>,
    pub seed: u64,
    /// How reports name it, e.g. `weights vectors/weights`.
    pub name: String,
}

/// What every sink gets when the run is complete.
pub struct RunEnd<'a> {
    pub totals: &'a Totals,
    /// The run's one-line title.
    pub title: &'a str,
    pub secs: f64,
    /// The command that reproduces image `image` of weight set `set` alone.
    pub repro: &'a dyn Fn(Option<u64>, usize) -> String,
    /// The RTL coverage of the run (`--coverage`).
    pub coverage: Option<&'a crate::coverage::Report>,
}

/// One output of a verify run.
pub trait Sink {
    /// A weight set starts (a MNIST run has one).
    fn start_set(&mut self, _set: &SetInfo) {}
    /// One image's result with its input, in image order.
    fn push(&mut self, r: &ImageResult, image: &Image, set: &SetInfo) -> Result<()>;
    /// The current weight set is done after `secs` of wall time.
    fn end_set(&mut self, _secs: f64) {}
    /// The run is complete: write the output.
    fn finish(&mut self, end: &RunEnd) -> Result<()>;
}
