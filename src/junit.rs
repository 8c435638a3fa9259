//! JUnit/xUnit XML for CI dashboards (`verify --junit FILE`).
//!
//! One `testsuite` per weight set and one `testcase` per layer (conv1, pool1, fc1, class):
//! a CI page then shows at a glance *which layer* of *which weight set* broke, which is what
//! an RTL engineer acts on; 10,000 per-image cases would bury that. A failing case carries
//! the first mismatch in words and the command that reproduces it.

use crate::network::Tap;
use crate::sim::driver::ImageResult;
use anyhow::{Context, Result};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
struct Case {
    mismatching: u64,
    /// Beats missing and past the layer's count (apart from the values).
    missing: u64,
    extra: u64,
    /// Mismatching elements judged on the RTL's own previous layer.
    local: u64,
    images: u64,
    /// (set, image, description of the first mismatching element)
    first: Option<(Option<u64>, usize, String)>,
}

#[derive(Debug, Clone)]
struct Suite {
    name: String,
    images: u64,
    timeouts: u64,
    /// One per tap.
    cases: Vec<Case>,
    secs: f64,
}

/// Collects per-layer verdicts per weight set.
#[derive(Debug)]
pub struct JunitReport {
    taps: Vec<Tap>,
    /// Tapped layers the design does not bring out: a skipped testcase each.
    untapped: Vec<String>,
    suites: Vec<Suite>,
    path: std::path::PathBuf,
}

fn opt(v: Option<i64>) -> String {
    v.map_or("nothing".into(), |v| v.to_string())
}

impl JunitReport {
    /// A report written to `path` when the run finishes.
    pub fn new(taps: &[Tap], path: std::path::PathBuf) -> JunitReport {
        JunitReport { taps: taps.to_vec(), untapped: Vec::new(), suites: Vec::new(), path }
    }

    /// Layers the design does not bring out (reported as skipped testcases).
    pub fn with_untapped(mut self, untapped: Vec<String>) -> JunitReport {
        self.untapped = untapped;
        self
    }

    /// Starts the suite of one weight set (`name`, e.g. `weights vectors/weights`).
    pub fn start_suite(&mut self, name: String) {
        self.suites.push(Suite {
            name,
            images: 0,
            timeouts: 0,
            cases: vec![Case::default(); self.taps.len()],
            secs: 0.0,
        });
    }

    /// Wall time spent on the current suite.
    pub fn end_suite(&mut self, secs: f64) {
        if let Some(s) = self.suites.last_mut() {
            s.secs = secs;
        }
    }

    /// Adds one image's result to the current suite.
    pub fn push(&mut self, r: &ImageResult, set: Option<u64>) {
        let Some(s) = self.suites.last_mut() else { return };
        s.images += 1;
        s.timeouts += r.timed_out as u64;
        for (i, tap) in self.taps.iter().enumerate() {
            let c = &mut s.cases[i];
            c.local += r.cmp.local_counts[i];
            let n = r.cmp.counts[i];
            let (missing, extra) = (r.cmp.missing_beats[i], r.cmp.extra_beats[i]);
            if n == 0 && missing + extra == 0 {
                continue;
            }
            c.mismatching += n;
            c.missing += missing;
            c.extra += extra;
            c.images += 1;
            if c.first.is_none() {
                let what = match r.cmp.rows.iter().find(|m| m.layer == i) {
                    _ if n == 0 && tap.is_class => "no class came".to_string(),
                    _ if n == 0 => format!(
                        "{missing} beats missing, {extra} extra; the values that came are equal"
                    ),
                    Some(m) if tap.is_class => {
                        format!("expected class {}, RTL gave {}", opt(m.expected), opt(m.actual))
                    }
                    Some(m) if matches!(tap.shape, crate::network::Shape::Vector(_)) => format!(
                        "{} {}: expected {}, actual {}",
                        // The tap just before the class holds the logits.
                        if i + 2 == self.taps.len() { "logit" } else { "element" },
                        m.channel,
                        opt(m.expected),
                        opt(m.actual)
                    ),
                    Some(m) => format!(
                        "channel {}, row {}, col {}: expected {}, actual {}",
                        m.channel,
                        m.row,
                        m.col,
                        opt(m.expected),
                        opt(m.actual)
                    ),
                    None => format!("{n} elements differ (rows not kept: --max-rows)"),
                };
                c.first = Some((set, r.index, what));
            }
        }
    }

    /// The report as JUnit XML (quick-junit); `repro` gives the command reproducing
    /// (set, image).
    pub fn to_xml(&self, repro: &dyn Fn(Option<u64>, usize) -> String) -> Result<String> {
        let mut report = Report::new("cnn-cosim verify");
        for s in &self.suites {
            let mut suite = TestSuite::new(s.name.as_str());
            suite.set_time(Duration::from_secs_f64(s.secs));
            for (tap, c) in self.taps.iter().zip(&s.cases) {
                let status = match &c.first {
                    None => TestCaseStatus::success(),
                    Some((set, image, what)) => {
                        let total = s.images * tap.shape.len() as u64;
                        let timeouts = if tap.is_class && s.timeouts > 0 {
                            format!(" ({} timeouts)", s.timeouts)
                        } else {
                            String::new()
                        };
                        let local = if c.mismatching == 0 {
                            String::new()
                        } else if c.local == 0 {
                            "; correct on the RTL's own input (an earlier layer is wrong)"
                                .to_string()
                        } else {
                            format!("; {} differ on the RTL's own input", c.local)
                        };
                        let beats = match (c.missing, c.extra) {
                            (0, 0) => String::new(),
                            _ if tap.is_class => String::new(),
                            (m, e) => format!("; beats: {m} missing, {e} extra"),
                        };
                        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        st.set_type(if c.mismatching > 0 { "mismatch" } else { "protocol" })
                            .set_message(format!(
                                "{} of {total} {} elements differ; {} of {} images wrong{timeouts}{local}{beats}",
                                c.mismatching, tap.name, c.images, s.images
                            ))
                            .set_description(format!(
                                "first mismatch: image {image}, layer {}, {what}\nreproduce: {}",
                                tap.name,
                                repro(*set, *image)
                            ));
                        st
                    }
                };
                let mut case = TestCase::new(tap.name.as_str(), status);
                case.set_classname(format!("cnn-cosim.{}", s.name)).set_time(Duration::ZERO);
                suite.add_test_case(case);
            }
            for name in &self.untapped {
                let mut st = TestCaseStatus::skipped();
                st.set_message("not tapped by the RTL's binding: not compared");
                let mut case = TestCase::new(name.as_str(), st);
                case.set_classname(format!("cnn-cosim.{}", s.name)).set_time(Duration::ZERO);
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        let secs: f64 = self.suites.iter().map(|s| s.secs).sum();
        report.set_time(Duration::from_secs_f64(secs));
        report.to_string().context("cannot serialise the JUnit report")
    }

    /// Writes the XML atomically; `repro` gives the command reproducing (set, image).
    pub fn write(&self, path: &Path, repro: &dyn Fn(Option<u64>, usize) -> String) -> Result<()> {
        let x = self.to_xml(repro)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create directory", dir.display()))?;
        }
        crate::memfile::write_atomic(path, &x)
    }
}

impl crate::sink::Sink for JunitReport {
    fn start_set(&mut self, set: &crate::sink::SetInfo) {
        self.start_suite(set.name.clone());
    }

    fn push(
        &mut self,
        r: &ImageResult,
        _: &crate::mnist::Image,
        set: &crate::sink::SetInfo,
    ) -> Result<()> {
        JunitReport::push(self, r, set.set);
        Ok(())
    }

    fn end_set(&mut self, secs: f64) {
        self.end_suite(secs);
    }

    fn finish(&mut self, end: &crate::sink::RunEnd) -> Result<()> {
        self.write(&self.path, end.repro)
    }
}
