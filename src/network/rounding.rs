//! The integer primitives every op's arithmetic is written in: a division rounded by a
//! named tie rule ([`Rounding`]), what happens to a value outside its width ([`Overflow`]),
//! and TFLite's two fixed-point steps ([`srdhm`], [`rdbpot`]). `docs/network-format.md`
//! ("Rounding") maps each rule to ap_fixed's, QONNX's and TFLite's names.

use super::IntType;
use serde::Deserialize;
use std::cmp::Ordering;

/// How `v / d` becomes an integer (`d > 0`): directed (`floor`, `ceil`, `trunc`) or to the
/// nearest integer with the tie rule in the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Toward −∞ (an arithmetic shift right). ap_fixed AP_TRN.
    Floor,
    /// Toward +∞.
    Ceil,
    /// Toward zero. ap_fixed AP_TRN_ZERO; C's integer division.
    Trunc,
    /// To nearest, ties toward +∞ (add half, then floor). ap_fixed AP_RND.
    HalfUp,
    /// To nearest, ties toward −∞. ap_fixed AP_RND_MIN_INF.
    HalfDown,
    /// To nearest, ties away from zero. ap_fixed AP_RND_INF; C's `round`; QONNX's HALF_UP.
    HalfAway,
    /// To nearest, ties toward zero. ap_fixed AP_RND_ZERO.
    HalfToZero,
    /// To nearest, ties to the even neighbour. ap_fixed AP_RND_CONV; numpy's `rint`.
    HalfEven,
}

impl Rounding {
    /// Every rule, in the order the docs list them.
    pub const ALL: [Rounding; 8] = [
        Rounding::Floor,
        Rounding::Ceil,
        Rounding::Trunc,
        Rounding::HalfUp,
        Rounding::HalfDown,
        Rounding::HalfAway,
        Rounding::HalfToZero,
        Rounding::HalfEven,
    ];

    /// The rule's name in a description.
    pub fn name(self) -> &'static str {
        match self {
            Rounding::Floor => "floor",
            Rounding::Ceil => "ceil",
            Rounding::Trunc => "trunc",
            Rounding::HalfUp => "half_up",
            Rounding::HalfDown => "half_down",
            Rounding::HalfAway => "half_away",
            Rounding::HalfToZero => "half_to_zero",
            Rounding::HalfEven => "half_even",
        }
    }

    /// The rule named `name`.
    pub fn from_name(name: &str) -> Option<Rounding> {
        Rounding::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The known names, for messages: `floor, ceil, …, half_even`.
    pub fn names() -> String {
        Rounding::ALL.map(|r| r.name()).join(", ")
    }

    /// Whether `floor + 1` is the result, given the floor `q` of the quotient, whether the
    /// remainder is zero, and how the remainder compares with half the divisor.
    #[inline(always)]
    fn up(self, q_odd: bool, q_negative: bool, exact: bool, vs_half: Ordering) -> bool {
        match self {
            Rounding::Floor => false,
            Rounding::Ceil => !exact,
            Rounding::Trunc => q_negative && !exact,
            Rounding::HalfUp => vs_half != Ordering::Less,
            Rounding::HalfDown => vs_half == Ordering::Greater,
            // A tie's quotient is q + ½: away from zero is up when q ≥ 0.
            Rounding::HalfAway => match vs_half {
                Ordering::Equal => !q_negative,
                o => o == Ordering::Greater,
            },
            Rounding::HalfToZero => match vs_half {
                Ordering::Equal => q_negative,
                o => o == Ordering::Greater,
            },
            Rounding::HalfEven => match vs_half {
                Ordering::Equal => q_odd,
                o => o == Ordering::Greater,
            },
        }
    }

    /// `round(v / 2^shift)`; exact for any `i64` and `shift < 63`.
    #[inline]
    pub fn apply(self, v: i64, shift: u32) -> i64 {
        if shift == 0 {
            return v;
        }
        let floor = v >> shift;
        let rem = v - (floor << shift); // 0 ≤ rem < 2^shift
        let half = 1i64 << (shift - 1);
        floor + self.up(floor & 1 == 1, floor < 0, rem == 0, rem.cmp(&half)) as i64
    }

    /// `round(v / 2^shift)` for `i128` (a product of an accumulator and a multiplier);
    /// `shift < 127`.
    pub fn apply_wide(self, v: i128, shift: u32) -> i128 {
        if shift == 0 {
            return v;
        }
        let floor = v >> shift;
        let rem = v - (floor << shift);
        let half = 1i128 << (shift - 1);
        floor + self.up(floor & 1 == 1, floor < 0, rem == 0, rem.cmp(&half)) as i128
    }

    /// `round(v / d)` for any divisor `d ≥ 1` (an average pool's window size).
    pub fn div(self, v: i64, d: i64) -> i64 {
        debug_assert!(d >= 1, "the divisor is positive");
        let (q, r) = (v.div_euclid(d), v.rem_euclid(d)); // 0 ≤ r < d
                                                         // Compare r with d/2 without overflow: 2r vs d ⟺ r vs d − r.
        q + self.up(q & 1 == 1, q < 0, r == 0, r.cmp(&(d - r))) as i64
    }
}

/// What happens to a result outside its declared width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Clamp to the width's range. ap_fixed AP_SAT.
    Saturate,
    /// Clamp to the width's range without its most negative value (−127..127 for 8 bits
    /// signed; an unsigned width as `saturate`). ap_fixed AP_SAT_SYM.
    SaturateSymmetric,
    /// Keep the low bits (two's complement for a signed result). ap_fixed AP_WRAP.
    Wrap,
}

impl Overflow {
    /// The range a value of `t` is clamped into (`saturate`, `saturate_symmetric`).
    pub fn rails(self, t: IntType) -> (i64, i64) {
        let (min, max) = (t.min() as i64, t.max() as i64);
        match self {
            Overflow::SaturateSymmetric if t.signed => (min + 1, max),
            _ => (min, max),
        }
    }

    #[inline]
    pub fn apply(self, v: i64, t: IntType) -> i64 {
        match self {
            Overflow::Saturate | Overflow::SaturateSymmetric => {
                let (lo, hi) = self.rails(t);
                v.clamp(lo, hi)
            }
            Overflow::Wrap => {
                let sh = 64 - t.bits;
                if t.signed {
                    (v << sh) >> sh
                } else {
                    ((v as u64) << sh >> sh) as i64
                }
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Overflow::Saturate => "saturate",
            Overflow::SaturateSymmetric => "saturate_symmetric",
            Overflow::Wrap => "wrap",
        }
    }
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul(a, b)`: the high 32 bits of `2·a·b`,
/// rounded to nearest with ties toward +∞ (its nudge is `2^30` for a non-negative product
/// and `1 − 2^30` for a negative one, and C++ division truncates); the one overflowing case,
/// `a = b = −2^31`, saturates to `2^31 − 1`.
pub fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT(x, exponent)`: `x / 2^exponent` rounded to nearest, ties
/// away from zero (`exponent` 0..=31).
pub fn rdbpot(x: i32, exponent: u32) -> i32 {
    debug_assert!(exponent <= 31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_on_quarters_and_halves() {
        // v/4 for v = −10, −6, −5, −2, 2, 5, 6, 10: −2.5, −1.5, −1.25, −0.5, 0.5, 1.25, 1.5, 2.5
        let v = [-10, -6, -5, -2, 2, 5, 6, 10];
        let want: [(Rounding, [i64; 8]); 8] = [
            (Rounding::Floor, [-3, -2, -2, -1, 0, 1, 1, 2]),
            (Rounding::Ceil, [-2, -1, -1, 0, 1, 2, 2, 3]),
            (Rounding::Trunc, [-2, -1, -1, 0, 0, 1, 1, 2]),
            (Rounding::HalfUp, [-2, -1, -1, 0, 1, 1, 2, 3]),
            (Rounding::HalfDown, [-3, -2, -1, -1, 0, 1, 1, 2]),
            (Rounding::HalfAway, [-3, -2, -1, -1, 1, 1, 2, 3]),
            (Rounding::HalfToZero, [-2, -1, -1, 0, 0, 1, 1, 2]),
            (Rounding::HalfEven, [-2, -2, -1, 0, 0, 1, 2, 2]),
        ];
        for (r, w) in want {
            assert_eq!(v.map(|x| r.apply(x, 2)), w, "{} by shift", r.name());
            assert_eq!(v.map(|x| r.div(x, 4)), w, "{} by division", r.name());
            assert_eq!(v.map(|x| r.apply_wide(x as i128, 2) as i64), w, "{} wide", r.name());
            assert_eq!(r.apply(7, 0), 7);
            assert_eq!(Rounding::from_name(r.name()), Some(r));
        }
    }

    #[test]
    fn ap_fixed_worked_examples() {
        // ap_fixed<3, 2, Q, AP_SAT> = ±1.25: one fraction bit, so ±1.25 is ±2.5 halves and
        // a tie between two representable values. The result in halves, per quantization mode
        // (AMD UG1399, "Quantization Modes"): AP_RND 1.5 / −1.0, AP_RND_ZERO 1.0 / −1.0,
        // AP_RND_MIN_INF 1.0 / −1.5, AP_RND_INF 1.5 / −1.5, AP_RND_CONV 1.0 / −1.0,
        // AP_TRN 1.0 / −1.5, AP_TRN_ZERO 1.0 / −1.0.
        let halves = |r: Rounding, x: f64| r.apply((x * 4.0) as i64, 1) as f64 / 2.0;
        let cases = [
            (Rounding::HalfUp, 1.5, -1.0),
            (Rounding::HalfToZero, 1.0, -1.0),
            (Rounding::HalfDown, 1.0, -1.5),
            (Rounding::HalfAway, 1.5, -1.5),
            (Rounding::HalfEven, 1.0, -1.0),
            (Rounding::Floor, 1.0, -1.5),
            (Rounding::Trunc, 1.0, -1.0),
        ];
        for (r, pos, neg) in cases {
            assert_eq!((halves(r, 1.25), halves(r, -1.25)), (pos, neg), "{}", r.name());
        }
        // To integers, ±2.5 and ±1.5 (the ties rounded to even differ from away-from-zero).
        let ints = |r: Rounding| [2.5, -2.5, 1.5, -1.5].map(|x: f64| r.apply((x * 2.0) as i64, 1));
        assert_eq!(ints(Rounding::HalfEven), [2, -2, 2, -2]);
        assert_eq!(ints(Rounding::HalfAway), [3, -3, 2, -2]);
        assert_eq!(ints(Rounding::HalfUp), [3, -2, 2, -1]);
    }

    #[test]
    fn division_by_any_divisor() {
        // An average pool of 3×3: 13/9 = 1.44, −13/9, 27/9 = 3, 4.5/9·2 = 9/2 ties.
        assert_eq!(Rounding::HalfAway.div(13, 9), 1);
        assert_eq!(Rounding::HalfAway.div(-13, 9), -1);
        assert_eq!(Rounding::Ceil.div(27, 9), 3);
        assert_eq!(Rounding::HalfAway.div(9, 2), 5);
        assert_eq!(Rounding::HalfAway.div(-9, 2), -5);
        assert_eq!(Rounding::HalfEven.div(9, 2), 4);
        assert_eq!(Rounding::HalfEven.div(-15, 6), -2);
        // No overflow near the limits: r vs d − r.
        assert_eq!(Rounding::HalfUp.div(i64::MAX, i64::MAX), 1);
        assert_eq!(Rounding::HalfUp.div(i64::MAX / 2 + 1, i64::MAX), 1);
        assert_eq!(Rounding::HalfDown.div(i64::MAX / 2 + 1, i64::MAX), 1);
        for r in Rounding::ALL {
            for v in -40..40 {
                assert_eq!(r.div(v, 8), r.apply(v, 3), "{} {v}", r.name());
            }
        }
    }

    #[test]
    fn overflow_modes() {
        let s12 = IntType { bits: 12, signed: true };
        assert_eq!(Overflow::Saturate.apply(5000, s12), 2047);
        assert_eq!(Overflow::Saturate.apply(-5000, s12), -2048);
        assert_eq!(Overflow::Wrap.apply(2048, s12), -2048);
        assert_eq!(Overflow::Wrap.apply(-2049, s12), 2047);
        let u4 = IntType { bits: 4, signed: false };
        assert_eq!(Overflow::Wrap.apply(17, u4), 1);
        assert_eq!(Overflow::Wrap.apply(-1, u4), 15);
        let s8 = IntType { bits: 8, signed: true };
        assert_eq!(Overflow::SaturateSymmetric.apply(-128, s8), -127);
        assert_eq!(Overflow::SaturateSymmetric.apply(-300, s8), -127);
        assert_eq!(Overflow::SaturateSymmetric.apply(300, s8), 127);
        assert_eq!(Overflow::SaturateSymmetric.apply(-5, u4), 0);
        assert_eq!(Overflow::SaturateSymmetric.apply(99, u4), 15);
    }

    #[test]
    fn gemmlowp_srdhm_and_rdbpot() {
        // SRDHM(a, b) = round(a·b / 2^31), ties toward +∞; the one overflow saturates.
        assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(srdhm(i32::MAX, i32::MAX), i32::MAX - 1); // (2^31−1)² / 2^31 = 2^31 − 2 + 2^−31
        assert_eq!(srdhm(1 << 30, 1 << 30), 1 << 29); // 0.5 · 0.5 = 0.25 in Q31
        assert_eq!(srdhm(-(1 << 30), 1 << 30), -(1 << 29));
        assert_eq!(srdhm(1000, 1 << 30), 500); // 1000 · 0.5
                                               // Ties: a·b = ±2^30 is ±0.5 after the doubling high half.
        assert_eq!(srdhm(1 << 15, 1 << 15), 1);
        assert_eq!(srdhm(-(1 << 15), 1 << 15), 0);
        assert_eq!(srdhm(3 << 15, 1 << 15), 2); // 1.5 → 2
        assert_eq!(srdhm(-(3 << 15), 1 << 15), -1); // −1.5 → −1
                                                    // RDBPOT: ties away from zero.
        assert_eq!([5, 6, 7, -5, -6, -7].map(|x| rdbpot(x, 2)), [1, 2, 2, -1, -2, -2]);
        assert_eq!([2, -2, 3, -3].map(|x| rdbpot(x, 1)), [1, -1, 2, -2]);
        assert_eq!(rdbpot(12345, 0), 12345);
        assert_eq!(rdbpot(i32::MIN, 31), -1);
        assert_eq!(rdbpot(i32::MAX, 31), 1);
        // Against the named rules: SRDHM is half_up on a·b / 2^31, RDBPOT half_away.
        for x in -300..300 {
            assert_eq!(rdbpot(x, 3) as i64, Rounding::HalfAway.apply(x as i64, 3));
            let b = 1 << 24; // a·2^24 / 2^31 = a / 2^7
            assert_eq!(srdhm(x, b) as i64, Rounding::HalfUp.apply(x as i64, 7));
        }
    }
}
