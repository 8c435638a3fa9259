//! `verify --coverage` (issue 24): a model of its own built with Verilator's coverage, its
//! counts merged over every model of the run into coverage.dat and coverage.info, which
//! Verilator's own `verilator_coverage` and lcov's `genhtml` read (scripts/setup.sh test
//! installs both); per module in index.html, totals in the summary; results unchanged.

mod harness;
use harness::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Every point of a coverage.dat with its count.
fn points(dir: &Path) -> BTreeMap<String, u64> {
    read(dir, "coverage.dat")
        .lines()
        .filter(|l| l.starts_with("C '"))
        .map(|l| {
            let (k, v) = l.rsplit_once("' ").unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

/// `tool ARGS` succeeds (the tool must be installed: `scripts/setup.sh test`).
fn run_tool(tool: &str, args: &[&str]) {
    let o = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool}: {e} (scripts/setup.sh test installs it)");
    });
    assert!(o.status.success(), "{tool} {args:?}: {}", text(&o));
}

#[test]
fn coverage_of_rtl_is_read_by_verilator_coverage_and_genhtml_and_changes_no_result() {
    let (plain, cov) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let o = verify(&["--limit", "200"], plain.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = verify(&["--limit", "200", "--coverage"], cov.path());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    // The coverage model computes what the fast one does: the reports hold no timings.
    for f in ["summary.csv", "layers.csv", "mismatches.csv"] {
        assert_eq!(read(plain.path(), f), read(cov.path(), f), "{f}");
    }
    assert!(out.contains("RTL coverage (points hit in any instance): lines "), "{out}");
    assert!(out.contains("coverage.dat and coverage.info (lcov)"), "{out}");
    // The weight ROMs always get +weights, so the arm that falls back to the parameter is
    // never taken: a real hole, named at its line.
    let html = read(cov.path(), "index.html");
    assert!(html.contains("id=\"coverage\""), "no coverage section");
    assert!(html.contains("<th>cnn_weight_rom</th>"), "no cnn_weight_rom row");
    assert!(
        html.contains("cnn_weight_rom.v:42</code></td><td>cnn_weight_rom</td><td>if never taken")
    );
    let p = points(cov.path());
    assert!(p.keys().any(|k| k.contains("v_toggle/cnn_top")), "no toggle points of cnn_top");
    assert!(p.keys().all(|k| k.contains(".v\u{1}")), "a point outside the design's Verilog");
    let tmp = tempfile::tempdir().unwrap();
    let info = tmp.path().join("vc.info");
    run_tool(
        "verilator_coverage",
        &[
            "--write-info",
            info.to_str().unwrap(),
            cov.path().join("coverage.dat").to_str().unwrap(),
        ],
    );
    let html_dir = tmp.path().join("genhtml");
    run_tool(
        "genhtml",
        &[
            "-q",
            "-o",
            html_dir.to_str().unwrap(),
            cov.path().join("coverage.info").to_str().unwrap(),
        ],
    );
    assert!(html_dir.join("index.html").is_file());
}

#[test]
fn two_conv_and_a_bound_design_have_coverage_too() {
    for (args, module) in [
        (&["--rtl", "rtl/two_conv"][..], "cnn_two_conv_top"),
        (&["--rtl", "tests/designs/host"][..], "hs_load_top"),
    ] {
        let r = tempfile::tempdir().unwrap();
        let mut all = args.to_vec();
        all.extend(["--limit", "20", "--coverage"]);
        let o = verify(&all, r.path());
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(out.contains("RTL coverage (points hit in any instance): lines "), "{out}");
        assert!(read(r.path(), "index.html").contains(&format!("<th>{module}</th>")), "{module}");
        assert!(read(r.path(), "coverage.info").contains("end_of_record"));
    }
}

#[test]
fn merge_adds_up_the_shards_coverage() {
    let (a, b, m) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (shard, dir) in [("1/2", a.path()), ("2/2", b.path())] {
        let o = verify(&["--limit", "1000", "--coverage", "--shard", shard, "--jobs", "1"], dir);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let dirs = [a.path().to_str().unwrap(), b.path().to_str().unwrap()];
    let o = cosim(&["merge", dirs[0], dirs[1], "--out", m.path().to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("RTL coverage (points hit in any instance): lines "), "{out}");
    let (pa, pb, pm) = (points(a.path()), points(b.path()), points(m.path()));
    assert_eq!(pa.len(), pm.len());
    for (k, v) in &pm {
        assert_eq!(*v, pa[k] + pb[k], "{k:?}");
    }
    // A shard without coverage is refused, in one line.
    let plain = tempfile::tempdir().unwrap();
    let o = verify(&["--limit", "1000", "--shard", "2/2"], plain.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out_dir = tempfile::tempdir().unwrap();
    let (p, o_dir) = (plain.path().to_str().unwrap(), out_dir.path().to_str().unwrap());
    let o = cosim(&["merge", dirs[0], p, "--out", o_dir]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no coverage.dat, but"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
