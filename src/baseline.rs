//! Regression baseline (`verify --baseline FILE` / `--write-baseline FILE`): the counts and
//! the RTL's timing of a run, so CI goes red when any count changes or the RTL gets slower.

use crate::report::Totals;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a run measured, in a form that is stable across machines (no wall time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The run this describes (stimulus, images, weights, timing options).
    pub run: String,
    pub images: u64,
    pub bit_exact: u64,
    pub timeouts: u64,
    pub labelled: u64,
    pub rtl_correct: u64,
    pub reference_correct: u64,
    pub float_correct: u64,
    pub argmax_ties: u64,
    /// Mismatching elements per tapped layer, in pipeline order (the class last).
    pub mismatching_elements: Vec<u64>,
    /// Missing and extra beats per tapped layer (the class: images without one); a baseline
    /// written before they were recorded reads as all zeros.
    #[serde(default)]
    pub missing_beats: Vec<u64>,
    #[serde(default)]
    pub extra_beats: Vec<u64>,
    /// Mean cycles from an image's first pixel to its class_valid.
    pub cycles_per_image: f64,
    pub latency_min: u64,
    pub latency_max: u64,
}

impl Baseline {
    pub fn from_totals(run: &str, t: &Totals) -> Baseline {
        Baseline {
            run: run.to_string(),
            images: t.images,
            bit_exact: t.clean,
            timeouts: t.timeouts,
            labelled: t.labelled,
            rtl_correct: t.rtl_correct,
            reference_correct: t.ref_correct,
            float_correct: t.float_correct,
            argmax_ties: t.ties,
            mismatching_elements: t.layers.iter().map(|l| l.mismatching_elements).collect(),
            missing_beats: t.layers.iter().map(|l| l.missing_beats).collect(),
            extra_beats: t.layers.iter().map(|l| l.extra_beats).collect(),
            cycles_per_image: if t.cycles_n == 0 {
                0.0
            } else {
                t.cycles_sum as f64 / t.cycles_n as f64
            },
            latency_min: t.latency_min.unwrap_or(0),
            latency_max: t.latency_max.unwrap_or(0),
        }
    }

    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read baseline", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not a cnn-cosim baseline ({e})", path.display()))
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("serializable") + "\n";
        crate::memfile::write_atomic(path, &text)
    }

    /// How `now` differs from this baseline: regressions (any changed count, slower RTL)
    /// first, then improvements worth recording. Errors when the runs are not comparable.
    /// `names` are the layers' names, for messages.
    pub fn compare(
        &self,
        now: &Baseline,
        names: &[String],
        path: &Path,
    ) -> Result<(Vec<String>, Vec<String>)> {
        if self.mismatching_elements.len() != now.mismatching_elements.len() {
            bail!(
                "{}: baseline has {} layers, this run has {}",
                path.display(),
                self.mismatching_elements.len(),
                now.mismatching_elements.len()
            );
        }
        if self.run != now.run {
            bail!(
                "{}: baseline was recorded for a different run ({:?}, this is {:?})",
                path.display(),
                self.run,
                now.run
            );
        }
        let mut worse = Vec::new();
        let mut better = Vec::new();
        let counts = [
            ("images", self.images, now.images),
            ("bit-exact images", self.bit_exact, now.bit_exact),
            ("timeouts", self.timeouts, now.timeouts),
            ("labelled images", self.labelled, now.labelled),
            ("RTL correct", self.rtl_correct, now.rtl_correct),
            ("reference correct", self.reference_correct, now.reference_correct),
            ("float correct", self.float_correct, now.float_correct),
            ("argmax ties", self.argmax_ties, now.argmax_ties),
        ];
        for (name, was, is) in counts {
            if was != is {
                worse.push(format!("{name}: {is}, baseline {was}"));
            }
        }
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
        for (i, name) in names.iter().enumerate() {
            let per_layer = [
                ("mismatching elements", &self.mismatching_elements, &now.mismatching_elements),
                ("missing beats", &self.missing_beats, &now.missing_beats),
                ("extra beats", &self.extra_beats, &now.extra_beats),
            ];
            for (what, was, is) in per_layer {
                let (was, is) = (at(was, i), at(is, i));
                if was != is {
                    worse.push(format!("{name} {what}: {is}, baseline {was}"));
                }
            }
        }
        let timing = [
            ("cycles per image", self.cycles_per_image, now.cycles_per_image),
            ("latency max", self.latency_max as f64, now.latency_max as f64),
            ("latency min", self.latency_min as f64, now.latency_min as f64),
        ];
        for (name, was, is) in timing {
            if is > was {
                worse.push(format!("{name}: {is}, baseline {was} (the RTL got slower)"));
            } else if is < was {
                better.push(format!("{name}: {is}, baseline {was} (faster)"));
            }
        }
        Ok((worse, better))
    }
}
