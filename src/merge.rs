//! `cnn-cosim merge`: combines the report directories of `verify --shard K/N` runs into the
//! reports a single run would have written (byte for byte: the CSVs hold no timings).

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// (weight set, image): the order of rows in a single run.
type Key = (u64, u64);

struct Table {
    header: csv::StringRecord,
    rows: Vec<(Key, csv::StringRecord)>,
}

fn read(path: &Path) -> Result<Table> {
    let mut rdr = csv::Reader::from_path(path)
        .with_context(|| format!("{}: cannot read report", path.display()))?;
    let header = rdr.headers().with_context(|| format!("{}: no header", path.display()))?.clone();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (img, set) = (col("image"), col("weight_set"));
    let mut rows = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}:{}: bad CSV row", path.display(), n + 2))?;
        let num = |c: Option<usize>| -> Result<u64> {
            match c.map(|c| &rec[c]) {
                None | Some("") => Ok(0),
                Some(v) => v.parse().with_context(|| {
                    format!("{}:{}: {v:?} is not a number", path.display(), n + 2)
                }),
            }
        };
        let key = match img {
            Some(_) => (num(set)?, num(img)?),
            None => (0, n as u64), // layers.csv: by position
        };
        rows.push((key, rec));
    }
    Ok(Table { header, rows })
}

fn write(path: &Path, header: &csv::StringRecord, rows: &[csv::StringRecord]) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    w.write_record(header)?;
    for r in rows {
        w.write_record(r)?;
    }
    w.flush().with_context(|| format!("{}: cannot write", path.display()))
}

/// Merges shard report directories into `out`; Ok(true) when every image is `ok`.
pub fn merge(dirs: &[PathBuf], out: &Path, max_rows: u64) -> Result<bool> {
    if dirs.is_empty() {
        bail!("merge needs at least one report directory");
    }
    let mut summary: Option<Table> = None;
    let mut mismatches: Option<Table> = None;
    let mut layers: Option<Table> = None;
    let mut owner: HashMap<Key, &Path> = HashMap::new();
    for dir in dirs {
        let s = read(&dir.join("summary.csv"))?;
        let m = read(&dir.join("mismatches.csv"))?;
        let l = read(&dir.join("layers.csv"))?;
        for (key, _) in &s.rows {
            if let Some(other) = owner.insert(*key, dir) {
                bail!(
                    "{}: image {} (weight set {}) is also in {}: the shards overlap",
                    dir.join("summary.csv").display(),
                    key.1,
                    key.0,
                    other.display()
                );
            }
        }
        for (acc, t, name) in
            [(&mut summary, s, "summary.csv"), (&mut mismatches, m, "mismatches.csv")]
        {
            match acc {
                None => *acc = Some(t),
                Some(a) if a.header == t.header => a.rows.extend(t.rows),
                Some(_) => {
                    bail!("{}: columns differ from the first shard's", dir.join(name).display())
                }
            }
        }
        match &mut layers {
            None => layers = Some(l),
            Some(a) => {
                if a.header != l.header || a.rows.len() != l.rows.len() {
                    bail!(
                        "{}: layers differ from the first shard's",
                        dir.join("layers.csv").display()
                    );
                }
                for ((_, acc), (_, row)) in a.rows.iter_mut().zip(&l.rows) {
                    *acc = add_layer_row(&l.header, acc, row, &dir.join("layers.csv"))?;
                }
            }
        }
    }
    let (mut summary, mut mismatches, layers) =
        (summary.expect("one dir"), mismatches.expect("one dir"), layers.expect("one dir"));
    let coverage = merge_coverage(dirs)?;
    summary.rows.sort_by_key(|(k, _)| *k);
    mismatches.rows.sort_by_key(|(k, _)| *k); // stable: an image's rows keep their order
    mismatches.rows.truncate(max_rows as usize);
    // Published as one set, like verify's reports (crate::report_set).
    let set = crate::report_set::ReportSet::begin(out)?;
    let strip = |t: &Table| t.rows.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>();
    write(&set.path("summary.csv"), &summary.header, &strip(&summary))?;
    write(&set.path("mismatches.csv"), &mismatches.header, &strip(&mismatches))?;
    write(&set.path("layers.csv"), &layers.header, &strip(&layers))?;
    if let Some(c) = &coverage {
        crate::coverage::write(c, &set.path("coverage.dat"), &set.path("coverage.info"))?;
    }
    set.publish()?;
    let status = summary.header.iter().position(|h| h == "status");
    let bad = summary.rows.iter().filter(|(_, r)| status.is_some_and(|c| &r[c] != "ok")).count();
    println!(
        "merged {} report directories: {} images, {} not bit-exact, reports in {}",
        dirs.len(),
        summary.rows.len(),
        bad,
        out.display()
    );
    if let Some(c) = &coverage {
        println!("{}", c.report().line());
    }
    Ok(bad == 0)
}

/// The shards' RTL coverage (`verify --coverage`) added up, when every shard has it.
fn merge_coverage(dirs: &[PathBuf]) -> Result<Option<crate::coverage::Coverage>> {
    let with: Vec<&PathBuf> = dirs.iter().filter(|d| d.join("coverage.dat").exists()).collect();
    if with.is_empty() {
        return Ok(None);
    }
    if let Some(without) = dirs.iter().find(|d| !d.join("coverage.dat").exists()) {
        bail!(
            "{}: no coverage.dat, but {} has one: run every shard with --coverage, or none",
            without.display(),
            with[0].join("coverage.dat").display()
        );
    }
    let mut all = crate::coverage::Coverage::default();
    for d in dirs {
        all.add(crate::coverage::Coverage::read(&d.join("coverage.dat"))?);
    }
    Ok(Some(all))
}

/// Adds two `layers.csv` rows: counts add up, the `max_abs_diff` columns take the larger.
fn add_layer_row(
    header: &csv::StringRecord,
    a: &csv::StringRecord,
    b: &csv::StringRecord,
    path: &Path,
) -> Result<csv::StringRecord> {
    if a.get(0) != b.get(0) {
        bail!("{}: layer {:?} where {:?} was expected", path.display(), b.get(0), a.get(0));
    }
    let mut out = csv::StringRecord::new();
    out.push_field(&a[0]);
    for i in 1..a.len() {
        let x: u64 =
            a[i].parse().with_context(|| format!("{}: bad number {:?}", path.display(), &a[i]))?;
        let y: u64 =
            b[i].parse().with_context(|| format!("{}: bad number {:?}", path.display(), &b[i]))?;
        let is_max = header.get(i).is_some_and(|h| h.ends_with("max_abs_diff"));
        let v = if is_max { x.max(y) } else { x + y };
        out.push_field(&v.to_string());
    }
    Ok(out)
}
