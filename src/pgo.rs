//! `verify --pgo`: the profile workload of a profile-guided model build
//! ([`crate::sim::verilate::Pgo`]). The workload is the run itself, cut short: its first
//! weight set's first [`WORKLOAD_IMAGES`] images (from `--start`), with the run's stimulus
//! kind, timing (`--between`, `--bubbles`, `--seed`) and weights, streamed on one thread
//! through the instrumented model with nothing compared. Its digest (the images, the weight
//! files, the timing) is part of the model's cache key, so a run with the same workload
//! finds the model built, and one with another workload builds its own.

use crate::network::Network;
use crate::plan::{Plan, SetRun, VerifyArgs};
use crate::sim::binding::{Between, Binding};
use crate::sim::driver::{self, Stimulus};
use crate::sim::model::Design;
use crate::sim::verilate::KeyHash;
use anyhow::{Context, Result};

/// Images of the profile workload (at most: fewer when the run has fewer).
pub const WORKLOAD_IMAGES: usize = 300;

/// The profile workload of the run `a` on the design bound by `binding`, of network `net`.
pub struct Workload {
    set: SetRun,
    net: Network,
    /// A digest of everything that decides the profile.
    pub digest: String,
}

impl Workload {
    /// Plans the workload: every input read, as the run will read it.
    pub fn plan(a: &VerifyArgs, binding: &Binding, net: &Network) -> Result<Workload> {
        let mut w = a.clone();
        w.jobs = Some(1);
        w.shard = None;
        w.limit = Some(a.limit.map_or(WORKLOAD_IMAGES, |l| l.min(WORKLOAD_IMAGES)));
        w.quiet = true;
        let mut plan = Plan::new(&w, net)?;
        let mut set = plan.sets(&w, net).next().context("internal error: no weight set")??;
        // The design is not built yet, so the binding says what `--between` defaults to.
        set.cfg.between = if a.reset_each {
            Between::Reset
        } else {
            a.between.unwrap_or_else(|| binding.between.parse().unwrap_or(Between::BackToBack))
        };
        let mut h = KeyHash::default();
        let mut field = |name: &str, bytes: &[u8]| h.field(name, bytes);
        field("workload", env!("CARGO_PKG_VERSION").as_bytes());
        field("network", net.name.as_bytes());
        let timing = format!("{} {} {}", set.cfg.between, set.cfg.bubbles, set.cfg.seed);
        field("timing", timing.as_bytes());
        for img in &set.images {
            let bytes: Vec<u8> = img.iter().flat_map(|v| v.to_le_bytes()).collect();
            field("image", &bytes);
        }
        let mut files: Vec<_> = std::fs::read_dir(&set.wd.path)
            .with_context(|| format!("{}: cannot read", set.wd.path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let bytes =
                std::fs::read(&f).with_context(|| format!("{}: cannot read", f.display()))?;
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            field(&name, &bytes);
        }
        Ok(Workload { set, net: net.clone(), digest: h.finish() })
    }

    /// Streams the workload through `design` (the instrumented one) on one thread.
    pub fn run(&self, design: &'static Design) -> Result<()> {
        let set = &self.set;
        let (dir, _keep) = crate::plan::design_weights(&set.wd, &self.net, design)?;
        let stim = Stimulus { images: &set.images, labels: None, first: set.first };
        let cfg = driver::Config { design, ..set.cfg.clone() };
        // An image that times out is profiled as far as it ran: the run itself says why.
        driver::stream(&stim, &self.net, &dir, &cfg)?;
        Ok(())
    }
}
