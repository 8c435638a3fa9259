//! `index.html`: built from synthetic results, checked as text, then rendered in headless
//! Chromium and checked as pixels.

use cnn_cosim::compare::{Comparison, Mismatch};
use cnn_cosim::html::{HtmlReport, MAX_HEATMAPS, MAX_THUMBS};
use cnn_cosim::mnist::{Image, PIXELS, SIDE};
use cnn_cosim::network::Network;
use cnn_cosim::report::{Reports, Totals};
use cnn_cosim::sim::driver::ImageResult;

/// The seed network's taps, by index.
#[allow(non_snake_case, non_upper_case_globals)]
mod Layer {
    pub const Conv1: usize = 0;
    pub const Pool1: usize = 1;
    pub const Fc1: usize = 2;
    pub const Class: usize = 3;
}
use std::collections::HashSet;
use std::f64::consts::PI;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---- digits that look like MNIST: thick anti-aliased strokes, white on black ------------

type Stroke = Vec<(f64, f64)>;

fn arc(cx: f64, cy: f64, rx: f64, ry: f64, from_deg: f64, to_deg: f64) -> Stroke {
    let n = 24;
    (0..=n)
        .map(|i| {
            let a = (from_deg + (to_deg - from_deg) * i as f64 / n as f64) * PI / 180.0;
            (cx + rx * a.cos(), cy + ry * a.sin())
        })
        .collect()
}

/// Strokes of `d` in 28×28 pixel coordinates (x right, y down; angles clockwise from +x).
fn strokes(d: u8) -> Vec<Stroke> {
    match d {
        0 => vec![arc(14.0, 14.0, 6.0, 9.0, 0.0, 360.0)],
        1 => vec![vec![(11.0, 8.0), (15.0, 5.0), (15.0, 23.0)]],
        2 => vec![
            arc(14.0, 10.0, 5.5, 5.0, 180.0, 390.0),
            vec![(18.8, 12.5), (8.5, 23.0), (20.0, 23.0)],
        ],
        3 => vec![arc(13.5, 9.5, 5.0, 4.5, 200.0, 450.0), arc(13.5, 18.5, 6.0, 4.5, 270.0, 510.0)],
        4 => vec![vec![(17.0, 5.0), (8.0, 17.0), (21.0, 17.0)], vec![(17.0, 9.0), (17.0, 23.0)]],
        5 => vec![
            vec![(19.0, 5.0), (10.0, 5.0), (9.5, 13.0)],
            arc(13.5, 17.5, 6.0, 5.5, 220.0, 500.0),
        ],
        6 => vec![vec![(17.0, 5.0), (10.0, 14.0)], arc(14.0, 18.0, 5.5, 5.0, 0.0, 360.0)],
        7 => vec![vec![(8.0, 6.0), (20.0, 6.0), (12.0, 23.0)]],
        8 => vec![arc(14.0, 9.5, 4.5, 4.5, 0.0, 360.0), arc(14.0, 18.5, 5.5, 4.8, 0.0, 360.0)],
        _ => vec![arc(14.0, 10.0, 5.0, 5.0, 0.0, 360.0), vec![(19.0, 10.0), (17.0, 23.0)]],
    }
}

fn seg_dist(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { ((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2 };
    let t = t.clamp(0.0, 1.0);
    let (x, y) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    (x * x + y * y).sqrt()
}

/// Digit `d`, shifted by `(sx, sy)` pixels so no two images are identical.
fn digit(d: u8, sx: f64, sy: f64) -> Image {
    let s = strokes(d);
    let mut img = [0u8; PIXELS];
    for r in 0..SIDE {
        for c in 0..SIDE {
            let p = (c as f64 + 0.5 - sx, r as f64 + 0.5 - sy);
            let dist = s
                .iter()
                .flat_map(|st| st.windows(2).map(move |w| seg_dist(p, w[0], w[1])))
                .fold(f64::MAX, f64::min);
            let v = ((2.3 - dist) / 1.2).clamp(0.0, 1.0);
            img[r * SIDE + c] = (v * 255.0).round() as u8;
        }
    }
    img.iter().map(|&p| p as i32).collect()
}

// ---- synthetic results --------------------------------------------------------------------

fn mm(
    layer: usize,
    channel: usize,
    row: usize,
    col: usize,
    e: Option<i64>,
    a: Option<i64>,
) -> Mismatch {
    Mismatch { layer, channel, row, col, expected: e, actual: a }
}

/// A result on the seed network (4 taps, the class last).
fn result(
    index: usize,
    label: Option<u8>,
    ref_class: u8,
    rtl_class: Option<u8>,
    rows: Vec<Mismatch>,
    timed_out: bool,
) -> ImageResult {
    result_on(Layer::Class + 1, index, label, ref_class, rtl_class, rows, timed_out)
}

/// A result on a network of `taps` taps, the class last. Every mismatch counts end to end
/// and on the RTL's own input alike.
fn result_on(
    taps: usize,
    index: usize,
    label: Option<u8>,
    ref_class: u8,
    rtl_class: Option<u8>,
    mut rows: Vec<Mismatch>,
    timed_out: bool,
) -> ImageResult {
    if rtl_class != Some(ref_class) {
        rows.push(mm(taps - 1, 0, 0, 0, Some(ref_class as i64), rtl_class.map(i64::from)));
    }
    let mut cmp = Comparison {
        counts: vec![0; taps],
        max_abs_diff: vec![0; taps],
        local_counts: vec![0; taps],
        local_max_abs_diff: vec![0; taps],
        missing_beats: vec![0; taps],
        extra_beats: vec![0; taps],
        ignored_beats: vec![0; taps],
        rows: Vec::new(),
        protocol: Vec::new(),
        notes: Vec::new(),
    };
    for m in &rows {
        let l = m.layer;
        cmp.counts[l] += 1;
        if let (Some(e), Some(a)) = (m.expected, m.actual) {
            cmp.max_abs_diff[l] = cmp.max_abs_diff[l].max(e.abs_diff(a));
        }
    }
    cmp.local_counts = cmp.counts.clone();
    cmp.local_max_abs_diff = cmp.max_abs_diff.clone();
    cmp.rows = rows;
    ImageResult {
        index,
        label,
        ref_class,
        rtl_class,
        float_class: Some(ref_class),
        cycles: (!timed_out).then_some(790 + (index as u64 % 3)),
        latency: (!timed_out).then_some(6 + (index as u64 % 3)),
        interval: None,
        load_cycles: None,
        weight_cycles: None,
        overflowed: Vec::new(),
        ranges: Vec::new(),
        timed_out,
        stopped: false,
        tie: false,
        cmp,
        capture: None,
    }
}

/// 40 MNIST-like images, label `i % 10`:
/// - 3, 17, 28 misclassified but bit-exact (3 → 5, 7 → 1, 8 → 3);
/// - 5 fails: conv1 ch1 column 21 and pool1 ch1 column 10 off, fc1 and class follow (RTL 6);
/// - 12 fails inside conv1/pool1 ch0 but still classifies right;
/// - 30 times out: pool1's last rows, fc1 and the class never come.
fn scenario() -> Vec<(ImageResult, Image)> {
    (0..40)
        .map(|i| {
            let label = (i % 10) as u8;
            let img = digit(label, (i % 3) as f64 - 1.0, (i % 4) as f64 * 0.5 - 0.75);
            let r = match i {
                3 => result(i, Some(label), 5, Some(5), vec![], false),
                17 => result(i, Some(label), 1, Some(1), vec![], false),
                28 => result(i, Some(label), 3, Some(3), vec![], false),
                5 => {
                    let mut rows: Vec<Mismatch> = (0..22)
                        .map(|r| mm(Layer::Conv1, 1, r, 21, Some(100), Some(100 + r as i64 + 1)))
                        .collect();
                    rows.extend((0..11).map(|r| mm(Layer::Pool1, 1, r, 10, Some(50), Some(52))));
                    rows.push(mm(Layer::Fc1, 5, 0, 0, Some(900), Some(860)));
                    rows.push(mm(Layer::Fc1, 6, 0, 0, Some(700), Some(910)));
                    result(i, Some(label), 5, Some(6), rows, false)
                }
                12 => {
                    let mut rows = Vec::new();
                    for r in 8..11 {
                        for c in 8..11 {
                            rows.push(mm(Layer::Conv1, 0, r, c, Some(-3), Some(-4)));
                        }
                    }
                    rows.push(mm(Layer::Pool1, 0, 4, 4, Some(7), Some(6)));
                    result(i, Some(label), 2, Some(2), rows, false)
                }
                30 => {
                    let mut rows = Vec::new();
                    for ch in 0..3 {
                        for r in 9..11 {
                            for c in 0..11 {
                                rows.push(mm(Layer::Pool1, ch, r, c, Some(1), None));
                            }
                        }
                    }
                    rows.extend((0..10).map(|k| mm(Layer::Fc1, k, 0, 0, Some(10), None)));
                    result(i, Some(label), 0, None, rows, true)
                }
                _ => result(i, Some(label), label, Some(label), vec![], false),
            };
            (r, img)
        })
        .collect()
}

/// Feeds `results` through the CSV reports (for the real totals) and an [`HtmlReport`],
/// writes `index.html` into `dir` and returns its path, text and the totals.
fn build(
    dir: &Path,
    results: &[(ImageResult, Image)],
    set: Option<u64>,
    repro: Option<&str>,
) -> (PathBuf, String, Totals) {
    build_on(&Network::seed(), dir, results, set, repro)
}

/// [`build`] for the network `net`.
fn build_on(
    net: &Network,
    dir: &Path,
    results: &[(ImageResult, Image)],
    set: Option<u64>,
    repro: Option<&str>,
) -> (PathBuf, String, Totals) {
    let csv_dir = dir.join("csv");
    let taps = net.taps();
    let csv_set = cnn_cosim::report_set::ReportSet::begin(&csv_dir).unwrap();
    let mut reports = Reports::create(&csv_set, &taps, 1000, true, false).unwrap();
    let path = dir.join("reports").join("index.html");
    let mut html = HtmlReport::new(&taps, path.clone());
    for (r, img) in results {
        reports.push(r, set.map(|s| (s, 7))).unwrap();
        html.push(r, img, set);
    }
    let totals = reports.finish().unwrap();
    csv_set.publish().unwrap();
    html.write(&path, &totals, "cnn-cosim verify: <synthetic> images 0..39", 1.25, repro, None)
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text, totals)
}

const REPRO: &str = "cnn-cosim verify --image 5 --weights weights/ --between back-to-back";

/// The text of the confusion cell `label` × `rtl` ("none" for no class).
fn cm(html: &str, label: u8, rtl: &str) -> String {
    let key = format!("id=\"cm-{label}-{rtl}\"");
    let at = html.find(&key).unwrap_or_else(|| panic!("no confusion cell {key}"));
    let rest = &html[at..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</td>").unwrap();
    rest[open..close].to_string()
}

/// The HTML between `id="{id}"` and the end of its section.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!("<section id=\"{id}\"")).unwrap_or_else(|| panic!("no {id}"));
    let end = html[at..].find("</section>").unwrap();
    &html[at..at + end]
}

#[test]
fn page_holds_summary_layers_confusion_thumbnails_and_maps() {
    let tmp = tempfile::tempdir().unwrap();
    let (path, html, t) = build(tmp.path(), &scenario(), None, Some(REPRO));
    assert_eq!((t.images, t.clean, t.timeouts), (40, 37, 1));

    // Self-contained: nothing fetched from anywhere.
    for bad in ["http://", "https://", "src=\"//", "<script src", "<link", "@import", "url("] {
        assert!(!html.contains(bad), "page references {bad:?}");
    }
    // Atomic: only the page is left in its directory.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["index.html"]);

    // Summary.
    assert!(html.contains("<title>FAIL · cnn-cosim verify: &lt;synthetic&gt; images 0..39</title>"));
    assert!(html.contains(
        "data-status=\"fail\" data-images=\"40\" data-bit-exact=\"37\" data-timeouts=\"1\""
    ));
    assert!(
        html.contains("37/40 images bit-exact; 1 timeouts; first failure: image 5, layer conv1")
    );
    assert!(html.contains(&format!("<code>{REPRO}</code>")));
    assert!(html.contains("First failure: <b>image 5</b>, first bad layer <b>conv1</b>"));
    let summary = section(&html, "summary");
    for (name, value) in [
        ("bit-exact", "37"),
        ("not bit-exact", "3"),
        ("timeouts", "1"),
        ("RTL accuracy", "87.50 %"),
        ("reference accuracy", "92.50 %"),
        ("float accuracy", "92.50 %"),
        ("cycles / image", "791.0"),
        ("latency (cycles)", "6–8"),
        ("wall time", "1.25 s"),
    ] {
        let tile = format!("<div class=\"name\">{name}</div><div class=\"value\">{value}</div>");
        assert!(summary.contains(&tile), "summary lacks {tile}");
    }

    // Layer table: conv1 = 22 + 9 rows in 2 images, pool1 = 11 + 1 + 66 in 3, fc1 = 2 + 10
    // in 2, class 2 (5 and the timeout).
    let layers = section(&html, "layers");
    for row in [
        "conv1 <small>first bad</small></th><td>58080</td><td>31 <small>(0.053 %)</small></td><td>2</td><td>22</td>",
        "<th>pool1</th><td>14520</td><td>78 <small>(0.537 %)</small></td><td>3</td><td>2</td>",
        "<th>fc1</th><td>400</td><td>12 <small>(3.000 %)</small></td><td>2</td><td>210</td>",
        "<th>class</th><td>40</td><td>2 <small>(5.000 %)</small></td><td>2</td><td>1</td>",
    ] {
        assert!(layers.contains(row), "layer table lacks {row}");
    }

    // Confusion matrix: label rows × RTL columns.
    assert_eq!(cm(&html, 0, "0"), "3");
    assert_eq!(cm(&html, 0, "none"), "1");
    assert_eq!(cm(&html, 5, "5"), "3");
    assert_eq!(cm(&html, 5, "6"), "1");
    assert_eq!(cm(&html, 3, "5"), "1");
    assert_eq!(cm(&html, 7, "1"), "1");
    assert_eq!(cm(&html, 8, "3"), "1");
    assert_eq!(cm(&html, 2, "2"), "4");
    assert_eq!(cm(&html, 6, "5"), "");
    assert!(!html.contains("id=\"cm-0-other\""), "no class > 9 came, so no 'other' column");
    let diag: u64 = (0..10).map(|l| cm(&html, l, &l.to_string()).parse::<u64>().unwrap()).sum();
    assert_eq!(diag, t.rtl_correct);
    // Cells holding an RTL ≠ reference image are marked; the hover text names the image.
    assert!(html.contains("id=\"cm-5-6\" class=\"off div\""));
    assert!(html.contains("id=\"cm-0-none\" class=\"off div\""));
    assert!(html.contains("id=\"cm-3-5\" class=\"off\""));
    assert!(html.contains("title=\"label 5, RTL 6: 1 images; 1 with RTL ≠ reference; images 5\""));

    // Galleries: failing ones apart from merely misclassified ones.
    let failing = section(&html, "failing");
    assert_eq!(failing.matches("class=\"thumb ").count(), 3);
    assert!(failing.contains("class=\"thumb k-mismatch\" id=\"thumb-5\" href=\"#heat-5\""));
    assert!(failing.contains("class=\"thumb k-mismatch\" id=\"thumb-12\""));
    assert!(failing.contains("class=\"thumb k-timeout\" id=\"thumb-30\""));
    assert!(failing.contains("<span>label 5 · ref 5</span><span>RTL <b>6</b></span>"));
    assert!(failing.contains("<span>label 0 · ref 0</span><span>RTL <b>–</b></span>"));
    assert!(failing.contains("mismatch @conv1"));
    let mis = section(&html, "misclassified");
    assert_eq!(mis.matches("class=\"thumb k-mis\"").count(), 3);
    for i in [3, 17, 28] {
        assert!(mis.contains(&format!("id=\"thumb-{i}\"")), "image {i} not in misclassified");
    }
    assert!(mis.contains("<span>label 3 · ref 5</span><span>RTL <b>5</b></span>"));
    assert!(!html.contains("… and"), "nothing over the caps here");
    // Every thumbnail is an inline PNG.
    for g in [failing, mis] {
        assert_eq!(g.matches("<img src=\"data:image/png;base64,iVBOR").count(), 3);
    }

    // Mismatch maps of the failing images.
    let maps = section(&html, "heatmaps");
    assert!(maps.contains("All 3 failing images"));
    for i in [5, 12, 30] {
        assert!(maps.contains(&format!("id=\"heat-{i}\"")), "no map for image {i}");
    }
    let heat5 = &maps[maps.find("id=\"heat-5\"").unwrap()..maps.find("id=\"heat-12\"").unwrap()];
    for fig in [
        "conv1 ch0 <b>0</b>",
        "conv1 ch1 <b>22</b>",
        "conv1 ch2 <b>0</b>",
        "pool1 ch1 <b>11</b>",
        "pool1 ch0 <b>0</b>",
    ] {
        assert!(heat5.contains(fig), "image 5's maps lack {fig}");
    }
    assert_eq!(heat5.matches("src=\"data:image/png;base64,").count(), 7, "input + 6 maps");
    assert!(heat5.contains(
        "<tr><td>conv1</td><td>1</td><td>0</td><td>21</td><td>100</td><td>101</td><td>1</td></tr>"
    ));
    assert!(heat5.contains("first 12 of 36 kept rows"));
    let heat30 = &maps[maps.find("id=\"heat-30\"").unwrap()..];
    assert!(heat30.contains("pool1 ch2 <b>22</b>"));
    assert!(heat30
        .contains("<td>pool1</td><td>0</td><td>9</td><td>0</td><td>1</td><td>–</td><td>–</td>"));
    // The run-wide maps add every failing image up.
    let all = &maps[..maps.find("id=\"heat-5\"").unwrap()];
    assert!(all.contains("conv1 ch0 <b>9</b>") && all.contains("conv1 ch1 <b>22</b>"));
    assert!(all.contains("pool1 ch0 <b>23</b>") && all.contains("pool1 ch1 <b>33</b>"));
}

#[test]
fn caps_keep_the_page_small() {
    // 100 failing images, then 70 misclassified ones, then 830 clean ones.
    let results: Vec<_> = (0..1000)
        .map(|i| {
            let label = (i % 10) as u8;
            let img = digit(label, 0.0, 0.0);
            let r = if i < 100 {
                let rows = vec![mm(Layer::Conv1, i % 3, i % 22, (i * 7) % 22, Some(0), Some(1))];
                result(i, Some(label), label, Some(label), rows, false)
            } else if i < 170 {
                let wrong = (label + 1) % 10;
                result(i, Some(label), wrong, Some(wrong), vec![], false)
            } else {
                result(i, Some(label), label, Some(label), vec![], false)
            };
            (r, img)
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let (_, html, _) = build(tmp.path(), &results, None, Some("repro"));
    assert!(t0.elapsed() < Duration::from_secs(5), "writing took {:?}", t0.elapsed());
    assert!(html.len() < 400_000, "page is {} bytes", html.len());
    let failing = section(&html, "failing");
    assert_eq!(failing.matches("class=\"thumb ").count(), MAX_THUMBS);
    assert!(failing.contains(&format!("… and {} more", 100 - MAX_THUMBS)));
    let mis = section(&html, "misclassified");
    assert_eq!(mis.matches("class=\"thumb ").count(), MAX_THUMBS);
    assert!(mis.contains(&format!("… and {} more", 70 - MAX_THUMBS)));
    let maps = section(&html, "heatmaps");
    assert_eq!(maps.matches("class=\"heat k-mismatch\"").count(), MAX_HEATMAPS);
    assert!(maps.contains(&format!("{} more in mismatches.csv", 100 - MAX_HEATMAPS)));
    assert!(maps.contains("All 100 failing images"));
    // Only the first MAX_HEATMAPS thumbnails link to a map.
    assert_eq!(failing.matches("href=\"#heat-").count(), MAX_HEATMAPS);
    assert_eq!(cm(&html, 4, "5"), "7");
}

#[test]
fn random_stimulus_pass_has_no_confusion_matrix() {
    let results: Vec<_> = (0..12)
        .map(|i| {
            let mut img = [0u8; PIXELS];
            for (k, p) in img.iter_mut().enumerate() {
                *p = ((k * 37 + i * 11) % 256) as u8;
            }
            let img: Image = img.iter().map(|&p| p as i32).collect();
            (result(i, None, (i % 10) as u8, Some((i % 10) as u8), vec![], false), img)
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let (_, html, t) = build(tmp.path(), &results, Some(3), None);
    assert_eq!(t.clean, 12);
    assert!(html.contains("<title>PASS · "));
    assert!(html.contains("class=\"banner pass\""));
    assert!(html.contains("12/12 images bit-exact at every layer"));
    assert!(!html.contains("id=\"cm-"), "no labels, no confusion matrix");
    assert!(html.contains("No labels (random stimulus)"));
    assert!(!html.contains("RTL accuracy"));
    assert!(!html.contains("class=\"thumb "));
    assert!(!html.contains("id=\"misclassified\""));
    assert!(!html.contains("Reproduce"));
    for bad in ["http://", "https://"] {
        assert!(!html.contains(bad));
    }
}

#[test]
fn random_stimulus_failures_name_their_weight_set() {
    let rows = vec![mm(Layer::Pool1, 2, 3, 4, Some(9), Some(8))];
    let results = vec![
        (result(0, None, 1, Some(1), vec![], false), digit(1, 0.0, 0.0)),
        (result(1, None, 4, Some(4), rows, false), digit(4, 0.0, 0.0)),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let (_, html, _) = build(tmp.path(), &results, Some(3), Some("cnn-cosim verify --set 3"));
    assert!(html.contains("first failure: weight set 3, image 1, layer pool1"));
    assert!(html.contains("id=\"thumb-s3-1\" href=\"#heat-s3-1\""));
    assert!(html.contains("id=\"heat-s3-1\""));
    assert!(html.contains("set 3 image 1 · label – · ref 4 · RTL 4 · mismatch"));
}

#[test]
fn two_conv_page_covers_every_tapped_layer() {
    // two_conv's taps: conv1 3×24×24, pool1 3×12×12, conv2 3×8×8, pool2 3×4×4, fc1 10, class.
    const CONV2: usize = 2;
    const POOL2: usize = 3;
    const FC1: usize = 4;
    let net = Network::find("two_conv").unwrap();
    let taps = net.taps();
    let names: Vec<&str> = taps.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["conv1", "pool1", "conv2", "pool2", "fc1", "class"]);

    // Image 2 goes wrong in conv2 ch1 (5 elements, its own input fine), which carries into
    // pool2 ch1 (2 elements), fc1 and the class; images 0, 1 and 3 are bit-exact.
    let results: Vec<_> = (0..4)
        .map(|i| {
            let label = [7u8, 2, 1, 0][i];
            let img = digit(label, 0.0, 0.0);
            if i != 2 {
                return (result_on(6, i, Some(label), label, Some(label), vec![], false), img);
            }
            let mut rows: Vec<Mismatch> =
                (0..5).map(|c| mm(CONV2, 1, 3, c + 2, Some(40), Some(43 + c as i64))).collect();
            rows.push(mm(POOL2, 1, 1, 1, Some(40), Some(47)));
            rows.push(mm(POOL2, 1, 1, 2, Some(40), Some(46)));
            rows.push(mm(FC1, 3, 0, 0, Some(300), Some(500)));
            let mut r = result_on(6, i, Some(label), 1, Some(3), rows, false);
            // On the RTL's own input only conv2 is wrong: every later layer is fed its error.
            for l in POOL2..6 {
                r.cmp.local_counts[l] = 0;
                r.cmp.local_max_abs_diff[l] = 0;
            }
            (r, img)
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let (_, html, t) = build_on(&net, tmp.path(), &results, None, Some("cnn-cosim verify"));
    assert_eq!((t.images, t.clean), (4, 3));
    assert!(html.contains("3/4 images bit-exact; 0 timeouts; first failure: image 2, layer conv2"));
    // The title is text wherever it shows, never markup.
    assert!(html.contains("<h1>cnn-cosim verify: &lt;synthetic&gt; images 0..39</h1>"));
    assert!(!html.contains("<synthetic>"));

    // The layers table lists all six taps, each with its own element count.
    let layers = section(&html, "layers");
    for row in [
        "<tr><th>conv1</th><td>6912</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>",
        "<tr><th>pool1</th><td>1728</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>",
        "<tr class=\"bad first-bad\"><th>conv2 <small>first bad</small></th><td>768</td>\
         <td>5 <small>(0.651 %)</small></td><td>1</td><td>7</td>\
         <td class=\"bad local\">5</td><td class=\"bad local\">1</td><td>0</td><td>0</td></tr>",
        "<tr class=\"bad\"><th>pool2</th><td>192</td><td>2 <small>(1.042 %)</small></td>\
         <td>1</td><td>7</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>",
        "<tr class=\"bad\"><th>fc1</th><td>40</td><td>1 <small>(2.500 %)</small></td>\
         <td>1</td><td>200</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>",
        "<tr class=\"bad\"><th>class</th><td>4</td><td>1 <small>(25.000 %)</small></td>\
         <td>1</td><td>2</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>",
    ] {
        assert!(layers.contains(row), "layer table lacks {row}");
    }
    assert_eq!(layers.matches("<tr").count(), 2 + 6, "two header rows, one row per tap");

    // The thumbnail names the first bad layer.
    assert!(section(&html, "failing").contains("mismatch @conv2"));

    // Mismatch maps: one per channel of every 2-D tap, for the run and for image 2.
    let maps = section(&html, "heatmaps");
    assert!(maps.contains("<h2>Where conv1, pool1, conv2, pool2 mismatch</h2>"));
    let at = maps.find("id=\"heat-2\"").expect("no maps for image 2");
    let (all, heat2) = maps.split_at(at);
    for part in [all, heat2] {
        for name in ["conv1", "pool1", "conv2", "pool2"] {
            for ch in 0..3 {
                let fig = format!("<figcaption>{name} ch{ch} <b>");
                assert!(part.contains(&fig), "no map {name} ch{ch}");
            }
        }
        assert!(!part.contains("fc1 ch"), "fc1 is a vector: no map");
        assert!(part.contains("conv2 ch1 <b>5</b>") && part.contains("pool2 ch1 <b>2</b>"));
        assert!(part.contains("conv1 ch0 <b>0</b>") && part.contains("pool1 ch2 <b>0</b>"));
        assert!(part.contains("conv2 ch0 <b>0</b>") && part.contains("pool2 ch2 <b>0</b>"));
        // Each map is scaled from its own shape to about 110 px.
        for (alt, px) in
            [("conv1 ch0", 96), ("pool1 ch0", 108), ("conv2 ch1", 104), ("pool2 ch1", 108)]
        {
            let img = format!("width=\"{px}\" height=\"{px}\" alt=\"{alt}\"");
            assert!(part.contains(&img), "no {img}");
        }
    }
    assert_eq!(heat2.matches("src=\"data:image/png;base64,").count(), 1 + 12, "input + 12 maps");
    assert!(heat2.contains("first bad layer conv2"));
    assert!(heat2.contains(
        "<tr><td>conv2</td><td>1</td><td>3</td><td>2</td><td>40</td><td>43</td><td>3</td></tr>"
    ));
    assert!(heat2.contains(
        "<tr><td>pool2</td><td>1</td><td>1</td><td>1</td><td>40</td><td>47</td><td>7</td></tr>"
    ));
}

// ---- headless Chromium ------------------------------------------------------------------

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2000;
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found: the index.html rendering test needs Chromium; `scripts/setup.sh test` \
         installs it (Debian package chromium), or set CHROMIUM to its path",
        path.display()
    );
    path
}

/// Screenshots `page` at WIDTH × HEIGHT; kills Chromium (its whole process group) after
/// CHROMIUM_TIMEOUT.
fn screenshot(page: &Path, dir: &Path) -> PathBuf {
    let exe = chromium();
    let shot = dir.join("shot.png");
    let profile = dir.join("profile");
    std::fs::create_dir(&profile).unwrap();
    let log = dir.join("chromium.log");
    let mut child = Command::new(&exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.join("chromium.err")).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let pgid = child.id();
    let kill_group = || {
        // `--` is essential: procps-ng 4.0.2 reads `kill -KILL -12345` as kill(-1, SIGKILL),
        // i.e. every process on the machine (seen here under strace).
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--"])
            .arg(format!("-{pgid}"))
            .stderr(Stdio::null())
            .status();
    };
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > CHROMIUM_TIMEOUT {
            kill_group();
            let _ = child.wait();
            panic!("Chromium did not finish within {CHROMIUM_TIMEOUT:?}; killed it");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Helpers (crashpad, zygote) must not outlive the test.
    kill_group();
    let err = std::fs::read_to_string(dir.join("chromium.err")).unwrap_or_default();
    assert!(status.success(), "Chromium failed ({status}):\n{err}");
    assert!(shot.exists(), "Chromium wrote no screenshot:\n{err}");
    shot
}

/// RGB pixels of a PNG, with its size.
fn decode(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let mut dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let px = buf[..info.buffer_size()].chunks(ch).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, px)
}

fn near(p: [u8; 3], q: [u8; 3]) -> bool {
    p.iter().zip(q).all(|(&a, b)| a.abs_diff(b) <= 3)
}

/// Pixels of colour `c`, and their bounding box (x0, y0, x1, y1).
fn find(px: &[[u8; 3]], c: [u8; 3]) -> (usize, (usize, usize, usize, usize)) {
    let mut n = 0;
    let mut bb = (usize::MAX, usize::MAX, 0, 0);
    for (i, &p) in px.iter().enumerate() {
        if near(p, c) {
            let (x, y) = (i % WIDTH as usize, i / WIDTH as usize);
            n += 1;
            bb = (bb.0.min(x), bb.1.min(y), bb.2.max(x), bb.3.max(y));
        }
    }
    (n, bb)
}

#[test]
fn page_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let (page, _, _) = build(tmp.path(), &scenario(), None, Some(REPRO));
    let t0 = Instant::now();
    let shot = screenshot(&page, tmp.path());
    eprintln!("Chromium took {:?}", t0.elapsed());
    // CNN_HTML_SHOT=/some/shot.png keeps the screenshot, and the page as /some/shot.html.
    if let Some(keep) = std::env::var_os("CNN_HTML_SHOT").map(PathBuf::from) {
        std::fs::copy(&shot, &keep).unwrap();
        std::fs::copy(&page, keep.with_extension("html")).unwrap();
    }
    let (w, h, px) = decode(&shot);
    assert_eq!((w, h), (WIDTH, HEIGHT));
    let colours: HashSet<[u8; 3]> = px.iter().copied().collect();
    assert!(colours.len() > 200, "only {} colours: a blank page?", colours.len());

    // The FAIL banner across the top.
    let (n, (x0, y0, x1, _)) = find(&px, [0xc6, 0x28, 0x28]);
    assert!(n > 40_000 && y0 < 5 && x0 < 5 && x1 > 1270, "no FAIL banner: {n} px");

    // The confusion matrix: ten green diagonal cells spread over a square, with dark
    // digits (the counts) printed in them.
    let (n, (x0, y0, x1, y1)) = find(&px, [0xc8, 0xe6, 0xc9]);
    assert!(n > 10 * 400, "confusion diagonal: {n} green pixels");
    assert!(x1 - x0 > 250 && y1 - y0 > 200, "diagonal box {x0},{y0}..{x1},{y1}");
    let dark_in_diag = (y0..=y1)
        .flat_map(|y| (x0..=x1).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = px[y * WIDTH as usize + x];
            p.iter().map(|&v| v as u32).sum::<u32>() < 200
        })
        .count();
    assert!(dark_in_diag > 300, "no counts printed in the confusion matrix ({dark_in_diag})");

    // Thumbnails: black digit backgrounds framed by the mismatch / misclassified colours.
    let (black, _) = find(&px, [0, 0, 0]);
    assert!(black > 6 * 56 * 56 / 3, "thumbnails missing: {black} black pixels");
    let (red, _) = find(&px, [0xd3, 0x2f, 0x2f]);
    let (amber, _) = find(&px, [0xf9, 0xa8, 0x25]);
    assert!(red > 500, "no failing-thumbnail frames ({red})");
    assert!(amber > 500, "no misclassified-thumbnail frames ({amber})");
}
