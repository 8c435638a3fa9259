//! A mutation run's report: `mutants.csv` (a row per mutant, survivors first, then by id)
//! and `index.html` (the score and the same table), written by `mutate` and by `merge` from
//! shards' reports — the same rows in the same order, so a merged report is the single
//! run's, byte for byte.

use anyhow::{bail, Context, Result};
use maud::{html, PreEscaped, DOCTYPE};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const HEADER: [&str; 11] = [
    "id", "file", "line", "operator", "change", "verdict", "by", "layer", "scope", "stage",
    "detail",
];

/// One mutant's row, its fields in [`HEADER`]'s order.
pub type Row = Vec<String>;

fn id(r: &Row) -> u64 {
    r[0].parse().unwrap_or(u64::MAX)
}

/// Survivors first (where the stimulus or the taps do not reach), then by id.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by_key(|r| (r[5] != "survived", id(r)));
}

pub fn read(path: &Path) -> Result<Vec<Row>> {
    let mut r = csv::Reader::from_path(path)
        .with_context(|| format!("{}: cannot read mutant report", path.display()))?;
    let h = r.headers().with_context(|| format!("{}: no header", path.display()))?;
    if h.iter().ne(HEADER) {
        bail!("{}: not a mutants.csv (its columns are not {})", path.display(), HEADER.join(","));
    }
    let mut rows = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("{}:{}: bad CSV row", path.display(), n + 2))?;
        if rec.get(0).and_then(|v| v.parse::<u64>().ok()).is_none() {
            bail!("{}:{}: {:?} is not a mutant id", path.display(), n + 2, rec.get(0));
        }
        rows.push(rec.iter().map(String::from).collect());
    }
    Ok(rows)
}

/// `mutants.csv` and `index.html` into `dir` (a report set's stage).
pub fn write(dir: &Path, rows: &[Row], title: &str) -> Result<()> {
    let path = dir.join("mutants.csv");
    let mut w = csv::Writer::from_path(&path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    w.write_record(HEADER)?;
    for r in rows {
        w.write_record(r)?;
    }
    w.flush().with_context(|| format!("{}: cannot write", path.display()))?;
    let page = dir.join("index.html");
    std::fs::write(&page, html_page(rows, title))
        .with_context(|| format!("{}: cannot write", page.display()))
}

/// Counts by verdict and the score.
pub struct Score {
    pub killed: usize,
    pub survived: usize,
    pub equivalent: usize,
    pub stillborn: usize,
}

impl Score {
    pub fn of(rows: &[Row]) -> Score {
        let n = |v: &str| rows.iter().filter(|r| r[5] == v).count();
        Score {
            killed: n("killed"),
            survived: n("survived"),
            equivalent: n("equivalent"),
            stillborn: n("stillborn"),
        }
    }

    /// `87.5 %`, or `n/a` when nothing was killed or survived.
    pub fn percent(&self) -> String {
        match self.killed + self.survived {
            0 => "n/a".into(),
            d => format!("{:.1} %", 100.0 * self.killed as f64 / d as f64),
        }
    }

    pub fn line(&self) -> String {
        format!(
            "mutation score {}: {} killed, {} survived, {} equivalent, {} stillborn (of {})",
            self.percent(),
            self.killed,
            self.survived,
            self.equivalent,
            self.stillborn,
            self.killed + self.survived + self.equivalent + self.stillborn
        )
    }
}

fn html_page(rows: &[Row], title: &str) -> String {
    let s = Score::of(rows);
    let pass = s.survived == 0;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "mutation score " (s.percent()) " · " (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header class={ "banner " (if pass { "pass" } else { "fail" }) } {
                    span class="verdict" { (s.percent()) }
                    div { h1 { (title) } p { (s.line()) } }
                }
                p class="note" {
                    "Each mutant is the design with one change, built and verified. Survivors \
                     first: the places the stimulus or the taps do not reach. Equivalent (the \
                     same Verilated model) and stillborn (not elaborated) mutants are not in \
                     the score. mutants.csv has the same rows."
                }
                table {
                    thead { tr { @for h in HEADER { th { (h) } } } }
                    tbody {
                        @for r in rows {
                            tr class=(r[5]) {
                                @for (k, f) in r.iter().enumerate() {
                                    @if k == 4 { td { code { (f) } } } @else { td { (f) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

const CSS: &str =
    "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}\
.banner{display:flex;gap:20px;align-items:center;padding:16px 24px;color:#fff}\
.banner.pass{background:#2e7d32}.banner.fail{background:#c62828}\
.banner .verdict{font-size:32px;font-weight:800}.banner h1{font-size:18px;margin:0}\
.banner p{margin:4px 0 0}.note{margin:12px 24px;color:#5a6170;font-size:13px}\
table{border-collapse:collapse;margin:0 24px 24px;background:#fff;font-size:13px}\
th,td{border:1px solid #dde0e6;padding:4px 8px;text-align:left}th{background:#f0f1f4}\
tr.survived td{background:#fff3f3;color:#b71c1c}tr.equivalent td,tr.stillborn td{color:#8a8f99}";

/// `merge` of `mutate --shard` reports: every shard's rows, once each, in the single run's
/// order, published as one set into `out`. Ok(true) when none survived.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<bool> {
    let mut rows: Vec<Row> = Vec::new();
    let mut owner: HashMap<u64, &Path> = HashMap::new();
    for d in dirs {
        for r in read(&d.join("mutants.csv"))? {
            if let Some(other) = owner.insert(id(&r), d) {
                bail!(
                    "{}: mutant {} is also in {}: the shards overlap",
                    d.join("mutants.csv").display(),
                    r[0],
                    other.display()
                );
            }
            rows.push(r);
        }
    }
    sort(&mut rows);
    let set = crate::report_set::ReportSet::begin(out)?;
    write(&set.path(""), &rows, super::TITLE)?;
    set.publish()?;
    let s = Score::of(&rows);
    println!("merged {} mutant reports: {}; reports in {}", dirs.len(), s.line(), out.display());
    Ok(s.survived == 0)
}
