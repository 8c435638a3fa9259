//! Taps placed by coordinates (`at` in the binding): a shared engine's beats come in its own
//! order (channel-major, say) with their place on signals beside the value. [`place`] puts
//! each value where its coordinates say, giving the arrival-order layout [`compare`]
//! reads (a map's beats in raster order, channels within a beat; a vector's in index
//! order); a beat whose coordinates are outside the layer or repeat a place is an extra
//! beat of the layer, a place no beat reached a missing one, each said in words.
//!
//! [`compare`]: crate::compare::compare

use crate::compare::Capture;
use crate::network::{Shape, Tap};
use crate::sim::binding::Binding;

/// What placing one image's beats found wrong, per tap (indexed like the capture's).
#[derive(Debug, Default)]
pub struct Placed {
    /// Beats outside the layer or repeating a place.
    pub extra: Vec<u64>,
    /// In words.
    pub notes: Vec<String>,
}

/// Whether any tap of `b` is placed by coordinates.
pub fn any(b: &Binding) -> bool {
    b.taps.iter().any(|t| t.at.is_some())
}

/// Places the beats of every coordinate tap of `cap` (`taps`: the non-class taps the
/// design brings out, in the capture's order), in place. `ended`: whether the image's
/// class came (else values that never came are the timeout's, said once by it).
pub fn place(b: &Binding, taps: &[Tap], cap: &mut Capture, ended: bool) -> Placed {
    let mut out = Placed { extra: vec![0; cap.taps.len()], notes: Vec::new() };
    for (k, tap) in taps.iter().filter(|t| !t.is_class).enumerate() {
        let Some(at) = b.tap(&tap.name).and_then(|t| t.at.as_ref()) else { continue };
        let keys: Vec<&str> = at.signals().iter().map(|(k, _)| *k).collect();
        let stride = keys.len() + 1;
        let raw = std::mem::take(&mut cap.taps[k]);
        let n = tap.shape.len();
        let (c, h, w) = match tap.shape {
            Shape::Map { c, h, w } => (c, h, w),
            Shape::Vector(n) => (n, 1, 1),
        };
        let mut placed: Vec<Option<i64>> = vec![None; n];
        let (mut outside, mut repeated) = (0u64, 0u64);
        let (mut first_outside, mut first_repeat) = (None, None);
        for (beat, v) in raw.chunks_exact(stride).enumerate() {
            let coord = |name: &str| keys.iter().position(|k| *k == name).map(|p| v[p] as u64);
            // (channel, row, col) of the value.
            let (ch, r, col) = match coord("index") {
                Some(i) => {
                    let i = usize::try_from(i).unwrap_or(usize::MAX);
                    (i / (h * w), (i / w) % h.max(1), i % w)
                }
                None => (
                    coord("channel").unwrap_or(0) as usize,
                    coord("row").unwrap_or(0) as usize,
                    coord("col").unwrap_or(0) as usize,
                ),
            };
            let said = || match coord("index") {
                Some(i) => format!("index {i}"),
                None => keys
                    .iter()
                    .map(|k| format!("{k} {}", coord(k).unwrap_or(0)))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            if ch >= c || r >= h || col >= w {
                outside += 1;
                first_outside.get_or_insert_with(|| format!("beat {beat} at {}", said()));
                continue;
            }
            // The arrival-order position: raster beat, channel within it.
            let pos = match tap.shape {
                Shape::Map { .. } => (r * w + col) * c + ch,
                Shape::Vector(_) => ch,
            };
            if placed[pos].is_some() {
                repeated += 1;
                first_repeat.get_or_insert_with(|| format!("beat {beat} at {}", said()));
                continue;
            }
            placed[pos] = Some(v[stride - 1]);
        }
        let missing = placed.iter().filter(|p| p.is_none()).count();
        let name = &tap.name;
        if outside > 0 {
            out.notes.push(format!(
                "{name}: {outside} beat{} with coordinates outside the layer ({}), first {}",
                plural(outside),
                tap.shape,
                first_outside.unwrap_or_default()
            ));
        }
        if repeated > 0 {
            out.notes.push(format!(
                "{name}: {repeated} beat{} repeating a place already given, first {}",
                plural(repeated),
                first_repeat.unwrap_or_default()
            ));
        }
        if missing > 0 && ended {
            let first = placed.iter().position(|p| p.is_none()).unwrap_or(0);
            let (fc, fr, fcol) = match tap.shape {
                Shape::Map { .. } => (first % c, first / c / w, first / c % w),
                Shape::Vector(_) => (first, 0, 0),
            };
            let where_ = match tap.shape {
                Shape::Map { .. } => format!("channel {fc}, row {fr}, col {fcol}"),
                Shape::Vector(_) => format!("index {fc}"),
            };
            out.notes.push(format!(
                "{name}: {missing} of its {n} values never came (the first in arrival order at \
                 {where_}); compared up to there"
            ));
        }
        out.extra[k] = outside + repeated;
        let mut back = raw;
        back.clear();
        back.extend(placed.iter().map_while(|p| *p));
        cap.taps[k] = back;
    }
    out
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
