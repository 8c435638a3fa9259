//! The pooling and clamping ops (issue 22 §4): avgpool by the window size and by a fixed-point
//! reciprocal, global average pooling, clamp — each by hand in integers and in the float
//! model, their derived bounds holding every value the reference produces, and bad keys
//! refused in one line.

mod nets;
use nets::{bounds_hold, err, index, reach_both};

use cnn_cosim::float_model::{FloatWeights, Tensor};
use cnn_cosim::mnist::PIXELS;
use cnn_cosim::network::{Network, Range, Rounding};
use cnn_cosim::reference;
use cnn_cosim::stimulus;
use cnn_cosim::weights::Params;

const FIXTURE: &str = "vectors/fixtures/pooling.toml";

/// `x − 128` through a 1×1 conv of weight 1 (so values go negative), then `tail`.
fn centred(tail: &str) -> String {
    format!(
        r#"
name = "hand"
[input]
shape = [1, 28, 28]
bits = 8
signed = false
dataset = "mnist"
[[layer]]
name = "c"
op = "conv2d"
in_channels = 1
out_channels = 1
kernel = 1
weight = {{ bits = 2, signed = true, frac_bits = 0, file = "w.mem" }}
in_zero_point = 128
out_bits = 10
out_signed = true
{tail}
[[layer]]
name = "class"
op = "argmax"
"#
    )
}

fn hand(tail: &str) -> Network {
    Network::parse("hand.toml", &centred(tail)).unwrap()
}

/// An image whose top-left 2×2 windows hold `windows[k]` (pixels, before the − 128).
fn image_with(windows: &[[u8; 4]]) -> [u8; PIXELS] {
    let mut img = [128u8; PIXELS];
    for (k, win) in windows.iter().enumerate() {
        let (r, c) = (0, 2 * k);
        img[r * 28 + c] = win[0];
        img[r * 28 + c + 1] = win[1];
        img[(r + 1) * 28 + c] = win[2];
        img[(r + 1) * 28 + c + 1] = win[3];
    }
    img
}

#[test]
fn avgpool_divides_each_window_by_its_size_with_the_named_rounding() {
    // Windows (after − 128): sums 11, −10, 10, −11, 2 → /4 = 2.75, −2.5, 2.5, −2.75, 0.5.
    let img = image_with(&[
        [129, 130, 131, 133],
        [127, 126, 125, 124],
        [129, 130, 131, 132],
        [127, 126, 125, 123],
        [129, 129, 128, 128],
    ]);
    let want = [
        (Rounding::HalfAway, [3, -3, 3, -3, 1]),
        (Rounding::HalfUp, [3, -2, 3, -3, 1]),
        (Rounding::HalfEven, [3, -2, 2, -3, 0]),
        (Rounding::Floor, [2, -3, 2, -3, 0]),
        (Rounding::Trunc, [2, -2, 2, -2, 0]),
    ];
    for (r, w) in want {
        let tail = format!(
            "[[layer]]\nname = \"p\"\nop = \"avgpool\"\ntap = true\nkernel = 2\nrounding = \"{}\"\n\
             [[layer]]\nname = \"f\"\nop = \"flatten\"\n",
            r.name()
        );
        let net = hand(&tail);
        let params = Params::filled(&net, 1);
        let out = reference::run(&net, &params, &img);
        assert_eq!(out.taps[0][..5], w, "{}", r.name());
        // The bounds: (x − 128)·w with a 2-bit weight is −254..256; a sum of 4 −1016..1024.
        let p = &net.layers[1];
        assert_eq!(p.bounds.acc, Some(Range { min: -1016, max: 1024 }));
        assert_eq!(p.bounds.out, Range { min: -254, max: 256 });
    }
}

#[test]
fn a_reciprocal_is_what_hardware_divides_by() {
    // 3×3 windows; Σ·7282/2^16 differs from Σ/9 where 7282/65536 is short of 1/9 by 2^−16·(2/9).
    let by = |tail: &str| {
        hand(&format!(
            "[[layer]]\nname = \"p\"\nop = \"avgpool\"\ntap = true\nkernel = 3\n{tail}\n\
             [[layer]]\nname = \"f\"\nop = \"flatten\"\n"
        ))
    };
    let exact = by("rounding = \"half_up\"");
    let recip = by("rounding = \"half_up\"\nreciprocal = { multiplier = 7282, shift = 16 }");
    // A window of nine 255s: Σ = 9·127 = 1143; /9 = 127 exactly, ·7282/65536 = 126.99.
    let img = [255u8; PIXELS];
    let params = Params::filled(&exact, 1);
    assert_eq!(reference::run(&exact, &params, &img).taps[0][0], 127);
    assert_eq!(reference::run(&recip, &params, &img).taps[0][0], 127); // 126.9993 → 127
                                                                       // All 1s: 1 − 128 = −127, Σ = −1143: /9 = −127; ·7282/2^16 = −127.0007 → −127.
    let img = [1u8; PIXELS];
    assert_eq!(reference::run(&exact, &params, &img).taps[0][0], -127);
    assert_eq!(reference::run(&recip, &params, &img).taps[0][0], -127);
    // Every window sum of nine values in −254..256 against the formula itself: 7282/2^16
    // exceeds 1/9 by 3.4·10^−6, too little to move any of these sums across a half.
    let divide = |net: &Network| match &net.layers[1].op {
        cnn_cosim::network::Op::AvgPool(a) => a.divide,
        _ => unreachable!(),
    };
    let differ = |net: &Network, m: i64, s: u32| {
        let d = divide(net);
        let mut n = 0;
        for sum in -2286i64..=2304 {
            let r = Rounding::HalfUp.apply_wide(sum as i128 * m as i128, s) as i64;
            assert_eq!(d.apply(sum), r, "Σ = {sum}");
            n += (r != Rounding::HalfUp.div(sum, 9)) as usize;
        }
        n
    };
    assert_eq!(differ(&recip, 7282, 16), 0);
    // 455/2^12 = 1/9.0022 does move some: Σ = −2282 is −253.56 (→ −254) exactly but
    // −253.49 (→ −253) through the reciprocal. That is why the description says which.
    let coarse = by("rounding = \"half_up\"\nreciprocal = { multiplier = 455, shift = 12 }");
    assert_eq!(differ(&coarse, 455, 12), 55);
    assert_eq!(divide(&coarse).apply(-2282), -253);
    assert_eq!(divide(&exact).apply(-2282), -254);
    let show = recip.show();
    assert!(show.contains("half_up(Σ·7282/2^16)") && show.contains("sum of 9"), "{show}");
}

#[test]
fn global_avgpool_averages_each_plane() {
    let net = hand(
        "[[layer]]\nname = \"g\"\nop = \"global_avgpool\"\ntap = true\nrounding = \"half_away\"\n\
         [[layer]]\nname = \"f\"\nop = \"flatten\"\n[[layer]]\nname = \"l\"\nop = \"linear\"\n\
         in = 1\nout = 2\nweight = { bits = 2, signed = true, frac_bits = 0, file = \"l.mem\" }\n\
         out_bits = 12\nout_signed = true\n",
    );
    assert_eq!(net.layers[1].output.to_string(), "1×1×1");
    let params = Params::filled(&net, 1);
    // 784 pixels: 392 at 130 (+2) and 392 at 127 (−1): Σ = 392, /784 = 0.5 → 1 (away).
    let mut img = [127u8; PIXELS];
    img[..392].fill(130);
    assert_eq!(reference::run(&net, &params, &img).taps[0], [1]);
    img[..392].fill(126); // −2 and −1 → Σ = −1176, /784 = −1.5 → −2
    assert_eq!(reference::run(&net, &params, &img).taps[0], [-2]);
}

#[test]
fn clamp_holds_values_between_its_rails() {
    let net = hand(
        "[[layer]]\nname = \"k\"\nop = \"clamp\"\ntap = true\nmin = -3\nmax = 96\n\
         float_min = 0.0\nfloat_max = 6.0\n[[layer]]\nname = \"f\"\nop = \"flatten\"\n\
         [[layer]]\nname = \"l\"\nop = \"linear\"\nin = 784\nout = 2\n\
         weight = { bits = 2, signed = true, frac_bits = 0, file = \"l.mem\" }\n\
         out_bits = 20\nout_signed = true\n",
    );
    assert_eq!(net.layers[1].bounds.out, Range { min: -3, max: 96 });
    let params = Params::filled(&net, 1);
    let mut img = [128u8; PIXELS];
    img[0] = 0; // −128 → −3
    img[1] = 255; // 127 → 96
    img[2] = 130; // 2
    assert_eq!(reference::run(&net, &params, &img).taps[0][..3], [-3, 96, 2]);
    // The float model clamps to its own rails: 6.0 and 0.0.
    let fw = float_weights(&net, 1.0);
    let logits = fw.logits(&net, &[255u8; PIXELS]);
    // c = 1·(255/255) = 1.0 → clamp [0, 6] → 1.0; linear 784 inputs · 1.0 → 784.
    assert_eq!(logits, [784.0, 784.0]);
}

/// Float weights for `net`, every value `v`.
fn float_weights(net: &Network, v: f32) -> FloatWeights {
    let tensors = cnn_cosim::float_model::spec(net)
        .into_iter()
        .map(|(name, shape)| {
            let n = shape.iter().product();
            Tensor { name, shape, data: vec![v; n] }
        })
        .collect();
    FloatWeights { tensors }
}

#[test]
fn the_float_model_averages_and_clamps() {
    let net = Network::find(FIXTURE).unwrap();
    let fw = float_weights(&net, 0.01);
    for img in [[0u8; PIXELS], [255u8; PIXELS]] {
        let logits = fw.logits(&net, &img);
        assert_eq!(logits.len(), 10);
        assert!(logits.iter().all(|v| v.is_finite()), "{logits:?}");
    }
    // 255s: conv1 = 25·0.01 + 0.01 = 0.26 inside (padding shrinks the edges), the averages
    // of equal values are those values, and every logit is the same.
    let l = fw.logits(&net, &[255u8; PIXELS]);
    assert!(l.iter().all(|&v| v == l[0]), "{l:?}");
}

/// The fixture with pool1's rounding set to `r`.
fn with_rounding(r: Rounding) -> Network {
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .replace("rounding = \"half_away\"", &format!("rounding = \"{}\"", r.name()));
    Network::parse(&format!("pooling-{}", r.name()), &text).unwrap()
}

#[test]
fn derived_bounds_hold_every_value_the_reference_produces() {
    let mut nets = vec![Network::find(FIXTURE).unwrap()];
    nets.extend(Rounding::ALL.map(with_rounding));
    for net in &nets {
        // The averages of saturated values reach the rails, and the clamp both of its own.
        let reached = bounds_hold(net, 23);
        reach_both(net, &reached, &["conv1", "pool1", "act1", "pool2", "gap"]);
    }
}

#[test]
fn bad_pooling_and_clamp_keys_are_one_line() {
    let t = std::fs::read_to_string(FIXTURE).unwrap();
    let e = err(&t.replace("kernel = 2\nrounding = \"half_away\"", "kernel = 2"));
    assert!(e.contains("layer \"pool1\" (avgpool): missing key `rounding`"), "{e}");
    let e = err(&t.replace("rounding = \"half_away\"", "rounding = \"away\""));
    assert!(
        e.contains("rounding = \"away\" is not a rounding rule") && e.contains("half_even"),
        "{e}"
    );
    let e = err(&t.replace("rounding = \"half_down\"", "rounding = \"half_down\"\ndivisor = 9"));
    assert!(e.contains("give `divisor` or `reciprocal`, not both"), "{e}");
    let e =
        err(&t
            .replace("multiplier = 7282, shift = 16", "multiplier = 7282000000000000, shift = 16"));
    assert!(e.contains("the reciprocal's multiplier 7282000000000000 overflows"), "{e}");
    let e = err(&t.replace("min = 0\nmax = 96", "min = 96\nmax = 0"));
    assert!(e.contains("min = 96 is above max = 0"), "{e}");
    let e = err(&t.replace("min = 0\nmax = 96\n", ""));
    assert!(e.contains("give `min`, `max` or both"), "{e}");
    let e = err(&t.replace("rounding = \"floor\"", "rounding = \"floor\"\nkernel = 2"));
    assert!(e.contains("key `kernel` does not apply to global_avgpool"), "{e}");
    let e = err(&t.replace("float_max = 6.0", "float_max = inf"));
    assert!(e.contains("float_max must be a finite number"), "{e}");
}

const SPARSE: &str = "vectors/fixtures/sparse.toml";

#[test]
fn a_masked_pair_contributes_nothing_whatever_its_stored_weights() {
    use cnn_cosim::network::Op;
    let net = Network::find(SPARSE).unwrap();
    let c3 = index(&net, "c3");
    let Op::Conv2d(conv) = &net.layers[c3].op else { unreachable!() };
    // LeCun's table: 3, 4 or 6 of the 6 S2 maps per C3 map, 60 connections in all.
    let per: Vec<usize> =
        (0..16).map(|o| (0..6).filter(|&i| conv.connected(o, i, 6)).count()).collect();
    assert_eq!(per, [3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6]);
    assert!(!conv.connected(0, 3, 6) && conv.connected(0, 2, 6) && conv.connected(12, 4, 6));
    // The accumulator's bounds follow the most (6·25 products) and fewest (3·25) per output.
    let p = net.layers[c3].bounds.product.unwrap();
    let acc = net.layers[c3].bounds.acc.unwrap();
    assert_eq!((acc.min, acc.max), (150 * p.min - 32_768, 150 * p.max + 32_767));
    // Random weight sets store non-zero weights in masked pairs (all+127 fills every one): the
    // reference must ignore them. Against a dense conv whose masked kernels are zeroed by hand:
    let (params, kind) = stimulus::weight_set(&net, 9, 0);
    assert_eq!(kind, "all+127");
    let stored = &params.layer(c3).weight;
    assert_eq!(stored.len(), 16 * 6 * 25, "the table's weights are stored dense");
    assert!(stored.iter().all(|&w| w == 127));
    let x: Vec<i64> = (0..6 * 144).map(|i| (i as i64 * 37) % 255 - 127).collect();
    let got = reference::Model::new(&net, &params).run_layers(c3, c3, &x);
    for o in 0..16 {
        for (r, c) in [(0, 0), (3, 5), (7, 7)] {
            let mut acc = params.layer(c3).bias[o];
            for i in (0..6).filter(|&i| conv.connected(o, i, 6)) {
                for dr in 0..5 {
                    for dc in 0..5 {
                        acc += x[(i * 12 + r + dr) * 12 + c + dc] * 127;
                    }
                }
            }
            let want = (Rounding::HalfEven.apply(acc * 3, 9)).clamp(-128, 127);
            assert_eq!(got[(o * 8 + r) * 8 + c], want, "output {o} at ({r}, {c})");
        }
    }
}

#[test]
fn a_depthwise_conv_sees_only_its_own_channel() {
    let net = Network::find(SPARSE).unwrap();
    let dw = index(&net, "dw");
    assert_eq!(net.layers[dw].weight_pairs(), Some((16, 1, 9)), "[out][in / groups][kh][kw]");
    // Kernel o is all o − 8; input channel i is all i − 4 (so every product is known).
    let params = Params::generate(&net, |l, _, n| if l == dw { (n / 9) as i64 - 8 } else { 1 });
    let x: Vec<i64> = (0..16 * 64).map(|i| (i / 64) as i64 - 4).collect();
    let got = reference::Model::new(&net, &params).run_layers(dw, dw, &x);
    for o in 0..16 {
        let acc = 9 * (o as i64 - 8) * (o as i64 - 4);
        let want = Rounding::HalfUp.apply(acc, 6); // fits 9 bits: no wrap
        assert!(got[o * 36..(o + 1) * 36].iter().all(|&v| v == want), "channel {o}");
    }
    // The float model convolves each channel alone too.
    let mut fw = float_weights(&net, 0.0);
    for t in &mut fw.tensors {
        if t.name == "dw.weight" {
            assert_eq!(t.shape, [16, 1, 3, 3]);
        }
    }
    assert!(fw.logits(&net, &[200u8; PIXELS]).iter().all(|v| v.is_finite()));
}

#[test]
fn sparse_and_grouped_bounds_hold_every_value_the_reference_produces() {
    let net = Network::find(SPARSE).unwrap();
    let reached = bounds_hold(&net, 31);
    reach_both(&net, &reached, &["c1", "s2", "c3", "dw"]);
}

#[test]
fn bad_connection_tables_and_groups_are_one_line() {
    let t = std::fs::read_to_string(SPARSE).unwrap();
    let e = err(&t.replace("    [1, 1, 1, 1, 1, 1],  # 15\n", ""));
    assert!(
        e.contains(
            "layer \"c3\" (conv2d): connections has 15 rows; it needs one per output \
                    channel (16)"
        ),
        "{e}"
    );
    let e = err(&t.replace("[1, 1, 1, 1, 1, 1],  # 15", "[1, 1, 1, 1, 1],  # 15"));
    assert!(
        e.contains("connections row 15 has 5 entries; it needs one per input channel (6)"),
        "{e}"
    );
    let e = err(&t.replace("[1, 1, 1, 1, 1, 1],  # 15", "[1, 1, 2, 1, 1, 1],  # 15"));
    assert!(e.contains("connections row 15 holds 2; only 0 and 1"), "{e}");
    let e = err(&t.replace("groups = 16", "groups = 3"));
    assert!(e.contains("groups = 3 must divide in_channels (16) and out_channels (16)"), "{e}");
    let e = err(&t.replace("kernel = 5\nconnections", "kernel = 5\ngroups = 2\nconnections"));
    assert!(e.contains("give `groups` or `connections`, not both"), "{e}");
}

/// MNIST quantized to int8 as `rint(x·127/255)` and padded to 32×32 (LeNet-5's input), then
/// `tail`.
fn lenet_input(tail: &str) -> String {
    format!(
        r#"
name = "lenet_input"
[input]
shape = [1, 28, 28]
bits = 8
signed = false
dataset = "mnist"
[[layer]]
name = "q"
op = "rescale"
tap = true
multiplier = 127
divisor = 255
rounding = "half_even"
[[layer]]
name = "p"
op = "pad"
tap = true
to = [32, 32]
{tail}
[[layer]]
name = "f"
op = "flatten"
[[layer]]
name = "class"
op = "argmax"
"#
    )
}

#[test]
fn rescale_and_pad_are_lenets_input_transform() {
    let net = Network::parse(
        "lenet_input.toml",
        &lenet_input("[[layer]]\nname = \"g\"\nop = \"global_avgpool\"\nrounding = \"floor\"\n"),
    )
    .unwrap();
    assert_eq!(net.layers[0].bounds.out, Range { min: 0, max: 127 });
    assert_eq!(net.layers[1].output.to_string(), "1×32×32");
    let params = Params::filled(&net, 0);
    let mut img = [0u8; PIXELS];
    for (i, p) in img.iter_mut().enumerate() {
        *p = (i % 256) as u8;
    }
    let out = reference::run(&net, &params, &img);
    // rint(x·127/255): ties to even, against f64's own round-half-even on every byte.
    for (i, &p) in img.iter().enumerate() {
        let want = (p as f64 * 127.0 / 255.0).round_ties_even() as i64;
        assert_eq!(out.taps[0][i], want, "pixel {p}");
    }
    // Padded by 2 on every side: the image sits at rows and columns 2..30, zeros around it.
    let padded = &out.taps[1];
    assert_eq!(padded.len(), 1024);
    for r in 0..32 {
        for c in 0..32 {
            let inside = (2..30).contains(&r) && (2..30).contains(&c);
            let want = if inside { out.taps[0][(r - 2) * 28 + (c - 2)] } else { 0 };
            assert_eq!(padded[r * 32 + c], want, "({r}, {c})");
        }
    }
    // A padding value outside the range widens the bounds.
    let gap = "[[layer]]\nname = \"g\"\nop = \"global_avgpool\"\nrounding = \"floor\"\n";
    let neg = Network::parse(
        "neg.toml",
        &lenet_input(gap).replace("to = [32, 32]", "to = [32, 32]\nvalue = -128"),
    )
    .unwrap();
    assert_eq!(neg.layers[1].bounds.out, Range { min: -128, max: 127 });
    // The float model pads with zero and leaves the rescale to the integers.
    let fw = float_weights(&net, 0.0);
    assert_eq!(fw.logits(&net, &[255u8; PIXELS]).len(), 1);
}

#[test]
fn input_transform_bounds_hold_every_value_the_reference_produces() {
    let net = Network::find("vectors/fixtures/input_transforms.toml").unwrap();
    let reached = bounds_hold(&net, 37);
    reach_both(&net, &reached, &["q", "padded", "c1", "s2"]);
}

#[test]
fn bad_rescale_and_pad_keys_are_one_line() {
    let t = lenet_input("");
    let e = err(&t.replace("to = [32, 32]", "to = [27, 32]"));
    assert!(
        e.contains("layer \"p\" (pad): to = [27, 32] is smaller than its 1×28×28 input"),
        "{e}"
    );
    let e = err(&t.replace("rounding = \"half_even\"\n", ""));
    assert!(e.contains("missing key `rounding` (divisor = 255 divides)"), "{e}");
    let e = err(&t.replace("multiplier = 127", "multiplier = 0"));
    assert!(e.contains("multiplier = 0, divisor = 255: both at least 1"), "{e}");
    let e = err(&t.replace("to = [32, 32]\n", ""));
    assert!(e.contains("(pad): missing key `to`"), "{e}");
}
