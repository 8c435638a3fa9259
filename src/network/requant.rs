//! Requantization: how a conv2d/linear accumulator becomes the layer's output value, per
//! tensor or per output channel — `round(acc · M / 2^s) + z` with one rounding, or TFLite's
//! two steps (`docs/network-format.md`, "Requantization").

use super::rounding::{rdbpot, srdhm, Rounding};
use super::Range;

/// How the scaled accumulator is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `round(acc · M / 2^s)`, one rounding of the exact product.
    Single(Rounding),
    /// TFLite's `MultiplyByQuantizedMultiplier`: with `e = 31 − s`,
    /// `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc · 2^max(e,0), M), max(−e,0))`
    /// on `int32`.
    Tflite,
}

impl Scheme {
    /// The name in a description (`rounding = …`).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Single(r) => r.name(),
            Scheme::Tflite => "tflite",
        }
    }
}

/// A layer's requantization. `multiplier` and `shift` hold one value (the whole tensor) or one
/// per output channel; a multiplier of 1 is a plain shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requant {
    pub multiplier: Vec<i64>,
    pub shift: Vec<u32>,
    pub scheme: Scheme,
    /// Added after rounding, before the overflow rule.
    pub zero_point: i64,
}

impl Requant {
    /// A plain `round(acc / 2^shift)`, the notebook family's only requantization.
    pub fn shift(shift: u32, rounding: Rounding) -> Requant {
        Requant {
            multiplier: vec![1],
            shift: vec![shift],
            scheme: Scheme::Single(rounding),
            zero_point: 0,
        }
    }

    /// `(shift, rounding)` when this is a plain shift of the whole tensor (multiplier 1, no
    /// zero point): the reference's fast path.
    pub fn plain(&self) -> Option<(u32, Rounding)> {
        match (self.scheme, self.multiplier.as_slice(), self.shift.as_slice(), self.zero_point) {
            (Scheme::Single(r), [1], [s], 0) => Some((*s, r)),
            _ => None,
        }
    }

    /// Whether multiplier or shift differ per output channel.
    pub fn per_channel(&self) -> bool {
        self.multiplier.len() > 1 || self.shift.len() > 1
    }

    /// Output channel `o`'s (multiplier, shift).
    #[inline]
    pub fn channel(&self, o: usize) -> (i64, u32) {
        let m = if self.multiplier.len() > 1 { self.multiplier[o] } else { self.multiplier[0] };
        let s = if self.shift.len() > 1 { self.shift[o] } else { self.shift[0] };
        (m, s)
    }

    /// Output channel `o`'s value for accumulator `acc`, before the overflow rule. Exact on
    /// every accumulator the bounds allow; on others (the RTL's own values on the layer-local
    /// path) it computes what the named arithmetic computes: the single rounding in 128
    /// bits, TFLite's steps on `int32` with its wrapping.
    #[inline]
    pub fn apply(&self, acc: i64, o: usize) -> i64 {
        let (m, s) = self.channel(o);
        let y = match self.scheme {
            Scheme::Single(r) => {
                let v = r.apply_wide(acc as i128 * m as i128, s);
                v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
            }
            Scheme::Tflite => {
                let e = 31 - s as i32;
                let (left, right) = (e.max(0) as u32, (-e).max(0) as u32);
                let x = (acc as i32).wrapping_mul(1 << left);
                rdbpot(srdhm(x, m as i32), right) as i64
            }
        };
        y.saturating_add(self.zero_point)
    }

    /// The range of [`Requant::apply`] over accumulators in `acc`, over every channel
    /// (each step is monotone for a positive multiplier, so the extremes map to extremes).
    pub fn range(&self, acc: Range, channels: usize) -> Range {
        let n = if self.per_channel() { channels } else { 1 };
        let mut out = Range { min: i128::MAX, max: i128::MIN };
        for o in 0..n {
            out.min = out.min.min(self.apply(acc.min as i64, o) as i128);
            out.max = out.max.max(self.apply(acc.max as i64, o) as i128);
        }
        out
    }

    /// How `net show` names the step: `floor(acc/2^8)`, `half_away(acc·1234/2^16) + 3`,
    /// `tflite(acc·M[o]/2^s[o])`.
    pub fn label(&self) -> String {
        // One value for every channel is the tensor's (the corners of a loaded range repeat
        // the value the description gives).
        fn one<T: PartialEq>(v: &[T]) -> Option<&T> {
            v.first().filter(|&f| v.iter().all(|x| x == f))
        }
        let m = match one(&self.multiplier) {
            Some(1) => String::new(),
            Some(m) => format!("·{m}"),
            None => "·M[o]".to_string(),
        };
        let s = match one(&self.shift) {
            Some(s) => s.to_string(),
            None => "s[o]".to_string(),
        };
        let z = match self.zero_point {
            0 => String::new(),
            z if z > 0 => format!(" + {z}"),
            z => format!(" − {}", -z),
        };
        format!("{}(acc{m}/2^{s}){z}", self.scheme.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multiplier_of_one_is_the_plain_shift() {
        let r = Requant::shift(7, Rounding::Floor);
        assert_eq!(r.plain(), Some((7, Rounding::Floor)));
        for acc in [-1000, -129, -128, -1, 0, 1, 127, 128, 100_000] {
            assert_eq!(r.apply(acc, 0), acc >> 7);
        }
        assert_eq!(r.label(), "floor(acc/2^7)");
    }

    #[test]
    fn per_channel_multiplier_shift_and_zero_point() {
        // Channel 0: acc · 3 / 2^2, channel 1: acc · 5 / 2^3; output zero point −128.
        let r = Requant {
            multiplier: vec![3, 5],
            shift: vec![2, 3],
            scheme: Scheme::Single(Rounding::HalfAway),
            zero_point: -128,
        };
        assert_eq!(r.plain(), None);
        assert_eq!(r.apply(10, 0), 8 - 128); // 7.5 → 8
        assert_eq!(r.apply(-10, 0), -8 - 128); // −7.5 → −8
        assert_eq!(r.apply(10, 1), 6 - 128); // 6.25 → 6
        assert_eq!(r.label(), "half_away(acc·M[o]/2^s[o]) − 128");
        let range = r.range(Range { min: -100, max: 100 }, 2);
        assert_eq!(range, Range { min: -75 - 128, max: 75 - 128 }); // ±75 (ch 0), ±62.5 (ch 1)
    }

    #[test]
    fn tflite_two_step_against_its_reference_arithmetic() {
        // TFLite: real multiplier 0.0075 = 0.96 · 2^−7: M = round(0.96 · 2^31), e = −7, so
        // s = 31 − e = 38 in this description's terms.
        let m = (0.96f64 * (1u64 << 31) as f64).round() as i64;
        let r =
            Requant { multiplier: vec![m], shift: vec![38], scheme: Scheme::Tflite, zero_point: 5 };
        let reference = |acc: i32| rdbpot(srdhm(acc, m as i32), 7) as i64 + 5;
        for acc in [-70_000, -1000, -134, -133, -1, 0, 1, 133, 134, 1000, 65_536] {
            assert_eq!(r.apply(acc as i64, 0), reference(acc), "acc {acc}");
        }
        // Two roundings differ from one: acc = 1000 gives 1000·M / 2^38 = 7.4999999963, which
        // one rounding takes to 7; SRDHM first gives 960 (959.99999996 rounded), then
        // RDBPOT(960, 7) = 7.5, a tie, away from zero: 8.
        assert_eq!(r.apply(1000, 0), 8 + 5);
        let single = Requant { scheme: Scheme::Single(Rounding::HalfAway), ..r.clone() };
        assert_eq!(single.apply(1000, 0), 7 + 5);
        // A left shift: e = 2 (s = 29) multiplies by 4 before the high multiply.
        let up = Requant { shift: vec![29], zero_point: 0, ..r.clone() };
        assert_eq!(up.apply(1000, 0), srdhm(4000, m as i32) as i64);
        assert_eq!(up.label(), format!("tflite(acc·{m}/2^29)"));
    }
}
