//! Per-image, per-layer comparison of what the RTL tapped against the reference: this is
//! where a layer is compared ([`compare`]).
//!
//! Each tapped layer gets two verdicts. *End to end*: the RTL's tap against the reference run
//! from the image. *On the RTL's own input* (layer-local): against the reference of that
//! layer computed from the RTL's own previous tap, so a layer is judged on the input it was
//! given and two independent bugs show as two red layers.

use crate::network::{Shape, Tap};
use crate::reference::{Model, Outputs};
pub use crate::sim::binding_file::Beats;

/// Every tap beat the RTL produced for one image, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// `taps[t]`: the values of tap `t`'s beats, one beat after another (`lanes` values each,
    /// see [`Shape::beats`]); one entry per non-class tap of [`Network::taps`].
    pub taps: Vec<Vec<i64>>,
    pub class: Option<u8>,
}

impl Capture {
    /// An empty capture for `taps` (class excluded), with room for a whole image.
    pub fn for_taps(taps: &[Tap]) -> Capture {
        Capture {
            taps: taps
                .iter()
                .filter(|t| !t.is_class)
                .map(|t| Vec::with_capacity(t.shape.len()))
                .collect(),
            class: None,
        }
    }

    pub fn clear(&mut self) {
        self.taps.iter_mut().for_each(Vec::clear);
        self.class = None;
    }
}

/// One element that differs. `layer` indexes [`Network::taps`]; `channel/row/col` follow
/// the layer's shape (a vector's element is its channel, row = beat, col = 0); `None` for a
/// value the RTL or the reference did not produce (a missing or extra tap beat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub layer: usize,
    pub channel: usize,
    pub row: usize,
    pub col: usize,
    pub expected: Option<i64>,
    pub actual: Option<i64>,
}

/// The outcome of one image's comparison; every vector is indexed like the taps.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Mismatching elements per layer, end to end, every one counted: values both sides
    /// produced that differ (a missing or extra beat is counted apart, below).
    pub counts: Vec<u64>,
    /// Largest |expected − actual| per layer over the elements both sides produced.
    pub max_abs_diff: Vec<u64>,
    /// Mismatching elements per layer on the RTL's own input (layer-local).
    pub local_counts: Vec<u64>,
    pub local_max_abs_diff: Vec<u64>,
    /// Beats the layer lacked by the time its class came (the class: 1 when none came).
    pub missing_beats: Vec<u64>,
    /// Beats past the layer's count (`beats = "exact"`): a protocol problem.
    pub extra_beats: Vec<u64>,
    /// Beats past the layer's count that its binding says to ignore (`beats = "first"`).
    pub ignored_beats: Vec<u64>,
    /// The end-to-end mismatches themselves, at most `max_rows` of them.
    pub rows: Vec<Mismatch>,
    /// Handshake problems in words (a tap with fewer or more beats than its layer has by the
    /// time the class came; a class that never came), for the reports.
    pub protocol: Vec<String>,
    /// What was ignored as the binding asked, in words (not a problem).
    pub notes: Vec<String>,
}

impl Comparison {
    /// Every compared value equal and every beat count right.
    pub fn is_clean(&self) -> bool {
        (0..self.counts.len()).all(|t| self.layer_clean(t))
    }

    /// Tap `t`'s values equal and its beat count right.
    pub fn layer_clean(&self, t: usize) -> bool {
        self.counts[t] == 0 && self.missing_beats[t] == 0 && self.extra_beats[t] == 0
    }

    /// Whether only beat counts are wrong: every value both sides produced is equal.
    pub fn only_beats(&self) -> bool {
        !self.is_clean() && self.counts.iter().all(|&c| c == 0)
    }

    /// The first tap (index) with a mismatching value or a wrong beat count, end to end.
    pub fn first_bad_layer(&self) -> Option<usize> {
        (0..self.counts.len()).position(|t| !self.layer_clean(t))
    }
}

/// The reference element behind lane `k` of beat `b` of a tap of `shape`.
#[inline]
fn element(shape: Shape, lanes: usize, b: usize, k: usize) -> usize {
    match shape {
        Shape::Map { h, w, .. } => k * h * w + b,
        Shape::Vector(_) => b * lanes + k,
    }
}

/// Compares the first `min(beats, layer's beats)` beats of `got` with `expected`; calls
/// `note` per mismatch and returns (count, max |diff|).
fn layer_beats(
    shape: Shape,
    expected: &[i64],
    got: &[i64],
    mut note: impl FnMut(usize, usize, i64, i64),
) -> (u64, u64) {
    let (lanes, eb) = shape.beats();
    let n_beats = (got.len() / lanes.max(1)).min(eb);
    let got = &got[..n_beats * lanes];
    let (mut n, mut max) = (0u64, 0u64);
    // The common case, every beat there and equal: plain integers, the general loop only on
    // a difference.
    if n_beats == eb {
        let stride = eb; // element of (beat b, lane k) in a map: k·h·w + b
        let exact = match shape {
            Shape::Map { .. } => (0..eb).all(|b| {
                let beat = &got[b * lanes..(b + 1) * lanes];
                beat.iter().enumerate().all(|(k, &a)| expected[k * stride + b] == a)
            }),
            Shape::Vector(_) => expected == got,
        };
        if exact {
            return (0, 0);
        }
    }
    for b in 0..n_beats {
        for k in 0..lanes {
            let e = expected[element(shape, lanes, b, k)];
            let a = got[b * lanes + k];
            if e != a {
                n += 1;
                max = max.max(e.abs_diff(a));
                note(b, k, e, a);
            }
        }
    }
    (n, max)
}

/// The RTL's tap as a tensor in the layer's element order; elements it did not send are
/// taken from `expected` (so a short tap still gives the next layer a whole input).
fn as_tensor(shape: Shape, got: &[i64], expected: &[i64]) -> Vec<i64> {
    let (lanes, beats) = shape.beats();
    let mut t = expected.to_vec();
    for b in 0..beats.min(got.len() / lanes.max(1)) {
        for k in 0..lanes {
            t[element(shape, lanes, b, k)] = got[b * lanes + k];
        }
    }
    t
}

/// Compares every tapped layer of one image, end to end and on the RTL's own input; keeps
/// at most `max_rows` mismatch rows. `beats[t]` says which of tap `t`'s beats are its
/// layer's (the class's entry is unused; a missing entry is `Exact`).
pub fn compare(
    model: &Model,
    taps: &[Tap],
    beats: &[Beats],
    expected: &Outputs,
    got: &Capture,
    max_rows: usize,
) -> Comparison {
    let n = taps.len();
    let mut out = Comparison {
        counts: vec![0; n],
        max_abs_diff: vec![0; n],
        local_counts: vec![0; n],
        local_max_abs_diff: vec![0; n],
        missing_beats: vec![0; n],
        extra_beats: vec![0; n],
        ignored_beats: vec![0; n],
        rows: Vec::new(),
        protocol: Vec::new(),
        notes: Vec::new(),
    };
    for (t, tap) in taps.iter().enumerate().filter(|(_, t)| !t.is_class) {
        let (lanes, want) = tap.shape.beats();
        let got_beats = got.taps[t].len() / lanes.max(1);
        let when = if got.class.is_some() { "when the class came" } else { "and no class came" };
        let first = beats.get(t) == Some(&Beats::First);
        out.missing_beats[t] = want.saturating_sub(got_beats) as u64;
        let over = got_beats.saturating_sub(want) as u64;
        if first && over > 0 {
            out.ignored_beats[t] = over;
            out.notes.push(format!(
                "{}: {over} beat{} after its {want} ignored (beats = \"first\")",
                tap.name,
                if over == 1 { "" } else { "s" }
            ));
        } else {
            out.extra_beats[t] = over;
        }
        if got_beats < want || (got_beats > want && !first) {
            out.protocol.push(format!("{}: {got_beats} of {want} beats {when}", tap.name));
        }
    }
    for (t, tap) in taps.iter().enumerate() {
        let (e2e, max) = if tap.is_class {
            let e = expected.class as i64;
            match got.class.map(i64::from) {
                None => {
                    out.missing_beats[t] = 1;
                    (0, 0)
                }
                Some(a) if a != e => {
                    if out.rows.len() < max_rows {
                        out.rows.push(Mismatch {
                            layer: t,
                            channel: 0,
                            row: 0,
                            col: 0,
                            expected: Some(e),
                            actual: Some(a),
                        });
                    }
                    (1, e.abs_diff(a))
                }
                Some(_) => (0, 0),
            }
        } else {
            let w = match tap.shape {
                Shape::Map { w, .. } => w,
                Shape::Vector(_) => 0,
            };
            let rows = &mut out.rows;
            layer_beats(tap.shape, &expected.taps[t], &got.taps[t], |b, k, e, a| {
                if rows.len() < max_rows {
                    let (row, col) = b.checked_div(w).map_or((b, 0), |r| (r, b % w));
                    rows.push(Mismatch {
                        layer: t,
                        channel: k,
                        row,
                        col,
                        expected: Some(e),
                        actual: Some(a),
                    });
                }
            })
        };
        out.counts[t] = e2e;
        out.max_abs_diff[t] = max;
        // Layer-local: on the RTL's own previous tap. When that tap's values were exact, the
        // input is the reference's and the verdict is the end-to-end one.
        let (lc, lm) = match t.checked_sub(1) {
            Some(p) if out.counts[p] > 0 => {
                let prev = &taps[p];
                let input = as_tensor(prev.shape, &got.taps[p], &expected.taps[p]);
                let local = model.run_layers_after(prev.layer + 1, tap.layer, &input, expected);
                if tap.is_class {
                    match got.class.map(i64::from) {
                        Some(a) if a != local[0] => (1, local[0].abs_diff(a)),
                        _ => (0, 0),
                    }
                } else {
                    layer_beats(tap.shape, &local, &got.taps[t], |_, _, _, _| {})
                }
            }
            _ => (e2e, max),
        };
        out.local_counts[t] = lc;
        out.local_max_abs_diff[t] = lm;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Network;
    use crate::weights::Params;

    #[test]
    fn missing_and_extra_beats_are_said_in_words() {
        let net = Network::seed();
        let params = Params::filled(&net, 1);
        let model = Model::new(&net, &params);
        let taps = net.taps();
        let img = [7u8; 784];
        let expected = model.run(&img);
        // The RTL's capture: conv1 one beat short, fc1 one beat too many, pool1 exact.
        let mut got = Capture::for_taps(&taps);
        got.taps[0] = {
            let (lanes, beats) = taps[0].shape.beats();
            let mut v = Vec::new();
            for b in 0..beats - 1 {
                for k in 0..lanes {
                    v.push(expected.taps[0][k * beats + b]);
                }
            }
            v
        };
        let (lanes, beats) = taps[1].shape.beats();
        got.taps[1] = (0..beats)
            .flat_map(|b| (0..lanes).map(move |k| (b, k)))
            .map(|(b, k)| expected.taps[1][k * beats + b])
            .collect();
        got.taps[2] = [expected.taps[2].clone(), expected.taps[2].clone()].concat();
        got.class = Some(expected.class);
        let cmp = compare(&model, &taps, &[], &expected, &got, 100);
        assert_eq!(
            cmp.protocol,
            [
                "conv1: 483 of 484 beats when the class came",
                "fc1: 2 of 1 beats when the class came"
            ]
        );
        // Beats apart from values: every value that came is equal.
        assert_eq!(cmp.counts, [0, 0, 0, 0]);
        assert_eq!(cmp.missing_beats, [1, 0, 0, 0]);
        assert_eq!(cmp.extra_beats, [0, 0, 1, 0]);
        assert!(!cmp.is_clean() && cmp.only_beats());
        assert_eq!(cmp.first_bad_layer(), Some(0));
        // With fc1's later beats ignored (`beats = "first"`), only conv1's missing beat is a
        // problem; the ignored one is a note.
        let first = [Beats::Exact, Beats::Exact, Beats::First];
        let cmp = compare(&model, &taps, &first, &expected, &got, 100);
        assert_eq!(cmp.protocol, ["conv1: 483 of 484 beats when the class came"]);
        assert_eq!((cmp.extra_beats[2], cmp.ignored_beats[2]), (0, 1));
        assert_eq!(cmp.notes, ["fc1: 1 beat after its 1 ignored (beats = \"first\")"]);
        // A wrong value in a kept beat is still a mismatch; one in an ignored beat is not.
        got.taps[2][0] += 1;
        let cmp = compare(&model, &taps, &first, &expected, &got, 100);
        assert_eq!(cmp.counts[2], 1);
        got.taps[2][0] -= 1;
        got.taps[2][10] += 1;
        let cmp = compare(&model, &taps, &first, &expected, &got, 100);
        assert_eq!(cmp.counts[2], 0);
        got.class = None;
        let cmp = compare(&model, &taps, &[], &expected, &got, 100);
        assert_eq!(cmp.protocol[0], "conv1: 483 of 484 beats and no class came");
        assert_eq!(cmp.missing_beats[3], 1);
    }
}
