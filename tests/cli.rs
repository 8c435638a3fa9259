//! The `verify` command end to end on the real RTL: exit codes, reports, bad input.

mod common;

use common::QuantWeights;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn verify(args: &[&str], reports: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(root())
        .arg("verify")
        .args(args)
        .arg("--reports")
        .arg(reports)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The outputs a report directory shows (not the hidden run directories and lock behind
/// them, src/report_set.rs).
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.retain(|n| !n.starts_with('.'));
    v.sort();
    v
}

#[test]
fn committed_weights_are_bit_exact_and_reports_are_complete() {
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--quiet", "--start", "9900", "--jobs", "2"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 100/100 images bit-exact at every layer"), "{}", text(&o));
    assert_eq!(files(r.path()), ["index.html", "layers.csv", "mismatches.csv", "summary.csv"]);
    let summary = std::fs::read_to_string(r.path().join("summary.csv")).unwrap();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 101);
    assert!(lines[1].starts_with("9900,"), "{}", lines[1]);
    assert!(lines[1..].iter().all(|l| l.contains(",ok,")), "{summary}");
    let layers = std::fs::read_to_string(r.path().join("layers.csv")).unwrap();
    assert!(layers.contains("conv1,100,145200,0,0,0"), "{layers}");
    let mism = std::fs::read_to_string(r.path().join("mismatches.csv")).unwrap();
    assert_eq!(mism.lines().count(), 1, "header only: {mism}");
    let html = std::fs::read_to_string(r.path().join("index.html")).unwrap();
    assert!(html.contains("PASS"), "index.html is written by every run");
}

#[test]
fn results_do_not_depend_on_jobs_or_streaming_mode() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let oa = verify(&["--quiet", "--limit", "120", "--jobs", "1"], a.path());
    let ob = verify(&["--quiet", "--limit", "120", "--jobs", "2", "--reset-each"], b.path());
    assert_eq!(oa.status.code(), Some(0), "{}", text(&oa));
    assert_eq!(ob.status.code(), Some(0), "{}", text(&ob));
    let sa = std::fs::read_to_string(a.path().join("summary.csv")).unwrap();
    let sb = std::fs::read_to_string(b.path().join("summary.csv")).unwrap();
    assert_eq!(sa, sb);
}

#[test]
fn another_weight_set_runs_without_rebuild() {
    // Extreme weights push every accumulator to its bound.
    for v in [127i8, -128, 1] {
        let w = tempfile::tempdir().unwrap();
        let mut q = QuantWeights::filled(v);
        q.fc_b[3] = -v;
        q.save(w.path()).unwrap();
        let r = tempfile::tempdir().unwrap();
        let o = verify(
            &["--quiet", "--limit", "40", "--weights", w.path().to_str().unwrap()],
            r.path(),
        );
        assert_eq!(o.status.code(), Some(0), "weights all {v}: {}", text(&o));
    }
}

#[test]
fn bad_weights_exit_2_naming_the_file_and_write_no_report() {
    let w = tempfile::tempdir().unwrap();
    QuantWeights::filled(3).save(w.path()).unwrap();
    std::fs::write(w.path().join("fc_bias.mem"), "01\n02\nxyz\n").unwrap();
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--limit", "5", "--weights", w.path().to_str().unwrap()], r.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("fc_bias.mem:3:1: \"xyz\" is not a hex byte"), "{err}");
    assert!(files(r.path()).is_empty(), "{:?}", files(r.path()));
}

#[test]
fn bad_mnist_and_usage_exit_2() {
    let m = tempfile::tempdir().unwrap();
    std::fs::write(m.path().join("t10k-images-idx3-ubyte"), [0u8; 10]).unwrap();
    std::fs::write(m.path().join("t10k-labels-idx1-ubyte"), [0u8; 10]).unwrap();
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--mnist", m.path().to_str().unwrap()], r.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("t10k-images-idx3-ubyte: 10 bytes is too short"), "{}", text(&o));
    assert!(files(r.path()).is_empty());
    let o = verify(&["--start", "10000"], r.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--start 10000 is past the last image (9999)"), "{}", text(&o));
    let o = verify(&["--bubbles", "1.5"], r.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn argmax_ties_resolve_to_the_lowest_index_in_rtl_and_reference() {
    // Weight set 4 is "ties-all": every fc row and bias equal, so all ten logits tie.
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--stimulus", "random", "--set", "4", "--count", "20", "--quiet"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("argmax ties (equal top logits in the reference): 20 images"),
        "{}",
        text(&o)
    );
    let summary = std::fs::read_to_string(r.path().join("summary.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(summary.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let (rc, fc) = (
        h.iter().position(|x| x == "rtl_class").unwrap(),
        h.iter().position(|x| x == "ref_class").unwrap(),
    );
    let rows: Vec<_> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| &r[rc] == "0" && &r[fc] == "0"), "{summary}");
}

#[test]
fn random_campaign_with_bubbles_is_bit_exact_and_reproducible() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let args = [
        "--stimulus",
        "random",
        "--seed",
        "11",
        "--sets",
        "8",
        "--count",
        "12",
        "--bubbles",
        "0.25",
        "--quiet",
    ];
    let oa = verify(&args, a.path());
    assert_eq!(oa.status.code(), Some(0), "{}", text(&oa));
    assert!(text(&oa).contains("PASS: 96/96"), "{}", text(&oa));
    let ob = verify(&[&args[..], &["--jobs", "1"]].concat(), b.path());
    assert_eq!(ob.status.code(), Some(0));
    let sa = std::fs::read_to_string(a.path().join("summary.csv")).unwrap();
    assert_eq!(sa, std::fs::read_to_string(b.path().join("summary.csv")).unwrap());
    // weight_set, seed, and an empty protocol column (no handshake problem).
    assert!(sa.lines().nth(1).unwrap().ends_with(",0,11,"), "weight_set, seed, protocol: {sa}");
}

#[test]
fn one_image_debug_view_dump_and_waveform() {
    let d = tempfile::tempdir().unwrap();
    let fst = d.path().join("img7.fst");
    let o = Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .current_dir(root())
        .env(
            "CNN_COSIM_CACHE",
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-cache"),
        )
        .args(["verify", "--image", "7", "--dump"])
        .arg(d.path().join("dump"))
        .arg("--trace")
        .arg(&fst)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("MNIST test image 7: status ok"), "{t}");
    assert!(t.contains("conv1: all 1452 elements equal"), "{t}");
    let conv = std::fs::read_to_string(d.path().join("dump/conv1.csv")).unwrap();
    assert_eq!(conv.lines().count(), 1 + 1452);
    assert_eq!(conv.lines().next(), Some("channel,row,col,expected,actual"));
    assert!(conv.lines().skip(1).all(|l| {
        let f: Vec<&str> = l.split(',').collect();
        f[3] == f[4]
    }));
    let fc = std::fs::read_to_string(d.path().join("dump/fc1.csv")).unwrap();
    assert_eq!(fc.lines().count(), 11);
    // The waveform parses (fst2vcd from Debian's gtkwave, installed by scripts/setup.sh test)
    // and holds the taps.
    let vcd = Command::new("fst2vcd").arg(&fst).output().unwrap_or_else(|e| {
        panic!("fst2vcd not runnable ({e}); scripts/setup.sh test installs gtkwave")
    });
    assert!(vcd.status.success());
    let vcd = String::from_utf8_lossy(&vcd.stdout);
    for sig in [
        "pixel_valid_i",
        "conv1_valid_o",
        "conv1_data_o",
        "pool1_data_o",
        "fc1_data_o",
        "class_valid_o",
    ] {
        assert!(vcd.contains(&format!(" {sig} ")), "{sig} missing from the waveform");
    }
    // One image: at least 784 cycles (two timestamps per cycle).
    assert!(vcd.lines().filter(|l| l.starts_with('#')).count() >= 2 * 784);
}

#[test]
fn baseline_catches_changed_counts_and_a_slower_rtl() {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("base.json");
    let b = base.to_str().unwrap();
    let o = verify(&["--quiet", "--limit", "60", "--write-baseline", b], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = verify(&["--quiet", "--limit", "60", "--baseline", b], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("baseline: counts and RTL timing match"), "{}", text(&o));
    let json = std::fs::read_to_string(&base).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // A baseline that claims one more correct image: any count change fails.
    v["rtl_correct"] = (v["rtl_correct"].as_u64().unwrap() + 1).into();
    std::fs::write(&base, v.to_string()).unwrap();
    let o = verify(&["--quiet", "--limit", "60", "--baseline", b], d.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("baseline REGRESSION: RTL correct:"), "{}", text(&o));
    // A baseline from a faster RTL: this one is slower.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["latency_max"] = (v["latency_max"].as_u64().unwrap() - 1).into();
    std::fs::write(&base, v.to_string()).unwrap();
    let o = verify(&["--quiet", "--limit", "60", "--baseline", b], d.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("(the RTL got slower)"), "{}", text(&o));
    // A baseline of another run is an error, not a pass.
    let o = verify(&["--quiet", "--limit", "61", "--baseline", b], d.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("baseline was recorded for a different run"), "{}", text(&o));
}

#[test]
fn random_campaign_shards_merge_to_the_single_run() {
    let d = tempfile::tempdir().unwrap();
    let common = ["--stimulus", "random", "--seed", "4", "--sets", "3", "--count", "20", "--quiet"];
    let single = d.path().join("single");
    assert_eq!(verify(&common, &single).status.code(), Some(0));
    let mut dirs = Vec::new();
    for k in 1..=2 {
        let sd = d.path().join(format!("s{k}"));
        let o = verify(&[&common[..], &["--shard", &format!("{k}/2")]].concat(), &sd);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        dirs.push(sd);
    }
    let merged = d.path().join("merged");
    let o = Command::new(env!("CARGO_BIN_EXE_cnn-cosim"))
        .arg("merge")
        .arg("--out")
        .arg(&merged)
        .args(&dirs)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for f in ["summary.csv", "mismatches.csv", "layers.csv"] {
        assert_eq!(
            std::fs::read(merged.join(f)).unwrap(),
            std::fs::read(single.join(f)).unwrap(),
            "{f}"
        );
    }
    // Shard 1/2 holds sets 0 and 2 (one segment each), shard 2/2 set 1.
    let s1 = std::fs::read_to_string(dirs[0].join("summary.csv")).unwrap();
    assert_eq!(s1.lines().count(), 1 + 40);
    let o = verify(&["--shard", "3/2"], d.path());
    assert_eq!(o.status.code(), Some(2));
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn-cosim")).current_dir(root()).args(args).output().unwrap()
}

#[test]
fn net_show_prints_the_bounds_of_both_networks() {
    let o = cli(&["net", "show"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("network seed"), "{t}");
    assert!(t.contains("-293,901,184") && t.contains("30 bits signed / 30 bits signed"), "{t}");
    let o = cli(&["net", "show", "vectors/networks/two_conv.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("12 bits signed / 12 bits signed, saturated"), "{}", text(&o));
}

#[test]
fn bad_network_descriptions_exit_2_with_one_line_and_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string(root().join("vectors/networks/seed.toml")).unwrap();
    let cases = [
        (
            "unknown_op.toml",
            seed.replace("op = \"relu\"", "op = \"softmax\""),
            "unknown op \"softmax\"",
        ),
        (
            "chain.toml",
            seed.replace("in = 363", "in = 48"),
            "in = 48, but the layer before it gives 363",
        ),
        (
            "overflow.toml",
            seed.replace("out_bits = 23", "out_bits = 20"),
            "out_bits = 20 (signed) can overflow",
        ),
        ("key.toml", seed.replace("padding = 0", "pading = 0"), "unknown field `pading`"),
    ];
    for (name, body, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let r = tempfile::tempdir().unwrap();
        let o = verify(&["--net", path.to_str().unwrap(), "--limit", "5"], r.path());
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(err.contains(path.to_str().unwrap()) && err.contains(want), "{name}: {err}");
        assert!(files(r.path()).is_empty(), "{name}: {:?}", files(r.path()));
        // The same check stops every other command that reads a network.
        let o = cli(&["net", "show", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
    }
}

#[test]
fn a_network_the_built_in_rtl_does_not_tap_is_refused() {
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--net", "two_conv", "--limit", "5"], r.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("two_conv") && err.contains("built-in RTL"), "{err}");
    assert!(files(r.path()).is_empty());
}

#[test]
fn an_arithmetic_variant_runs_against_the_seed_rtl_and_is_caught() {
    // seed_half_up taps the same layers as rtl/, but rounds and saturates conv1 differently:
    // the description is the contract, so the RTL (floor, 14 bits) must fail at conv1.
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--net", "seed_half_up", "--limit", "20", "--quiet"], r.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("first failure: image 0, layer conv1"), "{}", text(&o));
    assert!(
        text(&o).contains("reproduce it alone: cnn-cosim verify --net seed_half_up --image 0"),
        "{}",
        text(&o)
    );
}

/// `eval --net NAME --classes --dump --image N`: 10,000 rows that agree with the reference
/// run here and with the printed accuracy, and image N's every layer, the tapped ones equal
/// to the reference's taps.
fn eval_outputs(name: &str, image: usize) {
    use cnn_cosim::mnist::{self, Split};
    use cnn_cosim::network::Network;
    use cnn_cosim::reference;
    use cnn_cosim::weights::Params;
    let d = tempfile::tempdir().unwrap();
    let classes = d.path().join("classes.csv");
    let dump = d.path().join("dump");
    let n = image.to_string();
    let args = ["eval", "--net", name, "--classes", classes.to_str().unwrap()];
    let o = cli(&[&args[..], &["--dump", dump.to_str().unwrap(), "--image", &n]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let net = Network::find(name).unwrap();
    let params = Params::load(&net, &root().join(net.weights.as_ref().unwrap())).unwrap();
    let test = mnist::load(&root().join("vectors/mnist"), Split::Test).unwrap();
    let model = reference::Model::new(&net, &params);
    let mut r = csv::Reader::from_path(&classes).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 10_000, "{name}");
    let mut right = 0;
    for (i, row) in rows.iter().enumerate().step_by(97) {
        let out = model.run(&test.images[i]);
        assert_eq!(row[0].parse::<usize>().unwrap(), i);
        assert_eq!(row[1].parse::<u8>().unwrap(), test.labels[i]);
        assert_eq!(row[2].parse::<u8>().unwrap(), out.class, "{name} image {i}");
        assert!(!row[3].is_empty(), "{name} has float weights");
        assert_eq!(row[4].parse::<bool>().unwrap(), out.tie());
    }
    for row in &rows {
        right += (row[1] == row[2]) as usize;
    }
    assert!(text(&o).contains(&format!("fixed-point accuracy: {right}/10000")), "{}", text(&o));
    let out = model.run(&test.images[image]);
    let names: Vec<String> = std::fs::read_dir(&dump)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), net.layers.len() + 2, "{names:?}: input, each layer, float logits");
    for (t, tap) in net.taps().iter().enumerate() {
        let file = dump.join(format!("{:02}_{}.csv", tap.layer + 1, tap.name));
        let mut r = csv::Reader::from_path(&file).unwrap();
        let values: Vec<i64> = r
            .records()
            .map(|rec| rec.unwrap().iter().next_back().unwrap().parse().unwrap())
            .collect();
        assert_eq!(values, out.taps[t], "{name}: {}", tap.name);
    }
}

#[test]
fn eval_writes_every_images_classes_and_one_images_layers() {
    eval_outputs("two_conv", 18);
    eval_outputs("lenet5", 7);
    let d = tempfile::tempdir().unwrap();
    // An image past the test set is a one-line error, exit 2, and writes nothing.
    let none = d.path().join("none.csv");
    let o = cli(&["eval", "--classes", none.to_str().unwrap(), "--dump", "x", "--image", "10000"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--image 10000: the test set has 10000 images"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!none.exists());
}

/// A `.npy` file (format 1.0) of `descr` and `shape` holding `data`, as numpy.save writes it.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((header.len() as u16).to_le_bytes());
    b.extend(header.as_bytes());
    b.extend(data);
    b
}

#[test]
fn images_and_labels_from_files_verify_like_mnist_and_bad_files_exit_2() {
    use cnn_cosim::mnist::{self, Split};
    let test = mnist::load(&root().join("vectors/mnist"), Split::Test).unwrap();
    let d = tempfile::tempdir().unwrap();
    // The first 200 test images as a .npy (N×1×28×28 u8), their labels as an IDX vector.
    let pixels: Vec<u8> =
        test.images[..200].iter().flat_map(|i| i.iter().map(|&p| p as u8)).collect();
    let images = d.path().join("images.npy");
    std::fs::write(&images, npy("|u1", "(200, 1, 28, 28)", &pixels)).unwrap();
    let labels = d.path().join("labels.idx");
    let mut idx = vec![0, 0, 8, 1];
    idx.extend(200u32.to_be_bytes());
    idx.extend(&test.labels[..200]);
    std::fs::write(&labels, &idx).unwrap();
    let (i, l) = (images.to_str().unwrap(), labels.to_str().unwrap());
    let files = d.path().join("files");
    let o = verify(&["--images", i, "--labels", l], &files);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS: 200/200 images bit-exact at every layer"), "{}", text(&o));
    // The same images from MNIST: the same layer counts and per-image verdicts.
    let mnist_dir = d.path().join("mnist");
    let o = verify(&["--limit", "200"], &mnist_dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let read = |dir: &Path, f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    assert_eq!(read(&files, "layers.csv"), read(&mnist_dir, "layers.csv"));
    let o = cli(&["eval", "--images", i, "--labels", l]);
    assert!(text(&o).contains("test images: 200 (images from"), "{}", text(&o));
    // Bad files: one line naming the file, exit 2, no report.
    let bad = |name: &str, bytes: &[u8], as_images: bool, want: &str| {
        let f = d.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let (i, l) = if as_images { (f.to_str().unwrap(), l) } else { (i, f.to_str().unwrap()) };
        let r = d.path().join(format!("r-{name}"));
        let o = verify(&["--images", i, "--labels", l], &r);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!r.join("summary.csv").exists(), "{name}: no report");
    };
    bad("short.npy", &npy("|u1", "(200, 1, 28, 28)", &pixels[..1000]), true, "(truncated)");
    bad("f32.npy", &npy("<f4", "(1,)", &[0; 4]), true, "is not one of u8, i8, i16, i32");
    bad("big.npy", &npy("|u1", "(1, 32, 32)", &[0; 1024]), true, "images of shape [1, 32, 32]");
    bad(
        "i16.npy",
        &npy("<i2", "(1, 28, 28)", &[0x00, 0x01].repeat(784)),
        true,
        "outside the network's input, 8 bits unsigned",
    );
    bad("few.idx", &[0, 0, 8, 1, 0, 0, 0, 2, 1, 2], false, "holds 2 labels but");
    bad("ten.idx", &[&idx[..8], &[10u8; 200][..]].concat(), false, "label 0 is 10, expected 0..9");
    // Half a pair is a usage error.
    let o = cli(&["verify", "--images", i]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// `int8_input`'s first images as a `.npy` of `descr` (`|i1`, `<i2`) and shape, and labels
/// 0..4 as a `.npy` of `|u1`; returns (images, labels).
fn int8_files(
    (dir, name): (&Path, &str),
    n: usize,
    descr: &str,
    shape: &str,
    value: impl Fn(usize) -> i64,
) -> (PathBuf, PathBuf) {
    let width = if descr == "|i1" { 1 } else { 2 };
    let data: Vec<u8> =
        (0..n * 192).flat_map(|k| value(k).to_le_bytes()[..width].to_vec()).collect();
    let images = dir.join(name);
    std::fs::write(&images, npy(descr, shape, &data)).unwrap();
    let labels = dir.join("labels.npy");
    let l: Vec<u8> = (0..n).map(|i| (i % 5) as u8).collect();
    std::fs::write(&labels, npy("|u1", &format!("({n},)"), &l)).unwrap();
    (images, labels)
}

#[test]
fn eval_takes_any_input_from_files_and_refuses_what_does_not_fit() {
    use cnn_cosim::network::Network;
    use cnn_cosim::{reference, stimulus};
    let fixture = "vectors/fixtures/int8_input.toml";
    let net = Network::find(fixture).unwrap();
    let d = tempfile::tempdir().unwrap();
    let (params, _) = stimulus::weight_set(&net, 7, 6);
    let weights = d.path().join("weights");
    params.save(&net, &weights).unwrap();
    let w = weights.to_str().unwrap();
    // 40 images, values −128..127, as N×3×8×8 int8.
    let value = |k: usize| ((k * 37) % 256) as i64 - 128;
    let (images, labels) = int8_files((d.path(), "images.npy"), 40, "|i1", "(40, 3, 8, 8)", value);
    let (i, l) = (images.to_str().unwrap(), labels.to_str().unwrap());
    let classes = d.path().join("classes.csv");
    let c = classes.to_str().unwrap();
    let args = ["eval", "--net", fixture, "--weights", w, "--images", i, "--labels", l];
    let o = cli(&[&args[..], &["--classes", c]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Every class the reference computes here, and the accuracy over labels i % 5.
    let model = reference::Model::new(&net, &params);
    let want: Vec<u8> = (0..40)
        .map(|n| {
            let img: Vec<i32> = (0..192).map(|k| value(n * 192 + k) as i32).collect();
            model.run(&img).class
        })
        .collect();
    let rows = std::fs::read_to_string(&classes).unwrap();
    let got: Vec<u8> =
        rows.lines().skip(1).map(|r| r.split(',').nth(2).unwrap().parse().unwrap()).collect();
    assert_eq!(got, want);
    let right = want.iter().enumerate().filter(|(n, &c)| c as usize == n % 5).count();
    assert!(text(&o).contains(&format!("fixed-point accuracy: {right}/40")), "{}", text(&o));
    // The files named in the description itself: the same classes without --images.
    let named = d.path().join("named.toml");
    let desc = std::fs::read_to_string(root().join(fixture)).unwrap().replace(
        "dataset = { images = \"target/int8_input/images.npy\", labels = \"target/int8_input/labels.npy\" }",
        &format!("dataset = {{ images = {i:?}, labels = {l:?} }}"),
    );
    std::fs::write(&named, desc).unwrap();
    let classes2 = d.path().join("classes2.csv");
    let nm = named.to_str().unwrap();
    let o = cli(&["eval", "--net", nm, "--weights", w, "--classes", classes2.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&classes2).unwrap(), rows);
    // Bad files: one line each, exit 2, naming the file and what the network takes.
    let bad = |images: &Path, labels: &Path, want: &str| {
        let (i, l) = (images.to_str().unwrap(), labels.to_str().unwrap());
        let o = cli(&["eval", "--net", fixture, "--weights", w, "--images", i, "--labels", l]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(want), "{e}");
    };
    let (wrong_shape, _) = int8_files((d.path(), "shape.npy"), 40, "|i1", "(40, 8, 24)", value);
    bad(&wrong_shape, &labels, "images of shape [40, 8, 24]; the network");
    bad(&wrong_shape, &labels, "takes N×3×8×8");
    let (wide, _) = int8_files((d.path(), "wide.npy"), 40, "<i2", "(40, 3, 8, 8)", |k| {
        if k == 77 {
            200
        } else {
            0
        }
    });
    bad(
        &wide,
        &labels,
        "value 200 at element 77 (image 0) is outside the network's input, 8 bits signed",
    );
    let many = d.path().join("many.npy");
    std::fs::write(&many, npy("|u1", "(40,)", &[7; 40])).unwrap();
    bad(&images, &many, "label 0 is 7, expected 0..4");
    // MNIST cannot feed it.
    let o = cli(&["eval", "--net", fixture, "--weights", w]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("target/int8_input/images.npy"), "{}", text(&o));
    // The RTL drives values of up to 8 bits: a 12-bit input is refused before anything runs.
    let twelve = d.path().join("twelve.toml");
    let t = std::fs::read_to_string(root().join(fixture))
        .unwrap()
        .replace("bits = 8\nsigned = true", "bits = 12\nsigned = true");
    std::fs::write(&twelve, t).unwrap();
    let o = verify(&["--net", twelve.to_str().unwrap()], &d.path().join("r"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("[input] bits = 12: the harness drives input values of up to 8 bits"),
        "{e}"
    );
    assert!(!d.path().join("r").exists());
}
