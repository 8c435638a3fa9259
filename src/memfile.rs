//! The notebook's `.mem` weight files: quantization, export (byte-identical to
//! `numpy.savetxt(path, a, fmt='%1.2x', delimiter=' ')`) and a reader that accepts what
//! `$readmemh` accepts for these files, with `file:line:column` errors.

use crate::float_model::FloatWeights;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// conv1 channels.
pub const CONV_CH: usize = 3;
/// conv1 kernel side.
pub const K: usize = 7;
/// fc inputs (3 × 11 × 11).
pub const FC_IN: usize = 363;
/// fc outputs (classes).
pub const FC_OUT: usize = 10;

/// The six files, in the order the RTL loads them.
pub const FILES: [&str; 6] = [
    "conv1_weight_1.mem",
    "conv1_weight_2.mem",
    "conv1_weight_3.mem",
    "conv1_bias.mem",
    "fc_weight.mem",
    "fc_bias.mem",
];

/// Quantized weights, `q = trunc(w·128)` as s8, in the layouts of `docs/fixed-point.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantWeights {
    /// `conv_w[k][i*7 + j]`
    pub conv_w: [[i8; K * K]; CONV_CH],
    pub conv_b: [i8; CONV_CH],
    /// `fc_w[o][n]`
    pub fc_w: Vec<[i8; FC_IN]>,
    pub fc_b: [i8; FC_OUT],
}

impl QuantWeights {
    /// Every weight and bias set to `v`.
    pub fn filled(v: i8) -> Self {
        QuantWeights {
            conv_w: [[v; K * K]; CONV_CH],
            conv_b: [v; CONV_CH],
            fc_w: vec![[v; FC_IN]; FC_OUT],
            fc_b: [v; FC_OUT],
        }
    }

    /// Loads the six files from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("{}: weight directory not found", dir.display());
        }
        let mut w = QuantWeights::filled(0);
        for (k, ch) in w.conv_w.iter_mut().enumerate() {
            ch.copy_from_slice(&read_file(&dir.join(FILES[k]), K * K)?);
        }
        w.conv_b.copy_from_slice(&read_file(&dir.join(FILES[3]), CONV_CH)?);
        let fc = read_file(&dir.join(FILES[4]), FC_OUT * FC_IN)?;
        for (row, chunk) in w.fc_w.iter_mut().zip(fc.chunks_exact(FC_IN)) {
            row.copy_from_slice(chunk);
        }
        w.fc_b.copy_from_slice(&read_file(&dir.join(FILES[5]), FC_OUT)?);
        Ok(w)
    }

    /// Writes the six files into `dir` (created if missing) in the notebook's exact format.
    /// Each file is written to a temporary name and renamed, so no half-written file remains.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create weight directory", dir.display()))?;
        for (k, ch) in self.conv_w.iter().enumerate() {
            let rows: Vec<&[i8]> = ch.chunks(K).collect();
            write_atomic(&dir.join(FILES[k]), &savetxt(&rows))?;
        }
        write_atomic(&dir.join(FILES[3]), &savetxt_1d(&self.conv_b))?;
        let rows: Vec<&[i8]> = self.fc_w.iter().map(|r| &r[..]).collect();
        write_atomic(&dir.join(FILES[4]), &savetxt(&rows))?;
        write_atomic(&dir.join(FILES[5]), &savetxt_1d(&self.fc_b))?;
        Ok(())
    }
}

/// How a float weight becomes an integer before saturation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Rounding {
    /// Toward zero: the notebook's `torch.tensor(w * 128, dtype=torch.int32)`.
    #[default]
    Trunc,
    /// To the nearest integer, halves away from zero.
    Nearest,
}

/// A value that did not fit in s8 and was clamped.
#[derive(Debug, Clone, PartialEq)]
pub struct Saturation {
    pub file: &'static str,
    pub index: usize,
    /// The integer before clamping.
    pub value: i64,
}

/// `q = round(w·128)` clamped to −128..127; `None` beside the clamped value when it fit.
pub fn quantize(w: f32, rounding: Rounding) -> (i8, Option<i64>) {
    let scaled = w * 128.0; // exact in f32, as in the notebook
    let q = match rounding {
        Rounding::Trunc => scaled.trunc(),
        Rounding::Nearest => scaled.round(),
    } as i64;
    let clamped = q.clamp(-128, 127);
    (clamped as i8, (clamped != q).then_some(q))
}

/// Quantizes float weights; returns them with every saturated value.
pub fn quantize_all(f: &FloatWeights, rounding: Rounding) -> (QuantWeights, Vec<Saturation>) {
    let mut sat = Vec::new();
    let mut q = |file: &'static str, src: &[f32], dst: &mut [i8]| {
        for (index, (&w, d)) in src.iter().zip(dst.iter_mut()).enumerate() {
            let (v, over) = quantize(w, rounding);
            *d = v;
            if let Some(value) = over {
                sat.push(Saturation { file, index, value });
            }
        }
    };
    let mut out = QuantWeights::filled(0);
    for ((file, src), dst) in
        FILES.iter().zip(f.conv1_weight.chunks_exact(K * K)).zip(out.conv_w.iter_mut())
    {
        q(file, src, dst);
    }
    q(FILES[3], &f.conv1_bias, &mut out.conv_b);
    let mut fc = vec![0i8; FC_OUT * FC_IN];
    q(FILES[4], &f.fc_weight, &mut fc);
    for (row, chunk) in out.fc_w.iter_mut().zip(fc.chunks_exact(FC_IN)) {
        row.copy_from_slice(chunk);
    }
    q(FILES[5], &f.fc_bias, &mut out.fc_b);
    (out, sat)
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

/// Reads one `.mem` file and checks it holds exactly `expected` values.
pub fn read_file(path: &Path, expected: usize) -> Result<Vec<i8>> {
    let text = std::fs::read(path)
        .with_context(|| format!("{}: cannot read weight file", path.display()))?;
    let text = String::from_utf8(text)
        .map_err(|e| anyhow::anyhow!("{}: not text ({e})", path.display()))?;
    parse(&path.display().to_string(), &text, expected)
}

/// Parses `.mem` text. `name` is used in `name:line:column` errors.
pub fn parse(name: &str, text: &str, expected: usize) -> Result<Vec<i8>> {
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
            if let Some(c) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
                bail!("{at}: {tok:?} is not a hex byte (bad character {c:?})");
            }
            if digits.is_empty() || digits.len() > 2 {
                bail!("{at}: {tok:?} is not a hex byte (expected 1 or 2 hex digits)");
            }
            if values.len() == expected {
                bail!("{at}: more than the {expected} values this file must hold");
            }
            let v = u8::from_str_radix(&digits, 16).expect("checked hex digits");
            values.push(v as i8);
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
