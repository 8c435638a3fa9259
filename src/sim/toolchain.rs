//! The C++ compiler a Verilated model is built with (`--compiler gcc|clang`), and what a
//! profile-guided build (`--pgo`) asks of it: the flags that instrument the model, the step
//! that turns the counts into a profile, and the flags that compile with it.
//!
//! gcc: `-fprofile-generate -fprofile-update=single -fprofile-dir=DIR` writes one `.gcda`
//! file per object when the process exits (the file named after the object's path, so the
//! rebuild compiles each file to the same object path), and `-fprofile-use
//! -fprofile-dir=DIR` reads them. clang: `-fprofile-generate=DIR` writes `.profraw` files,
//! `llvm-profdata merge` of the same LLVM release turns them into one `.profdata`, and
//! `-fprofile-use=FILE` reads it. Both compilers' profile use changes only what code is
//! generated, never what it computes (a test checks the results, byte for byte).

use crate::sim::verilator_files;
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A C++ compiler family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Compiler {
    /// GNU g++ (`g++`).
    Gcc,
    /// LLVM clang++ (`clang++`, else the newest `clang++-N` on the PATH).
    Clang,
}

impl Compiler {
    pub fn name(self) -> &'static str {
        match self {
            Compiler::Gcc => "gcc",
            Compiler::Clang => "clang",
        }
    }
}

impl std::fmt::Display for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The compiler a build runs.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub family: Compiler,
    /// The program.
    pub cxx: String,
    /// The first line of its `--version` (a cache key covers it).
    pub version: String,
    /// clang: `llvm-profdata` of its own release.
    profdata: Option<PathBuf>,
}

impl Toolchain {
    /// `which`'s compiler; without one, [`verilator_files::default_cxx`] (what `build.rs`
    /// compiles the built-in model with).
    pub fn find(which: Option<Compiler>) -> Result<Toolchain> {
        let cxx = match which {
            Some(Compiler::Gcc) => "g++".to_string(),
            Some(Compiler::Clang) => verilator_files::clang_on_path().ok_or_else(|| {
                anyhow!(
                    "--compiler clang: no clang++ on the PATH (neither clang++ nor clang++-N); \
                     install it (apt-get install clang-16; scripts/setup.sh test does) or use \
                     --compiler gcc"
                )
            })?,
            None => verilator_files::default_cxx(),
        };
        let out = Command::new(&cxx).arg("--version").output().map_err(|e| {
            anyhow!("{cxx}: cannot run the C++ compiler ({e}); install g++ or set CXX")
        })?;
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text.lines().next().unwrap_or("").trim().to_string();
        let family = if text.contains("clang") { Compiler::Clang } else { Compiler::Gcc };
        if let Some(w) = which.filter(|&w| w != family) {
            bail!("{cxx}: reports {version:?}, which is not {w}");
        }
        let profdata = (family == Compiler::Clang).then(|| profdata_beside(&cxx)).flatten();
        Ok(Toolchain { family, cxx, version, profdata })
    }

    /// Libraries a model's link needs: clang leaves 16-byte atomics to libatomic (Verilator's
    /// run time asks whether they are lock-free).
    pub fn link_libs(&self) -> &'static [&'static str] {
        match self.family {
            Compiler::Gcc => &[],
            Compiler::Clang => &["-latomic"],
        }
    }

    /// Flags that instrument a compile, its counts written under `dir` when the shim's
    /// `cnn_profile_dump` is called (`CNN_PGO_GENERATE` compiles it in).
    pub fn generate_flags(&self, dir: &Path) -> Vec<String> {
        match self.family {
            Compiler::Gcc => vec![
                "-fprofile-generate".into(),
                "-fprofile-update=single".into(),
                format!("-fprofile-dir={}", dir.display()),
                "-DCNN_PGO_GENERATE".into(),
            ],
            Compiler::Clang => {
                vec![format!("-fprofile-generate={}", dir.display()), "-DCNN_PGO_GENERATE".into()]
            }
        }
    }

    /// Turns the counts under `dir` into the profile [`Toolchain::use_flags`] reads; fails
    /// when the profile run left none.
    pub fn merge(&self, dir: &Path) -> Result<()> {
        let ext = match self.family {
            Compiler::Gcc => "gcda",
            Compiler::Clang => "profraw",
        };
        let raw = files_under(dir, ext);
        if raw.is_empty() {
            bail!("{}: the profile run wrote no .{ext} files", dir.display());
        }
        if self.family == Compiler::Clang {
            let tool = self.profdata.as_ref().ok_or_else(|| {
                anyhow!(
                    "{}: no llvm-profdata of its release beside it or on the PATH \
                     (llvm-profdata-N); install its llvm-N package",
                    self.cxx
                )
            })?;
            let out = Command::new(tool)
                .arg("merge")
                .arg("-o")
                .arg(dir.join("merged.profdata"))
                .args(&raw)
                .output()
                .map_err(|e| anyhow!("{}: cannot run ({e})", tool.display()))?;
            if !out.status.success() {
                bail!(
                    "{} merge failed: {}",
                    tool.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        Ok(())
    }

    /// Flags that compile with the profile [`Toolchain::merge`] made under `dir`.
    pub fn use_flags(&self, dir: &Path) -> Vec<String> {
        match self.family {
            Compiler::Gcc => vec![
                "-fprofile-use".into(),
                format!("-fprofile-dir={}", dir.display()),
                // Files the profile run never entered (construction code) are compiled as
                // usual.
                "-Wno-missing-profile".into(),
            ],
            Compiler::Clang => vec![
                format!("-fprofile-use={}", dir.join("merged.profdata").display()),
                "-Wno-profile-instr-unprofiled".into(),
            ],
        }
    }
}

/// The `llvm-profdata` of `cxx`'s LLVM release: beside the program it resolves to (Debian's
/// `/usr/lib/llvm-N/bin/`), else `llvm-profdata-N` on the PATH. The unnumbered
/// `llvm-profdata` on the PATH may be another release's, which cannot read these counts.
fn profdata_beside(cxx: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let program = if cxx.contains('/') {
        PathBuf::from(cxx)
    } else {
        std::env::split_paths(&path).map(|d| d.join(cxx)).find(|p| p.is_file())?
    };
    let real = program.canonicalize().ok()?;
    let beside = real.parent()?.join("llvm-profdata");
    if beside.is_file() {
        return Some(beside);
    }
    let major = cxx.rsplit_once('-').map(|(_, n)| n)?;
    let numbered = format!("llvm-profdata-{major}");
    std::env::split_paths(&path).map(|d| d.join(&numbered)).find(|p| p.is_file())
}

/// Every file under `dir` (at any depth: gcc writes each object's counts at the object's
/// own path below it) whose name ends in `.ext`.
fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if p.is_dir() {
            found.extend(files_under(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            found.push(p);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_found_at_any_depth_and_only_with_their_extension() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("tmp/cache/.building-x/obj");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("u000.gcda"), b"").unwrap();
        std::fs::write(d.path().join("default_1.profraw"), b"").unwrap();
        std::fs::write(d.path().join("notes.txt"), b"").unwrap();
        assert_eq!(files_under(d.path(), "gcda"), [deep.join("u000.gcda")]);
        assert_eq!(files_under(d.path(), "profraw"), [d.path().join("default_1.profraw")]);
        assert!(files_under(&d.path().join("missing"), "gcda").is_empty());
    }

    #[test]
    fn each_compiler_instruments_and_reads_its_own_way() {
        let t = |family| Toolchain {
            family,
            cxx: String::new(),
            version: String::new(),
            profdata: None,
        };
        let dir = Path::new("/p");
        let gcc = t(Compiler::Gcc);
        assert!(gcc.generate_flags(dir).contains(&"-fprofile-dir=/p".to_string()));
        assert!(gcc.use_flags(dir).contains(&"-fprofile-use".to_string()));
        assert!(gcc.link_libs().is_empty());
        let clang = t(Compiler::Clang);
        assert_eq!(clang.generate_flags(dir)[0], "-fprofile-generate=/p");
        assert_eq!(clang.use_flags(dir)[0], "-fprofile-use=/p/merged.profdata");
        assert_eq!(clang.link_libs(), ["-latomic"]);
        // Both compile the shim's `cnn_profile_dump` in.
        for t in [gcc, clang] {
            assert!(t.generate_flags(dir).contains(&"-DCNN_PGO_GENERATE".to_string()));
        }
        // clang's counts need its llvm-profdata; without one the merge says so.
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.profraw"), b"").unwrap();
        let e = t(Compiler::Clang).merge(d.path()).unwrap_err().to_string();
        assert!(e.contains("no llvm-profdata"), "{e}");
        let e = t(Compiler::Gcc).merge(d.path()).unwrap_err().to_string();
        assert!(e.contains("wrote no .gcda files"), "{e}");
    }
}
