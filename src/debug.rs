//! One image up close: each tapped layer's expected vs actual around the first mismatch, and
//! CSV dumps of whole layers (`verify --image N [--dump DIR]`).

use crate::compare::{Capture, Comparison};
use crate::network::{Shape, Tap};
use crate::reference::Outputs;
use anyhow::{Context, Result};
use std::path::Path;

/// A map layer as (channels × rows × cols) expected values and what the RTL produced.
struct Grid<'a> {
    name: &'a str,
    c: usize,
    h: usize,
    w: usize,
    expected: &'a [i64],
    /// Beats one after another, `c` values each (raster order).
    got: &'a [i64],
}

impl Grid<'_> {
    fn actual(&self, k: usize, r: usize, c: usize) -> Option<i64> {
        self.got.get((r * self.w + c) * self.c + k).copied()
    }

    fn exp(&self, k: usize, r: usize, c: usize) -> i64 {
        self.expected[(k * self.h + r) * self.w + c]
    }

    /// First differing element in tap order (raster position, then channel).
    fn first_mismatch(&self) -> Option<(usize, usize, usize)> {
        (0..self.h * self.w)
            .flat_map(|b| (0..self.c).map(move |k| (k, b / self.w, b % self.w)))
            .find(|&(k, r, c)| self.actual(k, r, c) != Some(self.exp(k, r, c)))
    }

    fn print(&self, mismatches: u64) {
        let beats = self.h * self.w;
        let sent = self.got.len() / self.c.max(1);
        let extra = if sent != beats {
            format!(" (RTL sent {sent} beats, expected {beats})")
        } else {
            String::new()
        };
        let Some((k, r, c)) = self.first_mismatch() else {
            if mismatches == 0 {
                println!("{}: all {} elements equal", self.name, self.c * beats);
            } else {
                println!("{}: {mismatches} mismatching elements{extra}", self.name);
            }
            return;
        };
        println!(
            "{}: {mismatches} mismatching elements{extra}; first at channel {k}, row {r}, col {c}",
            self.name
        );
        let rows = r.saturating_sub(2)..(r + 3).min(self.h);
        let cols = c.saturating_sub(2)..(c + 3).min(self.w);
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

/// Prints each tapped layer of one image: a grid around the first mismatch of each map
/// layer, every value of each vector layer.
pub fn print_layers(taps: &[Tap], expected: &Outputs, got: &Capture, cmp: &Comparison) {
    for (t, tap) in taps.iter().enumerate().filter(|(_, t)| !t.is_class) {
        let (exp, act) = (&expected.taps[t][..], &got.taps[t][..]);
        match tap.shape {
            Shape::Map { c, h, w } => {
                let g = Grid { name: &tap.name, c, h, w, expected: exp, got: act };
                g.print(cmp.counts[t]);
            }
            Shape::Vector(n) => {
                // The vector just before the class holds the logits.
                let what = if t + 2 == taps.len() { "logits" } else { "values" };
                if cmp.counts[t] == 0 {
                    println!("{}: all {n} {what} equal", tap.name);
                    continue;
                }
                println!(
                    "{}: {} of {n} {what} differ ({} beats)",
                    tap.name,
                    cmp.counts[t],
                    act.len() / n.max(1)
                );
                println!("  index     expected       actual         diff");
                for (o, &e) in exp.iter().enumerate() {
                    let a = act.get(o).copied();
                    println!(
                        "  {o:>5} {e:>12} {:>12} {:>12}",
                        a.map_or("-".into(), |v| v.to_string()),
                        a.map_or(String::new(), |v| (v - e).to_string())
                    );
                }
            }
        }
    }
}

/// Writes `<layer>.csv` for every tapped layer (`channel,row,col,expected,actual`; in a
/// vector layer the channel is the element and row = col = 0) into `dir`.
pub fn dump(dir: &Path, taps: &[Tap], expected: &Outputs, got: &Capture) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create dump directory", dir.display()))?;
    let mut names = Vec::new();
    for (t, tap) in taps.iter().enumerate().filter(|(_, t)| !t.is_class) {
        let name = format!("{}.csv", tap.name);
        let path = dir.join(&name);
        let tmp = crate::memfile::tmp_path(&path);
        let mut w = csv::Writer::from_path(&tmp)
            .with_context(|| format!("{}: cannot create", tmp.display()))?;
        w.write_record(["channel", "row", "col", "expected", "actual"])?;
        let (lanes, _) = tap.shape.beats();
        for (i, &e) in expected.taps[t].iter().enumerate() {
            let (k, r, c) = tap.shape.coords(i);
            let at = match tap.shape {
                Shape::Map { w, .. } => (r * w + c) * lanes + k,
                Shape::Vector(_) => i,
            };
            let a = got.taps[t].get(at).map_or(String::new(), |v| v.to_string());
            w.write_record([k.to_string(), r.to_string(), c.to_string(), e.to_string(), a])?;
        }
        w.flush()?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        names.push(name);
    }
    Ok(names)
}
