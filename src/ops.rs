//! The shape-only ops both the integer reference ([`crate::reference`]) and the float model
//! ([`crate::float_model`]) run: max-pooling and the row-column-channel flatten. Generic over
//! the value type; `max` is the type's maximum (`Ord::max`, `f32::max`).

/// Max-pools each of `c` planes of `h × w` with a `k × k` window and stride `s` into
/// `oh × ow` (channel, row, column order).
#[allow(clippy::too_many_arguments)]
pub fn maxpool<T: Copy>(
    x: &[T],
    (c, h, w): (usize, usize, usize),
    k: usize,
    s: usize,
    (oh, ow): (usize, usize),
    max: impl Fn(T, T) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(c * oh * ow);
    for plane in x.chunks_exact(h * w).take(c) {
        for r in 0..oh {
            if k == 2 && s == 2 {
                // The common 2×2/2 window: two rows side by side.
                let (a, b) = (&plane[2 * r * w..][..2 * ow], &plane[(2 * r + 1) * w..][..2 * ow]);
                out.extend(
                    a.chunks_exact(2)
                        .zip(b.chunks_exact(2))
                        .map(|(p, q)| max(max(p[0], p[1]), max(q[0], q[1]))),
                );
                continue;
            }
            for col in 0..ow {
                let mut m = plane[r * s * w + col * s];
                for dr in 0..k {
                    for &v in &plane[(r * s + dr) * w + col * s..][..k] {
                        m = max(m, v);
                    }
                }
                out.push(m);
            }
        }
    }
    out
}

/// A `c × h × w` map (channel, row, column order) flattened in row, column, channel order.
pub fn flatten_hwc<T: Copy>(x: &[T], (c, h, w): (usize, usize, usize)) -> Vec<T> {
    let mut out = Vec::with_capacity(c * h * w);
    for r in 0..h {
        for col in 0..w {
            out.extend((0..c).map(|ch| x[(ch * h + r) * w + col]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_flatten_by_hand() {
        // One 4×4 plane 0..15 with a 99 in the corner: 2×2/2 and 3×3/1 windows.
        let x: Vec<i64> = (0..16).map(|v| if v == 0 { 99 } else { v }).collect();
        assert_eq!(maxpool(&x, (1, 4, 4), 2, 2, (2, 2), i64::max), [99, 7, 13, 15]);
        assert_eq!(maxpool(&x, (1, 4, 4), 3, 1, (2, 2), i64::max), [99, 11, 14, 15]);
        let f: Vec<f32> = vec![-1.0, -3.0, -2.0, -4.0];
        assert_eq!(maxpool(&f, (1, 2, 2), 2, 2, (1, 1), f32::max), [-1.0]);
        // 2 channels × 1 × 2: chw [a0 a1 b0 b1] → hwc [a0 b0 a1 b1].
        assert_eq!(flatten_hwc(&[1, 2, 3, 4], (2, 1, 2)), [1, 3, 2, 4]);
    }
}
