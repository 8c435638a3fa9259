//! A report directory's outputs, published as one set: a run's files are all the previous
//! run's or all the new run's, never some of each, whenever the run dies.
//!
//! A run writes every file into a directory of its own, `DIR/.runs/ID/`. `DIR/.current` is
//! a symbolic link to the published run's directory, and each output `DIR/NAME` is a link to
//! `.current/NAME`. Publishing a run replaces `.current` by one `rename` (atomic), so every
//! output switches at once. Before that, links for the new run's outputs are put in place
//! (while `.current` is the old run they show its file, or nothing); after it, the links of
//! outputs the new run does not have, and the old run's directory, are removed. A run that
//! dies before publishing leaves only its own `.runs/ID/`, which the next run removes.
//!
//! Other entries of `DIR` (say a nested report directory) are never touched. An output the
//! user names elsewhere (`--junit`, `--write-baseline` outside `DIR`) is written beside its
//! place under a temporary name and renamed into place right after the set is published.
//!
//! `DIR/.lock` is held (an advisory `flock`, released when the process ends however it ends)
//! from [`ReportSet::begin`] to the end of the run: a second run on the same directory
//! refuses to start and says who holds it.
//!
//! Files are not fsynced: the guarantee is against the process dying, not the machine.

use anyhow::{anyhow, bail, Context, Result};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

const RUNS: &str = ".runs";
const CURRENT: &str = ".current";
const LOCK: &str = ".lock";

/// One run's outputs until they are published.
pub struct ReportSet {
    dir: PathBuf,
    id: String,
    /// `dir/.runs/id`.
    stage: PathBuf,
    _lock: File,
    /// Outputs outside `dir`: (temporary file, final path).
    outside: Vec<(PathBuf, PathBuf)>,
    published: bool,
}

impl ReportSet {
    /// Takes `dir` for a run: creates it, takes its lock (or says who has it), removes what
    /// runs that died before publishing left, and makes the run's own directory.
    pub fn begin(dir: &Path) -> Result<ReportSet> {
        fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create reports directory", dir.display()))?;
        let lock_path = dir.join(LOCK);
        let mut lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("{}: cannot create the lock file", lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&lock_path).unwrap_or_default();
                let holder = match holder.trim() {
                    "" => String::new(),
                    pid => format!(" (pid {pid})"),
                };
                bail!(
                    "{}: another cnn-cosim run{holder} is writing reports here; wait for it to \
                     end or give --reports another directory",
                    dir.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(anyhow!("{}: cannot lock ({e})", lock_path.display()));
            }
        }
        lock.set_len(0)
            .and_then(|_| write!(lock, "{}", std::process::id()))
            .with_context(|| format!("{}: cannot write", lock_path.display()))?;
        // What runs that died before publishing left behind.
        let current = fs::read_link(dir.join(CURRENT)).ok();
        if let Ok(entries) = fs::read_dir(dir.join(RUNS)) {
            for e in entries.flatten() {
                if current.as_deref() != Some(&Path::new(RUNS).join(e.file_name())) {
                    fs::remove_dir_all(e.path()).with_context(|| {
                        format!("{}: cannot remove an unpublished run", e.path().display())
                    })?;
                }
            }
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let id = format!("{nanos}-{}", std::process::id());
        let stage = dir.join(RUNS).join(&id);
        fs::create_dir_all(&stage)
            .with_context(|| format!("{}: cannot create", stage.display()))?;
        Ok(ReportSet {
            dir: dir.to_path_buf(),
            id,
            stage,
            _lock: lock,
            outside: Vec::new(),
            published: false,
        })
    }

    /// Where the output `DIR/name` is written until the set is published.
    pub fn path(&self, name: &str) -> PathBuf {
        self.stage.join(name)
    }

    /// Where an output the user named (`--junit`) is written: inside the set when `path`
    /// lies directly in the report directory, else [`beside`](Self::beside) it.
    pub fn output(&mut self, path: &Path) -> Result<PathBuf> {
        let (parent, name) = place(path)?;
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same(parent, &self.dir) {
            return Ok(self.stage.join(name));
        }
        self.beside(path)
    }

    /// Where a file the user keeps across runs (`--write-baseline`) is written, wherever it
    /// is: a temporary file beside `path`, renamed onto it right after the set is published
    /// (never part of the set, so a later run without it does not remove it).
    pub fn beside(&mut self, path: &Path) -> Result<PathBuf> {
        let (parent, name) = place(path)?;
        let tmp = parent.join(format!(".{}.{}.tmp", name.to_string_lossy(), self.id));
        self.outside.push((tmp.clone(), path.to_path_buf()));
        Ok(tmp)
    }

    /// Whether `dir` holds a published run.
    pub fn has_published(dir: &Path) -> bool {
        fs::read_link(dir.join(CURRENT)).is_ok_and(|t| dir.join(t).is_dir())
    }

    /// Makes the run's outputs the directory's, all at once.
    pub fn publish(mut self) -> Result<()> {
        fault("publish")?;
        let dir = self.dir.clone();
        let mut names: Vec<OsString> = fs::read_dir(&self.stage)
            .with_context(|| format!("{}: cannot read", self.stage.display()))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("{}: cannot read", self.stage.display()))?;
        names.sort();
        for name in &names {
            link(&dir, name)?;
        }
        fault("flip")?;
        let old = fs::read_link(dir.join(CURRENT)).ok();
        let new = Path::new(RUNS).join(&self.id);
        replace_with_link(&dir.join(CURRENT), &new)
            .with_context(|| format!("{}: cannot publish the run", dir.display()))?;
        self.published = true;
        fault("published")?;
        if let Some(old) = old.filter(|o| *o != new) {
            if let Ok(entries) = fs::read_dir(dir.join(&old)) {
                for e in entries.flatten() {
                    let name = e.file_name();
                    let top = dir.join(&name);
                    if !names.contains(&name) && fs::read_link(&top).ok() == Some(target(&name)) {
                        let _ = fs::remove_file(&top);
                    }
                }
            }
            let _ = fs::remove_dir_all(dir.join(&old));
        }
        for (tmp, path) in std::mem::take(&mut self.outside) {
            fs::rename(&tmp, &path).with_context(|| format!("{}: cannot write", path.display()))?;
        }
        Ok(())
    }
}

impl Drop for ReportSet {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.stage);
            let _ = fs::remove_dir(self.dir.join(RUNS)); // only when empty
        }
        for (tmp, _) in &self.outside {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// The directory (created if missing) and file name of an output path.
fn place(path: &Path) -> Result<(&Path, &std::ffi::OsStr)> {
    let name = path.file_name().ok_or_else(|| anyhow!("{}: not a file path", path.display()))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent)
        .with_context(|| format!("{}: cannot create directory", parent.display()))?;
    Ok((parent, name))
}

/// `.current/name`.
fn target(name: &std::ffi::OsStr) -> PathBuf {
    Path::new(CURRENT).join(name)
}

/// Makes `dir/name` the link `.current/name` (a real directory of that name, the layout of
/// cnn-cosim before report sets, is removed first).
fn link(dir: &Path, name: &std::ffi::OsStr) -> Result<()> {
    let top = dir.join(name);
    let want = target(name);
    match fs::symlink_metadata(&top) {
        Ok(m) if m.file_type().is_symlink() && fs::read_link(&top).ok().as_ref() == Some(&want) => {
            return Ok(());
        }
        Ok(m) if m.is_dir() => fs::remove_dir_all(&top)
            .with_context(|| format!("{}: cannot replace by a link", top.display()))?,
        _ => {}
    }
    replace_with_link(&top, &want).with_context(|| format!("{}: cannot link", top.display()))
}

/// Points `path` at `to`, atomically: a new link beside it renamed over it.
fn replace_with_link(path: &Path, to: &Path) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.link.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    symlink(to, &tmp)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// A test hook: with `CNN_COSIM_FAULT=point` the run fails at `point` with an error; with
/// `CNN_COSIM_FAULT=point:abort` the process aborts there, as if killed. The points: `csv`
/// (the CSV reports written), `html` (writing the page), `waves` (before the waveforms),
/// `publish` (before any link changes), `flip` (links in place, before the switch),
/// `published` (just after it).
pub fn fault(point: &str) -> Result<()> {
    let Ok(spec) = std::env::var("CNN_COSIM_FAULT") else { return Ok(()) };
    let (at, how) = spec.split_once(':').unwrap_or((&spec, "error"));
    if at != point {
        return Ok(());
    }
    if how == "abort" {
        std::process::abort();
    }
    bail!("fault injected at {point} (CNN_COSIM_FAULT)")
}
