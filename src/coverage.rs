//! RTL coverage of a run (`verify --coverage`): the counts of a model Verilated with line,
//! toggle and expression coverage, merged over every model of the run (and, in `merge`,
//! every shard), written as Verilator's `coverage.dat` and as an lcov `coverage.info`, and
//! summed per module for the summary line and `index.html`.
//!
//! A point is one line of `coverage.dat`: `C '<key>' <count>`, the key a list of fields
//! `\x01<name>\x02<value>` — `f` the source file, `l` its line, `t` the kind (`line` for a
//! block, `branch` for each arm of an `if` or `case`, `toggle`, `expr`), `page` the kind and
//! module (`v_line/cnn_conv`), `o` what it counts (`block`, `if`, `else`, `q_o[3]:0->1`,
//! `(a==1) => 1`), `S` the lines of its statements, `h` the instance. Points with the same key add up; a module's point counts as hit when any of
//! its instances hit it. Only Verilog is instrumented: the harness's shim and glue (C++)
//! have no points.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The first line of a coverage.dat.
const HEADER: &str = "# SystemC::Coverage-3";

/// A source file's largest count per line, and its branch points (line, lcov block, count).
type FileLines = (BTreeMap<u32, u64>, Vec<(u32, u8, u64)>);

/// Coverage counts by point key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    points: BTreeMap<String, u64>,
}

/// The fields of a point key, in order.
fn fields(key: &str) -> impl Iterator<Item = (&str, &str)> {
    key.split('\x01').filter(|f| !f.is_empty()).filter_map(|f| f.split_once('\x02'))
}

/// A field of a point key.
fn field<'k>(key: &'k str, name: &str) -> Option<&'k str> {
    fields(key).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Lines `S` names (`12`, `12-14`, `12,14-15`); `l` when there is no `S`.
fn lines_of(key: &str) -> Vec<u32> {
    let mut out = Vec::new();
    match field(key, "S") {
        Some(s) => {
            for part in s.split(',') {
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                    out.extend(a..=b.min(a.saturating_add(10_000)));
                }
            }
        }
        None => out.extend(field(key, "l").and_then(|l| l.parse::<u32>().ok())),
    }
    out
}

/// A point's key without its instance (`h`), and its module named as in the source: Verilator
/// names a module's copy for a set of parameter values `NAME__` and the values
/// (`cnn_weight_rom__Fz6_Da_Na_A4`) or a number (`NAME__pi3`).
fn unplaced(key: &str) -> String {
    fields(key)
        .filter(|(n, _)| *n != "h")
        .map(|(n, v)| {
            let v = match n {
                "page" => module_of_page(v),
                _ => v.to_string(),
            };
            format!("\x01{n}\x02{v}")
        })
        .collect()
}

/// `v_line/cnn_weight_rom__pi3` → `v_line/cnn_weight_rom` (a module whose own name holds
/// `__` is cut there too).
fn module_of_page(page: &str) -> String {
    match page.split_once('/') {
        Some((kind, module)) if module.find("__").is_some_and(|i| i > 0) => {
            format!("{kind}/{}", &module[..module.find("__").unwrap_or(module.len())])
        }
        _ => page.into(),
    }
}

/// What a point counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Line,
    Branch,
    Toggle,
    Expr,
}

impl Kind {
    fn of(key: &str) -> Option<Kind> {
        let t = field(key, "t")
            .or_else(|| field(key, "page").and_then(|p| p.strip_prefix("v_")?.split('/').next()));
        match t? {
            "line" | "block" => Some(Kind::Line),
            "branch" => Some(Kind::Branch),
            "toggle" => Some(Kind::Toggle),
            "expr" => Some(Kind::Expr),
            _ => None,
        }
    }
}

/// Points hit of all there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub hit: u64,
    pub total: u64,
}

impl Count {
    fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hit += hit as u64;
    }

    /// `95.1 % (78/82)`, or `none` when there are no such points.
    pub fn show(&self) -> String {
        if self.total == 0 {
            return "none".into();
        }
        format!(
            "{:.1} % ({}/{})",
            100.0 * self.hit as f64 / self.total as f64,
            self.hit,
            self.total
        )
    }
}

/// One module's coverage, over its instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    pub lines: Count,
    pub branches: Count,
    pub toggles: Count,
    pub exprs: Count,
}

/// A source line whose statements never ran, or an arm of an `if` or `case` on a line that
/// ran but never taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    pub file: String,
    pub line: u32,
    pub module: String,
    /// `never reached`, or `if never taken`, `else never taken`, ….
    pub what: String,
    /// The line's text (trimmed), when the file can be read.
    pub text: String,
}

/// What a run's coverage says, for the summary and the HTML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub modules: Vec<Module>,
    pub total: Module,
    pub uncovered: Vec<Uncovered>,
    /// Kinds the model counted (no expression points before Verilator 5.020).
    pub has_exprs: bool,
}

impl Coverage {
    /// Parses a coverage.dat's text; `what` names it in errors.
    pub fn parse(text: &str, what: &str) -> Result<Coverage> {
        let mut c = Coverage::default();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            // The key may hold quotes (`4'hc`): the count follows the last one.
            let bad = || anyhow::anyhow!("{what}:{}: not a coverage point: {line:?}", n + 1);
            let rest = line.strip_prefix("C '").ok_or_else(bad)?;
            let (key, count) = rest.rsplit_once("' ").ok_or_else(bad)?;
            let count: u64 = count.trim().parse().map_err(|_| bad())?;
            *c.points.entry(key.to_string()).or_default() += count;
        }
        Ok(c)
    }

    pub fn read(path: &Path) -> Result<Coverage> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read coverage counts", path.display()))?;
        if !text.starts_with(HEADER) {
            bail!("{}: not a Verilator coverage.dat (no {HEADER:?} line)", path.display());
        }
        Coverage::parse(&text, &path.display().to_string())
    }

    /// Every `*.dat` in `dir`, added up (the files of one run's models).
    pub fn read_dir(dir: &Path) -> Result<Coverage> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot read", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .collect();
        files.sort();
        let mut all = Coverage::default();
        for f in files {
            all.add(Coverage::read(&f)?);
        }
        Ok(all)
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: Coverage) {
        for (k, v) in other.points {
            *self.points.entry(k).or_default() += v;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// As Verilator writes it (points sorted by key, so equal counts give equal bytes).
    pub fn to_dat(&self) -> String {
        let mut s = format!("{HEADER}\n");
        for (k, v) in &self.points {
            let _ = writeln!(s, "C '{k}' {v}");
        }
        s
    }

    /// Per source line: the largest count of a block or branch point whose statements are
    /// on it (any instance); then each file's branch and expression points, (line, block
    /// (0 branch, 1 expression), count).
    fn by_line(&self) -> BTreeMap<String, FileLines> {
        // Instances first added up: a point per module, not per instance.
        let mut merged: BTreeMap<String, u64> = BTreeMap::new();
        for (k, v) in &self.points {
            *merged.entry(unplaced(k)).or_default() += v;
        }
        let mut files: BTreeMap<String, FileLines> = BTreeMap::new();
        for (k, v) in &merged {
            let Some(f) = field(k, "f") else { continue };
            let entry = files.entry(f.to_string()).or_default();
            let at = field(k, "l").and_then(|l| l.parse().ok()).unwrap_or(0);
            let kind = Kind::of(k);
            if matches!(kind, Some(Kind::Line | Kind::Branch)) {
                for l in lines_of(k) {
                    let e = entry.0.entry(l).or_default();
                    *e = (*e).max(*v);
                }
            }
            match kind {
                Some(Kind::Branch) => entry.1.push((at, 0, *v)),
                Some(Kind::Expr) => entry.1.push((at, 1, *v)),
                _ => {}
            }
        }
        files
    }

    /// As an lcov tracefile: per source file its lines (`DA`, from the block and branch
    /// points), its `if`/`case` arms (`BRDA` block 0) and expression terms (`BRDA` block 1);
    /// toggles have no place in lcov's format.
    pub fn to_info(&self) -> String {
        let mut s = String::from("TN:cnn_cosim\n");
        for (file, (lines, exprs)) in self.by_line() {
            if lines.is_empty() && exprs.is_empty() {
                continue;
            }
            let _ = writeln!(s, "SF:{file}");
            let mut exprs = exprs;
            exprs.sort();
            for (i, (l, block, v)) in exprs.iter().enumerate() {
                let taken = if *v == 0 { "-".to_string() } else { v.to_string() };
                let _ = writeln!(s, "BRDA:{l},{block},{i},{taken}");
            }
            if !exprs.is_empty() {
                let _ = writeln!(s, "BRF:{}", exprs.len());
                let _ = writeln!(s, "BRH:{}", exprs.iter().filter(|(_, _, v)| *v > 0).count());
            }
            for (l, v) in &lines {
                let _ = writeln!(s, "DA:{l},{v}");
            }
            let _ = writeln!(s, "LF:{}", lines.len());
            let _ = writeln!(s, "LH:{}", lines.values().filter(|v| **v > 0).count());
            s.push_str("end_of_record\n");
        }
        s
    }

    /// Per module and in total: line, toggle and expression points hit (over instances),
    /// and the source lines no statement of which ran.
    pub fn report(&self) -> Report {
        let mut modules: BTreeMap<String, Module> = BTreeMap::new();
        let mut merged: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (k, v) in &self.points {
            let u = unplaced(k);
            let module = field(&u, "page").and_then(|p| p.split_once('/')).map_or("?", |p| p.1);
            *merged.entry((module.to_string(), u.clone())).or_default() += v;
        }
        let mut total = Module { name: "total".into(), ..Module::default() };
        let mut has_exprs = false;
        // (file, line) → (module, largest count of a block or branch point on it)
        let mut lines: BTreeMap<(String, u32), (String, u64)> = BTreeMap::new();
        // Arms never taken: (file, line, what) → module
        let mut arms: BTreeMap<(String, u32, String), String> = BTreeMap::new();
        for ((module, k), v) in &merged {
            let m = modules
                .entry(module.clone())
                .or_insert_with(|| Module { name: module.clone(), ..Module::default() });
            let hit = *v > 0;
            let kind = Kind::of(k);
            if let (Some(Kind::Line | Kind::Branch), Some(f)) = (kind, field(k, "f")) {
                for l in lines_of(k) {
                    let e = lines.entry((f.to_string(), l)).or_insert((module.clone(), 0));
                    e.1 = e.1.max(*v);
                }
            }
            match kind {
                Some(Kind::Line) => {
                    m.lines.add(hit);
                    total.lines.add(hit);
                }
                Some(Kind::Branch) => {
                    m.branches.add(hit);
                    total.branches.add(hit);
                    if let (false, Some(f), Some(l)) =
                        (hit, field(k, "f"), field(k, "l").and_then(|l| l.parse::<u32>().ok()))
                    {
                        let what = format!("{} never taken", field(k, "o").unwrap_or("branch"));
                        arms.insert((f.to_string(), l, what), module.clone());
                    }
                }
                Some(Kind::Toggle) => {
                    m.toggles.add(hit);
                    total.toggles.add(hit);
                }
                Some(Kind::Expr) => {
                    has_exprs = true;
                    m.exprs.add(hit);
                    total.exprs.add(hit);
                }
                None => {}
            }
        }
        let mut texts: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
        // Lines never reached, then arms never taken on lines that ran, in source order.
        let mut found: Vec<(String, u32, String, String)> = Vec::new();
        for ((file, line), (module, v)) in &lines {
            if *v == 0 {
                found.push((file.clone(), *line, module.clone(), "never reached".into()));
            }
        }
        for ((file, line, what), module) in arms {
            if lines.get(&(file.clone(), line)).is_none_or(|(_, v)| *v > 0) {
                found.push((file, line, module, what));
            }
        }
        found.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let uncovered = found
            .into_iter()
            .map(|(file, line, module, what)| {
                let src = texts.entry(file.clone()).or_insert_with(|| {
                    std::fs::read_to_string(&file)
                        .ok()
                        .map(|t| t.lines().map(|l| l.trim().to_string()).collect())
                });
                let text = src
                    .as_ref()
                    .and_then(|s| s.get(line.saturating_sub(1) as usize).cloned())
                    .unwrap_or_default();
                Uncovered { file, line, module, what, text }
            })
            .collect();
        Report { modules: modules.into_values().collect(), total, uncovered, has_exprs }
    }
}

impl Report {
    /// The summary's line.
    pub fn line(&self) -> String {
        let exprs = if self.has_exprs {
            format!(", expressions {}", self.total.exprs.show())
        } else {
            String::new()
        };
        let never = self.uncovered.iter().filter(|u| u.what == "never reached").count();
        format!(
            "RTL coverage (points hit in any instance): lines {}, branches {}, toggles \
             {}{exprs}; {never} source lines never reached, {} branches never taken",
            self.total.lines.show(),
            self.total.branches.show(),
            self.total.toggles.show(),
            self.uncovered.len() - never
        )
    }
}

/// Merges the model files in `parts` into `dat` and `info` ([`write`]), removes `parts`, and
/// says what they hold.
pub fn finish(parts: &Path, dat: &Path, info: &Path) -> Result<Report> {
    let all = Coverage::read_dir(parts)?;
    if all.is_empty() {
        bail!("{}: the run's models wrote no coverage points", parts.display());
    }
    write(&all, dat, info)?;
    std::fs::remove_dir_all(parts)
        .with_context(|| format!("{}: cannot remove", parts.display()))?;
    Ok(all.report())
}

/// Writes `c` as a coverage.dat and an lcov tracefile.
pub fn write(c: &Coverage, dat: &Path, info: &Path) -> Result<()> {
    for (p, text) in [(dat, c.to_dat()), (info, c.to_info())] {
        std::fs::write(p, text).with_context(|| format!("{}: cannot write", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAT: &str = "# SystemC::Coverage-3\n\
C '\x01f\x02t.v\x01l\x021\x01n\x0222\x01t\x02toggle\x01page\x02v_toggle/t\x01o\x02clk_i:0->1\x01h\x02top.t' 20\n\
C '\x01f\x02t.v\x01l\x021\x01n\x0222\x01t\x02toggle\x01page\x02v_toggle/t\x01o\x02clk_i:1->0\x01h\x02top.t' 0\n\
C '\x01f\x02t.v\x01l\x022\x01n\x023\x01t\x02line\x01page\x02v_line/t\x01o\x02block\x01S\x022\x01h\x02top.t' 20\n\
C '\x01f\x02t.v\x01l\x022\x01n\x029\x01t\x02branch\x01page\x02v_branch/t\x01o\x02else\x01h\x02top.t' 0\n\
C '\x01f\x02t.v\x01l\x023\x01n\x025\x01t\x02branch\x01page\x02v_branch/t\x01o\x02elsif\x01S\x023\x01h\x02top.t' 3\n\
C '\x01f\x02t.v\x01l\x024\x01n\x0210\x01t\x02branch\x01page\x02v_branch/t\x01o\x02if\x01S\x024-5\x01h\x02top.t' 0\n\
C '\x01f\x02t.v\x01l\x024\x01n\x0210\x01t\x02branch\x01page\x02v_branch/t\x01o\x02if\x01S\x024-5\x01h\x02top.u' 0\n\
C '\x01f\x02t.v\x01l\x024\x01n\x0226\x01t\x02expr\x01page\x02v_expr/t\x01o\x02((a > 4'hc)==0) => 0\x01h\x02top.t' 17\n";

    #[test]
    fn parses_merges_and_writes_back_the_same_bytes() {
        let c = Coverage::parse(DAT, "t").unwrap();
        assert_eq!(c.points.len(), 8);
        // The quote inside `4'hc` is part of the key.
        assert!(c.points.keys().any(|k| k.contains("4'hc")));
        let again = Coverage::parse(&c.to_dat(), "again").unwrap();
        assert_eq!(again, c);
        let mut twice = c.clone();
        twice.add(c.clone());
        assert_eq!(twice.points.values().sum::<u64>(), 2 * (20 + 20 + 3 + 17));
        assert!(Coverage::parse("C 'x 3\n", "bad").is_err());
    }

    #[test]
    fn counts_per_module_over_instances_and_lists_what_never_ran() {
        let r = Coverage::parse(DAT, "t").unwrap().report();
        assert_eq!(r.modules.len(), 1);
        let m = &r.modules[0];
        // The `if` arm of two instances is one point of the module, taken in neither.
        assert_eq!((m.lines.hit, m.lines.total), (1, 1));
        assert_eq!((m.branches.hit, m.branches.total), (1, 3));
        assert_eq!((m.toggles.hit, m.toggles.total), (1, 2));
        assert_eq!((m.exprs.hit, m.exprs.total), (1, 1));
        let found: Vec<(u32, &str)> =
            r.uncovered.iter().map(|u| (u.line, u.what.as_str())).collect();
        assert_eq!(found, [(2, "else never taken"), (4, "never reached"), (5, "never reached")]);
        assert_eq!(
            r.line(),
            "RTL coverage (points hit in any instance): lines 100.0 % (1/1), branches 33.3 % \
             (1/3), toggles 50.0 % (1/2), expressions 100.0 % (1/1); 2 source lines never \
             reached, 1 branches never taken"
        );
    }

    #[test]
    fn copies_of_a_module_for_parameter_values_are_one_module() {
        let dat = DAT.replace("/t\x01", "/t__pi2\x01");
        let r = Coverage::parse(&dat, "t").unwrap().report();
        assert_eq!(r.modules.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["t"]);
        assert_eq!(module_of_page("v_line/rom__pi12"), "v_line/rom");
        assert_eq!(module_of_page("v_line/rom__Fz6_Da_Na_A4"), "v_line/rom");
        assert_eq!(module_of_page("v_line/__odd"), "v_line/__odd");
    }

    #[test]
    fn lcov_has_lines_and_branches() {
        let info = Coverage::parse(DAT, "t").unwrap().to_info();
        assert_eq!(
            info,
            "TN:cnn_cosim\nSF:t.v\nBRDA:2,0,0,-\nBRDA:3,0,1,3\nBRDA:4,0,2,-\nBRDA:4,1,3,17\n\
             BRF:4\nBRH:2\nDA:2,20\nDA:3,3\nDA:4,0\nDA:5,0\nLF:4\nLH:2\nend_of_record\n"
        );
    }
}
