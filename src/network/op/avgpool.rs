//! `avgpool`: the rounded average of each window, per channel: `divide(Σ window)`, where the
//! division is by the window size (or a declared `divisor`), or by a fixed-point reciprocal
//! `round(Σ · M / 2^s)` as hardware often does it, rounded by a named rule. Also the shared
//! [`Divide`] of `global_avgpool`.

use super::{keys, need, window, Built, EvalCtx, Kind, Pair, Registered, Site};
use crate::network::{group, Bounds, Layer, Range, Rounding, Shape};
use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvgPool {
    pub kernel: usize,
    pub stride: usize,
    pub divide: Divide,
}

/// How a window's sum becomes its average.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Divide {
    /// `round(sum / divisor)`.
    By { divisor: i64, rounding: Rounding },
    /// `round(sum · multiplier / 2^shift)`: a fixed-point reciprocal.
    Reciprocal { multiplier: i64, shift: u32, rounding: Rounding },
}

impl Divide {
    #[inline]
    pub fn apply(self, sum: i64) -> i64 {
        match self {
            Divide::By { divisor, rounding } => rounding.div(sum, divisor),
            Divide::Reciprocal { multiplier, shift, rounding } => {
                let v = rounding.apply_wide(sum as i128 * multiplier as i128, shift);
                v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
            }
        }
    }

    /// The range of the average of `n` values each in `x` (monotone in the sum).
    pub fn range(self, x: Range, n: usize) -> Range {
        let n = n as i128;
        Range {
            min: self.apply((x.min * n) as i64) as i128,
            max: self.apply((x.max * n) as i64) as i128,
        }
    }

    /// The float model's average of a window of `n` values summing to `sum`.
    pub fn float(self, sum: f32, n: usize) -> f32 {
        match self {
            Divide::By { divisor, .. } => sum / divisor as f32,
            Divide::Reciprocal { .. } => sum / n as f32,
        }
    }

    pub fn label(self) -> String {
        match self {
            Divide::By { divisor, rounding } => format!("{}(Σ/{divisor})", rounding.name()),
            Divide::Reciprocal { multiplier, shift, rounding } => {
                format!("{}(Σ·{multiplier}/2^{shift})", rounding.name())
            }
        }
    }
}

/// The keys of a division: `rounding`, and `divisor` or `reciprocal`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DivideKeys {
    rounding: Option<String>,
    divisor: Option<i64>,
    reciprocal: Option<Reciprocal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reciprocal {
    multiplier: i64,
    shift: u32,
}

pub(crate) const DIVIDE_KEYS: [&str; 3] = ["rounding", "divisor", "reciprocal"];

impl DivideKeys {
    /// The division of a window of `n` values with inputs in `x`: refused when its sums or
    /// products can leave 64 bits.
    pub fn divide(&self, site: &Site, n: usize) -> Result<Divide> {
        let wh = site.wh;
        let name = need(site, self.rounding.as_deref(), "rounding")?;
        let rounding = Rounding::from_name(name).ok_or_else(|| {
            anyhow!(
                "{wh}: rounding = {name:?} is not a rounding rule; the known ones: {}",
                Rounding::names()
            )
        })?;
        let x = site.range;
        let fits = |v: i128| (i64::MIN as i128..=i64::MAX as i128).contains(&v);
        let (lo, hi) = (x.min * n as i128, x.max * n as i128);
        if !fits(lo) || !fits(hi) {
            bail!("{wh}: a window's sum can reach {}..{}, beyond 64 bits", group(lo), group(hi));
        }
        Ok(match (self.divisor, &self.reciprocal) {
            (Some(_), Some(_)) => bail!("{wh}: give `divisor` or `reciprocal`, not both"),
            (Some(d), None) if d < 1 => bail!("{wh}: divisor = {d}: at least 1"),
            (Some(divisor), None) => Divide::By { divisor, rounding },
            (None, None) => Divide::By { divisor: n as i64, rounding },
            (None, Some(r)) => {
                if r.multiplier < 1 || r.shift > 62 {
                    bail!(
                        "{wh}: reciprocal = {{ multiplier = {}, shift = {} }}: the multiplier is \
                         at least 1 and the shift 0..62",
                        r.multiplier,
                        r.shift
                    );
                }
                let (pl, ph) = (lo * r.multiplier as i128, hi * r.multiplier as i128);
                if !fits(pl) || !fits(ph) {
                    bail!(
                        "{wh}: the reciprocal's multiplier {} overflows: Σ·M reaches {}..{}, \
                         beyond 64 bits",
                        r.multiplier,
                        group(pl),
                        group(ph)
                    );
                }
                Divide::Reciprocal { multiplier: r.multiplier, shift: r.shift, rounding }
            }
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    kernel: Option<Pair>,
    stride: Option<usize>,
}

pub(crate) const REGISTERED: Registered = Registered {
    name: "avgpool",
    keys: &[&["kernel", "stride"], &DIVIDE_KEYS],
    parameters: false,
    many_inputs: false,
    build,
};

/// `c × ((h − k)/s + 1) × ((w − k)/s + 1)`; the stride defaults to the kernel.
fn build(site: &Site, mut table: toml::Table) -> Result<Built> {
    let d: DivideKeys = keys(site, super::take(&mut table, &DIVIDE_KEYS))?;
    let k: Keys = keys(site, table)?;
    let (kernel, stride, output) = window(site, "avgpool", k.kernel, k.stride)?;
    let n = kernel * kernel;
    let divide = d.divide(site, n)?;
    Ok(Built {
        op: super::Op::AvgPool(AvgPool { kernel, stride, divide }),
        output,
        bounds: window_bounds(divide, site.range, n),
    })
}

/// The bounds of averaging `n` values in `x`: the window's sum (`acc`) and its average.
pub(crate) fn window_bounds(divide: Divide, x: Range, n: usize) -> Bounds {
    let n128 = n as i128;
    Bounds {
        product: None,
        acc: Some(Range { min: x.min * n128, max: x.max * n128 }),
        rounded: None,
        out: divide.range(x, n),
    }
}

/// `net show`'s rows of a window average: its sum and its rounded average.
pub(crate) fn window_rows(divide: Divide, l: &Layer, n: usize) -> Vec<(String, Range, String)> {
    let sum = l.bounds.acc.expect("an average has a sum bound");
    vec![
        (format!("sum of {n}"), sum, sum.needed().to_string()),
        (divide.label(), l.bounds.out, l.bounds.out.needed().to_string()),
    ]
}

impl AvgPool {
    /// Each window's sum, in `T`, channel by channel.
    fn sums<T: Copy + Default + std::ops::AddAssign>(&self, l: &Layer, x: &[T]) -> Vec<T> {
        let (Shape::Map { c, h, w }, Shape::Map { h: oh, w: ow, .. }) = (l.input, l.output) else {
            unreachable!("validated: an avgpool maps a map to a map")
        };
        let (k, s) = (self.kernel, self.stride);
        let mut out = Vec::with_capacity(c * oh * ow);
        for plane in x.chunks_exact(h * w).take(c) {
            for r in 0..oh {
                for col in 0..ow {
                    let mut sum = T::default();
                    for dr in 0..k {
                        for &v in &plane[(r * s + dr) * w + col * s..][..k] {
                            sum += v;
                        }
                    }
                    out.push(sum);
                }
            }
        }
        out
    }
}

impl Kind for AvgPool {
    fn name(&self) -> &'static str {
        "avgpool"
    }

    fn bound_rows(&self, l: &Layer) -> Vec<(String, Range, String)> {
        window_rows(self.divide, l, self.kernel * self.kernel)
    }

    fn eval<'x>(&self, l: &Layer, x: &'x [i64], _cx: &EvalCtx) -> Cow<'x, [i64]> {
        Cow::Owned(self.sums(l, x).into_iter().map(|s| self.divide.apply(s)).collect())
    }

    fn forward(&self, l: &Layer, x: Vec<f32>, _w: Option<&[f32]>, _b: Option<&[f32]>) -> Vec<f32> {
        let n = self.kernel * self.kernel;
        self.sums(l, &x).into_iter().map(|s| self.divide.float(s, n)).collect()
    }
}
