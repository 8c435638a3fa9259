//! `cnn-cosim mutate`: how good a verification is, measured by the bugs it catches. Each
//! mutant is the bound design with one change to one source ([`verilog::mutations`]), built
//! at run time beside the design (never into the shared model cache; Verilator's run-time
//! objects are shared) and verified with the given verify options; a mutant that passes is
//! tried again with a seeded random campaign before it counts as survived.
//!
//! Verdicts: `killed` (by a layer, end to end or layer-local; a protocol problem; a timeout;
//! the design stopping; a load or binding check), `survived`, `equivalent` (Verilator
//! generates the original's very model: the change is in code the design does not elaborate,
//! or folded away, and nothing is simulated; or a survivor that yosys proves computes what
//! the original does, [`equiv`]), or `stillborn` (Verilator or the compiler refuses it). The
//! score is killed / (killed + survived).

pub mod equiv;
pub mod table;
pub mod verilog;

use crate::plan::VerifyArgs;
use crate::sim::binding::Binding;
use crate::sim::driver::Shard;
use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use rand::SeedableRng;
use std::path::{Path, PathBuf};

/// Options of `mutate`.
#[derive(Debug, Clone, clap::Args)]
pub struct MutateArgs {
    /// The design: DIR/binding.toml.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub rtl: PathBuf,
    /// A binding file elsewhere (its paths relative to itself).
    #[arg(long, value_name = "FILE")]
    pub bind: Option<PathBuf>,
    /// A sample of this many mutants, drawn with --seed (default: every mutant).
    #[arg(long)]
    pub count: Option<usize>,
    /// Seeds the sample and the survivors' random campaign.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only the K-th of N slices of the mutants (round-robin), for a CI matrix.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Only this mutant (its id in --list); repeat for more.
    #[arg(long = "mutant", value_name = "ID", conflicts_with = "count")]
    pub only: Vec<usize>,
    /// List the mutants it would run (every one, or those --count, --mutant and --shard
    /// choose), each with its id, and stop.
    #[arg(long)]
    pub list: bool,
    /// Where mutants.csv and index.html go.
    #[arg(long, default_value = "reports/mutants")]
    pub reports: PathBuf,
    /// The survivors' random campaign: weight sets.
    #[arg(long, default_value_t = 4)]
    pub retry_sets: u64,
    /// The survivors' random campaign: images per weight set.
    #[arg(long, default_value_t = 50)]
    pub retry_count: usize,
    /// verify options for every mutant (images, campaign, bubbles, …).
    #[arg(last = true)]
    pub verify: Vec<String>,
    /// Judge the one --mutant here and write its row (what each child process does); the
    /// original's generated model to compare with, or empty.
    #[arg(long, hide = true, requires = "only")]
    pub child: Option<PathBuf>,
}

/// One mutant: an edit of one source.
#[derive(Debug, Clone)]
pub struct Mutant {
    pub id: usize,
    pub file: PathBuf,
    pub line: usize,
    pub edit: verilog::Edit,
}

/// What became of a mutant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `by`: what caught it (`mismatch`, `protocol`, `timeout`, `stopped`, `load check`,
    /// `binding check`); `layer` and `scope` (`layer-local` / `end to end`) for a mismatch;
    /// `stage`: `verify` or `random campaign`.
    Killed {
        by: String,
        layer: String,
        scope: String,
        stage: &'static str,
        detail: String,
    },
    Survived,
    Equivalent {
        detail: String,
    },
    Stillborn {
        detail: String,
    },
}

impl Verdict {
    fn name(&self) -> &'static str {
        match self {
            Verdict::Killed { .. } => "killed",
            Verdict::Survived => "survived",
            Verdict::Equivalent { .. } => "equivalent",
            Verdict::Stillborn { .. } => "stillborn",
        }
    }
}

/// Every mutant of `binding`'s sources, numbered in file and source order.
pub fn mutants(binding: &Binding) -> Result<Vec<Mutant>> {
    let mut all = Vec::new();
    for file in crate::sim::verilate::sources(binding)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("{}: cannot read", file.display()))?;
        for edit in verilog::mutations(&text) {
            let line = edit.line(&text);
            all.push(Mutant { id: all.len(), file: file.clone(), line, edit });
        }
    }
    Ok(all)
}

/// The verify options given after `--`, as `verify` reads them.
fn verify_args(given: &[String]) -> Result<VerifyArgs> {
    #[derive(Parser)]
    #[command(name = "mutate -- [verify options]")]
    struct Verify {
        #[command(flatten)]
        v: VerifyArgs,
    }
    let argv = std::iter::once("verify".to_string()).chain(given.iter().cloned());
    let v = Verify::try_parse_from(argv)
        .map_err(|e| anyhow!("the verify options: {}", e.to_string().lines().next().unwrap_or("")))?
        .v;
    for (set, what) in [
        (v.rtl.is_some() || v.bind.is_some(), "--rtl/--bind (the design is mutate's own --rtl)"),
        (v.image.is_some(), "--image"),
        (v.coverage, "--coverage"),
        (v.trace.is_some() || v.trace_failures > 0, "--trace, --trace-failures"),
        (v.baseline.is_some() || v.write_baseline.is_some(), "--baseline, --write-baseline"),
        (v.junit.is_some(), "--junit"),
        (v.shard.is_some(), "--shard (mutate's own --shard splits the mutants)"),
    ] {
        if set {
            bail!("the verify options: {what} cannot apply to each mutant");
        }
    }
    Ok(v)
}

/// `mutate`. Ok(true) when every mutant was killed, stillborn (or none was run).
pub fn run(a: &MutateArgs) -> Result<bool> {
    let binding = Binding::find(&a.rtl, a.bind.as_deref())?;
    let base = verify_args(&a.verify)?;
    let all = mutants(&binding)?;
    let chosen = choose(&all, a)?;
    if a.list {
        for m in &chosen {
            println!(
                "{:>5}  {}:{}  {:<9}  {}",
                m.id,
                m.file.display(),
                m.line,
                m.edit.operator,
                m.edit.change
            );
        }
        return Ok(true);
    }
    let tmp = tempfile::Builder::new()
        .prefix("cnn-cosim-mutate-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    if let Some(reference) = &a.child {
        // One mutant, judged here; the parent reads the row.
        let m = chosen.first().context("internal error: a child without its mutant")?;
        let reference = Some(reference.as_path()).filter(|r| !r.as_os_str().is_empty());
        let v = judge(a, &base, &binding, m, tmp.path(), reference)?;
        return write_csv(&a.reports, &[(m.clone(), v)]).map(|()| true);
    }
    // The design as it is must pass first: a mutant is only news against a clean original.
    let (design, _) = crate::sim::verilate::build(binding.clone(), false, true)?;
    let t0 = std::time::Instant::now();
    let original = verify_one(&base, design, &tmp.path().join("original"))?;
    // A mutant may hang the simulation (a loop that never ends in an initial block): each is
    // judged in a child process given this long, build included.
    let limit = std::time::Duration::from_secs(120) + 10 * t0.elapsed();
    if let Some(why) = original {
        bail!(
            "{}: the design as it is fails these verify options ({why}): fix it first, a \
             mutation score needs a clean original",
            binding.source
        );
    }
    println!(
        "cnn-cosim mutate: {} of {} mutants of {} ({} sources){}, verify {}",
        chosen.len(),
        all.len(),
        binding.source,
        crate::sim::verilate::sources(&binding)?.len(),
        match (a.count, a.only.is_empty()) {
            (_, false) => " (chosen by id)".to_string(),
            (Some(_), true) => format!(", sampled with seed {}", a.seed),
            (None, true) => String::new(),
        },
        if a.verify.is_empty() { "(defaults)".to_string() } else { a.verify.join(" ") },
    );
    let mut results = Vec::new();
    // Per source: what Verilator generates for it unchanged, to compare mutants with.
    let mut references: std::collections::HashMap<PathBuf, Option<PathBuf>> = Default::default();
    for (n, m) in chosen.iter().enumerate() {
        let t0 = std::time::Instant::now();
        let k = references.len();
        let reference = references
            .entry(m.file.clone())
            .or_insert_with(|| reference(&binding, &m.file, &tmp.path().join(format!("ref{k}"))))
            .clone();
        let mut v =
            in_child(a, m, reference.as_deref(), &tmp.path().join(format!("c{}", m.id)), limit)?;
        // A survivor may compute what the original does with another model: yosys may prove it.
        if v == Verdict::Survived {
            let work = tmp.path().join(format!("e{}", m.id));
            match equiv::Elaboration::of(&binding)
                .and_then(|e| equiv::prove(&e, &m.file, &m.edit, &work))
            {
                Ok(Some(detail)) => v = Verdict::Equivalent { detail },
                Ok(None) => {}
                Err(e) => println!("  (#{}: no equivalence proof tried: {})", m.id, first_line(&e)),
            }
            let _ = std::fs::remove_dir_all(&work);
        }
        println!(
            "[{}/{}] #{} {}:{} {}: {}{} ({:.1} s)",
            n + 1,
            chosen.len(),
            m.id,
            m.file.display(),
            m.line,
            m.edit.change,
            v.name(),
            match &v {
                Verdict::Killed { by, layer, scope, stage, .. } => {
                    let at = if layer.is_empty() {
                        String::new()
                    } else {
                        format!(" at {layer} ({scope})")
                    };
                    format!(" by {by}{at}, {stage}")
                }
                _ => String::new(),
            },
            t0.elapsed().as_secs_f64()
        );
        results.push((m.clone(), v));
    }
    report(a, &results)
}

/// The mutants to run: `--mutant` ids, or a seeded sample of `--count`, or all; then the
/// shard's share.
fn choose(all: &[Mutant], a: &MutateArgs) -> Result<Vec<Mutant>> {
    let mut ids: Vec<usize> = if !a.only.is_empty() {
        for &i in &a.only {
            if i >= all.len() {
                bail!("--mutant {i}: the design has mutants 0..{}", all.len().saturating_sub(1));
            }
        }
        a.only.clone()
    } else {
        match a.count {
            Some(n) if n < all.len() => {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed);
                let mut v = rand::seq::index::sample(&mut rng, all.len(), n).into_vec();
                v.sort_unstable();
                v
            }
            _ => (0..all.len()).collect(),
        }
    };
    if let Some(s) = a.shard {
        ids = ids
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % s.count == s.index - 1)
            .map(|(_, i)| i)
            .collect();
    }
    Ok(ids.into_iter().map(|i| all[i].clone()).collect())
}

/// The original design Verilated with `file` copied into `dir` (where a mutant of it would
/// be), its generated model kept in `dir/generated`; None when that fails (the mutants of
/// `file` are then not compared).
fn reference(binding: &Binding, file: &Path, dir: &Path) -> Option<PathBuf> {
    let name = file.file_name()?;
    std::fs::create_dir_all(dir).ok()?;
    let copy = dir.join(name);
    std::fs::copy(file, &copy).ok()?;
    let keep = dir.join("generated");
    crate::sim::verilate::verilate_reference(
        binding.clone(),
        file,
        &copy,
        &dir.join("cache"),
        &keep,
    )
    .ok()?;
    Some(keep)
}

/// Builds and verifies one mutant.
fn judge(
    a: &MutateArgs,
    base: &VerifyArgs,
    binding: &Binding,
    m: &Mutant,
    tmp: &Path,
    reference: Option<&Path>,
) -> Result<Verdict> {
    let dir = tmp.join(format!("m{}", m.id));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let text = std::fs::read_to_string(&m.file)
        .with_context(|| format!("{}: cannot read", m.file.display()))?;
    let name = m.file.file_name().context("a source without a file name")?;
    let mutated = dir.join(name);
    std::fs::write(&mutated, m.edit.apply(&text))
        .with_context(|| format!("{}: cannot write", mutated.display()))?;
    let built = crate::sim::verilate::build_mutant(
        binding.clone(),
        &m.file,
        &mutated,
        &dir.join("cache"),
        reference,
    );
    let design = match built {
        Ok(d) => d,
        Err(e) => {
            // Said of the source, not of the mutant's temporary copy, and without the
            // command line (temporary paths): the same on every run.
            let detail = first_line(&e);
            let detail = detail.split(" [command: ").next().unwrap_or("");
            let detail = detail
                .replace(&mutated.display().to_string(), &m.file.display().to_string())
                .replace(&dir.display().to_string(), "");
            let _ = std::fs::remove_dir_all(&dir);
            if e.downcast_ref::<crate::sim::verilate::SameModel>().is_some() {
                return Ok(Verdict::Equivalent { detail });
            }
            return Ok(match e.downcast_ref::<crate::sim::verilate::BindCheck>() {
                Some(_) => Verdict::Killed {
                    by: "binding check".into(),
                    layer: String::new(),
                    scope: String::new(),
                    stage: "build",
                    detail,
                },
                None => Verdict::Stillborn { detail },
            });
        }
    };
    let mut verdict = verdict_of(verify_one(base, design, &dir.join("verify")), "verify");
    if verdict == Verdict::Survived {
        let mut r = base.clone();
        r.stimulus = crate::plan::StimulusKind::Random;
        r.seed = a.seed;
        r.sets = a.retry_sets;
        r.count = a.retry_count;
        r.set = None;
        r.start = 0;
        r.limit = None;
        verdict = verdict_of(verify_one(&r, design, &dir.join("random")), "random campaign");
    }
    // The mutant's build is not needed again (its library stays loaded until the end).
    let _ = std::fs::remove_dir_all(&dir);
    Ok(verdict)
}

fn verdict_of(r: Result<Option<String>>, stage: &'static str) -> Verdict {
    match r {
        Ok(None) => Verdict::Survived,
        Ok(Some(why)) => {
            // "by|layer|scope|detail"
            let mut f = why.splitn(4, '|').map(String::from);
            let (by, layer, scope, detail) = (
                f.next().unwrap_or_default(),
                f.next().unwrap_or_default(),
                f.next().unwrap_or_default(),
                f.next().unwrap_or_default(),
            );
            Verdict::Killed { by, layer, scope, stage, detail }
        }
        Err(e) => Verdict::Killed {
            by: "load check".into(),
            layer: String::new(),
            scope: String::new(),
            stage,
            detail: first_line(&e),
        },
    }
}

fn first_line(e: &anyhow::Error) -> String {
    format!("{e:#}").lines().next().unwrap_or("").to_string()
}

/// Verifies `design` with `base`'s options into `reports`: None when bit-exact everywhere,
/// else `by|layer|scope|detail` of the first failing image.
fn verify_one(
    base: &VerifyArgs,
    design: &'static crate::sim::model::Design,
    reports: &Path,
) -> Result<Option<String>> {
    let mut v = base.clone();
    v.design = Some(design);
    v.rtl = None;
    v.bind = None;
    v.reports = reports.to_path_buf();
    v.quiet = true;
    v.silent = true;
    if crate::commands::verify(&v)? {
        return Ok(None);
    }
    let summary = std::fs::read_to_string(reports.join("summary.csv"))
        .with_context(|| format!("{}: cannot read", reports.display()))?;
    let layers = std::fs::read_to_string(reports.join("layers.csv"))
        .with_context(|| format!("{}: cannot read", reports.display()))?;
    let mut rows = csv::Reader::from_reader(summary.as_bytes());
    let header = rows.headers()?.clone();
    let col = |n: &str| header.iter().position(|h| h == n);
    for row in rows.records() {
        let row = row?;
        let get = |n: &str| col(n).and_then(|c| row.get(c)).unwrap_or("").to_string();
        let status = get("status");
        if status == "ok" {
            continue;
        }
        let layer = get("first_bad_layer");
        let image = get("image");
        let set = get("weight_set");
        let at = if set.is_empty() {
            format!("image {image}")
        } else {
            format!("weight set {set}, image {image}")
        };
        let scope = if layer.is_empty() {
            String::new()
        } else if local_mismatch(&layers, &layer) {
            "layer-local".into()
        } else {
            "end to end".into()
        };
        let detail = match get("protocol") {
            p if p.is_empty() => at,
            p => format!("{at}: {p}"),
        };
        return Ok(Some(format!("{status}|{layer}|{scope}|{detail}")));
    }
    Ok(Some("mismatch|||a count changed".into()))
}

/// Whether `layer` mismatched on the RTL's own input too (`local_mismatching_elements`).
fn local_mismatch(layers_csv: &str, layer: &str) -> bool {
    let mut r = csv::Reader::from_reader(layers_csv.as_bytes());
    let Ok(h) = r.headers().cloned() else { return false };
    let Some(c) = h.iter().position(|x| x == "local_mismatching_elements") else { return false };
    r.records()
        .flatten()
        .any(|row| row.get(0) == Some(layer) && row.get(c).is_some_and(|v| v != "0"))
}

/// Judges `m` in a child process (`mutate --mutant ID` with the hidden `--child`), killed
/// after `limit`: then the verdict is a hang.
fn in_child(
    a: &MutateArgs,
    m: &Mutant,
    reference: Option<&Path>,
    dir: &Path,
    limit: std::time::Duration,
) -> Result<Verdict> {
    let me = std::env::current_exe().context("cannot find the cnn-cosim executable")?;
    let mut cmd = std::process::Command::new(me);
    cmd.args(["mutate", "--rtl"]).arg(&a.rtl);
    if let Some(b) = &a.bind {
        cmd.arg("--bind").arg(b);
    }
    cmd.args(["--mutant", &m.id.to_string(), "--seed", &a.seed.to_string()])
        .args(["--retry-sets", &a.retry_sets.to_string()])
        .args(["--retry-count", &a.retry_count.to_string()])
        .arg("--reports")
        .arg(dir)
        .arg("--child")
        .arg(reference.map_or(PathBuf::new(), Path::to_path_buf))
        .arg("--")
        .args(&a.verify)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().context("cannot start a child cnn-cosim")?;
    let t0 = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            if !status.success() {
                // Its one-line error, or the signal that ended it (a crash of the model).
                let why = err.lines().last().unwrap_or("").trim().to_string();
                return Ok(Verdict::Killed {
                    by: "crash".into(),
                    layer: String::new(),
                    scope: String::new(),
                    stage: "verify",
                    detail: if why.is_empty() { format!("{status}") } else { why },
                });
            }
            return read_verdict(&dir.join("mutants.csv"));
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Verdict::Killed {
                by: "hang".into(),
                layer: String::new(),
                scope: String::new(),
                stage: "verify",
                detail: format!(
                    "not done in {:.0} s (build and verify): the simulation never ends",
                    limit.as_secs_f64()
                ),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The verdict a child wrote.
fn read_verdict(csv_path: &Path) -> Result<Verdict> {
    let mut r = csv::Reader::from_path(csv_path)
        .with_context(|| format!("{}: cannot read", csv_path.display()))?;
    let h = r.headers()?.clone();
    let row = r.records().next().context("a child wrote no verdict")??;
    let get =
        |n: &str| h.iter().position(|x| x == n).and_then(|c| row.get(c)).unwrap_or("").to_string();
    let detail = get("detail");
    Ok(match get("verdict").as_str() {
        "killed" => Verdict::Killed {
            by: get("by"),
            layer: get("layer"),
            scope: get("scope"),
            stage: match get("stage").as_str() {
                "random campaign" => "random campaign",
                "build" => "build",
                _ => "verify",
            },
            detail,
        },
        "survived" => Verdict::Survived,
        "equivalent" => Verdict::Equivalent { detail },
        "stillborn" => Verdict::Stillborn { detail },
        v => bail!("{}: unknown verdict {v:?}", csv_path.display()),
    })
}

/// Writes `results` as `dir/mutants.csv` (not a report set: a child's scratch file).
fn write_csv(dir: &Path, results: &[(Mutant, Verdict)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    table::write(dir, &rows(results), TITLE)
}

/// The title of a mutation report (the same for a run and for `merge` of its shards).
const TITLE: &str = "cnn-cosim mutate";

/// mutants.csv and index.html, published as one set; the score and the survivors.
fn report(a: &MutateArgs, results: &[(Mutant, Verdict)]) -> Result<bool> {
    let rows = rows(results);
    let set = crate::report_set::ReportSet::begin(&a.reports)?;
    table::write(&set.path(""), &rows, TITLE)?;
    set.publish()?;
    let s = table::Score::of(&rows);
    println!("{}; {}", s.line(), a.reports.join("mutants.csv").display());
    for r in rows.iter().filter(|r| r[5] == "survived") {
        println!("  survived: #{} {}:{} {}", r[0], r[1], r[2], r[4]);
    }
    Ok(s.survived == 0)
}

/// A row per mutant ([`table::HEADER`]), survivors first.
fn rows(results: &[(Mutant, Verdict)]) -> Vec<table::Row> {
    let mut rows: Vec<table::Row> = results
        .iter()
        .map(|(m, v)| {
            let (by, layer, scope, stage, detail) = match v {
                Verdict::Killed { by, layer, scope, stage, detail } => {
                    (by.as_str(), layer.as_str(), scope.as_str(), *stage, detail.as_str())
                }
                Verdict::Survived => ("", "", "", "", ""),
                Verdict::Equivalent { detail } | Verdict::Stillborn { detail } => {
                    ("", "", "", "", detail.as_str())
                }
            };
            [
                m.id.to_string().as_str(),
                &m.file.display().to_string(),
                &m.line.to_string(),
                m.edit.operator,
                &m.edit.change,
                v.name(),
                by,
                layer,
                scope,
                stage,
                detail,
            ]
            .map(String::from)
            .to_vec()
        })
        .collect();
    table::sort(&mut rows);
    rows
}
