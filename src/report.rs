//! CSV reports: `summary.csv` and `mismatches.csv` row by row, `layers.csv` at the end, all
//! into the run's own directory of a [`crate::report_set::ReportSet`], which publishes them
//! with the run's other outputs only when the whole run is done.

use crate::network::Tap;
use crate::report_set::ReportSet;
use crate::sim::driver::ImageResult;
use anyhow::{Context, Result};
use std::fs::File;
use std::path::PathBuf;

const SUMMARY: &str = "summary.csv";
const MISMATCHES: &str = "mismatches.csv";
const LAYERS: &str = "layers.csv";

/// The columns of `layers.csv`: end to end (values both sides produced), then on the RTL's
/// own input (`local_*`), then the arithmetic coverage — the smallest and largest value of
/// the reference against the bounds the description derives (and how much of that range
/// they span), how many of its values the layer's overflow rule changed below its low rail
/// and above its high one (saturated or wrapped; 0 for a layer without one: proof that a
/// campaign reached the rails), the argmax ties (the class's row only) — then the beat
/// counts, apart from the values: beats the layer lacked when its class came (for the class:
/// images without one), beats past its count, and beats past its count that
/// `beats = "first"` ignored.
pub const LAYERS_HEADER: [&str; 20] = [
    "layer",
    "images",
    "elements",
    "mismatching_elements",
    "images_with_mismatch",
    "max_abs_diff",
    "local_mismatching_elements",
    "local_images_with_mismatch",
    "local_max_abs_diff",
    "ref_min",
    "ref_max",
    "bound_min",
    "bound_max",
    "range_reached_pct",
    "ref_overflowed_low",
    "ref_overflowed_high",
    "argmax_ties",
    "missing_beats",
    "extra_beats",
    "ignored_beats",
];

/// Per-layer totals over a run: end to end, and on the RTL's own input (`local_*`).
#[derive(Debug, Clone, Default)]
pub struct LayerTotals {
    pub name: String,
    pub elements: u64,
    pub mismatching_elements: u64,
    pub images_with_mismatch: u64,
    pub max_abs_diff: u64,
    pub local_mismatching_elements: u64,
    pub local_images_with_mismatch: u64,
    pub local_max_abs_diff: u64,
    /// The reference's smallest and largest value over the run (none before any image).
    pub ref_range: Option<(i64, i64)>,
    /// What the description's arithmetic derives for the layer's values.
    pub bounds: (i128, i128),
    /// The reference's values the overflow rule changed, by rail.
    pub ref_overflowed: crate::reference::Rails,
    /// The class: images whose reference logits had a tied maximum.
    pub argmax_ties: Option<u64>,
    pub missing_beats: u64,
    pub extra_beats: u64,
    pub ignored_beats: u64,
}

impl LayerTotals {
    /// How much of the derived range the reference's values span, in percent.
    pub fn range_reached_pct(&self) -> Option<f64> {
        range_reached_pct(self.ref_range?, self.bounds)
    }
}

/// `(max − min) / (bound_max − bound_min)` in percent (100 for a range of one value).
pub fn range_reached_pct(r: (i64, i64), b: (i128, i128)) -> Option<f64> {
    let span = (b.1 - b.0) as f64;
    Some(if span <= 0.0 { 100.0 } else { 100.0 * (r.1 as i128 - r.0 as i128) as f64 / span })
}

/// Totals over a run, for the printed summary and `layers.csv`.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub images: u64,
    pub clean: u64,
    /// Images whose class never came: timeouts, and images in flight when the design ended
    /// the simulation (`stopped`, also counted here).
    pub timeouts: u64,
    pub stopped: u64,
    /// One per compared tap, in pipeline order (the class last).
    pub layers: Vec<LayerTotals>,
    /// Tapped layers of the network the design's binding does not bring out: not compared.
    pub untapped: Vec<String>,
    pub rtl_correct: u64,
    pub ref_correct: u64,
    pub float_correct: u64,
    pub has_float: bool,
    /// Images that carried a label (MNIST); accuracies are over these.
    pub labelled: u64,
    /// Images whose reference logits had a tied maximum.
    pub ties: u64,
    pub cycles_sum: u64,
    pub cycles_n: u64,
    pub latency_min: Option<u64>,
    pub latency_max: Option<u64>,
    /// [`ImageResult::interval`] summed over the images that have one.
    pub interval_sum: u64,
    pub interval_n: u64,
    /// A host-driven design's cycles: weight loads (each load's cycles), and the image
    /// loads and computes of the images whose class came.
    pub cycle_split: bool,
    pub weight_cycles_sum: u64,
    pub weight_loads: u64,
    pub load_sum: u64,
    pub compute_sum: u64,
    pub mismatch_rows: u64,
    pub mismatch_rows_dropped: u64,
    /// Images with a handshake problem (`protocol` in summary.csv), and the first one.
    pub protocol_images: u64,
    pub first_protocol: Option<(usize, String)>,
    /// The first failing image and its first bad layer.
    pub first_failure: Option<Failure>,
    /// The first [`MAX_FAILURES_KEPT`] failing images, in order.
    pub failures: Vec<Failure>,
}

/// How many failing images [`Totals::failures`] lists.
pub const MAX_FAILURES_KEPT: usize = 1000;

/// Where a run first went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The random weight set, for random stimulus.
    pub set: Option<u64>,
    pub image: usize,
    /// Index of the first bad layer in [`Totals::layers`].
    pub layer: usize,
}

impl Totals {
    /// The name of tap `i`.
    pub fn layer_name(&self, i: usize) -> &str {
        &self.layers[i].name
    }
}

/// Writes `summary.csv` and `mismatches.csv` row by row and `layers.csv` at the end.
pub struct Reports {
    /// Where `layers.csv` goes.
    layers_path: PathBuf,
    taps: Vec<Tap>,
    summary: csv::Writer<File>,
    mismatches: csv::Writer<File>,
    max_rows: u64,
    pub totals: Totals,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl Reports {
    /// Opens the CSV files in the run's directory of `set`.
    pub fn create(
        set: &ReportSet,
        taps: &[Tap],
        max_rows: u64,
        has_float: bool,
        cycle_split: bool,
    ) -> Result<Reports> {
        let open = |name: &str| -> Result<csv::Writer<File>> {
            let p = set.path(name);
            let f = File::create(&p).with_context(|| format!("{}: cannot create", p.display()))?;
            Ok(csv::Writer::from_writer(f))
        };
        let mut summary = open(SUMMARY)?;
        let mut header: Vec<String> =
            ["image", "label", "ref_class", "rtl_class", "float_class", "cycles"]
                .map(String::from)
                .into();
        header
            .extend(taps.iter().filter(|t| !t.is_class).map(|t| format!("{}_mismatches", t.name)));
        header.extend(
            [
                "class_match",
                "first_bad_layer",
                "status",
                "latency",
                "weight_set",
                "seed",
                "protocol",
            ]
            .map(String::from),
        );
        if cycle_split {
            header.extend(["weight_cycles", "load_cycles", "compute_cycles"].map(String::from));
        }
        summary.write_record(&header)?;
        let mut mismatches = open(MISMATCHES)?;
        mismatches.write_record([
            "image",
            "layer",
            "channel",
            "row",
            "col",
            "expected",
            "actual",
            "diff",
            "weight_set",
        ])?;
        let layers = taps
            .iter()
            .map(|t| LayerTotals {
                name: t.name.clone(),
                bounds: (t.bounds.min, t.bounds.max),
                argmax_ties: t.is_class.then_some(0),
                ..LayerTotals::default()
            })
            .collect();
        let totals = Totals { has_float, layers, cycle_split, ..Totals::default() };
        Ok(Reports {
            layers_path: set.path(LAYERS),
            taps: taps.to_vec(),
            summary,
            mismatches,
            max_rows,
            totals,
        })
    }

    /// Adds one image (call in image order); `set` is (weight set, seed) for random stimulus.
    pub fn push(&mut self, r: &ImageResult, set: Option<(u64, u64)>) -> Result<()> {
        let t = &mut self.totals;
        t.images += 1;
        let clean = r.cmp.is_clean() && !r.timed_out;
        t.clean += clean as u64;
        t.timeouts += r.timed_out as u64;
        t.stopped += r.stopped as u64;
        t.ties += r.tie as u64;
        if let Some(label) = r.label {
            t.labelled += 1;
            t.ref_correct += (r.ref_class == label) as u64;
            t.rtl_correct += (r.rtl_class == Some(label)) as u64;
            t.float_correct += (r.float_class == Some(label)) as u64;
        }
        if let Some(c) = r.cycles {
            t.cycles_sum += c;
            t.cycles_n += 1;
        }
        if let Some(v) = r.interval {
            t.interval_sum += v;
            t.interval_n += 1;
        }
        if let Some(l) = r.latency {
            t.latency_min = Some(t.latency_min.map_or(l, |m| m.min(l)));
            t.latency_max = Some(t.latency_max.map_or(l, |m| m.max(l)));
        }
        if let Some(w) = r.weight_cycles {
            t.weight_cycles_sum += w;
            t.weight_loads += 1;
        }
        if let (Some(load), Some(compute)) = (r.load_cycles, r.latency) {
            t.load_sum += load;
            t.compute_sum += compute;
        }
        for (i, tap) in self.taps.iter().enumerate() {
            let lt = &mut t.layers[i];
            lt.elements += tap.shape.len() as u64;
            lt.mismatching_elements += r.cmp.counts[i];
            lt.images_with_mismatch += (r.cmp.counts[i] > 0) as u64;
            lt.max_abs_diff = lt.max_abs_diff.max(r.cmp.max_abs_diff[i]);
            lt.local_mismatching_elements += r.cmp.local_counts[i];
            lt.local_images_with_mismatch += (r.cmp.local_counts[i] > 0) as u64;
            lt.local_max_abs_diff = lt.local_max_abs_diff.max(r.cmp.local_max_abs_diff[i]);
            lt.ref_overflowed.add(r.overflowed.get(tap.layer).copied().unwrap_or_default());
            if let Some(Some((lo, hi))) = r.ranges.get(tap.layer) {
                lt.ref_range = Some(match lt.ref_range {
                    None => (*lo, *hi),
                    Some((a, b)) => (a.min(*lo), b.max(*hi)),
                });
            }
            if let Some(ties) = &mut lt.argmax_ties {
                *ties += r.tie as u64;
            }
            lt.missing_beats += r.cmp.missing_beats[i];
            lt.extra_beats += r.cmp.extra_beats[i];
            lt.ignored_beats += r.cmp.ignored_beats[i];
        }
        let first_bad = r.cmp.first_bad_layer();
        let failure =
            first_bad.map(|layer| Failure { set: set.map(|s| s.0), image: r.index, layer });
        if let Some(f) = failure {
            if t.failures.len() < MAX_FAILURES_KEPT {
                t.failures.push(f);
            }
            t.first_failure.get_or_insert(f);
        }
        let mut row = vec![
            r.index.to_string(),
            opt(r.label),
            r.ref_class.to_string(),
            opt(r.rtl_class),
            opt(r.float_class),
            opt(r.cycles),
        ];
        for (i, tap) in self.taps.iter().enumerate() {
            if !tap.is_class {
                row.push(r.cmp.counts[i].to_string());
            }
        }
        row.extend([
            (r.rtl_class == Some(r.ref_class)).to_string(),
            first_bad.map(|l| self.taps[l].name.clone()).unwrap_or_default(),
            r.status().to_string(),
            opt(r.latency),
            opt(set.map(|s| s.0)),
            opt(set.map(|s| s.1)),
            r.cmp.protocol.iter().chain(&r.cmp.notes).cloned().collect::<Vec<_>>().join("; "),
        ]);
        if t.cycle_split {
            row.extend([
                opt(r.weight_cycles),
                opt(r.load_cycles),
                opt(r.load_cycles.and(r.latency)),
            ]);
        }
        if let Some(first) = r.cmp.protocol.first() {
            t.protocol_images += 1;
            t.first_protocol.get_or_insert_with(|| (r.index, first.clone()));
        }
        self.summary.write_record(&row)?;
        let mut written = 0u64;
        for m in &r.cmp.rows {
            if t.mismatch_rows >= self.max_rows {
                break;
            }
            t.mismatch_rows += 1;
            written += 1;
            let diff = m.expected.zip(m.actual).map(|(e, a)| a - e);
            self.mismatches.write_record([
                r.index.to_string(),
                self.taps[m.layer].name.clone(),
                m.channel.to_string(),
                m.row.to_string(),
                m.col.to_string(),
                opt(m.expected),
                opt(m.actual),
                opt(diff),
                opt(set.map(|s| s.0)),
            ])?;
        }
        t.mismatch_rows_dropped += r.cmp.counts.iter().sum::<u64>() - written;
        Ok(())
    }

    /// Writes `layers.csv` and completes the other two.
    pub fn finish(mut self) -> Result<Totals> {
        let mut layers = csv::Writer::from_path(&self.layers_path)
            .with_context(|| format!("{}: cannot create", self.layers_path.display()))?;
        layers.write_record(LAYERS_HEADER)?;
        for lt in &self.totals.layers {
            layers.write_record([
                lt.name.clone(),
                self.totals.images.to_string(),
                lt.elements.to_string(),
                lt.mismatching_elements.to_string(),
                lt.images_with_mismatch.to_string(),
                lt.max_abs_diff.to_string(),
                lt.local_mismatching_elements.to_string(),
                lt.local_images_with_mismatch.to_string(),
                lt.local_max_abs_diff.to_string(),
                lt.ref_range.map_or(String::new(), |r| r.0.to_string()),
                lt.ref_range.map_or(String::new(), |r| r.1.to_string()),
                lt.bounds.0.to_string(),
                lt.bounds.1.to_string(),
                lt.range_reached_pct().map_or(String::new(), |p| format!("{p:.1}")),
                lt.ref_overflowed.low.to_string(),
                lt.ref_overflowed.high.to_string(),
                lt.argmax_ties.map_or(String::new(), |t| t.to_string()),
                lt.missing_beats.to_string(),
                lt.extra_beats.to_string(),
                lt.ignored_beats.to_string(),
            ])?;
        }
        let dir = self.layers_path.with_file_name("");
        let write = |r: std::io::Result<()>, name: &str| {
            r.with_context(|| format!("{}: cannot write", dir.join(name).display()))
        };
        write(layers.flush(), LAYERS)?;
        write(self.summary.flush(), SUMMARY)?;
        write(self.mismatches.flush(), MISMATCHES)?;
        crate::report_set::fault("csv")?;
        Ok(self.totals.clone())
    }
}
