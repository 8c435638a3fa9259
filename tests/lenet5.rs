//! The `lenet5` network (issue 22 §7) and what it brought to descriptions: requantization
//! multipliers and shifts loaded per output channel with the weights, bounds over their
//! declared ranges, and the TFLite-style post-training calibration that writes them.

mod nets;
use nets::{bounds_hold, err, index, reach_both};

use cnn_cosim::calibrate;
use cnn_cosim::float_model::{self, FloatWeights, Tensor};
use cnn_cosim::mnist::{Image, PIXELS};
use cnn_cosim::network::{rdbpot, srdhm, Network, Range};
use cnn_cosim::reference;
use cnn_cosim::weights::{Params, Which};

fn lenet5() -> Network {
    Network::find("lenet5").unwrap()
}

fn text() -> String {
    std::fs::read_to_string("vectors/networks/lenet5.toml").unwrap()
}

#[test]
fn bounds_hold_over_the_declared_multiplier_and_shift_ranges() {
    let net = lenet5();
    let c1 = &net.layers[index(&net, "c1")];
    // x in 0..127 after rint(x·127/255) and zero padding; int8 weights; 25 terms; 24-bit bias.
    assert_eq!(c1.bounds.product, Some(Range { min: -16_256, max: 16_129 }));
    let acc = Range { min: 25 * -16_256 - (1 << 23), max: 25 * 16_129 + (1 << 23) - 1 };
    assert_eq!(c1.bounds.acc, Some(acc));
    // The widest corner of the ranges: M = 2^31 − 1, s = 31 (no right shift) keeps the
    // accumulator, one below it in magnitude where SRDHM rounds.
    let widest = |a: i128| rdbpot(srdhm(a as i32, i32::MAX), 0) as i128;
    assert_eq!(c1.bounds.rounded, Some(Range { min: widest(acc.min), max: widest(acc.max) }));
    assert_eq!(c1.bounds.out, Range { min: -128, max: 127 });
    // C3's 16 outputs sum 3 to 6 maps: the bound is the fullest row's 150 terms.
    let c3 = &net.layers[index(&net, "c3")];
    assert_eq!(c3.bounds.acc.unwrap().max, 150 * 16_129 + (1 << 23) - 1);
    // The raw accumulator of the output layer must fit its 32 bits, and does.
    let out = &net.layers[index(&net, "output")];
    assert_eq!(
        out.bounds.out,
        Range { min: 84 * -16_256 - (1 << 23), max: 84 * 16_129 + (1 << 23) - 1 }
    );
    let show = net.show();
    assert!(show.contains("tflite(acc·M[o]/2^s[o])"), "{show}");
    // Random weight sets draw multipliers and shifts across the ranges: every value inside
    // its bounds, and the saturating layers at both rails.
    let reached = bounds_hold(&net, 23);
    reach_both(&net, &reached, &["c1", "c3", "c5", "f6"]);
}

#[test]
fn loaded_values_round_trip_and_compute_tflites_arithmetic() {
    let net = lenet5();
    let c1 = index(&net, "c1");
    // c1: only the kernel's centre tap, 50; bias 100·o; multiplier and shift per channel.
    let m = [
        1_073_741_824i64,
        1_500_000_000,
        2_147_483_647,
        1_200_000_000,
        1_800_000_000,
        1_100_000_000,
    ];
    let s = [31i64, 33, 36, 40, 45, 62];
    let params = Params::generate(&net, |l, which, n| match (l == c1, which) {
        (true, Which::Weight) if n % 25 == 12 => 50,
        (true, Which::Bias) => 100 * n as i64,
        (true, Which::Multiplier) => m[n],
        (true, Which::Shift) => s[n],
        (_, Which::Multiplier) => 1 << 30,
        (_, Which::Shift) => 40,
        _ => 0,
    });
    let dir = tempfile::tempdir().unwrap();
    let files = params.save(&net, dir.path()).unwrap();
    assert!(files.contains(&"c1_multiplier.mem".to_string()), "{files:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("c1_shift.mem")).unwrap(),
        "1f\n21\n24\n28\n2d\n3e\n"
    );
    let loaded = Params::load(&net, dir.path()).unwrap();
    assert_eq!(loaded, params);
    let mut image: Image = vec![0; PIXELS].into();
    image[0] = 255; // rint(255·127/255) = 127, at (2, 2) after padding: c1's output (0, 0)
    image[1] = 2; // rint(2·127/255) = rint(0.996) = 1
    let out = reference::run(&net, &loaded, &image);
    for o in 0..6 {
        for (col, x) in [(0usize, 127i32), (1, 1), (2, 0)] {
            let acc = x * 50 + 100 * o as i32;
            let want = rdbpot(srdhm(acc, m[o] as i32), (s[o] - 31) as u32).clamp(-128, 127);
            assert_eq!(out.taps[0][o * 784 + col], want as i64, "channel {o} column {col}");
        }
    }
    // A worked value: channel 2, acc = 127·50 + 200 = 6,550; M = 2^31 − 1 ≈ 1, s = 36:
    // SRDHM gives 6,550 (6,549.999997 rounded), RDBPOT(6,550, 5) = 204.69 → 205 → sat 127.
    assert_eq!(out.taps[0][2 * 784], 127);
    // Channel 5: s = 62 divides by 2^31: 300·(1.1e9/2^31)/2^31 rounds to 0.
    assert_eq!(out.taps[0][5 * 784], 0);
}

#[test]
fn a_loaded_value_outside_its_range_is_one_line_naming_the_file() {
    let net = lenet5();
    let params = Params::filled(&net, 0);
    let dir = tempfile::tempdir().unwrap();
    params.save(&net, dir.path()).unwrap();
    // Filled with 0, clamped: every multiplier 2^30, every shift 31. Now one shift of 30.
    std::fs::write(dir.path().join("c3_shift.mem"), "1f\n".repeat(15) + "1e\n").unwrap();
    let e = format!("{:#}", Params::load(&net, dir.path()).unwrap_err());
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("c3_shift.mem: value 15 is 30, outside the shift range 31..62")
            && e.contains("layer \"c3\""),
        "{e}"
    );
    std::fs::write(dir.path().join("c3_shift.mem"), "1f\n".repeat(15)).unwrap();
    let e = format!("{:#}", Params::load(&net, dir.path()).unwrap_err());
    assert!(e.contains("c3_shift.mem: holds 15 values, expected 16"), "{e}");
    std::fs::remove_file(dir.path().join("c3_shift.mem")).unwrap();
    let e = format!("{:#}", Params::load(&net, dir.path()).unwrap_err());
    assert!(e.contains("c3_shift.mem: cannot read"), "{e}");
}

#[test]
fn bad_loaded_requantizations_are_one_line() {
    let t = text();
    let c1m = "multiplier = { file = \"c1_multiplier.mem\", bits = 31, min = 1073741824 }";
    let e =
        err(&t.replace(c1m, "multiplier = { file = \"c1_multiplier.mem\", bits = 31, min = 0 }"));
    assert!(
        e.contains("layer \"c1\"")
            && e.contains("multiplier = 0 overflows TFLite's multiplier")
            && e.contains("declared range"),
        "{e}"
    );
    let e = err(&t.replace(c1m, "multiplier = { file = \"c1_multiplier.mem\", bits = 33 }"));
    assert!(e.contains("multiplier.bits = 33: 1..32 supported"), "{e}");
    let e = err(&t.replace(
        c1m,
        "multiplier = { file = \"c1_multiplier.mem\", bits = 31, min = 9, max = 3 }",
    ));
    assert!(e.contains("min = 9, max = 3: need min ≤ max"), "{e}");
    let e = err(&t.replace(c1m, "multiplier = { file = \"../m.mem\", bits = 31, min = 1 }"));
    assert!(e.contains("multiplier.file") && e.contains("not a plain file name"), "{e}");
    let e = err(&t.replace(c1m, "multiplier = [1, 2, 3, 4, 5, 6]"));
    assert!(
        e.contains("multiplier lists per-channel values while") && e.contains("load both"),
        "{e}"
    );
    let e = err(&t.replace(c1m, "multiplier = { file = \"m.mem\", bits = 31, mn = 1 }"));
    assert!(e.contains("or a table { file, bits, min, max }"), "{e}");
    // A shift range the int32 steps cannot take.
    let e = err(&t.replacen("min = 31, max = 62", "min = 20, max = 62", 1));
    assert!(e.contains("\"tflite\" works on int32") && e.contains("shifted left by 11"), "{e}");
}

/// A small float LeNet-5 whose weights are a fixed pattern, for calibration tests.
fn float_weights(net: &Network) -> FloatWeights {
    let tensors = float_model::spec(net)
        .into_iter()
        .enumerate()
        .map(|(t, (name, shape))| {
            let n: usize = shape.iter().product();
            let data = (0..n)
                .map(|i| (((i * 7919 + t * 104_729) % 2001) as f32 - 1000.0) / 4000.0)
                .collect();
            Tensor { name, shape, data }
        })
        .collect();
    FloatWeights { tensors }
}

#[test]
fn calibration_writes_loadable_weights_that_track_the_float_model() {
    let net = lenet5();
    let fw = float_weights(&net);
    let images: Vec<Image> = (0..64u32)
        .map(|k| (0..PIXELS as u32).map(|i| ((i * 31 + k * 97) % 256) as i32).collect())
        .collect();
    let (params, saturated) = calibrate::calibrate(&net, &fw, &images).unwrap();
    assert!(saturated.is_empty(), "{saturated:?}");
    // Written and read back: every value within its width and declared range.
    let dir = tempfile::tempdir().unwrap();
    params.save(&net, dir.path()).unwrap();
    assert_eq!(Params::load(&net, dir.path()).unwrap(), params);
    // Per-channel symmetric weights: every c1 channel reaches ±127, none −128.
    let c1 = params.layer(index(&net, "c1"));
    for ch in c1.weight.chunks(25) {
        assert_eq!(ch.iter().map(|v| v.abs()).max(), Some(127), "{ch:?}");
    }
    assert!(c1.weight.iter().all(|&v| v >= -127));
    // The output layer shares one scale: its largest weight is 127, and a row whose float
    // weights are smaller stays below (per-channel scales would take every row to 127).
    let out = params.layer(index(&net, "output"));
    assert_eq!(out.weight.iter().map(|v| v.abs()).max(), Some(127));
    assert!(out.weight.chunks(84).any(|row| row.iter().all(|v| v.abs() < 127)));
    // Masked C3 pairs were not trained; the calibrated reference tracks the float model: its
    // logits, rescaled, agree in sign on most outputs of these images.
    let model = reference::Model::new(&net, &params);
    let mut agree = 0;
    for img in &images {
        let q = model.run(img);
        let f = fw.logits(&net, img);
        agree += q.logits.iter().zip(&f).filter(|(a, b)| (**a > 0) == (**b > 0.0)).count();
    }
    assert!(agree >= 64 * 10 * 9 / 10, "{agree} of 640 logits agree in sign");
}

#[test]
fn random_sets_tie_at_every_rounding_to_nearest_and_unmask_every_table() {
    // Every layer that rounds to nearest meets exact ties on the random weight sets (8 kinds
    // × 12 images), so a design that breaks ties another way is caught. (rint(x·127/255)
    // cannot tie: 255 is odd; seed's conv1 floors.)
    // (requant.toml's conv2 does not: its inputs collapse to a few values on these sets.)
    for name in ["two_conv", "lenet5", "vectors/fixtures/sparse.toml"] {
        let net = Network::find(name).unwrap();
        let ties = nets::ties(&net, 11);
        println!("{name}: (layer, ties, values) {ties:?}");
        assert!(!ties.is_empty(), "{name}");
        for (layer, t, n) in &ties {
            assert!(*t > 0, "{name}: layer {layer} met no tie in {n} values");
        }
    }
    // A connection table's masked pairs hold non-zero weights in random sets (trained ones
    // are zero, so only these catch a design that ignores the table).
    let net = lenet5();
    let c3 = index(&net, "c3");
    let (params, kind) = cnn_cosim::stimulus::weight_set(&net, 11, 6);
    let w = &params.layer(c3).weight;
    let masked = (0..16 * 6).filter(|&n| !lenet5_table()[n / 6][n % 6]);
    let nonzero = masked.filter(|&n| w[n * 25..(n + 1) * 25].iter().any(|&v| v != 0)).count();
    assert_eq!(nonzero, 16 * 6 - 60, "{kind}: every masked pair has a non-zero weight");
}

/// LeCun's C3 table as lenet5.toml writes it (60 connected pairs).
fn lenet5_table() -> Vec<Vec<bool>> {
    let net = lenet5();
    let c3 = &net.layers[index(&net, "c3")];
    let cnn_cosim::network::Op::Conv2d(c) = &c3.op else { unreachable!() };
    let t = c.connections.clone().unwrap();
    assert_eq!(t.iter().flatten().filter(|&&v| v).count(), 60);
    t
}
