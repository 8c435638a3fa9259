//! Proof that the harness catches bugs: deliberately broken copies of rtl/ (with its binding)
//! are verified on a few hundred images through run-time Verilation (`--rtl DIR`); each must
//! fail (exit 1) with the right first_bad_layer. A harness that cannot fail is worthless.
//!
//! One ignored test builds a variant into the binary instead, through the build-time RTL
//! switch (CNN_COSIM_RTL), in target/variants: a whole crate build, too slow for make test's
//! 15 minutes (`cargo test --release --test broken_rtl -- --ignored`).

use std::path::{Path, PathBuf};
use std::process::Command;

struct Variant {
    name: &'static str,
    file: &'static str,
    from: &'static str,
    to: &'static str,
    first_bad_layer: &'static str,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        name: "bias_dropped",
        file: "cnn_conv_channel.v",
        from: "assign data_d = scaled_all[OutW-1:0] + bias_ext;",
        to: "assign data_d = scaled_all[OutW-1:0];",
        first_bad_layer: "conv1",
    },
    Variant {
        name: "pool_window_off_by_one",
        file: "cnn_pool_relu.v",
        from: "wire odd_col   = col[0];",
        to: "wire odd_col   = ~col[0];",
        first_bad_layer: "pool1",
    },
    Variant {
        name: "fc_accumulator_truncated",
        file: "cnn_top.v",
        from: "localparam integer FcAccW    = 30;",
        to: "localparam integer FcAccW    = 24;",
        first_bad_layer: "fc1",
    },
    Variant {
        name: "fc_state_not_cleared",
        file: "cnn_fc_acc.v",
        from: "acc_q <= last_i ? bias_init : acc_d;",
        to: "acc_q <= acc_d;",
        first_bad_layer: "fc1",
    },
];

const IMAGES: &str = "300";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies rtl/*.v, its binding and the testbench in rtl/tb/ into `dir` with one substitution
/// applied to the design (which must apply exactly once).
fn make_variant(v: &Variant, dir: &Path) {
    make_variant_of(&[v], dir)
}

/// [`make_variant`] with several variants' substitutions applied together.
fn make_variant_of(vs: &[&Variant], dir: &Path) {
    std::fs::create_dir_all(dir.join("tb")).unwrap();
    std::fs::copy(root().join("rtl/tb/cnn_tb.v"), dir.join("tb/cnn_tb.v")).unwrap();
    std::fs::copy(root().join("rtl/binding.toml"), dir.join("binding.toml")).unwrap();
    for e in std::fs::read_dir(root().join("rtl")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "v") {
            let mut text = std::fs::read_to_string(&p).unwrap();
            for v in vs.iter().filter(|v| p.file_name().unwrap() == v.file) {
                assert_eq!(
                    text.matches(v.from).count(),
                    1,
                    "{}: rtl/{} no longer holds {:?} once; update the variant",
                    v.name,
                    v.file,
                    v.from
                );
                text = text.replace(v.from, v.to);
            }
            std::fs::write(dir.join(p.file_name().unwrap()), text).unwrap();
        }
    }
}

/// The harness under test (its compiled-in model is the good rtl/; variants come in through
/// `--rtl`).
fn cosim() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cnn-cosim"))
}

/// Builds the harness with `rtl` compiled in (the build-time switch CNN_COSIM_RTL) and returns
/// a copy of the binary named after `name`.
fn build(name: &str, rtl: &Path, target: &Path) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["build", "--release", "--quiet", "--bin", "cnn-cosim"])
        .env("CNN_COSIM_RTL", rtl)
        .env("CARGO_TARGET_DIR", target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the RTL variant in {} failed", rtl.display());
    let bin = target.join(format!("cnn-cosim-{name}"));
    std::fs::copy(target.join("release/cnn-cosim"), &bin).unwrap();
    bin
}

/// The JUnit file has the xUnit shape (testsuites/testsuite/testcase, counts that add up) and
/// a failure on `layer` naming the first failing image and how to reproduce it.
fn check_junit(text: &str, layer: &str, image: &str, rtl: &Path) {
    let doc = roxmltree::Document::parse(text).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = root.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    let failures = root.descendants().filter(|n| n.has_tag_name("failure")).count();
    assert_eq!(root.attribute("tests"), Some(cases.len().to_string().as_str()));
    assert_eq!(root.attribute("failures"), Some(failures.to_string().as_str()));
    for suite in root.children().filter(|n| n.is_element()) {
        assert_eq!(suite.tag_name().name(), "testsuite");
        let n = suite.children().filter(|c| c.has_tag_name("testcase")).count();
        assert_eq!(suite.attribute("tests"), Some(n.to_string().as_str()));
    }
    let case = cases.iter().find(|c| c.attribute("name") == Some(layer)).expect("layer case");
    let failure = case.children().find(|c| c.has_tag_name("failure")).expect("a failure");
    let body = failure.text().unwrap_or_default();
    assert!(body.contains(&format!("first mismatch: image {image}, layer {layer}")), "{body}");
    assert!(body.contains("expected"), "{body}");
    let repro = format!("reproduce: cnn-cosim verify --rtl {} --image {image}", rtl.display());
    assert!(body.contains(&repro), "{body}");
}

/// What [`run_verify`] returns: exit code, stdout, and the first failing summary row's
/// (image, first_bad_layer).
type Verdict = (Option<i32>, String, Option<(String, String)>);

/// `cnn-cosim verify --rtl RTL ARGS`.
fn verify_rtl(rtl: &Path, reports: &Path, args: &[&str]) -> Verdict {
    verify_rtl_with(rtl, reports, args, "")
}

/// [`verify_rtl`] with extra Verilator flags for the run-time build
/// (`CNN_COSIM_VERILATOR_FLAGS`, part of the model's cache key).
fn verify_rtl_with(rtl: &Path, reports: &Path, args: &[&str], vflags: &str) -> Verdict {
    let mut all = vec!["--rtl", rtl.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&cosim(), reports, &all, vflags)
}

/// Runs `verify` of the binary `bin` with `args`.
fn run_verify(bin: &Path, reports: &Path, args: &[&str]) -> Verdict {
    run(bin, reports, args, "")
}

fn run(bin: &Path, reports: &Path, args: &[&str], vflags: &str) -> Verdict {
    let out = Command::new(bin)
        .current_dir(root())
        .env("CNN_COSIM_CACHE", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-cache"))
        .env("CNN_COSIM_VERILATOR_FLAGS", vflags)
        .arg("verify")
        .args(args)
        .arg("--reports")
        .arg(reports)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = std::fs::read_to_string(reports.join("summary.csv")).unwrap_or_default();
    let mut rdr = csv::Reader::from_reader(summary.as_bytes());
    let col = rdr.headers().ok().and_then(|h| h.iter().position(|h| h == "first_bad_layer"));
    let first = col.and_then(|col| {
        rdr.records()
            .map(|r| r.unwrap())
            .find(|r| !r[col].is_empty())
            .map(|r| (r[0].to_string(), r[col].to_string()))
    });
    (out.status.code(), stdout, first)
}

/// An accumulator one bit too narrow: trained weights never bring the conv sum near
/// ±2^20 (their largest |Σ| is 312,630), so all 10,000 MNIST images pass; the random
/// campaign's all-+127 / all-255 corner (1,586,865) overflows it at once.
#[test]
fn narrow_accumulator_escapes_mnist_but_not_the_random_campaign() {
    let v = Variant {
        name: "conv_sum_one_bit_short",
        // Keep 21 of the 22 sum bits: bit 20 becomes the sign.
        file: "cnn_conv_channel.v",
        from: "scaled = rounded[SumW-1:Shift];",
        to: "scaled = {rounded[SumW-2], rounded[SumW-2:Shift]};",
        first_bad_layer: "conv1",
    };
    let work = tempfile::tempdir().unwrap();
    let rtl = work.path().join("rtl");
    make_variant(&v, &rtl);
    let (code, stdout, _) = verify_rtl(&rtl, &work.path().join("mnist"), &["--quiet"]);
    assert_eq!(code, Some(0), "trained weights should not see this bug:\n{stdout}");
    assert!(stdout.contains("PASS: 10000/10000"), "{stdout}");
    let (code, stdout, first) = verify_rtl(
        &rtl,
        &work.path().join("random"),
        &["--quiet", "--stimulus", "random", "--seed", "5", "--sets", "8", "--count", "30"],
    );
    assert_eq!(code, Some(1), "the random campaign must catch it:\n{stdout}");
    assert_eq!(first.map(|f| f.1).as_deref(), Some(v.first_bad_layer), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "reproduce it alone: cnn-cosim verify --rtl {} --stimulus random --seed 5 --set 0 \
             --image 1",
            rtl.display()
        )),
        "{stdout}"
    );
}

#[test]
fn broken_rtl_variants_are_caught() {
    let mnist = root().join("vectors/mnist");
    assert!(mnist.is_dir(), "run scripts/setup.sh first: {} is missing", mnist.display());
    let work = tempfile::tempdir().unwrap();
    for v in &VARIANTS {
        let rtl = work.path().join(v.name).join("rtl");
        make_variant(v, &rtl);
        let rtl_arg = rtl.to_str().unwrap();
        let reports = work.path().join(v.name).join("reports");
        let junit = work.path().join(v.name).join("junit.xml");
        let junit_arg = junit.to_str().unwrap();
        let (code, stdout, first) =
            verify_rtl(&rtl, &reports, &["--quiet", "--limit", IMAGES, "--junit", junit_arg]);
        assert_eq!(code, Some(1), "{}: verify must fail\n{stdout}", v.name);
        let first = first.unwrap_or_else(|| panic!("{}: no failing image in summary.csv", v.name));
        assert_eq!(first.1, v.first_bad_layer, "{}: {stdout}", v.name);
        assert!(stdout.contains("FAIL:"), "{}: {stdout}", v.name);
        check_junit(&std::fs::read_to_string(&junit).unwrap(), v.first_bad_layer, &first.0, &rtl);
        // The debug view of the first failure points at the layer and shows a grid.
        let out = Command::new(cosim())
            .current_dir(root())
            .env("CNN_COSIM_CACHE", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-cache"))
            .args(["verify", "--rtl", rtl_arg, "--image", &first.0])
            .output()
            .unwrap();
        let debug = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{}: {debug}", v.name);
        assert!(debug.contains(&format!("{}: ", v.first_bad_layer)), "{}: {debug}", v.name);
        assert!(
            debug.contains("mismatching elements") || debug.contains("logits differ"),
            "{debug}"
        );
        if v.name == "fc_state_not_cleared" {
            shards_merge_to_the_single_run(&rtl, &work.path().join("shards"));
        }
        if v.name == "bias_dropped" {
            // The Icarus lane runs the same (broken) RTL tree and must fail too.
            let out = Command::new(cosim())
                .current_dir(root())
                .args(["icarus", "--rtl", rtl_arg, "--limit", "2"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "icarus: {text}{err}");
            assert!(text.contains("first failure: image 0, layer conv1"), "{text}");
        }
        eprintln!("{}: caught, first failure image {} at {}", v.name, first.0, first.1);
    }
}

/// `--trace-failures K` writes a waveform of each of the first K failing images, and each
/// parses (fst2vcd, from Debian's gtkwave, installed by scripts/setup.sh test).
#[test]
fn waveforms_of_the_first_failures() {
    let v = &VARIANTS[3]; // fc_state_not_cleared: images 1, 2, … fail
    let work = tempfile::tempdir().unwrap();
    let rtl = work.path().join("rtl");
    make_variant(v, &rtl);
    // The traced model of the variant is built at run time.
    let reports = work.path().join("reports");
    let (code, stdout, _) =
        verify_rtl(&rtl, &reports, &["--quiet", "--limit", "20", "--trace-failures", "2"]);
    assert_eq!(code, Some(1), "{stdout}");
    let waves = reports.join("waves");
    let mut names: Vec<_> = std::fs::read_dir(&waves)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["image1.fst", "image2.fst"], "{stdout}");
    for n in names {
        let out = Command::new("fst2vcd").arg(waves.join(&n)).output().unwrap_or_else(|e| {
            panic!("fst2vcd not runnable ({e}); scripts/setup.sh test installs gtkwave")
        });
        assert!(out.status.success(), "{n}");
        let vcd = String::from_utf8_lossy(&out.stdout);
        assert!(vcd.contains(" fc1_data_o ") && vcd.contains(" class_valid_o "), "{n}");
    }
}

/// Three shards merged equal one run byte for byte, mismatch-row cap included.
fn shards_merge_to_the_single_run(rtl: &Path, dir: &Path) {
    let common = ["--quiet", "--limit", "1300", "--max-rows", "50"];
    let (code, out, _) = verify_rtl(rtl, &dir.join("single"), &common);
    assert_eq!(code, Some(1), "{out}");
    let mut shard_dirs = Vec::new();
    for k in 1..=3 {
        let d = dir.join(format!("shard{k}"));
        let shard = format!("{k}/3");
        let (code, out, _) = verify_rtl(rtl, &d, &[&common[..], &["--shard", &shard]].concat());
        assert_eq!(code, Some(1), "shard {shard}: {out}");
        shard_dirs.push(d);
    }
    let merged = dir.join("merged");
    let out = Command::new(cosim())
        .arg("merge")
        .args(["--max-rows", "50", "--out"])
        .arg(&merged)
        .args(&shard_dirs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    for f in ["summary.csv", "mismatches.csv", "layers.csv"] {
        let single = std::fs::read(dir.join("single").join(f)).unwrap();
        assert_eq!(std::fs::read(merged.join(f)).unwrap(), single, "merged {f} differs");
    }
    let mism = std::fs::read_to_string(merged.join("mismatches.csv")).unwrap();
    assert_eq!(mism.lines().count(), 51, "the cap applies to the merged rows");
    // Overlapping shards are refused.
    let out = Command::new(cosim())
        .arg("merge")
        .arg("--out")
        .arg(dir.join("bad"))
        .args([&shard_dirs[0], &shard_dirs[0]])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the shards overlap"));
}

/// The unique-init lane has teeth: a raster counter without its reset works when every
/// register starts at 0 (the fast build) and fails once registers start random
/// (`--x-initial unique` with `+verilator+rand+reset+2`, as scripts/unique_init.sh runs it).
#[test]
fn unique_init_lane_catches_a_missing_reset() {
    let v = Variant {
        name: "counter_without_reset",
        file: "cnn_raster_counter.v",
        from: "    if (!rst_ni) begin\n      col_q <= {ColW{1'b0}};\n      row_q <= {RowW{1'b0}};\n    end else if (valid_i) begin",
        to: "    if (valid_i) begin",
        first_bad_layer: "conv1",
    };
    let work = tempfile::tempdir().unwrap();
    let rtl = work.path().join("rtl");
    make_variant(&v, &rtl);
    let (code, out, _) =
        verify_rtl(&rtl, &work.path().join("zero"), &["--quiet", "--limit", "200"]);
    assert_eq!(code, Some(0), "with all-zero initial state the missing reset is invisible:\n{out}");
    let (code, out, first) = verify_rtl_with(
        &rtl,
        &work.path().join("unique"),
        &["--quiet", "--limit", "200"],
        "--x-initial unique",
    );
    assert_eq!(code, Some(1), "random initial state must expose it:\n{out}");
    assert_eq!(first.map(|f| f.0).as_deref(), Some("0"), "{out}");
    // `--x-init unique` is the same lane as a flag: the same reports, byte for byte, and the
    // summary says the registers started random. Another --seed gives other initial values.
    let (code, out, _) = verify_rtl(
        &rtl,
        &work.path().join("flag"),
        &["--quiet", "--limit", "200", "--x-init", "unique"],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("registers without a reset started from random values (--x-init unique"),
        "{out}"
    );
    for f in ["summary.csv", "layers.csv", "mismatches.csv"] {
        let read = |d: &str| std::fs::read(work.path().join(d).join(f)).unwrap();
        assert!(read("unique") == read("flag"), "{f} differs between the variable and the flag");
    }
    let (_, _, _) = verify_rtl(
        &rtl,
        &work.path().join("seed9"),
        &["--quiet", "--limit", "200", "--x-init", "unique", "--seed", "9"],
    );
    let read = |d: &str| std::fs::read(work.path().join(d).join("mismatches.csv")).unwrap();
    assert!(read("seed9") != read("flag"), "--seed chooses the initial values");
}

/// Two independent bugs, conv1 (bias dropped) and the pooling (window off by one): end to
/// end, only conv1 is the first bad layer and everything after it is red; judged on the
/// RTL's own input, exactly conv1 and pool1 are wrong while fc1 and the class are right.
#[test]
fn two_independent_bugs_show_as_two_red_layers_on_their_own_input() {
    let work = tempfile::tempdir().unwrap();
    let rtl = work.path().join("rtl");
    make_variant_of(&[&VARIANTS[0], &VARIANTS[1]], &rtl);
    let reports = work.path().join("reports");
    let junit = work.path().join("junit.xml");
    let (code, stdout, first) = verify_rtl(
        &rtl,
        &reports,
        &["--quiet", "--limit", "100", "--junit", junit.to_str().unwrap()],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(first.map(|f| f.1).as_deref(), Some("conv1"), "{stdout}");
    let layers = std::fs::read_to_string(reports.join("layers.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(layers.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (e2e, local) = (col("mismatching_elements"), col("local_mismatching_elements"));
    let rows: Vec<(String, u64, u64)> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[e2e].parse().unwrap(), r[local].parse().unwrap())
        })
        .collect();
    let get = |n: &str| rows.iter().find(|r| r.0 == n).unwrap().clone();
    // End to end: conv1, pool1 and fc1 all differ.
    assert!(get("conv1").1 > 0 && get("pool1").1 > 0 && get("fc1").1 > 0, "{layers}");
    // On their own input: both buggy layers red, the correct ones green.
    assert!(get("conv1").2 > 0, "conv1 local: {layers}");
    assert!(get("pool1").2 > 0, "pool1 has a bug of its own: {layers}");
    assert_eq!(get("fc1").2, 0, "fc1 is right on the RTL's own pool1: {layers}");
    assert_eq!(get("class").2, 0, "the argmax is right on the RTL's own fc1: {layers}");
    assert!(
        stdout.contains("wrong on the RTL's own input (layer-local): conv1, pool1"),
        "{stdout}"
    );
    // JUnit carries the layer-local verdict too.
    let text = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let message = |layer: &str| {
        let case = doc.descendants().find(|n| n.attribute("name") == Some(layer)).unwrap();
        let f = case.children().find(|c| c.has_tag_name("failure")).unwrap();
        f.attribute("message").unwrap_or_default().to_string()
    };
    assert!(message("pool1").contains("differ on the RTL's own input"), "{text}");
    assert!(message("fc1").contains("correct on the RTL's own input"), "{text}");
}

/// The build-time switch: a broken tree compiled in with CNN_COSIM_RTL is what `verify` runs
/// with no `--rtl` (a whole crate build in target/variants, so not part of make test).
#[test]
#[ignore]
fn a_variant_compiled_in_through_cnn_cosim_rtl() {
    let v = &VARIANTS[1]; // pool_window_off_by_one
    let work = tempfile::tempdir().unwrap();
    let rtl = work.path().join("rtl");
    make_variant(v, &rtl);
    let bin = build(v.name, &rtl, &root().join("target/variants"));
    let (code, stdout, first) =
        run_verify(&bin, &work.path().join("reports"), &["--quiet", "--limit", "50"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(first.map(|f| f.1).as_deref(), Some(v.first_bad_layer), "{stdout}");
}
