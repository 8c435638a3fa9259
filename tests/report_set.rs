//! Interrupted and concurrent runs (src/report_set.rs, src/interrupt.rs): whatever happens to
//! a run, its report directory shows one complete run's files, never files of two runs; a
//! second run on the same directory refuses; two processes building the same model share one
//! build.
//!
//! Two kinds of run alternate so a mix would show: kind A verifies MNIST images 0..699 (one
//! JUnit suite), kind B two random weight sets of 300 images (two suites); every file of
//! the set says which it came from.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cosim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cnn-cosim"));
    c.current_dir(root())
        .env("CNN_COSIM_CACHE", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-cache"))
        .env_remove("CNN_COSIM_FAULT");
    c
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    A,
    B,
}

impl Kind {
    fn images(self) -> usize {
        match self {
            Kind::A => 700,
            Kind::B => 600,
        }
    }
    fn suites(self) -> usize {
        match self {
            Kind::A => 1,
            Kind::B => 2,
        }
    }
}

/// `verify` of `kind` into `dir`, with JUnit inside it.
fn verify(kind: Kind, dir: &Path) -> Command {
    let mut c = cosim();
    c.arg("verify").arg("--quiet").arg("--reports").arg(dir);
    c.arg("--junit").arg(dir.join("junit.xml"));
    match kind {
        Kind::A => c.args(["--limit", "700"]),
        Kind::B => c.args(["--stimulus", "random", "--seed", "9", "--sets", "2", "--count", "300"]),
    };
    c
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The run whose files `dir` shows, after checking that every file agrees; `None` when it
/// shows none. Panics on a mix or a half-written file.
fn shown(dir: &Path) -> Option<Kind> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let files = ["summary.csv", "mismatches.csv", "layers.csv", "index.html", "junit.xml"];
    let present: Vec<&str> = files.iter().copied().filter(|f| dir.join(f).exists()).collect();
    if present.is_empty() {
        return None;
    }
    assert_eq!(present, files, "{}: an incomplete set", dir.display());
    let kind_of = |images: usize, what: &str| {
        [Kind::A, Kind::B]
            .into_iter()
            .find(|k| k.images() == images)
            .unwrap_or_else(|| panic!("{}: {what} says {images} images", dir.display()))
    };
    let summary = read("summary.csv").unwrap();
    let from_summary = kind_of(summary.lines().count() - 1, "summary.csv");
    let layers = read("layers.csv").unwrap();
    let mut rdr = csv::Reader::from_reader(layers.as_bytes());
    let col = rdr.headers().unwrap().iter().position(|h| h == "images").unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert!(!rows.is_empty(), "{}: layers.csv has no rows", dir.display());
    for r in &rows {
        assert_eq!(kind_of(r[col].parse().unwrap(), "layers.csv"), from_summary, "layers.csv");
    }
    let html = read("index.html").unwrap();
    assert!(html.trim_end().ends_with("</html>"), "{}: index.html cut short", dir.display());
    let at = html.find("data-images=\"").expect("index.html names its images") + 13;
    let n: usize = html[at..].split('"').next().unwrap().parse().unwrap();
    assert_eq!(kind_of(n, "index.html"), from_summary, "index.html");
    let junit = read("junit.xml").unwrap();
    let doc = roxmltree::Document::parse(&junit).expect("junit.xml is whole");
    let suites = doc.descendants().filter(|n| n.has_tag_name("testsuite")).count();
    assert_eq!(suites, from_summary.suites(), "{}: junit.xml is another run's", dir.display());
    Some(from_summary)
}

/// The run directories `dir/.runs` holds.
fn runs(dir: &Path) -> usize {
    std::fs::read_dir(dir.join(".runs")).map_or(0, |d| d.count())
}

fn wait_ok(kind: Kind, dir: &Path) {
    let o = verify(kind, dir).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(shown(dir), Some(kind));
    assert_eq!(runs(dir), 1, "only the published run is kept");
}

#[test]
fn a_failure_at_any_point_keeps_the_previous_set() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("reports");
    wait_ok(Kind::A, &dir);
    for point in ["csv", "html", "publish", "flip"] {
        for how in ["error", "abort"] {
            let o = verify(Kind::B, &dir)
                .env("CNN_COSIM_FAULT", format!("{point}:{how}"))
                .output()
                .unwrap();
            match how {
                "error" => {
                    assert_eq!(o.status.code(), Some(2), "{point}: {}", text(&o));
                    let err = String::from_utf8_lossy(&o.stderr);
                    assert!(err.contains(&format!("fault injected at {point}")), "{err}");
                    assert_eq!(runs(&dir), 1, "{point}: the failed run cleans up after itself");
                }
                _ => assert_eq!(o.status.code(), None, "{point}: aborted: {}", text(&o)),
            }
            assert_eq!(shown(&dir), Some(Kind::A), "a failure at {point} ({how})");
        }
    }
    // Just after the switch, the new set is whole (the run still reports the error).
    let o = verify(Kind::B, &dir).env("CNN_COSIM_FAULT", "published:abort").output().unwrap();
    assert_eq!(o.status.code(), None, "{}", text(&o));
    assert_eq!(shown(&dir), Some(Kind::B));
    // The next run clears what the aborted ones left.
    wait_ok(Kind::A, &dir);
    // A failure in a directory that never held a run leaves it showing none.
    let fresh = work.path().join("fresh");
    let o = verify(Kind::A, &fresh).env("CNN_COSIM_FAULT", "flip").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(shown(&fresh), None);
}

#[test]
fn killed_runs_leave_one_complete_set() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("reports");
    // How long each kind runs here and now, so the kills can aim at its last moments.
    let mut took = [Duration::ZERO; 2];
    for (i, kind) in [Kind::B, Kind::A].into_iter().enumerate() {
        let t0 = Instant::now();
        wait_ok(kind, &dir);
        took[i] = t0.elapsed();
    }
    let mut seen = [0usize; 2];
    for k in 0..32u32 {
        let (kind, d) = if k % 2 == 0 { (Kind::B, took[0]) } else { (Kind::A, took[1]) };
        // From start-up to just past the end, denser near the end (writing, publishing).
        let frac = [0.1, 0.4, 0.7, 0.8][(k as usize / 2) % 4] + 0.3 * f64::from(k) / 32.0;
        let delay = d.mul_f64(frac);
        let mut child =
            verify(kind, &dir).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let now = shown(&dir).expect("a set is always shown once one was published");
        seen[(now == Kind::B) as usize] += 1;
        eprintln!("{kind:?} killed at {:.0} % of a run: {status}, shows {now:?}", frac * 100.0);
    }
    eprintln!("shown after the kills: A {} times, B {} times", seen[0], seen[1]);
    wait_ok(Kind::B, &dir);
}

/// Sends `sig` (a `kill` name) to `child` after `after`; returns its output and how long it
/// took to end after the signal.
fn signal_after(child: Child, sig: &str, after: Duration) -> (Output, Duration) {
    std::thread::sleep(after);
    let sent = Instant::now();
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status();
    assert!(ok.unwrap().success(), "kill -{sig}");
    let out = child.wait_with_output().unwrap();
    (out, sent.elapsed())
}

/// All 10,000 images on one worker: a run long enough to interrupt in the middle.
fn long_run(dir: &Path) -> Child {
    let mut c = cosim();
    c.args(["verify", "--quiet", "--jobs", "1", "--reports"]).arg(dir);
    c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

#[test]
fn sigint_and_sigterm_stop_the_run_and_keep_the_previous_set() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("reports");
    wait_ok(Kind::A, &dir);
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let (out, took) = signal_after(long_run(&dir), sig, Duration::from_millis(700));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{sig}: {}", text(&out));
        assert!(err.contains(&format!("interrupted by SIG{sig} after ")), "{err}");
        assert!(err.contains(" of 10000 images; nothing was published: "), "{err}");
        assert!(err.contains("keeps its previous run"), "{err}");
        eprintln!("SIG{sig}: ended {} ms after the signal: {}", took.as_millis(), err.trim());
        assert_eq!(shown(&dir), Some(Kind::A));
        assert_eq!(runs(&dir), 1, "the interrupted run removed its files");
    }
    let fresh = work.path().join("fresh");
    let (out, _) = signal_after(long_run(&fresh), "INT", Duration::from_millis(700));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no run"), "{}", text(&out));
    assert_eq!(shown(&fresh), None);
}

#[test]
fn a_second_run_on_the_same_directory_refuses() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("reports");
    let first = long_run(&dir);
    // The first run holds the lock once its pid is in the lock file.
    let lock = dir.join(".lock");
    let t0 = Instant::now();
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != first.id().to_string() {
        assert!(t0.elapsed() < Duration::from_secs(60), "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = verify(Kind::B, &dir).output().unwrap();
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!(
            "another cnn-cosim run (pid {}) is writing reports here",
            first.id()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 10_001, "the first run's set is whole");
}

/// JUnit and the baseline outside the report directory: renamed into place after the set is
/// published, and left as they were when the run fails before.
#[test]
fn outputs_outside_the_directory() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("reports");
    let ci = work.path().join("ci");
    let run = |limit: &str, fault: Option<&str>| {
        let mut c = cosim();
        c.args(["verify", "--quiet", "--limit", limit, "--reports"]).arg(&dir);
        c.arg("--junit").arg(ci.join("junit.xml"));
        c.arg("--write-baseline").arg(ci.join("baseline.json"));
        if let Some(f) = fault {
            c.env("CNN_COSIM_FAULT", f);
        }
        c.output().unwrap()
    };
    let o = run("100", None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let junit = std::fs::read(ci.join("junit.xml")).unwrap();
    let baseline = std::fs::read_to_string(ci.join("baseline.json")).unwrap();
    assert!(baseline.contains("\"images\": 100"), "{baseline}");
    for fault in ["flip", "flip:abort"] {
        let o = run("150", Some(fault));
        assert_ne!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(std::fs::read(ci.join("junit.xml")).unwrap(), junit, "{fault}");
        let now = std::fs::read_to_string(ci.join("baseline.json")).unwrap();
        assert_eq!(now, baseline, "{fault}");
    }
    let o = run("150", None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let now = std::fs::read_to_string(ci.join("baseline.json")).unwrap();
    assert!(now.contains("\"images\": 150"), "{now}");
    let mut names: Vec<String> = std::fs::read_dir(&ci)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Only the aborted run's two temporaries may stay beside them (nothing ran its clean-up).
    let (temps, files): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| n.starts_with('.'));
    assert_eq!(files, ["baseline.json", "junit.xml"], "{names:?}");
    assert!(temps.len() <= 2 && temps.iter().all(|t| t.ends_with(".tmp")), "{names:?}");
}

#[test]
fn two_processes_building_the_same_model_share_one_build() {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let spawn = |k: usize| {
        let mut c = cosim();
        c.env("CNN_COSIM_CACHE", cache.path())
            .args(["verify", "--rtl", "tests/designs/stall", "--limit", "20", "--reports"])
            .arg(work.path().join(format!("r{k}")))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(0), spawn(1));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!(a.status.code(), Some(0), "{}", text(&a));
    assert_eq!(b.status.code(), Some(0), "{}", text(&b));
    let both = format!("{}{}", text(&a), text(&b));
    assert!(both.contains("waiting for another cnn-cosim process building this model"), "{both}");
    let entries: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "runtime")
        .collect();
    assert_eq!(entries.len(), 1, "one model built: {entries:?}");
    let building: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".building-"))
        .collect();
    assert!(building.is_empty(), "{building:?}");
}
