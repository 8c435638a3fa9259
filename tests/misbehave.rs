//! Designs that misbehave (tests/designs/misbehave): the seed network behind a wrapper that
//! starts misbehaving at image 3 in the way `fault.mem` in its weight directory says. Every
//! run must end by itself, name the problem per image in summary.csv, keep the verdicts of
//! the images before the fault, and keep its memory bounded.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const DESIGN: &str = "tests/designs/misbehave";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the committed weights with `fault.mem` = (fault, first faulty image).
fn weights(dir: &Path, fault: u32, from: u32) -> PathBuf {
    let w = dir.join(format!("weights-{fault}-{from}"));
    std::fs::create_dir_all(&w).unwrap();
    for e in std::fs::read_dir(root().join("vectors/weights")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "mem") {
            std::fs::copy(&p, w.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(w.join("fault.mem"), format!("{fault:x}\n{from:x}\n")).unwrap();
    w
}

/// `verify --rtl tests/designs/misbehave` with `fault` from image 3; fails the test if the run
/// does not end by itself within two minutes.
fn run(fault: u32, args: &[&str], vflags: &str) -> (Output, PathBuf, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let reports = work.path().join("reports");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(root())
        .env("CNN_COSIM_CACHE", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-cache"))
        .env("CNN_COSIM_VERILATOR_FLAGS", vflags)
        .args(["verify", "--rtl", DESIGN, "--weights"])
        .arg(weights(work.path(), fault, 3))
        .arg("--reports")
        .arg(&reports)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("fault {fault}: the run did not end by itself");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child.wait_with_output().unwrap(), reports, work)
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// summary.csv as (status, protocol) per image.
fn verdicts(reports: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(reports.join("summary.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (status, protocol) = (col("status"), col("protocol"));
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (r[status].to_string(), r[protocol].to_string())
        })
        .collect()
}

/// Images 0..3 came before the fault and keep their verdict.
fn before_fault_ok(v: &[(String, String)], what: &str) {
    for (i, (status, protocol)) in v.iter().take(3).enumerate() {
        assert_eq!((status.as_str(), protocol.as_str()), ("ok", ""), "{what}: image {i}");
    }
}

#[test]
fn no_fault_is_bit_exact() {
    let (o, reports, _w) = run(0, &["--limit", "12"], "");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(verdicts(&reports).iter().all(|(s, _)| s == "ok"));
}

/// `$finish` and `$fatal` at the 400th pixel of image 3: the image in flight is `stopped`
/// with the reason, the stream goes on from the next image on a new model (which, counting
/// from its reset, fails again three images later).
#[test]
fn finish_and_fatal_mid_image_stop_that_image_only() {
    for (fault, said) in
        [(1, "the RTL called $finish at cycle "), (2, "the RTL called $stop/$fatal")]
    {
        let (o, reports, _w) = run(fault, &["--limit", "12", "--jobs", "1"], "");
        assert_eq!(o.status.code(), Some(1), "fault {fault}: {}", text(&o));
        let v = verdicts(&reports);
        assert_eq!(v.len(), 12, "fault {fault}: every image has its row");
        before_fault_ok(&v, "$finish/$fatal");
        for (i, (status, protocol)) in v.iter().enumerate() {
            if i % 4 == 3 {
                assert_eq!(status, "stopped", "fault {fault}: image {i}: {protocol}");
                assert!(protocol.contains(said), "fault {fault}: image {i}: {protocol}");
                assert!(protocol.contains("while its pixels were going in"), "{protocol}");
            } else {
                assert_eq!(status, "ok", "fault {fault}: image {i}: {protocol}");
            }
        }
        let out = text(&o);
        assert!(out.contains("(3 of them in flight when the RTL ended the simulation)"), "{out}");
    }
}

/// conv1's data from a register nothing writes (X): under `--x-initial unique` its bits are
/// random, and every image from the fault on is wrong at conv1.
#[test]
fn x_on_a_tap_is_a_mismatch() {
    let (o, reports, _w) = run(3, &["--limit", "8"], "--x-initial unique");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = verdicts(&reports);
    before_fault_ok(&v, "X");
    assert!(v[3..].iter().all(|(s, _)| s == "mismatch"), "{v:?}");
    assert!(text(&o).contains("first failure: image 3, layer conv1"), "{}", text(&o));
}

/// class_valid high every cycle from image 3 on: each image takes the first class that
/// comes, and says which beats it never got.
#[test]
fn a_class_every_cycle() {
    let (o, reports, _w) = run(4, &["--limit", "12"], "");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = verdicts(&reports);
    before_fault_ok(&v, "class storm");
    for (i, (status, protocol)) in v.iter().enumerate().skip(3) {
        // No beats came: a protocol problem, and a mismatch too when the class is wrong.
        assert!(status == "protocol" || status == "mismatch", "image {i}: {status}");
        assert!(protocol.contains("conv1: 0 of 484 beats when the class came"), "{protocol}");
    }
    assert!(v[3..].iter().any(|(s, _)| s == "protocol"), "a right class with no beats: {v:?}");
}

/// fc1_valid high every cycle: 784 fc1 beats per image, counted; the rows listed per image
/// stay bounded, and so does the memory of a 2,000-image run on two workers.
#[test]
fn a_tap_valid_every_cycle() {
    let (o, reports, _w) = run(5, &["--limit", "2000"], "");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = verdicts(&reports);
    before_fault_ok(&v, "beat storm");
    for (i, (status, protocol)) in v.iter().enumerate() {
        // Each 500-image segment starts from reset, where the wrapper counts from 0 again.
        if i % 500 < 3 {
            assert_eq!((status.as_str(), protocol.as_str()), ("ok", ""), "image {i}");
        } else {
            assert_eq!(status, "mismatch", "image {i}");
            assert_eq!(protocol, "fc1: 784 of 1 beats when the class came", "image {i}");
        }
    }
    let mism = std::fs::read_to_string(reports.join("mismatches.csv")).unwrap();
    let image3 = mism.lines().filter(|l| l.starts_with("3,fc1,")).count();
    // The layer's one beat (the storm's first, not the sum) is compared and its ten values
    // listed; the 783 beats past it are counted apart from the values, never listed.
    assert_eq!(image3, 10, "only the layer's own beat is compared");
    let summary = std::fs::read_to_string(reports.join("summary.csv")).unwrap();
    let row3 = summary.lines().nth(4).unwrap();
    assert!(row3.starts_with("3,") && row3.contains(",10,"), "fc1_mismatches: {row3}");
    let layers = std::fs::read_to_string(reports.join("layers.csv")).unwrap();
    let fc1 = layers.lines().find(|l| l.starts_with("fc1,")).unwrap();
    let storms = 2000 - 4 * 3; // every image but the first three of each segment
    assert!(fc1.ends_with(&format!(",0,{},0", storms * 783)), "missing, extra, ignored: {fc1}");
    let out = text(&o);
    let kib: u64 = out
        .split("peak_rss_kib=")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in: {out}"));
    eprintln!("beat storm, 2000 images, 2 workers: peak RSS {} MB", kib / 1024);
    assert!(kib < 100 * 1024, "peak RSS {kib} KiB");
}

/// pixel_ready_o never rises again: the image waiting is a timeout that says so, and the
/// stream restarts (from reset the wrapper behaves for three more images).
#[test]
fn ready_that_never_rises() {
    let (o, reports, _w) = run(6, &["--limit", "8"], "");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = verdicts(&reports);
    before_fault_ok(&v, "no ready");
    assert_eq!(v[3].0, "timeout");
    assert!(v[3].1.contains("ready stayed low for 3136 cycles in a row while pixel"), "{}", v[3].1);
    assert!(v[4..7].iter().all(|(s, _)| s == "ok"), "{v:?}");
    assert_eq!(v[7].0, "timeout");
}

/// A conv1 beat the cycle after each class: it is the next image's (the oldest waiting for a
/// class), which then has one beat too many.
#[test]
fn a_tap_beat_after_the_class() {
    let (o, reports, _w) = run(7, &["--limit", "8"], "");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = verdicts(&reports);
    before_fault_ok(&v, "late beat");
    for (i, (status, protocol)) in v.iter().enumerate().skip(3) {
        assert_eq!(status, "mismatch", "image {i}");
        assert_eq!(protocol, "conv1: 485 of 484 beats when the class came", "image {i}");
    }
}
