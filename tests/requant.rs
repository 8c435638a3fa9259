//! Requantization and the rounding rules in descriptions (issue 22 §2, §3): the int8 fixture
//! `vectors/fixtures/requant.toml` computed by hand against TFLite's published arithmetic,
//! derived bounds that hold every value the reference produces (random weight sets at the
//! extremes, every rounding rule), and bad descriptions refused in one line.

mod nets;
use nets::{bounds_hold, err, index, reach_both};

use cnn_cosim::mnist::PIXELS;
use cnn_cosim::network::{rdbpot, srdhm, Network, Range, Rounding};
use cnn_cosim::reference;
use cnn_cosim::stimulus;
use cnn_cosim::weights::{Params, Which};

const FIXTURE: &str = "vectors/fixtures/requant.toml";

fn fixture_text() -> String {
    std::fs::read_to_string(FIXTURE).unwrap()
}

fn fixture() -> Network {
    Network::find(FIXTURE).unwrap()
}

#[test]
fn the_fixtures_bounds_follow_each_requantization() {
    let net = fixture();
    let c1 = &net.layers[index(&net, "conv1")];
    // (x − 128)·w: −128·−128 = 16,384 at most; padding adds zero terms.
    assert_eq!(c1.bounds.product, Some(Range { min: -16_256, max: 16_384 }));
    let acc = Range { min: 25 * -16_256 - (1 << 23), max: 25 * 16_384 + (1 << 23) - 1 };
    assert_eq!(c1.bounds.acc, Some(acc));
    // Per channel, TFLite's two steps on both extremes, then − 5; the widest channel wins.
    let m = [1_518_500_250, 1_276_901_417, 2_147_483_647, 1_073_741_824];
    let e = [7, 8, 9, 6]; // 38 − 31, …: the right shifts
    let step = |a: i128, o: usize| (rdbpot(srdhm(a as i32, m[o]), e[o]) - 5) as i128;
    let lo = (0..4).map(|o| step(acc.min, o)).min().unwrap();
    let hi = (0..4).map(|o| step(acc.max, o)).max().unwrap();
    assert_eq!(c1.bounds.rounded, Some(Range { min: lo, max: hi }));
    assert_eq!(c1.bounds.out, Range { min: -128, max: 127 });
    // conv2 saturates symmetrically: −127..127.
    assert_eq!(net.layers[index(&net, "conv2")].bounds.out, Range { min: -127, max: 127 });
    // fc1: (x + 3)·w with x in −127..127, one multiplier 97, shift 9, ties down, + 7.
    let fc = &net.layers[index(&net, "fc1")];
    assert_eq!(fc.bounds.product, Some(Range { min: -16_640, max: 16_510 }));
    let acc = Range { min: 288 * -16_640 - 32_768, max: 288 * 16_510 + 32_767 };
    assert_eq!(fc.bounds.acc, Some(acc));
    let down = |a: i128| Rounding::HalfDown.apply(a as i64 * 97, 9) as i128 + 7;
    assert_eq!(fc.bounds.out, Range { min: down(acc.min), max: down(acc.max) });
    let show = net.show();
    assert!(show.contains("tflite(acc·M[o]/2^s[o]) − 5"), "{show}");
    assert!(show.contains("half_away(acc·M[o]/2^12)"), "{show}");
    assert!(show.contains("product (x−128)·w"), "{show}");
    assert!(show.contains("half_down(acc·97/2^9) + 7"), "{show}");
    assert!(show.contains("saturated symmetrically"), "{show}");
}

#[test]
fn the_reference_computes_tflites_arithmetic_by_hand() {
    let net = fixture();
    let c1 = index(&net, "conv1");
    // conv1: only the kernel's centre tap set, 100 on every channel; biases 1000·(o+1).
    let params = Params::generate(&net, |l, which, n| match (l == c1, which) {
        (true, Which::Weight) if n % 25 == 12 => 100,
        (true, Which::Bias) => 1000 * (n as i64 + 1),
        _ => 0,
    });
    let mut image = [0u8; PIXELS];
    image[0] = 255;
    image[29] = 7;
    let out = reference::run(&net, &params, &image);
    let m = [1_518_500_250, 1_276_901_417, 2_147_483_647, 1_073_741_824];
    let e = [7, 8, 9, 6];
    for o in 0..4 {
        for (pixel, x) in [(0usize, 255i32), (29, 7), (1, 0)] {
            let acc = (x - 128) * 100 + 1000 * (o as i32 + 1);
            let want = (rdbpot(srdhm(acc, m[o]), e[o]) - 5).clamp(-128, 127) as i64;
            assert_eq!(out.taps[0][o * 784 + pixel], want, "channel {o} pixel {pixel}");
        }
    }
    // A worked value: channel 0 at pixel 0, acc = 127·100 + 1000 = 13,700;
    // SRDHM(13,700, 1,518,500,250) = round(13,700 · 0.7071) = 9,687; RDBPOT(9,687, 7) = 75.68 → 76;
    // − 5 = 71.
    assert_eq!(out.taps[0][0], 71);
}

/// The fixture with conv2's and fc1's rounding set to `r` (fc1's ties are the interesting ones).
fn with_rounding(r: Rounding) -> Network {
    let text = fixture_text()
        .replace("rounding = \"half_away\"", &format!("rounding = \"{}\"", r.name()))
        .replace("rounding = \"half_down\"", &format!("rounding = \"{}\"", r.name()));
    Network::parse(&format!("requant-{}", r.name()), &text).unwrap()
}

/// The fixture with conv1 unsaturated (18 bits): its output is the requantized value itself.
fn unsaturated() -> Network {
    let text = fixture_text().replacen(
        "out_bits = 8\nout_signed = true\noverflow = \"saturate\"",
        "out_bits = 18\nout_signed = true",
        1,
    );
    Network::parse("requant-unsaturated", &text).unwrap()
}

#[test]
fn derived_bounds_hold_every_value_the_reference_produces() {
    let mut nets = vec![Network::seed(), Network::find("two_conv").unwrap(), fixture()];
    nets.extend(Rounding::ALL.map(with_rounding));
    nets.push(unsaturated());
    for net in &nets {
        let reached = bounds_hold(net, 17);
        if net.source == FIXTURE {
            // The saturating layers reach both rails on these sets.
            reach_both(net, &reached, &["conv1", "conv2"]);
        }
    }
}

#[test]
fn every_kernel_agrees_with_the_exact_requantization() {
    // The reference's fast kernels (16-bit products for the zero-pointed input) against the
    // requantization applied to exact i64 sums computed here, on fc1 of the fixture.
    let net = fixture();
    let fc = index(&net, "fc1");
    let a = net.layers[fc].op.arith().unwrap().clone();
    for set in 0..8 {
        let (params, _) = stimulus::weight_set(&net, 5, set);
        let model = reference::Model::new(&net, &params);
        let x: Vec<i64> = (0..288).map(|i| ((i * 37 + set as i64 * 11) % 255) - 127).collect();
        let got = model.run_layers(fc, fc, &x);
        let p = params.layer(fc);
        for (o, &y) in got.iter().enumerate() {
            let acc: i64 =
                (0..288).map(|i| (x[i] + 3) * p.weight[o * 288 + i]).sum::<i64>() + p.bias[o];
            assert_eq!(y, a.requant.apply(acc, o), "set {set} output {o}");
            assert_eq!(
                y,
                Rounding::HalfDown.apply(acc * 97, 9) + 7,
                "set {set} output {o}: by hand"
            );
        }
    }
}

#[test]
fn bad_requantizations_are_one_line_naming_the_layer() {
    let t = fixture_text();
    let e = err(&t.replace("rounding = \"half_down\"", "rounding = \"nearest\""));
    assert!(
        e.starts_with("bad.toml:")
            && e.contains("layer \"fc1\"")
            && e.contains("rounding = \"nearest\" is not a rounding rule")
            && e.contains(
                "floor, ceil, trunc, half_up, half_down, half_away, half_to_zero, half_even"
            )
            && e.contains("tflite"),
        "{e}"
    );
    let e = err(&t.replace("1518500250,", "2147483648,"));
    assert!(e.contains("multiplier = 2147483648 overflows TFLite's multiplier"), "{e}");
    let e = err(&t.replace("multiplier = 97", "multiplier = 9999999999999"));
    assert!(
        e.contains("the multiplier 9999999999999 overflows") && e.contains("beyond 64 bits"),
        "{e}"
    );
    let e = err(&t.replace("multiplier = [3, 5, 7, 11, 13, 17, 19, 23]", "multiplier = [3, 5, 7]"));
    assert!(
        e.contains("layer \"conv2\"")
            && e.contains("multiplier lists 3 values; give one, or one per output channel (8)"),
        "{e}"
    );
    let e = err(&t.replace("shift = [38, 39, 40, 37]", "shift = [38, 39, 40, 20]"));
    assert!(e.contains("\"tflite\" works on int32") && e.contains("shifted left by 11"), "{e}");
    let e = err(&t.replace("shift = [38, 39, 40, 37]", "shift = [38, 39, 40, 0]"));
    assert!(e.contains("shift = 0 with rounding = \"tflite\": 1..62"), "{e}");
    let e = err(&t.replace("multiplier = 97", "multiplier = 0"));
    assert!(e.contains("multiplier = 0: a multiplier is at least 1"), "{e}");
    let e = err(&t.replace("out_bits = 24", "out_bits = 20"));
    assert!(
        e.contains("out_bits = 20 (signed) can overflow") && e.contains("saturate_symmetric"),
        "{e}"
    );
    let e = err(&t.replace("in_zero_point = -3", "in_zero_point = \"three\""));
    assert!(e.starts_with("bad.toml:") && e.contains("invalid type: string \"three\""), "{e}");
    let e = err(&t.replace("shift = 12", "shift = \"twelve\""));
    assert!(
        e.contains("an integer, an array of integers (one per output channel), or a table"),
        "{e}"
    );
    let e = err(&t.replace("overflow = \"saturate_symmetric\"", "overflow = \"clip\""));
    assert!(e.contains("saturate_symmetric") && e.contains("wrap"), "{e}");
    // Zero points apply to conv2d/linear only.
    let e = err(&t.replace(
        "name = \"relu1\"\nop = \"relu\"",
        "name = \"relu1\"\nop = \"relu\"\nin_zero_point = 1",
    ));
    assert!(e.contains("key `in_zero_point` does not apply to relu"), "{e}");
}
