//! Per-image, per-layer comparison of what the RTL tapped against the reference.
//! This is where a layer is compared: [`compare`].

use crate::reference::{idx, Layers, CONV_SIDE, POOL_SIDE};

/// The compared layers, in pipeline order (`first_bad_layer` is the first of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Conv1,
    Pool1,
    Fc1,
    Class,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Layer::Conv1, Layer::Pool1, Layer::Fc1, Layer::Class];

    pub fn name(self) -> &'static str {
        match self {
            Layer::Conv1 => "conv1",
            Layer::Pool1 => "pool1",
            Layer::Fc1 => "fc1",
            Layer::Class => "class",
        }
    }

    /// Elements of this layer per image.
    pub fn elements(self) -> usize {
        match self {
            Layer::Conv1 => crate::reference::CONV_LEN,
            Layer::Pool1 => crate::reference::POOL_LEN,
            Layer::Fc1 => 10,
            Layer::Class => 1,
        }
    }
}

/// Every tap beat the RTL produced for one image, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    pub conv1: Vec<[i32; 3]>,
    pub pool1: Vec<[i32; 3]>,
    pub fc1: Vec<[i32; 10]>,
    pub class: Option<u8>,
}

/// One element that differs. `channel/row/col` follow the layer's shape (fc1: channel is the
/// logit, row = col = 0); `None` for a value the RTL or the reference did not produce (a
/// missing or extra tap beat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub layer: Layer,
    pub channel: usize,
    pub row: usize,
    pub col: usize,
    pub expected: Option<i64>,
    pub actual: Option<i64>,
}

/// The outcome of one image's comparison.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Mismatching elements per layer (indexed like [`Layer::ALL`]), every one counted.
    pub counts: [u64; 4],
    /// Largest |expected − actual| per layer over the elements both sides produced.
    pub max_abs_diff: [u64; 4],
    /// The mismatches themselves, at most `max_rows` of them.
    pub rows: Vec<Mismatch>,
}

impl Comparison {
    pub fn is_clean(&self) -> bool {
        self.counts.iter().all(|&c| c == 0)
    }

    pub fn first_bad_layer(&self) -> Option<Layer> {
        Layer::ALL.into_iter().zip(self.counts).find(|&(_, c)| c > 0).map(|(l, _)| l)
    }

    fn note(&mut self, m: Mismatch, max_rows: usize) {
        let li = m.layer as usize;
        self.counts[li] += 1;
        if let (Some(e), Some(a)) = (m.expected, m.actual) {
            self.max_abs_diff[li] = self.max_abs_diff[li].max(e.abs_diff(a));
        }
        if self.rows.len() < max_rows {
            self.rows.push(m);
        }
    }
}

/// Compares one layer given as beats of `N` values; beat `b` is raster position
/// (`b / side`, `b % side`) and value `k` of a beat is channel `k`.
fn layer_beats<const N: usize>(
    out: &mut Comparison,
    layer: Layer,
    side: usize,
    expected: impl Fn(usize, usize) -> i64,
    beats: &[[i32; N]],
    expected_beats: usize,
    max_rows: usize,
) {
    for b in 0..expected_beats.max(beats.len()) {
        let (row, col) = (b / side, b % side);
        for k in 0..N {
            let e = (b < expected_beats).then(|| expected(k, b));
            let a = beats.get(b).map(|v| v[k] as i64);
            if e != a {
                out.note(
                    Mismatch { layer, channel: k, row, col, expected: e, actual: a },
                    max_rows,
                );
            }
        }
    }
}

/// Compares every layer of one image; keeps at most `max_rows` mismatch rows.
pub fn compare(expected: &Layers, got: &Capture, max_rows: usize) -> Comparison {
    let mut out = Comparison::default();
    let cs = CONV_SIDE;
    layer_beats(
        &mut out,
        Layer::Conv1,
        cs,
        |k, b| expected.conv1[idx(cs, k, b / cs, b % cs)] as i64,
        &got.conv1,
        cs * cs,
        max_rows,
    );
    let ps = POOL_SIDE;
    layer_beats(
        &mut out,
        Layer::Pool1,
        ps,
        |k, b| expected.pool1[idx(ps, k, b / ps, b % ps)] as i64,
        &got.pool1,
        ps * ps,
        max_rows,
    );
    // fc1 is one beat of 10 logits: logit o is "channel" o at row 0, col 0.
    for b in 0..1.max(got.fc1.len()) {
        for o in 0..10 {
            let e = (b == 0).then(|| expected.fc1[o] as i64);
            let a = got.fc1.get(b).map(|v| v[o] as i64);
            if e != a {
                let m = Mismatch {
                    layer: Layer::Fc1,
                    channel: o,
                    row: b,
                    col: 0,
                    expected: e,
                    actual: a,
                };
                out.note(m, max_rows);
            }
        }
    }
    let a = got.class.map(i64::from);
    if a != Some(expected.class as i64) {
        let m = Mismatch {
            layer: Layer::Class,
            channel: 0,
            row: 0,
            col: 0,
            expected: Some(expected.class as i64),
            actual: a,
        };
        out.note(m, max_rows);
    }
    out
}
