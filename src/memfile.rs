//! The notebook's `.mem` weight files: quantization, export (byte-identical to
//! `numpy.savetxt(path, a, fmt='%1.2x', delimiter=' ')`) and a reader that accepts what
//! `$readmemh` accepts for these files, with `file:line:column` errors.

use crate::network::IntType;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How a float weight becomes an integer before saturation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Rounding {
    /// Toward zero: the notebook's `torch.tensor(w * 128, dtype=torch.int32)`.
    #[default]
    Trunc,
    /// To the nearest integer, halves away from zero.
    Nearest,
}

/// `q = round(w·128)` clamped to −128..127; `None` beside the clamped value when it fit.
pub fn quantize(w: f32, rounding: Rounding) -> (i8, Option<i64>) {
    let (q, over) = quantize_to(w, 7, IntType { bits: 8, signed: true }, rounding);
    (q as i8, over)
}

/// `q = round(w · 2^frac_bits)` clamped to `ty`; `None` beside the clamped value when it fit.
pub fn quantize_to(w: f32, frac_bits: u32, ty: IntType, rounding: Rounding) -> (i64, Option<i64>) {
    // Exact in f32 for a power of two (as the notebook's w·128), then widened.
    let scaled = w * (1u64 << frac_bits) as f32;
    let q = match rounding {
        Rounding::Trunc => scaled.trunc(),
        Rounding::Nearest => scaled.round(),
    } as i64;
    let clamped = q.clamp(ty.min() as i64, ty.max() as i64);
    (clamped, (clamped != q).then_some(q))
}

/// One value as `.mem` text: two's complement in `ceil(bits/4)` hex digits (for 8 bits,
/// numpy's `%1.2x` of the byte).
pub fn hex(v: i64, ty: IntType) -> String {
    let digits = ty.bits.div_ceil(4) as usize;
    let mask = if ty.bits >= 64 { u64::MAX } else { (1u64 << ty.bits) - 1 };
    format!("{:0digits$x}", (v as u64) & mask)
}

/// `values` as `.mem` text, `per_line` values to a line separated by single spaces (numpy
/// `savetxt(fmt='%1.2x', delimiter=' ')` of the values reshaped to rows of `per_line`).
pub fn format_values(values: &[i64], ty: IntType, per_line: usize) -> String {
    let mut s = String::new();
    for row in values.chunks(per_line.max(1)) {
        for (i, &v) in row.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&hex(v, ty));
        }
        s.push('\n');
    }
    s
}

/// numpy `savetxt(fmt='%1.2x', delimiter=' ')` of a 2-D array of two's-complement bytes.
pub fn savetxt(rows: &[&[i8]]) -> String {
    let mut s = String::new();
    for row in rows {
        for (i, &v) in row.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let _ = write!(s, "{:02x}", v as u8);
        }
        s.push('\n');
    }
    s
}

/// numpy `savetxt` of a 1-D array: one value per line.
pub fn savetxt_1d(values: &[i8]) -> String {
    let rows: Vec<&[i8]> = values.chunks(1).collect();
    savetxt(&rows)
}

/// Writes `contents` to `path` through a temporary file in the same directory.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, contents).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("{}: cannot rename {} to it", path.display(), tmp.display()))
}

/// `dir/.name.tmp` beside `path`.
pub fn tmp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Reads one `.mem` file of s8 values and checks it holds exactly `expected` values.
pub fn read_file(path: &Path, expected: usize) -> Result<Vec<i8>> {
    Ok(read_values(path, expected, S8)?.into_iter().map(|v| v as i8).collect())
}

/// Reads one `.mem` file of `ty` values and checks it holds exactly `expected` values.
pub fn read_values(path: &Path, expected: usize, ty: IntType) -> Result<Vec<i64>> {
    let text = std::fs::read(path)
        .with_context(|| format!("{}: cannot read weight file", path.display()))?;
    let text = String::from_utf8(text)
        .map_err(|e| anyhow::anyhow!("{}: not text ({e})", path.display()))?;
    parse_values(&path.display().to_string(), &text, expected, ty)
}

const S8: IntType = IntType { bits: 8, signed: true };

/// Parses `.mem` text of s8 values. `name` is used in `name:line:column` errors.
pub fn parse(name: &str, text: &str, expected: usize) -> Result<Vec<i8>> {
    Ok(parse_values(name, text, expected, S8)?.into_iter().map(|v| v as i8).collect())
}

/// Parses `.mem` text of `ty` values (two's complement hex, at most `ceil(bits/4)` digits, no
/// value wider than `bits`). `name` is used in `name:line:column` errors.
pub fn parse_values(name: &str, text: &str, expected: usize, ty: IntType) -> Result<Vec<i64>> {
    let max_digits = ty.bits.div_ceil(4) as usize;
    let mut values = Vec::with_capacity(expected);
    let mut in_block = false;
    for (ln, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if in_block {
                if bytes[i..].starts_with(b"*/") {
                    in_block = false;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            let b = bytes[i];
            if b.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            if bytes[i..].starts_with(b"//") {
                break;
            }
            if bytes[i..].starts_with(b"/*") {
                in_block = true;
                i += 2;
                continue;
            }
            let start = i;
            while i < bytes.len()
                && !bytes[i].is_ascii_whitespace()
                && !bytes[i..].starts_with(b"/")
            {
                i += 1;
            }
            let tok = &line[start..i];
            let at = format!("{name}:{}:{}", ln + 1, start + 1);
            if tok.starts_with('@') {
                bail!("{at}: address directive {tok:?} is not supported in weight files");
            }
            let digits: String = tok.chars().filter(|&c| c != '_').collect();
            let what =
                if ty == S8 { "a hex byte".to_string() } else { format!("a {ty} hex value") };
            if let Some(c) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
                bail!("{at}: {tok:?} is not {what} (bad character {c:?})");
            }
            if digits.is_empty() || digits.len() > max_digits {
                let n = match max_digits {
                    1 => "1".to_string(),
                    2 => "1 or 2".to_string(),
                    m => format!("1 to {m}"),
                };
                bail!("{at}: {tok:?} is not {what} (expected {n} hex digits)");
            }
            if values.len() == expected {
                bail!("{at}: more than the {expected} values this file must hold");
            }
            let raw = u64::from_str_radix(&digits, 16).expect("checked hex digits");
            if ty.bits < 64 && raw >> ty.bits != 0 {
                bail!("{at}: {tok:?} is outside the declared {ty}");
            }
            let sh = 64 - ty.bits;
            let v = if ty.signed { ((raw << sh) as i64) >> sh } else { raw as i64 };
            values.push(v);
        }
    }
    if in_block {
        bail!("{name}: unterminated /* comment");
    }
    if values.len() != expected {
        bail!("{name}: holds {} values, expected {expected}", values.len());
    }
    Ok(values)
}
