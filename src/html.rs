//! `reports/index.html`: one self-contained page per verify run, for a person looking for
//! where the RTL went wrong and for CI dashboards linking to it.
//!
//! The page needs no server and no network: styles are inline, images are PNG `data:` URIs.
//! [`HtmlReport::push`] sees every image but keeps only what the page shows (confusion
//! counts, the first [`MAX_THUMBS`] failing and misclassified images, the mismatch maps of
//! the first [`MAX_HEATMAPS`] failing images, and where conv1/pool1 mismatches accumulate),
//! so a 10,000-image run costs a few hundred kilobytes of memory.

use crate::compare::Mismatch;
use crate::driver::ImageResult;
use crate::mnist::{Image, SIDE};
use crate::network::{Network, Shape, Tap};
use crate::report::Totals;
use anyhow::{Context, Result};
use base64::Engine as _;
use std::fmt::Write as _;
use std::path::Path;

/// Thumbnails per gallery (failing, misclassified); the rest are counted.
pub const MAX_THUMBS: usize = 60;
/// Failing images that get conv1/pool1 mismatch maps.
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
    image: Box<Image>,
}

impl Shown {
    fn new(r: &ImageResult, image: &Image, set: Option<u64>, kind: Kind) -> Shown {
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
            image: Box::new(*image),
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
}

impl HtmlReport {
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
    /// A page for `net`'s `taps`, written to `path` when the run finishes.
    pub fn new(net: &Network, taps: &[Tap], path: std::path::PathBuf) -> HtmlReport {
        let _ = net;
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
                self.failing.push(Shown::new(r, image, set, kind));
            }
        } else if r.label.is_some_and(|l| r.rtl_class != Some(l)) {
            self.misclassified_total += 1;
            if self.misclassified.len() < MAX_THUMBS {
                self.misclassified.push(Shown::new(r, image, set, Kind::Misclassified));
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
    ) -> Result<()> {
        let page = self.render(totals, title, secs, repro)?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create report directory", dir.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(".{}.tmp", name.as_deref().unwrap_or("index.html")));
        let written = std::fs::write(&tmp, page.as_bytes())
            .with_context(|| format!("{}: cannot write", tmp.display()))
            .and_then(|()| {
                std::fs::rename(&tmp, path)
                    .with_context(|| format!("{}: cannot write report", path.display()))
            });
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    fn render(&self, t: &Totals, title: &str, secs: f64, repro: Option<&str>) -> Result<String> {
        let pass = t.images > 0 && t.clean == t.images;
        let verdict = if pass { "PASS" } else { "FAIL" };
        let mut h = String::with_capacity(256 * 1024);
        write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"cnn-cosim-status\" content=\"{verdict}\">\
             <title>{verdict} · {}</title><style>{CSS}</style></head>\n\
             <body data-status=\"{}\" data-images=\"{}\" data-bit-exact=\"{}\" data-timeouts=\"{}\">\n",
            esc(title),
            verdict.to_lowercase(),
            t.images,
            t.clean,
            t.timeouts
        )?;
        // Banner.
        let headline = if pass {
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
        writeln!(
            h,
            "<header id=\"status\" class=\"banner {}\"><span class=\"verdict\">{verdict}</span>\
             <div><h1>{}</h1><p>{}</p></div></header>",
            if pass { "pass" } else { "fail" },
            esc(title),
            esc(&headline)
        )?;
        h.push_str(
            "<nav><a href=\"#summary\">summary</a><a href=\"#layers\">layers</a>\
             <a href=\"#confusion\">confusion</a><a href=\"#failing\">not bit-exact</a>\
             <a href=\"#misclassified\">misclassified</a><a href=\"#heatmaps\">mismatch maps</a></nav>\n",
        );
        self.summary(&mut h, t, secs, repro)?;
        h.push_str("<div class=\"row\">");
        layers(&mut h, t)?;
        self.confusion(&mut h)?;
        h.push_str("</div>\n");
        self.gallery(
            &mut h,
            "failing",
            "Not bit-exact (RTL ≠ reference)",
            &self.failing,
            self.failing_total,
            self.heats.len(),
            "every image is bit-exact at every layer.",
        )?;
        if self.labelled > 0 {
            self.gallery(
                &mut h,
                "misclassified",
                "Misclassified but bit-exact (RTL = reference ≠ label)",
                &self.misclassified,
                self.misclassified_total,
                0,
                "every bit-exact image is classified correctly.",
            )?;
        }
        self.heatmaps(&mut h)?;
        h.push_str(
            "<footer>Written by cnn-cosim verify. Details for every image: summary.csv, \
             mismatches.csv and layers.csv next to this page.</footer>\n</body></html>\n",
        );
        Ok(h)
    }

    fn summary(&self, h: &mut String, t: &Totals, secs: f64, repro: Option<&str>) -> Result<()> {
        h.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"tiles\">");
        let mut tile = |name: &str, value: String, note: String, bad: bool| {
            let _ = write!(
                h,
                "<div class=\"tile{}\"><div class=\"name\">{}</div><div class=\"value\">{}</div>\
                 <div class=\"note\">{}</div></div>",
                if bad { " bad" } else { "" },
                esc(name),
                esc(&value),
                esc(&note)
            );
        };
        tile("images", t.images.to_string(), String::new(), false);
        tile(
            "bit-exact",
            t.clean.to_string(),
            format!("{:.2} % of images", pct(t.clean, t.images)),
            t.clean != t.images,
        );
        tile(
            "not bit-exact",
            (t.images - t.clean.min(t.images)).to_string(),
            String::new(),
            t.clean != t.images,
        );
        tile("timeouts", t.timeouts.to_string(), String::new(), t.timeouts > 0);
        if t.labelled > 0 {
            let acc = |c: u64| format!("{:.2} %", pct(c, t.labelled));
            let of = |c: u64| format!("{c}/{} labelled", t.labelled);
            tile("RTL accuracy", acc(t.rtl_correct), of(t.rtl_correct), false);
            tile("reference accuracy", acc(t.ref_correct), of(t.ref_correct), false);
            if t.has_float {
                tile("float accuracy", acc(t.float_correct), of(t.float_correct), false);
            } else {
                tile("float accuracy", "n/a".into(), "no model.safetensors".into(), false);
            }
        }
        tile("argmax ties", t.ties.to_string(), "equal top reference logits".into(), false);
        if t.cycles_n > 0 {
            tile(
                "cycles / image",
                format!("{:.1}", t.cycles_sum as f64 / t.cycles_n as f64),
                "first pixel → class_valid".into(),
                false,
            );
        }
        if let (Some(lo), Some(hi)) = (t.latency_min, t.latency_max) {
            let v = if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") };
            tile("latency (cycles)", v, "last pixel → class_valid".into(), false);
        }
        let rate = if secs > 0.0 {
            format!("{:.0} images/s", t.images as f64 / secs)
        } else {
            String::new()
        };
        tile("wall time", format!("{secs:.2} s"), rate, false);
        h.push_str("</div>");
        if let Some(f) = t.first_failure {
            let set = f.set.map(|s| format!("weight set {s}, ")).unwrap_or_default();
            write!(
                h,
                "<p class=\"first\">First failure: <b>{set}image {}</b>, first bad layer <b>{}</b>.</p>",
                f.image,
                t.layer_name(f.layer)
            )?;
        } else if self.timeouts > 0 {
            h.push_str("<p class=\"first\">No layer mismatched, but images timed out.</p>");
        }
        if let Some(cmd) = repro {
            write!(
                h,
                "<p class=\"first\">Reproduce it alone:</p><pre class=\"repro\"><code>{}</code></pre>",
                esc(cmd)
            )?;
        }
        if t.mismatch_rows_dropped > 0 {
            write!(
                h,
                "<p class=\"note\">mismatches.csv lists the first {} mismatching elements; {} more \
                 were counted but not listed (--max-rows).</p>",
                t.mismatch_rows, t.mismatch_rows_dropped
            )?;
        }
        h.push_str("</section>\n");
        Ok(())
    }

    fn confusion(&self, h: &mut String) -> Result<()> {
        if self.labelled == 0 {
            h.push_str(
                "<section id=\"confusion\"><h2>Confusion matrix</h2>\
                 <p class=\"note\">No labels (random stimulus): no confusion matrix.</p></section>",
            );
            return Ok(());
        }
        let other = (0..10).any(|l| self.conf[l][OTHER_COL] > 0);
        let cols: Vec<usize> = (0..=NONE_COL).chain(other.then_some(OTHER_COL)).collect::<Vec<_>>();
        let max_off = (0..10)
            .flat_map(|l| cols.iter().filter(move |&&c| c != l).map(move |&c| (l, c)))
            .map(|(l, c)| self.conf[l][c])
            .max()
            .unwrap_or(0);
        write!(
            h,
            "<section id=\"confusion\"><h2>Confusion matrix</h2>\
             <p class=\"note\">{} labelled images; rows: label, columns: RTL class. \
             A red outline marks cells holding images where the RTL class differs from the \
             reference's; hover a cell for its image numbers.</p>\
             <table class=\"cm\"><thead><tr><th class=\"corner\">label \\ RTL</th>",
            self.labelled
        )?;
        for &c in &cols {
            h.push_str("<th>");
            h.push_str(&col_name(c));
            h.push_str("</th>");
        }
        h.push_str(
            "<th class=\"sum\">images</th><th class=\"sum\">RTL correct</th></tr></thead><tbody>",
        );
        for l in 0..10 {
            let row_total: u64 = self.conf[l].iter().sum();
            write!(h, "<tr><th>{l}</th>")?;
            for &c in &cols {
                let n = self.conf[l][c];
                let div = self.conf_diverged[l][c];
                let mut class = String::from(if c == l {
                    "diag"
                } else if n > 0 {
                    "off"
                } else {
                    "zero"
                });
                if div > 0 {
                    class.push_str(" div");
                }
                let style = if c != l && n > 0 {
                    // 0.25..1.0 opacity of the off-diagonal red, by count.
                    let a = 0.25 + 0.75 * (n as f64).ln_1p() / (max_off as f64).ln_1p();
                    format!(" style=\"background:rgba(229,57,53,{a:.2})\"")
                } else {
                    String::new()
                };
                let mut tip = format!("label {l}, RTL {}: {n} images", col_name(c));
                if div > 0 {
                    let _ = write!(tip, "; {div} with RTL ≠ reference");
                }
                let samples = &self.conf_samples[l * COLS + c];
                if !samples.is_empty() {
                    let _ = write!(
                        tip,
                        "; images {}{}",
                        samples.join(", "),
                        if (samples.len() as u64) < n { ", …" } else { "" }
                    );
                }
                write!(
                    h,
                    "<td id=\"cm-{l}-{}\" class=\"{class}\"{style} title=\"{}\">{}</td>",
                    col_name(c),
                    esc(&tip),
                    if n > 0 { n.to_string() } else { String::new() }
                )?;
            }
            write!(
                h,
                "<td class=\"sum\">{row_total}</td><td class=\"sum\">{}</td></tr>",
                if row_total > 0 {
                    format!("{:.1} %", pct(self.conf[l][l], row_total))
                } else {
                    "–".into()
                }
            )?;
        }
        h.push_str("</tbody></table></section>");
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn gallery(
        &self,
        h: &mut String,
        id: &str,
        heading: &str,
        shown: &[Shown],
        total: u64,
        maps: usize,
        empty: &str,
    ) -> Result<()> {
        write!(
            h,
            "<section id=\"{id}\"><h2>{} <span class=\"count\">{total}</span></h2>",
            esc(heading)
        )?;
        if total == 0 {
            writeln!(h, "<p class=\"note\">None: {}</p></section>", esc(empty))?;
            return Ok(());
        }
        if id == "failing" {
            h.push_str(
                "<p class=\"note\"><span class=\"key k-mismatch\">mismatch</span> a layer differs \
                 from the reference; <span class=\"key k-timeout\">timeout</span> no class came in \
                 time. The first failing images get mismatch maps below.</p>",
            );
        }
        h.push_str("<div class=\"gallery\">");
        for (i, s) in shown.iter().enumerate() {
            let tip = format!(
                "{}: mismatching elements {}; max |diff| {}",
                s.name(),
                self.counts_text(&s.counts, true),
                self.counts_text(&s.max_abs_diff, false)
            );
            let link =
                if i < maps { format!(" href=\"#heat-{}\"", s.key()) } else { String::new() };
            write!(
                h,
                "<a class=\"thumb {}\" id=\"thumb-{}\"{link} title=\"{}\"><img src=\"{}\" width=\"56\" height=\"56\" alt=\"{}\">\
                 <span class=\"idx\">{}</span><span>label {} · ref {}</span><span>RTL <b>{}</b></span>\
                 <span class=\"st\">{}</span></a>",
                s.kind.class(),
                s.key(),
                esc(&tip),
                gray_png(&s.image[..], SIDE, SIDE)?,
                esc(&s.name()),
                match s.set {
                    Some(set) => format!("#{} <small>set {set}</small>", s.index),
                    None => format!("#{}", s.index),
                },
                opt(s.label),
                s.ref_class,
                opt(s.rtl_class),
                match (s.kind, s.first_bad) {
                    (Kind::Mismatch, Some(l)) => format!("mismatch @{}", self.taps[l].name),
                    (k, _) => k.text().to_string(),
                }
            )?;
        }
        h.push_str("</div>");
        if total > shown.len() as u64 {
            write!(
                h,
                "<p class=\"more\">… and {} more (summary.csv lists every image).</p>",
                total - shown.len() as u64
            )?;
        }
        h.push_str("</section>\n");
        Ok(())
    }

    fn heatmaps(&self, h: &mut String) -> Result<()> {
        if self.heats.is_empty() || self.map_taps.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> =
            self.map_taps.iter().map(|&(t, ..)| self.taps[t].name.as_str()).collect();
        write!(
            h,
            "<section id=\"heatmaps\"><h2>Where {} mismatch</h2>\
             <p class=\"note\">Each map is one channel, row ↓ column →. Grey: the input \
             digit under the element (no mismatch); orange → dark red: |RTL − reference| \
             (log scale, per map); <span class=\"swatch miss\"></span> blue: a value only one \
             side produced (missing or extra tap beat).</p>",
            esc(&names.join(", "))
        )?;
        // Over every failing image.
        write!(
            h,
            "<div class=\"heat\"><h3>All {} failing images: mismatching images per element</h3>\
             <div class=\"maps\">",
            self.failing_total
        )?;
        for (&(t, c, mh, mw), data) in self.map_taps.iter().zip(&self.agg) {
            for ch in 0..c {
                let plane = &data[ch * mh * mw..(ch + 1) * mh * mw];
                let n: u64 = plane.iter().map(|&v| v as u64).sum();
                let name = format!("{} ch{ch}", self.taps[t].name);
                map_figure(h, &name, n, plane, mh, mw, |_, _| 0)?;
            }
        }
        h.push_str("</div>");
        if self.agg_unkept > 0 {
            write!(
                h,
                "<p class=\"note\">{} mismatches were counted but not kept as rows \
                 (--max-rows per image) and are not in these maps.</p>",
                self.agg_unkept
            )?;
        }
        h.push_str("</div>");
        for (s, heat) in self.failing.iter().zip(&self.heats) {
            write!(
                h,
                "<div class=\"heat {}\" id=\"heat-{}\"><h3>{} · label {} · ref {} · RTL {} · {}{}</h3>\
                 <p class=\"note\">mismatching elements: {}; max |diff|: {}</p>\
                 <div class=\"heatbody\"><div class=\"maps\">",
                s.kind.class(),
                s.key(),
                esc(&s.name()),
                opt(s.label),
                s.ref_class,
                opt(s.rtl_class),
                s.kind.text(),
                s.first_bad
                    .map(|l| format!(", first bad layer {}", self.taps[l].name))
                    .unwrap_or_default(),
                esc(&self.counts_text(&s.counts, true)),
                esc(&self.counts_text(&s.max_abs_diff, false)),
            )?;
            write!(
                h,
                "<figure><img class=\"digit\" src=\"{}\" width=\"112\" height=\"112\" alt=\"input\">\
                 <figcaption>input</figcaption></figure>",
                gray_png(&s.image[..], SIDE, SIDE)?
            )?;
            // The input pixel under the centre of a map element.
            let px = |r: usize, c: usize, mh: usize, mw: usize| {
                s.image[((2 * r + 1) * SIDE / (2 * mh)).min(SIDE - 1) * SIDE
                    + ((2 * c + 1) * SIDE / (2 * mw)).min(SIDE - 1)]
            };
            for (&(t, c, mh, mw), data) in self.map_taps.iter().zip(&heat.maps) {
                for ch in 0..c {
                    let plane = &data[ch * mh * mw..(ch + 1) * mh * mw];
                    let count = plane.iter().filter(|&&v| v != 0).count() as u64;
                    let name = format!("{} ch{ch}", self.taps[t].name);
                    map_figure(h, &name, count, plane, mh, mw, |r, c| px(r, c, mh, mw))?;
                }
            }
            h.push_str("</div><div class=\"listed\">");
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
            if !notes.is_empty() {
                write!(h, "<p class=\"note\">Note: {}.</p>", esc(&notes.join("; ")))?;
            }
            if !heat.listed.is_empty() {
                h.push_str(
                    "<table class=\"rows\"><thead><tr><th>layer</th><th>ch</th><th>row</th>\
                     <th>col</th><th>expected</th><th>actual</th><th>diff</th></tr></thead><tbody>",
                );
                for m in &heat.listed {
                    let diff = m.expected.zip(m.actual).map(|(e, a)| a - e);
                    write!(
                        h,
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&self.taps[m.layer].name),
                        m.channel,
                        m.row,
                        m.col,
                        opt(m.expected),
                        opt(m.actual),
                        opt(diff)
                    )?;
                }
                h.push_str("</tbody></table>");
                if heat.rows_kept > heat.listed.len() {
                    write!(
                        h,
                        "<p class=\"note\">first {} of {} kept rows; mismatches.csv has the rest.</p>",
                        heat.listed.len(),
                        heat.rows_kept
                    )?;
                }
            }
            h.push_str("</div></div></div>\n");
        }
        if self.failing_total > self.heats.len() as u64 {
            write!(
                h,
                "<p class=\"more\">Maps for the first {} failing images only; {} more in \
                 mismatches.csv.</p>",
                self.heats.len(),
                self.failing_total - self.heats.len() as u64
            )?;
        }
        h.push_str("</section>\n");
        Ok(())
    }
}

fn layers(h: &mut String, t: &Totals) -> Result<()> {
    h.push_str(
        "<section id=\"layers\"><h2>Layers</h2><table class=\"layers\"><thead><tr><th rowspan=\"2\">layer</th>\
         <th rowspan=\"2\">elements</th><th colspan=\"3\">end to end</th>\
         <th colspan=\"2\">on the RTL's own input</th></tr><tr>\
         <th>mismatching<br>elements</th><th>images with<br>mismatch</th>\
         <th>max<br>|diff|</th><th>mismatching<br>elements</th><th>images with<br>mismatch</th>\
         </tr></thead><tbody>",
    );
    let first = t.first_failure.map(|f| f.layer);
    for (i, l) in t.layers.iter().enumerate() {
        let class = match (l.mismatching_elements > 0, first == Some(i)) {
            (_, true) => " class=\"bad first-bad\"",
            (true, false) => " class=\"bad\"",
            _ => "",
        };
        let local = if l.local_mismatching_elements > 0 { " class=\"bad local\"" } else { "" };
        write!(
            h,
            "<tr{class}><th>{}{}</th><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td>\
             <td{local}>{}</td><td{local}>{}</td></tr>",
            esc(&l.name),
            if first == Some(i) { " <small>first bad</small>" } else { "" },
            l.elements,
            l.mismatching_elements,
            if l.mismatching_elements > 0 && l.elements > 0 {
                format!(" <small>({:.3} %)</small>", pct(l.mismatching_elements, l.elements))
            } else {
                String::new()
            },
            l.images_with_mismatch,
            l.max_abs_diff,
            l.local_mismatching_elements,
            l.local_images_with_mismatch
        )?;
    }
    h.push_str("</tbody></table></section>");
    Ok(())
}

/// One `rows × cols` map as a figure: `bg(row, col)` is the input under an element.
fn map_figure(
    h: &mut String,
    name: &str,
    count: u64,
    plane: &[u32],
    rows: usize,
    cols: usize,
    bg: impl Fn(usize, usize) -> u8,
) -> Result<()> {
    let scale = (110 / rows.max(cols)).max(1);
    write!(
        h,
        "<figure><img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{name}\" title=\"{name}: {count}\">\
         <figcaption>{name} <b>{count}</b></figcaption></figure>",
        heat_png(plane, rows, cols, bg)?,
        cols * scale,
        rows * scale,
    )?;
    Ok(())
}

/// RGB map: grey input where equal, orange → dark red by log |diff|, blue where missing.
fn heat_png(
    plane: &[u32],
    rows: usize,
    cols: usize,
    bg: impl Fn(usize, usize) -> u8,
) -> Result<String> {
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

fn gray_png(pixels: &[u8], rows: usize, cols: usize) -> Result<String> {
    png_uri(rows, cols, png::ColorType::Grayscale, pixels)
}

fn png_uri(rows: usize, cols: usize, color: png::ColorType, data: &[u8]) -> Result<String> {
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, cols as u32, rows as u32);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().context("PNG header")?;
        w.write_image_data(data).context("PNG data")?;
        w.finish().context("PNG end")?;
    }
    Ok(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&buf)))
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

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
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
        self.write(&self.path, end.totals, end.title, end.secs, repro.as_deref())
    }
}
