//! One image up close: each layer's expected vs actual around the first mismatch, and CSV
//! dumps of whole layers (`verify --image N [--dump DIR]`).

use crate::compare::{Capture, Comparison, Layer};
use crate::reference::{idx, Layers, CONV_SIDE, POOL_SIDE};
use anyhow::{Context, Result};
use std::path::Path;

/// A layer as (channels × side × side) expected values and what the RTL produced.
struct Grid<'a> {
    name: &'static str,
    side: usize,
    expected: &'a [i32],
    beats: &'a [[i32; 3]],
}

impl Grid<'_> {
    fn actual(&self, k: usize, r: usize, c: usize) -> Option<i32> {
        self.beats.get(r * self.side + c).map(|b| b[k])
    }

    fn exp(&self, k: usize, r: usize, c: usize) -> i32 {
        self.expected[idx(self.side, k, r, c)]
    }

    /// First differing element in tap order (raster position, then channel).
    fn first_mismatch(&self) -> Option<(usize, usize, usize)> {
        (0..self.side * self.side)
            .flat_map(|b| (0..3).map(move |k| (k, b / self.side, b % self.side)))
            .find(|&(k, r, c)| self.actual(k, r, c) != Some(self.exp(k, r, c)))
    }

    fn print(&self, mismatches: u64) {
        let beats = self.side * self.side;
        let Some((k, r, c)) = self.first_mismatch() else {
            println!("{}: all {} elements equal", self.name, 3 * beats);
            return;
        };
        let extra = if self.beats.len() != beats {
            format!(" (RTL sent {} beats, expected {beats})", self.beats.len())
        } else {
            String::new()
        };
        println!(
            "{}: {mismatches} mismatching elements{extra}; first at channel {k}, row {r}, col {c}",
            self.name
        );
        let rows = r.saturating_sub(2)..(r + 3).min(self.side);
        let cols = c.saturating_sub(2)..(c + 3).min(self.side);
        let header: String = cols.clone().map(|cc| format!("{cc:>9}")).collect();
        println!("  channel {k}, expected{:w$}| actual (* differs)", "", w = 0);
        println!("  row{header} |{header}");
        for rr in rows {
            let e: String = cols.clone().map(|cc| format!("{:>9}", self.exp(k, rr, cc))).collect();
            let a: String = cols
                .clone()
                .map(|cc| {
                    let v = self.actual(k, rr, cc);
                    let mark = if v != Some(self.exp(k, rr, cc)) { "*" } else { " " };
                    format!("{:>8}{mark}", v.map_or("-".into(), |v| v.to_string()))
                })
                .collect();
            println!("  {rr:>3}{e} |{a}");
        }
    }
}

/// Prints each layer of one image: a grid around the first mismatch of conv1 and pool1, the
/// ten logits of fc1.
pub fn print_layers(expected: &Layers, got: &Capture, cmp: &Comparison) {
    let conv =
        Grid { name: "conv1", side: CONV_SIDE, expected: &expected.conv1, beats: &got.conv1 };
    conv.print(cmp.counts[Layer::Conv1 as usize]);
    let pool =
        Grid { name: "pool1", side: POOL_SIDE, expected: &expected.pool1, beats: &got.pool1 };
    pool.print(cmp.counts[Layer::Pool1 as usize]);
    let fc = got.fc1.first();
    if fc == Some(&expected.fc1) && got.fc1.len() == 1 {
        println!("fc1: all 10 logits equal");
    } else {
        println!(
            "fc1: {} of 10 logits differ ({} beats)",
            cmp.counts[Layer::Fc1 as usize],
            got.fc1.len()
        );
        println!("  logit     expected       actual         diff");
        for o in 0..10 {
            let a = fc.map(|v| v[o]);
            println!(
                "  {o:>5} {:>12} {:>12} {:>12}",
                expected.fc1[o],
                a.map_or("-".into(), |v| v.to_string()),
                a.map_or(String::new(), |v| (v as i64 - expected.fc1[o] as i64).to_string())
            );
        }
    }
}

/// Writes `conv1.csv`, `pool1.csv` and `fc1.csv` (`channel,row,col,expected,actual`; in
/// fc1 the channel is the logit and row = col = 0) into `dir`.
pub fn dump(dir: &Path, expected: &Layers, got: &Capture) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create dump directory", dir.display()))?;
    let write = |name: &str, rows: Vec<[String; 5]>| -> Result<()> {
        let path = dir.join(name);
        let tmp = crate::memfile::tmp_path(&path);
        let mut w = csv::Writer::from_path(&tmp)
            .with_context(|| format!("{}: cannot create", tmp.display()))?;
        w.write_record(["channel", "row", "col", "expected", "actual"])?;
        for r in rows {
            w.write_record(&r)?;
        }
        w.flush()?;
        std::fs::rename(&tmp, &path).with_context(|| format!("{}: cannot write", path.display()))
    };
    let grid_rows = |g: &Grid| -> Vec<[String; 5]> {
        let mut rows = Vec::new();
        for k in 0..3 {
            for r in 0..g.side {
                for c in 0..g.side {
                    rows.push([
                        k.to_string(),
                        r.to_string(),
                        c.to_string(),
                        g.exp(k, r, c).to_string(),
                        g.actual(k, r, c).map_or(String::new(), |v| v.to_string()),
                    ]);
                }
            }
        }
        rows
    };
    let conv =
        Grid { name: "conv1", side: CONV_SIDE, expected: &expected.conv1, beats: &got.conv1 };
    write("conv1.csv", grid_rows(&conv))?;
    let pool =
        Grid { name: "pool1", side: POOL_SIDE, expected: &expected.pool1, beats: &got.pool1 };
    write("pool1.csv", grid_rows(&pool))?;
    let fc = (0..10)
        .map(|o| {
            [
                o.to_string(),
                "0".into(),
                "0".into(),
                expected.fc1[o].to_string(),
                got.fc1.first().map_or(String::new(), |v| v[o].to_string()),
            ]
        })
        .collect();
    write("fc1.csv", fc)
}
