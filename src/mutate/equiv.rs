//! A survivor proven equivalent with yosys: the module the mutant changed, elaborated in the
//! design with every set of parameter values an instance gives it, against the original's,
//! by `equiv_make`, `equiv_simple -seq 5`, `equiv_induct -seq 5` and `equiv_status -assert`.
//! The proof covers every value the module's inputs can carry (their widths), so a wider
//! internal wire, or a narrower one that the input widths keep from overflowing, is proven
//! equivalent; what only the network's bounds on its weights rule out is not.

use crate::sim::binding::Binding;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one proof may take.
const LIMIT: Duration = Duration::from_secs(600);

/// How yosys reads a design: its sources, top, defines, include directories and the top's
/// parameter values.
#[derive(Debug, Clone, Default)]
pub struct Elaboration {
    pub sources: Vec<PathBuf>,
    pub top: String,
    pub defines: Vec<(String, String)>,
    pub include_dirs: Vec<PathBuf>,
    /// Values as Verilog literals (a string quoted).
    pub parameters: Vec<(String, String)>,
}

impl Elaboration {
    /// A bound design's.
    pub fn of(b: &Binding) -> Result<Elaboration> {
        Ok(Elaboration {
            sources: crate::sim::verilate::sources(b)?,
            top: b.design.top.clone(),
            defines: b.design.defines.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            include_dirs: b.design.include_dirs.iter().map(|i| b.dir.join(i)).collect(),
            parameters: b
                .design
                .parameters
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        toml::Value::String(x) => format!("\"{x}\""),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        })
    }
}

/// Tries to prove the mutant (`file`'s text with `edit` applied, written in `work`) equivalent
/// to the original. Ok(Some(how)) when yosys proves it; Ok(None) when it does not; Err when
/// it cannot try (no yosys, no module around the edit, a design yosys cannot read).
pub fn prove(
    design: &Elaboration,
    file: &Path,
    edit: &super::verilog::Edit,
    work: &Path,
) -> Result<Option<String>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    let module = super::verilog::module_at(&text, edit.start)
        .with_context(|| format!("{}: no module around the change", file.display()))?;
    std::fs::create_dir_all(work).with_context(|| format!("{}: cannot create", work.display()))?;
    let mutated = work.join(file.file_name().context("a source without a file name")?);
    std::fs::write(&mutated, edit.apply(&text))
        .with_context(|| format!("{}: cannot write", mutated.display()))?;
    let gold = &design.sources;
    let gate: Vec<PathBuf> =
        gold.iter().map(|s| if s == file { mutated.clone() } else { s.clone() }).collect();
    let top = &design.top;
    let read = |sources: &[PathBuf]| -> String {
        let mut s = String::from("read_verilog -DSYNTHESIS -defer");
        for (k, v) in &design.defines {
            let _ = write!(s, " -D{k}={v}");
        }
        for inc in &design.include_dirs {
            let _ = write!(s, " -I{}", inc.display());
        }
        for f in sources {
            let _ = write!(s, " {}", f.display());
        }
        s.push('\n');
        for (k, v) in &design.parameters {
            let _ = writeln!(s, "chparam -set {k} {v} {top}");
        }
        let _ = writeln!(s, "hierarchy -top {top}");
        s
    };
    // 1. The module's parameterizations in this design (their names do not depend on its
    // body: yosys names a copy by a hash of its parameter values).
    let listing = yosys(&format!("{}ls\n", read(gold)), work, "list")?;
    let copies: Vec<String> = listing
        .lines()
        .map(str::trim)
        .filter(|l| {
            // `$paramod$HASH\NAME`, or `$paramod\NAME\W=…` for a short parameter list.
            let named = l.ends_with(&format!("\\{module}")) || l.contains(&format!("\\{module}\\"));
            *l == module || (l.starts_with("$paramod") && named)
        })
        .map(String::from)
        .collect();
    if copies.is_empty() {
        bail!("yosys finds no instance of {module} in {top}");
    }
    // 2. Each copy against the mutant's.
    let mut script = String::new();
    for x in &copies {
        for (name, sources) in [("gold", gold), ("gate", &gate)] {
            let _ = write!(
                script,
                "design -reset\n{}hierarchy -top {x}\nproc\nmemory\nflatten\nopt_clean\nrename {x} {name}\n\
                 design -stash {name}\n",
                read(sources)
            );
        }
        script += "design -copy-from gold -as gold gold\ndesign -copy-from gate -as gate gate\n\
                   equiv_make gold gate equiv\nhierarchy -top equiv\nequiv_simple -seq 5\n\
                   equiv_induct -seq 5\nequiv_status -assert\n";
    }
    match yosys(&script, work, "prove") {
        Ok(_) => Ok(Some(format!(
            "yosys proves {module} equivalent in its {} parameterization{} (equiv_simple, \
             equiv_induct, 5 cycles)",
            copies.len(),
            if copies.len() == 1 { "" } else { "s" }
        ))),
        Err(e) if e.downcast_ref::<Unproven>().is_some() => Ok(None),
        Err(e) => Err(e),
    }
}

/// yosys found cells it could not prove equal.
#[derive(Debug)]
struct Unproven;

impl std::fmt::Display for Unproven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not proven equivalent")
    }
}

impl std::error::Error for Unproven {}

/// Runs `script` with yosys in the current directory (where the design's relative paths
/// point); its output. [`Unproven`] when `equiv_status -assert` fails.
fn yosys(script: &str, work: &Path, what: &str) -> Result<String> {
    let path = work.join(format!("{what}.ys"));
    std::fs::write(&path, script).with_context(|| format!("{}: cannot write", path.display()))?;
    let log = work.join(format!("{what}.log"));
    let out =
        std::fs::File::create(&log).with_context(|| format!("{}: cannot create", log.display()))?;
    let mut child = Command::new("yosys")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .context("cannot run yosys (install it: scripts/setup.sh test)")?;
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if t0.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Unproven.into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if status.success() {
        return Ok(text);
    }
    if text.contains("unproven $equiv cells") {
        return Err(Unproven.into());
    }
    let why = text.lines().rev().find(|l| l.starts_with("ERROR")).unwrap_or("").to_string();
    bail!("yosys could not {what}: {why}")
}
