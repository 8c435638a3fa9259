//! The fixed-point reference against hand-computed cases and the bounds of
//! docs/fixed-point.md.

mod common;

use cnn_cosim::mnist::PIXELS;
use cnn_cosim::reference::{argmax, idx};
use common::{generic_run as run, QuantWeights};

#[test]
fn zero_image_gives_the_biases() {
    let mut w = QuantWeights::filled(0);
    w.conv_b = [5, -3, 0];
    w.fc_w[2][0] = 10; // p[0] = pool1[0][0][0] = max(0, 5) = 5
    w.fc_b = [1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    let l = run(&w, &[0; PIXELS]);
    assert!(l.conv1[..484].iter().all(|&v| v == 5));
    assert!(l.conv1[484..968].iter().all(|&v| v == -3));
    assert!(l.pool1[..121].iter().all(|&v| v == 5));
    assert!(l.pool1[121..].iter().all(|&v| v == 0), "ReLU clamps -3 and 0 to 0");
    // fc1[o] = floor((Σ p·wf + bf·128) / 128)
    assert_eq!(l.fc1[0], 1);
    assert_eq!(l.fc1[1], -1);
    assert_eq!(l.fc1[2], 0, "floor(50 / 128) = 0");
    assert_eq!(l.class, 0);
}

#[test]
fn conv_divides_by_flooring_not_truncating() {
    let mut w = QuantWeights::filled(0);
    w.conv_w[0][0] = 1;
    w.conv_w[1][0] = -1;
    w.conv_w[2][8] = 3; // kernel (1,1)
    let mut x = [0u8; PIXELS];
    x[0] = 255; // (0,0)
    x[29] = 200; // (1,1)
    let l = run(&w, &x);
    assert_eq!(l.conv1[idx(22, 0, 0, 0)], 0, "floor(255/256)");
    assert_eq!(l.conv1[idx(22, 1, 0, 0)], -1, "floor(-255/256) = -1, not 0");
    assert_eq!(l.conv1[idx(22, 0, 1, 1)], 0, "(1,1) with w[0][0]: 200/256");
    assert_eq!(l.conv1[idx(22, 2, 0, 0)], 2, "floor(600/256)");
    assert_eq!(l.pool1[idx(11, 1, 0, 0)], 0, "ReLU of -1");
}

#[test]
fn pool_takes_the_max_of_each_2x2_window() {
    let mut w = QuantWeights::filled(0);
    w.conv_w[0][0] = 127;
    let mut x = [0u8; PIXELS];
    x[3 * 28 + 2] = 255; // conv1[0][3][2] = floor(255*127/256) = 126 → pool1[0][1][1]
    let l = run(&w, &x);
    assert_eq!(l.conv1[idx(22, 0, 3, 2)], 126);
    assert_eq!(l.pool1[idx(11, 0, 1, 1)], 126);
    assert_eq!(l.pool1.iter().filter(|&&v| v != 0).count(), 1);
}

#[test]
fn fc_flattens_in_channel_row_col_order() {
    let mut w = QuantWeights::filled(0);
    w.conv_b = [0, 0, 10];
    w.fc_w[4][2 * 121 + 11 + 1] = 64; // p[n] for channel 2, row 1, col 1
    let l = run(&w, &[0; PIXELS]);
    assert_eq!(l.fc1[4], 5, "floor(10*64/128)");
    assert_eq!(l.class, 4);
}

#[test]
fn extremes_reach_the_documented_bounds() {
    let all255 = [255u8; PIXELS];
    let max = run(&QuantWeights::filled(127), &all255);
    assert!(max.conv1.iter().all(|&v| v == 6325));
    assert!(max.pool1.iter().all(|&v| v == 6325));
    assert!(max.fc1.iter().all(|&v| v == 2_278_164));
    let min = run(&QuantWeights::filled(-128), &all255);
    assert!(min.conv1.iter().all(|&v| v == -6376));
    assert!(min.pool1.iter().all(|&v| v == 0));
    assert!(min.fc1.iter().all(|&v| v == -128));
    let mut mixed = QuantWeights::filled(127);
    mixed.fc_w = vec![[-128; 363]; 10];
    mixed.fc_b = [-128; 10];
    let l = run(&mixed, &all255);
    assert!(l.fc1.iter().all(|&v| v == -2_296_103));
    // The widths of docs/fixed-point.md hold these: 14-bit conv1, 13-bit pool1, 23-bit fc1.
    let signed = |v: i32, bits: u32| (-(1 << (bits - 1))..(1 << (bits - 1))).contains(&v);
    for l in [&max, &min, &l] {
        assert!(l.conv1.iter().all(|&v| signed(v, 14)));
        assert!(l.pool1.iter().all(|&v| (0..1 << 13).contains(&v)));
        assert!(l.fc1.iter().all(|&v| signed(v, 23)));
    }
    assert!(!signed(-2_296_103 * 2, 23), "the bound is tight enough to matter");
}

#[test]
fn argmax_ties_go_to_the_lowest_index() {
    assert_eq!(argmax(&[1, 5, 5, 2]), 1);
    assert_eq!(argmax(&[7, 7, 7]), 0);
    assert_eq!(argmax(&[-3, -1, -2, -1]), 1);
    let mut w = QuantWeights::filled(0);
    w.fc_b = [0, 0, 3, 0, 0, 0, 0, 3, 0, 0];
    assert_eq!(run(&w, &[0; PIXELS]).class, 2);
}
