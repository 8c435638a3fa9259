//! `.mem` export (byte-identical to numpy.savetxt), reading, and quantization.

mod common;

use cnn_cosim::float_model::{self, FloatWeights, Tensor};
use cnn_cosim::memfile::{self, quantize, Rounding};
use cnn_cosim::network::Network;
use cnn_cosim::weights::Params;
use common::{QuantWeights, FC_IN, FILES};
use std::path::Path;

fn pattern(n: usize, salt: usize) -> Vec<i8> {
    (0..n).map(|i| (((i * 37 + salt * 11) % 256) as i32 - 128) as i8).collect()
}

fn fixture_weights() -> QuantWeights {
    let mut w = QuantWeights::filled(0);
    for k in 0..3 {
        w.conv_w[k].copy_from_slice(&pattern(49, k));
    }
    w.conv_b.copy_from_slice(&pattern(3, 3));
    let fc = pattern(3630, 4);
    for (o, row) in w.fc_w.iter_mut().enumerate() {
        row.copy_from_slice(&fc[o * FC_IN..(o + 1) * FC_IN]);
    }
    w.fc_b.copy_from_slice(&pattern(10, 5));
    w
}

#[test]
fn export_matches_numpy_savetxt_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    fixture_weights().save(dir.path()).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/fixtures/numpy_savetxt");
    for f in FILES {
        let ours = std::fs::read(dir.path().join(f)).unwrap();
        let numpy = std::fs::read(fixture.join(f)).unwrap();
        assert_eq!(ours, numpy, "{f} differs from numpy's");
    }
    // No temporary files are left behind.
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
}

#[test]
fn reader_round_trips_the_fixture() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/fixtures/numpy_savetxt");
    assert_eq!(QuantWeights::load(&fixture).unwrap(), fixture_weights());
}

#[test]
fn reader_accepts_what_readmemh_accepts() {
    let text = "// header comment\n7f 80 // trailing\n  1 /* block\n comment */ ff\n0_a\n";
    assert_eq!(memfile::parse("x.mem", text, 5).unwrap(), vec![127, -128, 1, -1, 10]);
}

fn err(text: &str, expected: usize) -> String {
    format!("{:#}", memfile::parse("w.mem", text, expected).unwrap_err())
}

#[test]
fn reader_rejects_bad_tokens_with_file_line_column() {
    assert_eq!(err("00 01\n02 zz\n", 4), "w.mem:2:4: \"zz\" is not a hex byte (bad character 'z')");
    assert_eq!(
        err("00 100\n", 2),
        "w.mem:1:4: \"100\" is not a hex byte (expected 1 or 2 hex digits)"
    );
    assert_eq!(
        err("@10 00\n", 1),
        "w.mem:1:1: address directive \"@10\" is not supported in weight files"
    );
    assert_eq!(err("00 /* open\n", 1), "w.mem: unterminated /* comment");
}

#[test]
fn reader_rejects_wrong_counts() {
    assert_eq!(err("00 01\n", 3), "w.mem: holds 2 values, expected 3");
    assert_eq!(err("00 01\n02 03\n", 3), "w.mem:2:4: more than the 3 values this file must hold");
    assert_eq!(err("", 1), "w.mem: holds 0 values, expected 1");
}

#[test]
fn load_names_the_missing_or_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    fixture_weights().save(dir.path()).unwrap();
    std::fs::write(dir.path().join("fc_bias.mem"), "00\n").unwrap();
    let e = format!("{:#}", QuantWeights::load(dir.path()).unwrap_err());
    assert!(e.contains("fc_bias.mem: holds 1 values, expected 10"), "{e}");
    std::fs::remove_file(dir.path().join("conv1_bias.mem")).unwrap();
    let e = format!("{:#}", QuantWeights::load(dir.path()).unwrap_err());
    assert!(e.contains("conv1_bias.mem: cannot read weight file"), "{e}");
    let e = format!("{:#}", QuantWeights::load(&dir.path().join("nope")).unwrap_err());
    assert!(e.ends_with("nope: weight directory not found"), "{e}");
}

#[test]
fn quantize_truncates_toward_zero_like_the_notebook() {
    assert_eq!(quantize(0.5, Rounding::Trunc), (64, None));
    assert_eq!(quantize(1.9 / 128.0, Rounding::Trunc), (1, None));
    assert_eq!(quantize(-1.9 / 128.0, Rounding::Trunc), (-1, None));
    assert_eq!(quantize(-1.9 / 128.0, Rounding::Nearest), (-2, None));
    assert_eq!(quantize(1.5 / 128.0, Rounding::Nearest), (2, None));
    assert_eq!(quantize(-1.0, Rounding::Trunc), (-128, None));
    assert_eq!(quantize(0.999, Rounding::Trunc), (127, None));
}

#[test]
fn quantize_saturates_and_reports() {
    assert_eq!(quantize(1.0, Rounding::Trunc), (127, Some(128)));
    assert_eq!(quantize(-1.5, Rounding::Trunc), (-128, Some(-192)));
    let net = Network::seed();
    let mut f = FloatWeights {
        tensors: float_model::spec(&net)
            .into_iter()
            .map(|(name, shape)| {
                let n = shape.iter().product();
                Tensor { name, shape, data: vec![0.0; n] }
            })
            .collect(),
    };
    f.tensors[0].data[49 + 8] = 2.0;
    f.tensors[2].data[400] = -3.0;
    let (q, sat) = Params::quantize(&net, &f, Rounding::Trunc).unwrap();
    assert_eq!(q.layer(0).weight[49 + 8], 127);
    assert_eq!(q.layer(4).weight[400], -128);
    assert_eq!(sat.len(), 2);
    assert_eq!((sat[0].file.as_str(), sat[0].index, sat[0].value), ("conv1_weight_2.mem", 8, 256));
    assert_eq!((sat[1].file.as_str(), sat[1].index, sat[1].value), ("fc_weight.mem", 400, -384));
}
