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
    // `mutate --shard` reports: mutants.csv, no summary.csv.
    let mutants = |d: &PathBuf| d.join("mutants.csv").exists() && !d.join("summary.csv").exists();
    if dirs.iter().all(mutants) {
        return crate::mutate::table::merge(dirs, out);
    }
    if let Some(d) = dirs.iter().find(|d| mutants(d)) {
        bail!(
            "{}: a mutant report, and the others are verify reports: merge one kind",
            d.display()
        );
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

/// Adds two `layers.csv` rows: counts add up, the `max_abs_diff` columns and `ref_max` take
/// the larger, `ref_min` the smaller, the bounds are the same, `range_reached_pct` is
/// worked out again; an empty field (no value yet, or not the class's row) is nothing.
fn add_layer_row(
    header: &csv::StringRecord,
    a: &csv::StringRecord,
    b: &csv::StringRecord,
    path: &Path,
) -> Result<csv::StringRecord> {
    if a.get(0) != b.get(0) {
        bail!("{}: layer {:?} where {:?} was expected", path.display(), b.get(0), a.get(0));
    }
    let num = |v: &str| -> Result<Option<i128>> {
        match v {
            "" => Ok(None),
            v => {
                v.parse().map(Some).with_context(|| format!("{}: bad number {v:?}", path.display()))
            }
        }
    };
    let col = |name: &str| header.iter().position(|h| h == name);
    let mut out: Vec<String> = vec![a[0].to_string()];
    for i in 1..a.len() {
        let name = header.get(i).unwrap_or("");
        if name == "range_reached_pct" {
            out.push(String::new()); // filled in below, from the merged columns
            continue;
        }
        let (x, y) = (num(&a[i])?, num(&b[i])?);
        let v = match (x, y) {
            (None, v) | (v, None) => v,
            (Some(x), Some(y)) => Some(match name {
                n if n.ends_with("max_abs_diff") || n == "ref_max" => x.max(y),
                "ref_min" => x.min(y),
                "bound_min" | "bound_max" if x != y => {
                    bail!("{}: {name} of {} differs between shards", path.display(), &a[0])
                }
                "bound_min" | "bound_max" => x,
                _ => x + y,
            }),
        };
        out.push(v.map_or(String::new(), |v| v.to_string()));
    }
    if let Some(p) = col("range_reached_pct") {
        let get = |n: &str| col(n).and_then(|c| out[c].parse::<i128>().ok());
        if let (Some(lo), Some(hi), Some(bl), Some(bh)) =
            (get("ref_min"), get("ref_max"), get("bound_min"), get("bound_max"))
        {
            let pct = crate::report::range_reached_pct((lo as i64, hi as i64), (bl, bh));
            out[p] = pct.map_or(String::new(), |v| format!("{v:.1}"));
        }
    }
    Ok(csv::StringRecord::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_rows_add_counts_widen_the_range_and_work_the_percent_out_again() {
        let header = csv::StringRecord::from(vec![
            "layer",
            "elements",
            "max_abs_diff",
            "ref_min",
            "ref_max",
            "bound_min",
            "bound_max",
            "range_reached_pct",
            "ref_overflowed_low",
            "argmax_ties",
        ]);
        let row = |v: [&str; 10]| csv::StringRecord::from(v.to_vec());
        let a = row(["conv1", "10", "3", "-5", "20", "-100", "99", "12.6", "0", ""]);
        let b = row(["conv1", "10", "7", "-50", "10", "-100", "99", "30.2", "4", ""]);
        let m = add_layer_row(&header, &a, &b, Path::new("x")).unwrap();
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            ["conv1", "20", "7", "-50", "20", "-100", "99", "35.2", "4", ""]
        );
        // Bounds that differ mean the shards ran different networks.
        let c = row(["conv1", "10", "7", "-50", "10", "-128", "99", "30.2", "4", ""]);
        assert!(add_layer_row(&header, &a, &c, Path::new("x")).is_err());
    }
}
