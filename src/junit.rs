//! JUnit/xUnit XML for CI dashboards (`verify --junit FILE`).
//!
//! One `testsuite` per weight set and one `testcase` per layer (conv1, pool1, fc1, class):
//! a CI page then shows at a glance *which layer* of *which weight set* broke, which is what
//! an RTL engineer acts on; 10,000 per-image cases would bury that. A failing case carries
//! the first mismatch in words and the command that reproduces it.

use crate::driver::ImageResult;
use crate::network::Tap;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Clone, Default)]
struct Case {
    mismatching: u64,
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
    suites: Vec<Suite>,
    path: std::path::PathBuf,
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn opt(v: Option<i64>) -> String {
    v.map_or("nothing".into(), |v| v.to_string())
}

impl JunitReport {
    /// A report written to `path` when the run finishes.
    pub fn new(taps: &[Tap], path: std::path::PathBuf) -> JunitReport {
        JunitReport { taps: taps.to_vec(), suites: Vec::new(), path }
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
            if n == 0 {
                continue;
            }
            c.mismatching += n;
            c.images += 1;
            if c.first.is_none() {
                let what = match r.cmp.rows.iter().find(|m| m.layer == i) {
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

    /// Writes the XML atomically; `repro` gives the command reproducing (set, image).
    pub fn write(&self, path: &Path, repro: &dyn Fn(Option<u64>, usize) -> String) -> Result<()> {
        let tests = self.taps.len() * self.suites.len();
        let failures: usize =
            self.suites.iter().map(|s| s.cases.iter().filter(|c| c.mismatching > 0).count()).sum();
        let secs: f64 = self.suites.iter().map(|s| s.secs).sum();
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            x,
            "<testsuites name=\"cnn-cosim verify\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{secs:.3}\">"
        );
        for s in &self.suites {
            let f = s.cases.iter().filter(|c| c.mismatching > 0).count();
            let _ = writeln!(
                x,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
                xml(&s.name),
                self.taps.len(),
                s.secs
            );
            for (tap, c) in self.taps.iter().zip(&s.cases) {
                let _ = write!(
                    x,
                    "    <testcase classname=\"cnn-cosim.{}\" name=\"{}\" time=\"0\"",
                    xml(&s.name),
                    xml(&tap.name)
                );
                match &c.first {
                    None => x.push_str("/>\n"),
                    Some((set, image, what)) => {
                        let total = s.images * tap.shape.len() as u64;
                        let timeouts = if tap.is_class && s.timeouts > 0 {
                            format!(" ({} timeouts)", s.timeouts)
                        } else {
                            String::new()
                        };
                        let local = if c.local == 0 {
                            "; correct on the RTL's own input (an earlier layer is wrong)"
                                .to_string()
                        } else {
                            format!("; {} differ on the RTL's own input", c.local)
                        };
                        let message = format!(
                            "{} of {total} {} elements differ in {} of {} images{timeouts}{local}",
                            c.mismatching, tap.name, c.images, s.images
                        );
                        let body = format!(
                            "first mismatch: image {image}, layer {}, {what}\nreproduce: {}",
                            tap.name,
                            repro(*set, *image)
                        );
                        let _ = writeln!(
                            x,
                            ">\n      <failure type=\"mismatch\" message=\"{}\">{}</failure>\n    </testcase>",
                            xml(&message),
                            xml(&body)
                        );
                    }
                }
            }
            x.push_str("  </testsuite>\n");
        }
        x.push_str("</testsuites>\n");
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
