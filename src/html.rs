//! `reports/index.html`: one self-contained page per verify run, for a person looking for
//! where the RTL went wrong and for CI dashboards linking to it.
//!
//! The page needs no server and no network: styles are inline, images are PNG `data:` URIs.
//! [`HtmlReport::push`] sees every image but keeps only what the page shows (confusion
//! counts, the first [`MAX_THUMBS`] failing and misclassified images, the mismatch maps of
//! the first [`MAX_HEATMAPS`] failing images, and where the 2-D tapped layers' mismatches
//! accumulate), so a 10,000-image run costs a few hundred kilobytes of memory.
//!
//! The markup is built with `maud`'s `html!`, which escapes every interpolated value; only
//! the fixed stylesheet and the PNG `data:` URIs go in pre-escaped.

use crate::compare::Mismatch;
use crate::mnist::{Image, SIDE};
use crate::network::{IntType, Shape, Tap};
use crate::report::Totals;
use crate::sim::driver::ImageResult;
use anyhow::{Context, Result};
use base64::Engine as _;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::path::Path;

/// Thumbnails per gallery (failing, misclassified); the rest are counted.
pub const MAX_THUMBS: usize = 60;
/// Failing images that get mismatch maps (one per channel of each 2-D tapped layer).
pub const MAX_HEATMAPS: usize = 8;
/// Mismatch rows listed under each map.
const MAX_LISTED: usize = 12;
/// Image numbers kept per off-diagonal confusion cell (shown on hover).
const CELL_SAMPLES: usize = 8;
/// Confusion columns: RTL class 0..9, then "none" (no class came), then "other" (> 9).
const COLS: usize = 12;
const NONE_COL: usize = 10;
const OTHER_COL: usize = 11;
/// A map cell where one side produced no value (a missing tap beat).
const MISSING: u32 = u32::MAX;

const _: () = assert!(MAX_HEATMAPS <= MAX_THUMBS);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Timeout,
    Mismatch,
    Misclassified,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Timeout => "k-timeout",
            Kind::Mismatch => "k-mismatch",
            Kind::Misclassified => "k-mis",
        }
    }
    fn text(self) -> &'static str {
        match self {
            Kind::Timeout => "timeout",
            Kind::Mismatch => "mismatch",
            Kind::Misclassified => "misclassified",
        }
    }
}

/// One image the page shows.
struct Shown {
    index: usize,
    set: Option<u64>,
    label: Option<u8>,
    ref_class: u8,
    rtl_class: Option<u8>,
    kind: Kind,
    counts: Vec<u64>,
    max_abs_diff: Vec<u64>,
    first_bad: Option<usize>,
    /// The input's first channel, as gray levels, `rows × cols`.
    picture: Vec<u8>,
}

/// How an input image is drawn: its first channel's `rows × cols` values, from the input
/// type's least (black) to its largest (white); MNIST's bytes as they are.
#[derive(Debug, Clone, Copy)]
struct Picture {
    rows: usize,
    cols: usize,
    ty: IntType,
}

impl Picture {
    fn gray(&self, image: &[i32]) -> Vec<u8> {
        let (lo, hi) = (self.ty.min() as i64, self.ty.max() as i64);
        image[..self.rows * self.cols]
            .iter()
            .map(|&v| ((v as i64 - lo) * 255 / (hi - lo).max(1)) as u8)
            .collect()
    }
}

impl Shown {
    fn new(r: &ImageResult, image: &Image, set: Option<u64>, kind: Kind, p: Picture) -> Shown {
        Shown {
            index: r.index,
            set,
            label: r.label,
            ref_class: r.ref_class,
            rtl_class: r.rtl_class,
            kind,
            counts: r.cmp.counts.clone(),
            max_abs_diff: r.cmp.max_abs_diff.clone(),
            first_bad: r.cmp.first_bad_layer(),
            picture: p.gray(image),
        }
    }

    /// Element id suffix: unique even when several weight sets reuse image numbers.
    fn key(&self) -> String {
        match self.set {
            Some(s) => format!("s{s}-{}", self.index),
            None => self.index.to_string(),
        }
    }

    fn name(&self) -> String {
        match self.set {
            Some(s) => format!("set {s} image {}", self.index),
            None => format!("image {}", self.index),
        }
    }
}

/// Mismatch maps of one failing image, one per 2-D tapped layer (`|diff|` per element,
/// 0 = equal).
struct Heat {
    maps: Vec<Vec<u32>>,
    /// Mismatch rows outside the layer's shape (extra tap beats).
    outside: u64,
    rows_kept: usize,
    listed: Vec<Mismatch>,
}

/// Collects what `index.html` shows; see the module documentation.
pub struct HtmlReport {
    taps: Vec<Tap>,
    /// The 2-D tapped layers: (tap index, channels, rows, columns).
    map_taps: Vec<(usize, usize, usize, usize)>,
    /// Where the page is written.
    path: std::path::PathBuf,
    failing: Vec<Shown>,
    failing_total: u64,
    timeouts: u64,
    misclassified: Vec<Shown>,
    misclassified_total: u64,
    /// `heats[i]` belongs to `failing[i]`.
    heats: Vec<Heat>,
    /// `[label][rtl column]`.
    conf: [[u64; COLS]; 10],
    /// Of `conf`, the images whose RTL class differs from the reference's.
    conf_diverged: [[u64; COLS]; 10],
    conf_samples: Vec<Vec<String>>,
    labelled: u64,
    /// Mismatch rows per element of each 2-D layer over every failing image.
    agg: Vec<Vec<u32>>,
    agg_rows: u64,
    /// Mismatching elements of 2-D layers counted but not kept as rows.
    agg_unkept: u64,
    picture: Picture,
}

impl HtmlReport {
    /// Draws images of `input` (`c × h × w`) of type `ty` (default: MNIST's 28×28 bytes).
    pub fn input(mut self, input: Shape, ty: IntType) -> HtmlReport {
        let (rows, cols) = match input {
            Shape::Map { h, w, .. } => (h, w),
            Shape::Vector(n) => (1, n),
        };
        self.picture = Picture { rows, cols, ty };
        self
    }

    /// `(map number, element index)` of a mismatch in a 2-D layer, if it lies inside.
    fn cell(&self, m: &Mismatch) -> Option<(usize, usize)> {
        let (mi, &(_, c, h, w)) =
            self.map_taps.iter().enumerate().find(|(_, (t, ..))| *t == m.layer)?;
        (m.channel < c && m.row < h && m.col < w).then(|| (mi, (m.channel * h + m.row) * w + m.col))
    }

    fn is_map(&self, layer: usize) -> bool {
        self.map_taps.iter().any(|&(t, ..)| t == layer)
    }

    fn counts_text(&self, v: &[u64], with_class: bool) -> String {
        self.taps
            .iter()
            .zip(v)
            .filter(|(t, _)| with_class || !t.is_class)
            .map(|(t, n)| format!("{} {n}", t.name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn abs_diff(m: &Mismatch) -> u32 {
    match (m.expected, m.actual) {
        (Some(e), Some(a)) => e.abs_diff(a).clamp(1, MISSING as u64 - 1) as u32,
        _ => MISSING,
    }
}

impl HtmlReport {
    /// A page for a network's `taps`, written to `path` when the run finishes.
    pub fn new(taps: &[Tap], path: std::path::PathBuf) -> HtmlReport {
        let map_taps: Vec<(usize, usize, usize, usize)> = taps
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match t.shape {
                Shape::Map { c, h, w } => Some((i, c, h, w)),
                Shape::Vector(_) => None,
            })
            .collect();
        HtmlReport {
            taps: taps.to_vec(),
            agg: map_taps.iter().map(|&(_, c, h, w)| vec![0; c * h * w]).collect(),
            map_taps,
            path,
            failing: Vec::new(),
            failing_total: 0,
            timeouts: 0,
            misclassified: Vec::new(),
            misclassified_total: 0,
            heats: Vec::new(),
            conf: [[0; COLS]; 10],
            conf_diverged: [[0; COLS]; 10],
            conf_samples: vec![Vec::new(); 10 * COLS],
            labelled: 0,
            agg_rows: 0,
            agg_unkept: 0,
            picture: Picture { rows: SIDE, cols: SIDE, ty: IntType { bits: 8, signed: false } },
        }
    }

    /// Called for every image in image order. `image` is the 28×28 stimulus (raster u8),
    /// `set` is the random weight set index for random stimulus (None for MNIST).
    pub fn push(&mut self, r: &ImageResult, image: &Image, set: Option<u64>) {
        let failing = r.timed_out || !r.cmp.is_clean();
        let diverged = r.rtl_class != Some(r.ref_class);
        if let Some(label) = r.label.filter(|&l| l < 10) {
            self.labelled += 1;
            let col = match r.rtl_class {
                None => NONE_COL,
                Some(c) if c < 10 => c as usize,
                Some(_) => OTHER_COL,
            };
            let l = label as usize;
            self.conf[l][col] += 1;
            self.conf_diverged[l][col] += diverged as u64;
            let samples = &mut self.conf_samples[l * COLS + col];
            if col != l && samples.len() < CELL_SAMPLES {
                samples.push(match set {
                    Some(s) => format!("{s}/{}", r.index),
                    None => r.index.to_string(),
                });
            }
        }
        if failing {
            self.failing_total += 1;
            self.timeouts += r.timed_out as u64;
            let kept_maps = r.cmp.rows.iter().filter(|m| self.is_map(m.layer)).count();
            for m in &r.cmp.rows {
                let Some((mi, i)) = self.cell(m) else { continue };
                self.agg[mi][i] = self.agg[mi][i].saturating_add(1);
                self.agg_rows += 1;
            }
            let map_counts: u64 = self.map_taps.iter().map(|&(t, ..)| r.cmp.counts[t]).sum();
            self.agg_unkept += map_counts.saturating_sub(kept_maps as u64);
            if self.heats.len() < MAX_HEATMAPS {
                let mut h = Heat {
                    maps: self.map_taps.iter().map(|&(_, c, hh, w)| vec![0; c * hh * w]).collect(),
                    outside: 0,
                    rows_kept: r.cmp.rows.len(),
                    listed: r.cmp.rows.iter().take(MAX_LISTED).cloned().collect(),
                };
                for m in &r.cmp.rows {
                    match self.cell(m) {
                        Some((mi, i)) => h.maps[mi][i] = abs_diff(m),
                        None => h.outside += self.is_map(m.layer) as u64,
                    }
                }
                self.heats.push(h);
            }
            if self.failing.len() < MAX_THUMBS {
                let kind = if r.timed_out { Kind::Timeout } else { Kind::Mismatch };
                self.failing.push(Shown::new(r, image, set, kind, self.picture));
            }
        } else if r.label.is_some_and(|l| r.rtl_class != Some(l)) {
            self.misclassified_total += 1;
            if self.misclassified.len() < MAX_THUMBS {
                self.misclassified.push(Shown::new(
                    r,
                    image,
                    set,
                    Kind::Misclassified,
                    self.picture,
                ));
            }
        }
    }

    /// Writes the page atomically (temporary file in the same directory + rename).
    /// `title` e.g. "cnn-cosim verify: MNIST test images 0..9999"; `repro` the reproduce
    /// command of the first failure if any.
    pub fn write(
        &self,
        path: &Path,
        totals: &Totals,
        title: &str,
        secs: f64,
        repro: Option<&str>,
        coverage: Option<&crate::coverage::Report>,
    ) -> Result<()> {
        let page = self.render(totals, title, secs, repro, coverage)?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create report directory", dir.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(".{}.tmp", name.as_deref().unwrap_or("index.html")));
        let written = std::fs::write(&tmp, page.as_bytes())
            .with_context(|| format!("{}: cannot write", tmp.display()))
            .and_then(|()| crate::report_set::fault("html"))
            .and_then(|()| {
                std::fs::rename(&tmp, path)
                    .with_context(|| format!("{}: cannot write report", path.display()))
            });
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    fn render(
        &self,
        t: &Totals,
        title: &str,
        secs: f64,
        repro: Option<&str>,
        coverage: Option<&crate::coverage::Report>,
    ) -> Result<String> {
        let pass = t.images > 0 && t.clean == t.images;
        let verdict = if pass { "PASS" } else { "FAIL" };
        let headline = if pass && !t.untapped.is_empty() {
            format!(
                "{}/{} images bit-exact at every compared layer ({} not tapped, not compared)",
                t.clean,
                t.images,
                t.untapped.join(", ")
            )
        } else if pass {
            format!("{}/{} images bit-exact at every layer", t.clean, t.images)
        } else {
            let first = t
                .first_failure
                .map(|f| {
                    let set = f.set.map(|s| format!("weight set {s}, ")).unwrap_or_default();
                    format!(
                        "; first failure: {set}image {}, layer {}",
                        f.image,
                        t.layer_name(f.layer)
                    )
                })
                .unwrap_or_default();
            format!("{}/{} images bit-exact; {} timeouts{first}", t.clean, t.images, t.timeouts)
        };
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="cnn-cosim-status" content=(verdict);
                    title { (verdict) " · " (title) }
                    style { (PreEscaped(CSS)) }
                }
                body data-status=(verdict.to_lowercase()) data-images=(t.images)
                    data-bit-exact=(t.clean) data-timeouts=(t.timeouts) {
                    header id="status" class={ "banner " (if pass { "pass" } else { "fail" }) } {
                        span class="verdict" { (verdict) }
                        div { h1 { (title) } p { (headline) } }
                    }
                    nav {
                        a href="#summary" { "summary" }
                        a href="#layers" { "layers" }
                        a href="#arithmetic" { "arithmetic" }
                        a href="#confusion" { "confusion" }
                        a href="#failing" { "not bit-exact" }
                        a href="#misclassified" { "misclassified" }
                        a href="#heatmaps" { "mismatch maps" }
                        @if coverage.is_some() { a href="#coverage" { "RTL coverage" } }
                    }
                    (self.summary(t, secs, repro))
                    div class="row" { (layers(t)) (self.confusion()) }
                    (arithmetic(t))
                    (self.gallery(
                        "failing",
                        "Not bit-exact (RTL ≠ reference)",
                        &self.failing,
                        self.failing_total,
                        self.heats.len(),
                        "every image is bit-exact at every layer.",
                    )?)
                    @if self.labelled > 0 {
                        (self.gallery(
                            "misclassified",
                            "Misclassified but bit-exact (RTL = reference ≠ label)",
                            &self.misclassified,
                            self.misclassified_total,
                            0,
                            "every bit-exact image is classified correctly.",
                        )?)
                    }
                    (self.heatmaps()?)
                    @if let Some(c) = coverage { (coverage_section(c)) }
                    footer {
                        "Written by cnn-cosim verify. Details for every image: summary.csv, \
                         mismatches.csv and layers.csv next to this page."
                    }
                }
            }
        };
        Ok(page.into_string())
    }

    fn summary(&self, t: &Totals, secs: f64, repro: Option<&str>) -> Markup {
        // (name, value, note, bad)
        let mut tiles: Vec<(&str, String, String, bool)> = vec![
            ("images", t.images.to_string(), String::new(), false),
            (
                "bit-exact",
                t.clean.to_string(),
                format!("{:.2} % of images", pct(t.clean, t.images)),
                t.clean != t.images,
            ),
            (
                "not bit-exact",
                (t.images - t.clean.min(t.images)).to_string(),
                String::new(),
                t.clean != t.images,
            ),
            ("timeouts", t.timeouts.to_string(), String::new(), t.timeouts > 0),
        ];
        if t.labelled > 0 {
            let acc = |c: u64| format!("{:.2} %", pct(c, t.labelled));
            let of = |c: u64| format!("{c}/{} labelled", t.labelled);
            tiles.push(("RTL accuracy", acc(t.rtl_correct), of(t.rtl_correct), false));
            tiles.push(("reference accuracy", acc(t.ref_correct), of(t.ref_correct), false));
            if t.has_float {
                tiles.push(("float accuracy", acc(t.float_correct), of(t.float_correct), false));
            } else {
                tiles.push(("float accuracy", "n/a".into(), "no model.safetensors".into(), false));
            }
        }
        tiles.push(("argmax ties", t.ties.to_string(), "equal top reference logits".into(), false));
        if t.cycles_n > 0 {
            tiles.push((
                "cycles / image",
                format!("{:.1}", t.cycles_sum as f64 / t.cycles_n as f64),
                "first pixel → class_valid".into(),
                false,
            ));
        }
        if let (Some(lo), Some(hi)) = (t.latency_min, t.latency_max) {
            let v = if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") };
            tiles.push(("latency (cycles)", v, "last pixel → class_valid".into(), false));
        }
        let rate = if secs > 0.0 {
            format!("{:.0} images/s", t.images as f64 / secs)
        } else {
            String::new()
        };
        tiles.push(("wall time", format!("{secs:.2} s"), rate, false));
        html! {
            section id="summary" {
                h2 { "Summary" }
                div class="tiles" {
                    @for (name, value, note, bad) in &tiles {
                        div class={ "tile" @if *bad { " bad" } } {
                            div class="name" { (name) }
                            div class="value" { (value) }
                            div class="note" { (note) }
                        }
                    }
                }
                @if let Some(f) = t.first_failure {
                    p class="first" {
                        "First failure: "
                        b {
                            @if let Some(s) = f.set { "weight set " (s) ", " }
                            "image " (f.image)
                        }
                        ", first bad layer "
                        b { (t.layer_name(f.layer)) }
                        "."
                    }
                } @else if self.timeouts > 0 {
                    p class="first" { "No layer mismatched, but images timed out." }
                }
                @if let Some(cmd) = repro {
                    p class="first" { "Reproduce it alone:" }
                    pre class="repro" { code { (cmd) } }
                }
                @if t.mismatch_rows_dropped > 0 {
                    p class="note" {
                        "mismatches.csv lists the first " (t.mismatch_rows)
                        " mismatching elements; " (t.mismatch_rows_dropped)
                        " more were counted but not listed (--max-rows)."
                    }
                }
            }
        }
    }

    fn confusion(&self) -> Markup {
        if self.labelled == 0 {
            return html! {
                section id="confusion" {
                    h2 { "Confusion matrix" }
                    p class="note" { "No labels (random stimulus): no confusion matrix." }
                }
            };
        }
        let other = (0..10).any(|l| self.conf[l][OTHER_COL] > 0);
        let cols: Vec<usize> = (0..=NONE_COL).chain(other.then_some(OTHER_COL)).collect();
        let max_off = (0..10)
            .flat_map(|l| cols.iter().filter(move |&&c| c != l).map(move |&c| (l, c)))
            .map(|(l, c)| self.conf[l][c])
            .max()
            .unwrap_or(0);
        // (class, style, hover text) of cell `l` × `c`.
        let cell = |l: usize, c: usize| {
            let n = self.conf[l][c];
            let div = self.conf_diverged[l][c];
            let kind = if c == l {
                "diag"
            } else if n > 0 {
                "off"
            } else {
                "zero"
            };
            let class = if div > 0 { format!("{kind} div") } else { kind.to_string() };
            // 0.25..1.0 opacity of the off-diagonal red, by count.
            let style = (c != l && n > 0).then(|| {
                let a = 0.25 + 0.75 * (n as f64).ln_1p() / (max_off as f64).ln_1p();
                format!("background:rgba(229,57,53,{a:.2})")
            });
            let mut tip = vec![format!("label {l}, RTL {}: {n} images", col_name(c))];
            if div > 0 {
                tip.push(format!("{div} with RTL ≠ reference"));
            }
            let samples = &self.conf_samples[l * COLS + c];
            if !samples.is_empty() {
                let more = if (samples.len() as u64) < n { ", …" } else { "" };
                tip.push(format!("images {}{more}", samples.join(", ")));
            }
            (class, style, tip.join("; "))
        };
        html! {
            section id="confusion" {
                h2 { "Confusion matrix" }
                p class="note" {
                    (self.labelled) " labelled images; rows: label, columns: RTL class. \
                     A red outline marks cells holding images where the RTL class differs from \
                     the reference's; hover a cell for its image numbers."
                }
                table class="cm" {
                    thead {
                        tr {
                            th class="corner" { "label \\ RTL" }
                            @for &c in &cols { th { (col_name(c)) } }
                            th class="sum" { "images" }
                            th class="sum" { "RTL correct" }
                        }
                    }
                    tbody {
                        @for l in 0..10 {
                            @let row_total: u64 = self.conf[l].iter().sum();
                            tr {
                                th { (l) }
                                @for &c in &cols {
                                    @let n = self.conf[l][c];
                                    @let (class, style, tip) = cell(l, c);
                                    td id={ "cm-" (l) "-" (col_name(c)) } class=(class)
                                        style=[style] title=(tip) {
                                        @if n > 0 { (n) }
                                    }
                                }
                                td class="sum" { (row_total) }
                                td class="sum" {
                                    @if row_total > 0 {
                                        (format!("{:.1} %", pct(self.conf[l][l], row_total)))
                                    } @else {
                                        "–"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn gallery(
        &self,
        id: &str,
        heading: &str,
        shown: &[Shown],
        total: u64,
        maps: usize,
        empty: &str,
    ) -> Result<Markup> {
        Ok(html! {
            section id=(id) {
                h2 { (heading) " " span class="count" { (total) } }
                @if total == 0 {
                    p class="note" { "None: " (empty) }
                } @else {
                    @if id == "failing" {
                        p class="note" {
                            span class="key k-mismatch" { "mismatch" }
                            " a layer differs from the reference; "
                            span class="key k-timeout" { "timeout" }
                            " no class came in time. The first failing images get mismatch \
                             maps below."
                        }
                    }
                    div class="gallery" {
                        @for (i, s) in shown.iter().enumerate() {
                            a class={ "thumb " (s.kind.class()) } id={ "thumb-" (s.key()) }
                                href=[(i < maps).then(|| format!("#heat-{}", s.key()))]
                                title={
                                    (s.name()) ": mismatching elements "
                                    (self.counts_text(&s.counts, true)) "; max |diff| "
                                    (self.counts_text(&s.max_abs_diff, false))
                                } {
                                img src=(self.gray_png(&s.picture)?) width="56"
                                    height="56" alt=(s.name());
                                span class="idx" {
                                    "#" (s.index)
                                    @if let Some(set) = s.set { " " small { "set " (set) } }
                                }
                                span { "label " (opt(s.label)) " · ref " (s.ref_class) }
                                span { "RTL " b { (opt(s.rtl_class)) } }
                                span class="st" {
                                    @match (s.kind, s.first_bad) {
                                        (Kind::Mismatch, Some(l)) => {
                                            "mismatch @" (self.taps[l].name)
                                        }
                                        (k, _) => (k.text()),
                                    }
                                }
                            }
                        }
                    }
                    @if total > shown.len() as u64 {
                        p class="more" {
                            "… and " (total - shown.len() as u64)
                            " more (summary.csv lists every image)."
                        }
                    }
                }
            }
        })
    }

    fn heatmaps(&self) -> Result<Markup> {
        if self.heats.is_empty() || self.map_taps.is_empty() {
            return Ok(html! {});
        }
        let names: Vec<&str> =
            self.map_taps.iter().map(|&(t, ..)| self.taps[t].name.as_str()).collect();
        Ok(html! {
            section id="heatmaps" {
                h2 { "Where " (names.join(", ")) " mismatch" }
                p class="note" {
                    "Each map is one channel, row ↓ column →. Grey: the input digit under the \
                     element (no mismatch); orange → dark red: |RTL − reference| (log scale, \
                     per map); "
                    span class="swatch miss" {}
                    " blue: a value only one side produced (missing or extra tap beat)."
                }
                // Over every failing image.
                div class="heat" {
                    h3 {
                        "All " (self.failing_total)
                        " failing images: mismatching images per element"
                    }
                    div class="maps" {
                        @for (&(t, c, mh, mw), data) in self.map_taps.iter().zip(&self.agg) {
                            @for ch in 0..c {
                                @let plane = &data[ch * mh * mw..(ch + 1) * mh * mw];
                                @let n: u64 = plane.iter().map(|&v| v as u64).sum();
                                @let name = format!("{} ch{ch}", self.taps[t].name);
                                (map_figure(&name, n, plane, mh, mw, |_, _| 0)?)
                            }
                        }
                    }
                    @if self.agg_unkept > 0 {
                        p class="note" {
                            (self.agg_unkept) " mismatches were counted but not kept as rows \
                             (--max-rows per image) and are not in these maps."
                        }
                    }
                }
                @for (s, heat) in self.failing.iter().zip(&self.heats) {
                    (self.heat(s, heat)?)
                }
                @if self.failing_total > self.heats.len() as u64 {
                    p class="more" {
                        "Maps for the first " (self.heats.len()) " failing images only; "
                        (self.failing_total - self.heats.len() as u64)
                        " more in mismatches.csv."
                    }
                }
            }
        })
    }

    /// The maps and first mismatch rows of one failing image.
    fn heat(&self, s: &Shown, heat: &Heat) -> Result<Markup> {
        // The input pixel under the centre of a map element.
        let (rows, cols) = (self.picture.rows, self.picture.cols);
        let px = |r: usize, c: usize, mh: usize, mw: usize| {
            s.picture[((2 * r + 1) * rows / (2 * mh)).min(rows - 1) * cols
                + ((2 * c + 1) * cols / (2 * mw)).min(cols - 1)]
        };
        let total: u64 = s.counts.iter().sum();
        let mut notes = Vec::new();
        if (heat.rows_kept as u64) < total {
            notes.push(format!(
                "the maps show the {} mismatches kept of {total} (--max-rows)",
                heat.rows_kept
            ));
        }
        if heat.outside > 0 {
            notes.push(format!("{} extra beats fall outside the maps", heat.outside));
        }
        Ok(html! {
            div class={ "heat " (s.kind.class()) } id={ "heat-" (s.key()) } {
                h3 {
                    (s.name()) " · label " (opt(s.label)) " · ref " (s.ref_class)
                    " · RTL " (opt(s.rtl_class)) " · " (s.kind.text())
                    @if let Some(l) = s.first_bad { ", first bad layer " (self.taps[l].name) }
                }
                p class="note" {
                    "mismatching elements: " (self.counts_text(&s.counts, true))
                    "; max |diff|: " (self.counts_text(&s.max_abs_diff, false))
                }
                div class="heatbody" {
                    div class="maps" {
                        figure {
                            img class="digit" src=(self.gray_png(&s.picture)?)
                                width="112" height="112" alt="input";
                            figcaption { "input" }
                        }
                        @for (&(t, c, mh, mw), data) in self.map_taps.iter().zip(&heat.maps) {
                            @for ch in 0..c {
                                @let plane = &data[ch * mh * mw..(ch + 1) * mh * mw];
                                @let count = plane.iter().filter(|&&v| v != 0).count() as u64;
                                @let name = format!("{} ch{ch}", self.taps[t].name);
                                (map_figure(&name, count, plane, mh, mw, |r, c| px(r, c, mh, mw))?)
                            }
                        }
                    }
                    div class="listed" {
                        @if !notes.is_empty() {
                            p class="note" { "Note: " (notes.join("; ")) "." }
                        }
                        @if !heat.listed.is_empty() {
                            table class="rows" {
                                thead {
                                    tr {
                                        th { "layer" } th { "ch" } th { "row" } th { "col" }
                                        th { "expected" } th { "actual" } th { "diff" }
                                    }
                                }
                                tbody {
                                    @for m in &heat.listed {
                                        @let diff = m.expected.zip(m.actual).map(|(e, a)| a - e);
                                        tr {
                                            td { (self.taps[m.layer].name) }
                                            td { (m.channel) }
                                            td { (m.row) }
                                            td { (m.col) }
                                            td { (opt(m.expected)) }
                                            td { (opt(m.actual)) }
                                            td { (opt(diff)) }
                                        }
                                    }
                                }
                            }
                            @if heat.rows_kept > heat.listed.len() {
                                p class="note" {
                                    "first " (heat.listed.len()) " of " (heat.rows_kept)
                                    " kept rows; mismatches.csv has the rest."
                                }
                            }
                        }
                    }
                }
            }
        })
    }
}

/// Per tapped layer: how far the reference's values went in the range the description
/// derives, and which rails its overflow rule met.
fn arithmetic(t: &Totals) -> Markup {
    html! {
        section id="arithmetic" {
            h2 { "Arithmetic coverage" }
            p class="note" {
                "The reference's smallest and largest value at each layer over the run, against \
                 the bounds the description's arithmetic derives; the values its overflow rule \
                 saturated or wrapped, by rail (a layer without one has none). A stimulus that \
                 never reaches a rail never checks the RTL there."
            }
            table class="coverage" {
                thead { tr {
                    th { "layer" } th { "values reached" } th { "derived bounds" }
                    th { "of the range" } th { "past the low rail" } th { "past the high rail" }
                } }
                tbody {
                    @for l in &t.layers {
                        @let pct = l.range_reached_pct();
                        tr {
                            th {
                                (l.name)
                                @if let Some(n) = l.argmax_ties { " " small { (n) " ties" } }
                            }
                            td { @if let Some((lo, hi)) = l.ref_range { (lo) " … " (hi) } }
                            td { (l.bounds.0) " … " (l.bounds.1) }
                            td class=[pct.is_some_and(|p| p < 100.0).then_some("bad")] {
                                @if let Some(p) = pct { (format!("{p:.1} %")) }
                            }
                            td { (l.ref_overflowed.low) }
                            td { (l.ref_overflowed.high) }
                        }
                    }
                }
            }
        }
    }
}

/// Lines never reached listed at most (the count says how many there are).
const UNCOVERED_SHOWN: usize = 500;

/// `--coverage`: per module, the points hit, and the source lines never reached.
fn coverage_section(c: &crate::coverage::Report) -> Markup {
    let cell = |n: &crate::coverage::Count| {
        let full = n.total > 0 && n.hit == n.total;
        html! { td class=[(!full && n.total > 0).then_some("bad")] { (n.show()) } }
    };
    html! {
        section id="coverage" {
            h2 { "RTL coverage" }
            p class="note" {
                "Points of the Verilated design (Verilator's line, branch, toggle"
                @if c.has_exprs { " and expression" }
                " coverage) hit in any instance of a module, over every image of the run.                  coverage.dat (verilator_coverage) and coverage.info (lcov, genhtml) are next                  to this page."
            }
            table class="coverage" {
                thead { tr {
                    th { "module" } th { "lines" } th { "branches" } th { "toggles" }
                    @if c.has_exprs { th { "expressions" } }
                } }
                tbody {
                    @for m in &c.modules {
                        tr {
                            th { (m.name) }
                            (cell(&m.lines)) (cell(&m.branches)) (cell(&m.toggles))
                            @if c.has_exprs { (cell(&m.exprs)) }
                        }
                    }
                    tr class="total" {
                        th { "all modules" }
                        (cell(&c.total.lines)) (cell(&c.total.branches)) (cell(&c.total.toggles))
                        @if c.has_exprs { (cell(&c.total.exprs)) }
                    }
                }
            }
            h3 { "Never reached, never taken (" (c.uncovered.len()) ")" }
            @if c.uncovered.is_empty() {
                p class="note" { "Every statement of the design ran and every branch was taken." }
            } @else {
                table class="uncovered" {
                    thead { tr { th { "file:line" } th { "module" } th { "what" } th { "source" } } }
                    tbody {
                        @for u in c.uncovered.iter().take(UNCOVERED_SHOWN) {
                            tr {
                                td { code { (u.file) ":" (u.line) } }
                                td { (u.module) }
                                td { (u.what) }
                                td { code { (u.text) } }
                            }
                        }
                    }
                }
                @if c.uncovered.len() > UNCOVERED_SHOWN {
                    p class="note" {
                        "The first " (UNCOVERED_SHOWN) " of " (c.uncovered.len())
                        " are listed; coverage.info has every line."
                    }
                }
            }
        }
    }
}

fn layers(t: &Totals) -> Markup {
    let first = t.first_failure.map(|f| f.layer);
    let ignored = t.layers.iter().any(|l| l.ignored_beats > 0);
    html! {
        section id="layers" {
            h2 { "Layers" }
            table class="layers" {
                thead {
                    tr {
                        th rowspan="2" { "layer" }
                        th rowspan="2" { "elements" }
                        th colspan="3" { "end to end" }
                        th colspan="2" { "on the RTL's own input" }
                        th colspan=(if ignored { 3 } else { 2 }) { "beats (apart from values)" }
                    }
                    tr {
                        th { "mismatching" br; "elements" }
                        th { "images with" br; "mismatch" }
                        th { "max" br; "|diff|" }
                        th { "mismatching" br; "elements" }
                        th { "images with" br; "mismatch" }
                        th { "missing" }
                        th { "extra" }
                        @if ignored { th { "ignored" br; small { "beats = \"first\"" } } }
                    }
                }
                tbody {
                    @for (i, l) in t.layers.iter().enumerate() {
                        @let is_first = first == Some(i);
                        @let beats_bad = l.missing_beats + l.extra_beats > 0;
                        @let class = match (l.mismatching_elements > 0 || beats_bad, is_first) {
                            (_, true) => Some("bad first-bad"),
                            (true, false) => Some("bad"),
                            _ => None,
                        };
                        @let local = (l.local_mismatching_elements > 0).then_some("bad local");
                        tr class=[class] {
                            th { (l.name) @if is_first { " " small { "first bad" } } }
                            td { (l.elements) }
                            td {
                                (l.mismatching_elements)
                                @if l.mismatching_elements > 0 && l.elements > 0 {
                                    @let share = pct(l.mismatching_elements, l.elements);
                                    " " small { (format!("({share:.3} %)")) }
                                }
                            }
                            td { (l.images_with_mismatch) }
                            td { (l.max_abs_diff) }
                            td class=[local] { (l.local_mismatching_elements) }
                            td class=[local] { (l.local_images_with_mismatch) }
                            td class=[(l.missing_beats > 0).then_some("bad beats")] { (l.missing_beats) }
                            td class=[(l.extra_beats > 0).then_some("bad beats")] { (l.extra_beats) }
                            @if ignored { td { (l.ignored_beats) } }
                        }
                    }
                }
            }
        }
    }
}

/// One `rows × cols` map as a figure: `bg(row, col)` is the input under an element.
fn map_figure(
    name: &str,
    count: u64,
    plane: &[u32],
    rows: usize,
    cols: usize,
    bg: impl Fn(usize, usize) -> u8,
) -> Result<Markup> {
    let scale = (110 / rows.max(cols)).max(1);
    Ok(html! {
        figure {
            img src=(heat_png(plane, rows, cols, bg)?) width=(cols * scale) height=(rows * scale)
                alt=(name) title={ (name) ": " (count) };
            figcaption { (name) " " b { (count) } }
        }
    })
}

/// RGB map: grey input where equal, orange → dark red by log |diff|, blue where missing.
fn heat_png(
    plane: &[u32],
    rows: usize,
    cols: usize,
    bg: impl Fn(usize, usize) -> u8,
) -> Result<PreEscaped<String>> {
    let max = plane.iter().filter(|&&v| v != MISSING).max().copied().unwrap_or(0).max(1);
    let mut rgb = Vec::with_capacity(rows * cols * 3);
    for r in 0..rows {
        for c in 0..cols {
            let v = plane[r * cols + c];
            let px = match v {
                0 => {
                    let g = 250 - (bg(r, c) as u32 * 90 / 255) as u8;
                    [g, g, g]
                }
                MISSING => [30, 100, 230],
                d => {
                    let t = if max <= 1 { 1.0 } else { (d as f64).ln() / (max as f64).ln() };
                    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
                    [lerp(253.0, 150.0), lerp(141.0, 0.0), lerp(60.0, 30.0)]
                }
            };
            rgb.extend_from_slice(&px);
        }
    }
    png_uri(rows, cols, png::ColorType::Rgb, &rgb)
}

impl HtmlReport {
    fn gray_png(&self, gray: &[u8]) -> Result<PreEscaped<String>> {
        png_uri(self.picture.rows, self.picture.cols, png::ColorType::Grayscale, gray)
    }
}

/// A PNG `data:` URI. Pre-escaped: base64 and the fixed prefix hold no character HTML
/// would need escaped.
fn png_uri(
    rows: usize,
    cols: usize,
    color: png::ColorType,
    data: &[u8],
) -> Result<PreEscaped<String>> {
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, cols as u32, rows as u32);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().context("PNG header")?;
        w.write_image_data(data).context("PNG data")?;
        w.finish().context("PNG end")?;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&buf);
    Ok(PreEscaped(format!("data:image/png;base64,{b64}")))
}

fn col_name(c: usize) -> String {
    match c {
        NONE_COL => "none".into(),
        OTHER_COL => "other".into(),
        c => c.to_string(),
    }
}

fn pct(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        100.0 * n as f64 / of as f64
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "–".into(), |v| v.to_string())
}

const CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:14px/1.4 system-ui,-apple-system,'Segoe UI','Liberation Sans',Arial,sans-serif;color:#1d2230;background:#f4f5f7}\
h1{font-size:20px;margin:0}h2{font-size:17px;margin:0 0 8px}h3{font-size:14px;margin:0 0 4px}\
section{background:#fff;margin:12px 20px;padding:12px 16px;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.12)}\
.row{display:flex;flex-wrap:wrap;align-items:flex-start;margin-right:20px}.row>section{flex:0 1 auto;margin-right:0}\
#confusion{max-width:660px}table.layers thead th:first-child{text-align:left}\
.banner{display:flex;align-items:center;gap:20px;padding:14px 24px;color:#fff}\
.banner p{margin:2px 0 0;font-size:15px}.banner.pass{background:#2e7d32}.banner.fail{background:#c62828}\
.verdict{font-size:34px;font-weight:800;letter-spacing:1px}\
nav{padding:6px 20px 0}nav a{margin-right:16px;color:#1f4fa8;text-decoration:none}\
.tiles{display:flex;flex-wrap:wrap;gap:8px}\
.tile{border:1px solid #dde0e6;border-radius:5px;padding:6px 10px;min-width:120px}\
.tile .name{font-size:12px;color:#5a6170}.tile .value{font-size:22px;font-weight:700}\
.tile .note{font-size:11px;color:#5a6170;min-height:14px}.tile.bad{border-color:#e57373;background:#fff3f3}\
.tile.bad .value{color:#c62828}\
.first{margin:10px 0 4px}\
pre.repro{margin:0;padding:8px 10px;background:#1d2230;color:#e8eaf0;border-radius:4px;white-space:pre-wrap;word-break:break-all}\
.note{color:#5a6170;font-size:12px;margin:4px 0}.more{font-weight:600}\
table{border-collapse:collapse}\
table.layers th,table.layers td{border:1px solid #dde0e6;padding:4px 10px;text-align:right}\
table.layers th{background:#f0f1f4}table.layers tbody th{text-align:left}\
table.layers tr.bad td{background:#fff3f3;color:#b71c1c}table.layers tr.first-bad th{color:#b71c1c}\
table.layers td.beats{background:#fff4e0;color:#8a4b00;font-weight:700}\
table.coverage th,table.coverage td,table.uncovered th,table.uncovered td{border:1px solid #dde0e6;padding:4px 10px}\
table.coverage td{text-align:right}table.coverage thead th,table.uncovered thead th{background:#f0f1f4}\
table.coverage tbody th{text-align:left}table.coverage td.bad{background:#fff8e6;color:#8a4b00}\
table.coverage tr.total th,table.coverage tr.total td{font-weight:700}\
table.uncovered td{text-align:left;font-size:12px}\
table.cm td,table.cm th{width:36px;height:26px;text-align:center;border:1px solid #dde0e6;font-variant-numeric:tabular-nums}\
table.cm thead th,table.cm tbody th{background:#f0f1f4}table.cm th.corner{width:auto;font-size:11px;padding:0 6px;white-space:nowrap}\
table.cm td.diag{background:#c8e6c9;font-weight:600}table.cm td.zero{background:#fff}\
table.cm td.off{color:#000;font-weight:700}table.cm td.div{outline:3px solid #b71c1c;outline-offset:-3px}\
table.cm .sum{width:auto;padding:0 8px;background:#fafafa;white-space:nowrap}\
.gallery{display:flex;flex-wrap:wrap;gap:6px}\
.thumb{display:flex;flex-direction:column;align-items:center;width:124px;white-space:nowrap;padding:4px;border:3px solid;border-radius:5px;font-size:11px;line-height:1.3;color:inherit;text-decoration:none;background:#fff}\
.thumb img,.heat img{image-rendering:pixelated;image-rendering:crisp-edges;display:block}\
.thumb img{margin-bottom:3px}.thumb .idx{font-weight:700;font-size:12px}.thumb .st{font-weight:700;font-size:10.5px}\
.k-mismatch{border-color:#d32f2f}.k-mismatch .st{color:#d32f2f}\
.k-timeout{border-color:#7b1fa2}.k-timeout .st{color:#7b1fa2}\
.k-mis{border-color:#f9a825}.k-mis .st{color:#9a6700}\
.key{border:2px solid currentColor;border-radius:3px;padding:0 4px;font-weight:700}.key.k-mismatch{color:#d32f2f}.key.k-timeout{color:#7b1fa2}\
.swatch{display:inline-block;width:10px;height:10px}.swatch.miss{background:#1e64e6}\
.heat{border-left:4px solid #dde0e6;padding:6px 10px;margin:10px 0}\
.heat.k-mismatch{border-left-color:#d32f2f}.heat.k-timeout{border-left-color:#7b1fa2}\
.heatbody{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-start}\
.maps{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}.listed .note{margin-top:2px}\
figure{margin:0}figcaption{font-size:11px;text-align:center;color:#3a4150}\
img.digit{border:1px solid #888}.maps img{border:1px solid #c5c9d2}\
table.rows{font:11px/1.25 ui-monospace,'DejaVu Sans Mono','Liberation Mono',monospace}\
table.rows th,table.rows td{border:1px solid #dde0e6;padding:0 6px;text-align:right}\
table.rows th{background:#f0f1f4}\
footer{margin:12px 20px 24px;color:#5a6170;font-size:12px}\
";

impl crate::sink::Sink for HtmlReport {
    fn push(&mut self, r: &ImageResult, image: &Image, set: &crate::sink::SetInfo) -> Result<()> {
        HtmlReport::push(self, r, image, set.set);
        Ok(())
    }

    fn finish(&mut self, end: &crate::sink::RunEnd) -> Result<()> {
        let repro = end.totals.first_failure.map(|f| (end.repro)(f.set, f.image));
        self.write(&self.path, end.totals, end.title, end.secs, repro.as_deref(), end.coverage)
    }
}
