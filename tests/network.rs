//! Network descriptions: derived bounds, the reference following the description's
//! arithmetic (hand-computed cases, extremes and saturation edges), and bad descriptions.

use cnn_cosim::mnist::{Image, PIXELS, SIDE};
use cnn_cosim::network::{Network, Range};
use cnn_cosim::reference;
use cnn_cosim::weights::{Params, Which};
use std::path::Path;

fn layer<'a>(net: &'a Network, name: &str) -> (usize, &'a cnn_cosim::network::Layer) {
    net.layers.iter().enumerate().find(|(_, l)| l.name == name).expect(name)
}

fn r(min: i128, max: i128) -> Option<Range> {
    Some(Range { min, max })
}

#[test]
fn seed_bounds_are_the_fixed_point_table() {
    // docs/fixed-point.md's hand-written table, now derived.
    let net = Network::seed();
    let (_, c) = layer(&net, "conv1");
    assert_eq!(c.bounds.product, r(-32_640, 32_385));
    assert_eq!(c.bounds.acc, r(-1_599_360 - 128 * 256, 1_586_865 + 127 * 256));
    assert_eq!(c.bounds.out, Range { min: -6_376, max: 6_325 });
    assert_eq!(c.bounds.out.needed().bits, 14);
    assert_eq!(c.bounds.acc.unwrap().needed().bits, 22);
    let (_, p) = layer(&net, "pool1");
    assert_eq!(p.bounds.out, Range { min: 0, max: 6_325 });
    assert_eq!((p.bounds.out.needed().bits, p.bounds.out.needed().signed), (13, false));
    let (_, f) = layer(&net, "fc1");
    assert_eq!(f.bounds.product, r(-809_600, 803_275));
    assert_eq!(f.bounds.acc, r(-293_901_184, 291_605_081));
    assert_eq!(f.bounds.acc.unwrap().needed().bits, 30);
    assert_eq!(f.bounds.out, Range { min: -2_296_103, max: 2_278_164 });
    assert_eq!(f.bounds.out.needed().bits, 23);
    let show = net.show();
    assert!(show.contains("-293,901,184"), "{show}");
    assert_eq!(
        net.taps().iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["conv1", "pool1", "fc1", "class"]
    );
}

#[test]
fn two_conv_shapes_and_bounds() {
    let net = Network::find("two_conv").unwrap();
    let names: Vec<_> = net.taps().iter().map(|t| format!("{}:{}", t.name, t.shape)).collect();
    assert_eq!(
        names,
        ["conv1:3×24×24", "pool1:3×12×12", "conv2:3×8×8", "pool2:3×4×4", "fc1:10", "class:1"]
    );
    let (_, c2) = layer(&net, "conv2");
    assert_eq!(c2.bounds.product, r(-262_016, 259_969)); // 2047 · (−128), 2047 · 127
    assert_eq!(c2.bounds.acc, r(75 * -262_016 - 128 * 128, 75 * 259_969 + 127 * 128));
    assert_eq!(c2.bounds.out, Range { min: -2048, max: 2047 });
    let (_, f) = layer(&net, "fc1");
    assert_eq!(f.bounds.out, Range { min: -98_384, max: 97_615 });
}

/// An image whose top-left 5×5 window sums to `s` (≤ 25·255), zero elsewhere.
fn window_sum(s: u32) -> Image {
    let mut x = [0u8; PIXELS];
    let mut left = s;
    for i in 0..5 {
        for j in 0..5 {
            let v = left.min(255);
            x[i * SIDE + j] = v as u8;
            left -= v;
        }
    }
    x.iter().map(|&p| p as i32).collect()
}

#[test]
fn two_conv_saturation_edges_and_extremes() {
    let net = Network::find("two_conv").unwrap();
    let (c1, _) = layer(&net, "conv1");
    // conv1 channel 0: all weights 127, no bias; channels 1, 2: zero.
    let w = Params::generate(&net, |l, which, n| match (l == c1, which) {
        (true, Which::Weight) if n < 25 => 127,
        _ => 0,
    });
    // floor(127·S / 256): S = 4121 → 2044, 4127 → 2047 (fits), 4129 → 2048 → saturated 2047,
    // 4200 → 2083 → 2047.
    for (s, want) in [(4121, 2044), (4127, 2047), (4129, 2047), (4200, 2047)] {
        let out = reference::run(&net, &w, &window_sum(s));
        assert_eq!(out.taps[0][0], want, "window sum {s}");
    }
    // Negative edge: all weights −128: floor(−128·S/256) = −S/2; S = 4096 → −2048 (fits),
    // S = 4098 → −2049 → −2048.
    let neg = Params::generate(&net, |l, which, n| match (l == c1, which) {
        (true, Which::Weight) if n < 25 => -128,
        _ => 0,
    });
    for (s, want) in [(4094, -2047), (4096, -2048), (4098, -2048)] {
        assert_eq!(reference::run(&net, &neg, &window_sum(s)).taps[0][0], want, "sum {s}");
    }
    // Extremes: all +127 on an all-255 image reach the derived maxima exactly.
    let all255 = [255u8; PIXELS];
    let out = reference::run(&net, &Params::filled(&net, 127), &all255);
    assert!(out.taps[0].iter().all(|&v| v == 2047), "conv1 saturates");
    assert!(out.taps[2].iter().all(|&v| v == 2047), "conv2 saturates");
    assert!(out.taps[4].iter().all(|&v| v == 97_615), "fc1 reaches its bound: {:?}", out.taps[4]);
    assert_eq!(out.class, 0, "ten equal logits: the lowest index");
    // All −128: conv1 saturates low, the ReLUs give 0, conv2 and fc1 are the bias alone:
    // half_up((−128 << 7) / 128) = −128.
    let out = reference::run(&net, &Params::filled(&net, -128), &all255);
    assert!(out.taps[0].iter().all(|&v| v == -2048));
    assert!(out.taps[1].iter().all(|&v| v == 0));
    assert!(out.taps[2].iter().all(|&v| v == -128));
    assert!(out.taps[4].iter().all(|&v| v == -128));
}

#[test]
fn two_conv_hand_computed_half_up() {
    let net = Network::find("two_conv").unwrap();
    let (c2, _) = layer(&net, "conv2");
    let (fc, _) = layer(&net, "fc1");
    let (c1, _) = layer(&net, "conv1");
    // conv1: channel k = x[0][0] · (k+1) via the kernel's first tap; conv2 channel 0 sums
    // pool1 channel 0's window with weight 1; fc1 logit o = pool2[0] · 1 for o = 3.
    let w = Params::generate(&net, |l, which, n| match which {
        Which::Weight if l == c1 && n % 25 == 0 => (n / 25) as i64 + 1,
        Which::Weight if l == c2 && n < 25 => 1,
        Which::Weight if l == fc && n == 3 * 48 => 1,
        Which::Bias if l == fc && n == 5 => 1,
        _ => 0,
    });
    let mut x = [0u8; PIXELS];
    x[0] = 200; // conv1[k][0][0] = floor(200·(k+1)/256) = 0, 1, 2
    let out = reference::run(&net, &w, &x);
    assert_eq!([out.taps[0][0], out.taps[0][576], out.taps[0][2 * 576]], [0, 1, 2]);
    // pool1[0][0][0] = 0 (channel 0): conv2 channel 0 = half_up(0 / 128) = 0.
    assert_eq!(out.taps[2][0], 0);
    // fc1 logit 5 = half_up((1 << 7) / 128) = 1; everything else 0 → class 5.
    assert_eq!(out.taps[4], [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(out.class, 5);
    // Half up versus floor: pool2 = 1 through conv2 = half_up(64/128) = 1 needs a sum of
    // 64: pool1 channel 0 value 64 at (0,0) with weight 1.
    let w2 = Params::generate(&net, |l, which, n| match which {
        Which::Weight if l == c1 && n == 0 => 1,
        Which::Bias if l == c1 && n == 0 => 0,
        Which::Weight if l == c2 && n == 0 => 1,
        _ => 0,
    });
    let mut x = [0u8; PIXELS];
    x[0] = 255; // conv1[0][0][0] = floor(255/256) = 0
    assert_eq!(reference::run(&net, &w2, &x).taps[0][0], 0);
}

#[test]
fn seed_half_up_follows_its_description() {
    let net = Network::find("seed_half_up").unwrap();
    let (c1, _) = layer(&net, "conv1");
    // ch0: all 127, bias 127; ch1: first tap 1, bias −128; ch2: first tap 1, bias 0.
    let w = Params::generate(&net, |l, which, n| match (l == c1, which) {
        (true, Which::Weight) if n < 49 => 127,
        (true, Which::Weight) if n == 49 || n == 98 => 1,
        (true, Which::Bias) if n == 0 => 127,
        (true, Which::Bias) if n == 1 => -128,
        _ => 0,
    });
    let out = reference::run(&net, &w, &[255u8; PIXELS]);
    let at = |k: usize| out.taps[0][k * 484];
    // ch0: (1,586,865 + 32,512) / 256 = 6325.69 → 6326 → saturated to 2047.
    assert_eq!(at(0), 2047);
    // ch1: (255 − 32,768) / 256 = −127.004 → half up −127 (floor would give −128).
    assert_eq!(at(1), -127);
    // ch2: 255 / 256 → half up 1 (floor 0).
    assert_eq!(at(2), 1);
    // The same weights under the seed's floor and 14-bit output.
    let seed = Network::seed();
    let out = reference::run(&seed, &w, &[255u8; PIXELS]);
    assert_eq!([out.taps[0][0], out.taps[0][484], out.taps[0][968]], [6325, -128, 0]);
    // pool1 = relu(maxpool): 2047, 0, 1 under seed_half_up.
    let out = reference::run(&net, &w, &[255u8; PIXELS]);
    assert_eq!([out.taps[1][0], out.taps[1][121], out.taps[1][242]], [2047, 0, 1]);
}

fn err(text: &str) -> String {
    format!("{:#}", Network::parse("bad.toml", text).unwrap_err())
}

fn seed_text() -> String {
    std::fs::read_to_string(Path::new("vectors/networks/seed.toml")).unwrap()
}

#[test]
fn bad_descriptions_name_the_file_line_and_problem() {
    let seed = seed_text();
    let e = err(&seed.replace("op = \"relu\"", "op = \"gelu\""));
    assert!(e.starts_with("bad.toml:") && e.contains("unknown op \"gelu\""), "{e}");
    let e = err(&seed.replace("stride = 1\n", "stride = 1\nstrides = 2\n"));
    assert!(e.starts_with("bad.toml:") && e.contains("unknown field `strides`"), "{e}");
    let e = err(&seed.replace("in = 363", "in = 360"));
    assert!(
        e.contains("layer \"fc1\"") && e.contains("in = 360, but the layer before it gives 363"),
        "{e}"
    );
    let e = err(&seed.replace("out_bits = 14", "out_bits = 13"));
    assert!(
        e.contains("layer \"conv1\"")
            && e.contains("out_bits = 13 (signed) can overflow")
            && e.contains("needs 14 bits signed"),
        "{e}"
    );
    let e = err(&seed.replace("acc_bits = 30", "acc_bits = 29"));
    assert!(
        e.contains("layer \"fc1\"")
            && e.contains("acc_bits = 29 can overflow")
            && e.contains("-293,901,184"),
        "{e}"
    );
    let e = err(
        &seed.replace("shift = 7\nrounding = \"floor\"", "shift = 0\nrounding = \"half_even\"")
    );
    assert!(e.contains("impossible"), "{e}");
    let e = err(&seed.replace("kernel = 2\n", "kernel = 2\npadding = 1\n"));
    assert!(e.contains("key `padding` does not apply to maxpool"), "{e}");
    let e =
        err(&seed.replace("[[layer]]\nname = \"class\"\nop = \"argmax\"\nties = \"lowest\"\n", ""));
    assert!(e.contains("the last layer must be an argmax"), "{e}");
    // Every message is one line with a line:column.
    for e in [err("name = 3"), err(&seed.replace("shape = [1, 28, 28]", "shape = [1, 28]"))] {
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.starts_with("bad.toml:1:") || e.starts_with("bad.toml:"), "{e}");
    }
    let e = format!("{:#}", Network::find("no_such_net").unwrap_err());
    assert!(e.contains("no such network") && e.contains("seed") && e.contains("two_conv"), "{e}");
}

#[test]
fn bad_weight_files_name_the_file() {
    let net = Network::find("two_conv").unwrap();
    let dir = tempfile::tempdir().unwrap();
    Params::filled(&net, 1).save(&net, dir.path()).unwrap();
    assert!(Params::load(&net, dir.path()).is_ok());
    // One file per fc neuron: ten of them.
    assert!(dir.path().join("neuron_weights_9.mem").is_file());
    std::fs::remove_file(dir.path().join("neuron_weights_4.mem")).unwrap();
    let e = format!("{:#}", Params::load(&net, dir.path()).unwrap_err());
    assert!(e.contains("neuron_weights_4.mem") && e.contains("cannot read"), "{e}");
    Params::filled(&net, 1).save(&net, dir.path()).unwrap();
    std::fs::write(dir.path().join("conv2_bias.mem"), "01\n02\n").unwrap();
    let e = format!("{:#}", Params::load(&net, dir.path()).unwrap_err());
    assert!(e.contains("conv2_bias.mem: holds 2 values, expected 3"), "{e}");
    // A 4-bit weight type: "9" is outside 4 bits signed? No: 0x9 is −7; "1f" has too many digits.
    let four = seed_text()
        .replace(
            "weight = { bits = 8, signed = true, frac_bits = 7, file = \"fc_weight.mem\"",
            "weight = { bits = 6, signed = true, frac_bits = 4, file = \"fc_weight.mem\"",
        )
        .replace("acc_bits = 30", "acc_bits = 29");
    let net6 = Network::parse("six.toml", &four).unwrap();
    let d6 = tempfile::tempdir().unwrap();
    Params::filled(&Network::seed(), 1).save(&Network::seed(), d6.path()).unwrap();
    std::fs::write(d6.path().join("fc_weight.mem"), "40 ".repeat(3630)).unwrap();
    let e = format!("{:#}", Params::load(&net6, d6.path()).unwrap_err());
    assert!(e.contains("fc_weight.mem:1:1: \"40\" is outside the declared 6 bits signed"), "{e}");
}

#[test]
fn random_weight_sets_fit_any_network() {
    use cnn_cosim::stimulus;
    let net = Network::find("two_conv").unwrap();
    let (fc, _) = layer(&net, "fc1");
    for set in 0..8 {
        let (w, kind) = stimulus::weight_set(&net, 3, set);
        // Every value within its declared width; every parametrized layer filled.
        let reloaded = {
            let d = tempfile::tempdir().unwrap();
            w.save(&net, d.path()).unwrap();
            Params::load(&net, d.path()).unwrap()
        };
        assert_eq!(reloaded, w, "{kind}: the files hold exactly the set");
        let lp = w.layer(fc);
        match kind {
            "all+127" => assert!(lp.weight.iter().all(|&v| v == 127)),
            "all-128" => assert!(lp.bias.iter().all(|&v| v == -128)),
            "ties-all" => {
                for o in 1..10 {
                    assert_eq!(lp.weight[o * 48..(o + 1) * 48], lp.weight[..48], "row {o}");
                }
                for i in 0..20 {
                    let out = reference::run(&net, &w, &stimulus::image(&net, 3, set, i));
                    assert_eq!(out.class, 0, "all logits tie: image {i}");
                    assert!(out.tie());
                }
            }
            "ties-pair" => assert_eq!(lp.weight[2 * 48..3 * 48], lp.weight[7 * 48..8 * 48]),
            _ => {}
        }
    }
    // The all+127 set on the all-255 image (image 1) drives conv1 and conv2 into saturation.
    let (w, _) = stimulus::weight_set(&net, 3, 0);
    let out = reference::run(&net, &w, &stimulus::image(&net, 3, 0, 1));
    assert!(out.taps[0].iter().all(|&v| v == 2047) && out.taps[2].iter().all(|&v| v == 2047));
}

/// two_conv with conv2's kernels one file per (output, input) pair and fc1's weights one
/// file per (neuron, input): `{o+1}{i+1}` and `{o}_{i}`.
fn two_conv_pairs() -> Network {
    let text = std::fs::read_to_string("vectors/networks/two_conv.toml")
        .unwrap()
        .replace(
            "file = \"conv2_weight_{o}.mem\", per_line = 5",
            "file = \"conv2_weight_{o+1}{i+1}.txt\", per_line = 5",
        )
        .replace("file = \"neuron_weights_{o}.mem\"", "file = \"fc_{o}_{i}.mem\"");
    Network::parse("pairs.toml", &text).unwrap()
}

#[test]
fn weight_files_per_output_and_input_pair() {
    let net = two_conv_pairs();
    let plain = Network::find("two_conv").unwrap();
    let (c2, _) = layer(&net, "conv2");
    let (fc, _) = layer(&net, "fc1");
    // Every value distinct, so a slice in the wrong file or order shows.
    let w = Params::generate(&net, |l, which, n| {
        let ty = cnn_cosim::weights::param(&net, l, which).ty;
        (n as i64 * 7 + l as i64) % (ty.max() as i64 + 1)
    });
    let d = tempfile::tempdir().unwrap();
    let files = w.save(&net, d.path()).unwrap();
    // conv2: 3 × 3 files of one 5×5 kernel each, numbered from 1; fc1: 10 × 48 of one value.
    for o in 1..=3 {
        for i in 1..=3 {
            assert!(files.contains(&format!("conv2_weight_{o}{i}.txt")), "{files:?}");
        }
    }
    assert!(
        files.contains(&"fc_9_47.mem".to_string()) && !files.iter().any(|f| f == "fc_10_0.mem")
    );
    assert_eq!(files.iter().filter(|f| f.starts_with("fc_") && f != &"fc_bias.mem").count(), 480);
    // Output 1 (file 2x), input 2 (file x3): conv2.weight[1][2][kh][kw], 5 to a line.
    let text = std::fs::read_to_string(d.path().join("conv2_weight_23.txt")).unwrap();
    let want: Vec<i64> = w.layer(c2).weight[(3 + 2) * 25..(3 + 3) * 25].to_vec();
    let got = cnn_cosim::memfile::parse_values(
        "x",
        &text,
        25,
        cnn_cosim::network::IntType { bits: 8, signed: true },
    )
    .unwrap();
    assert_eq!(got, want);
    assert_eq!(text.lines().count(), 5, "{text}");
    let one = std::fs::read_to_string(d.path().join("fc_3_17.mem")).unwrap();
    assert_eq!(
        one,
        format!(
            "{}\n",
            cnn_cosim::memfile::hex(
                w.layer(fc).weight[3 * 48 + 17],
                cnn_cosim::network::IntType { bits: 8, signed: true }
            )
        )
    );
    // Read back: the same tensors; and the same values as the per-output layout holds.
    let back = Params::load(&net, d.path()).unwrap();
    assert_eq!(back, w);
    let d2 = tempfile::tempdir().unwrap();
    w.save(&plain, d2.path()).unwrap();
    assert_eq!(Params::load(&plain, d2.path()).unwrap(), w);
    // A pair file one value short: named with its line and column of the problem.
    std::fs::write(d.path().join("conv2_weight_32.txt"), "01 02\n03 zz\n").unwrap();
    let e = format!("{:#}", Params::load(&net, d.path()).unwrap_err());
    assert!(e.contains("conv2_weight_32.txt:2:4: \"zz\" is not a hex byte"), "{e}");
    assert!(e.contains("layer \"conv2\" weights"), "{e}");
    std::fs::write(d.path().join("conv2_weight_32.txt"), "01 02\n").unwrap();
    let e = format!("{:#}", Params::load(&net, d.path()).unwrap_err());
    assert!(e.contains("conv2_weight_32.txt: holds 2 values, expected 25"), "{e}");
}

#[test]
fn bad_file_patterns_are_named() {
    let two = std::fs::read_to_string("vectors/networks/two_conv.toml").unwrap();
    // A bias has no input channels.
    let e = err(&two.replace("file = \"conv2_bias.mem\"", "file = \"conv2_bias_{i}.mem\""));
    assert!(
        e.contains("layer \"conv2\"")
            && e.contains("bias.file")
            && e.contains("{i} and {i+1} number input channels"),
        "{e}"
    );
    let e = err(&two.replace("file = \"conv2_bias.mem\"", "file = \"conv2_bias_{c}.mem\""));
    assert!(e.contains("the only placeholders are {o}, {o+1}, {i} and {i+1}"), "{e}");
    let e = err(&two.replace("file = \"conv2_bias.mem\"", "file = \"../conv2_bias.mem\""));
    assert!(e.contains("is not a plain file name"), "{e}");
    // Two tensors in one file.
    let e = err(&two.replace("file = \"fc_bias.mem\"", "file = \"neuron_weights_3.mem\""));
    assert!(
        e.contains(
            "fc1.weight (output 3) and fc1.bias are both stored in \"neuron_weights_3.mem\""
        ),
        "{e}"
    );
    let e = err(&two.replace("conv2_weight_{o}.mem", "conv1_weight_{o}.mem"));
    assert!(
        e.contains("conv1.weight (output 0) and conv2.weight (output 0) are both stored in \"conv1_weight_0.mem\"; give each its own file name"),
        "{e}"
    );
}
