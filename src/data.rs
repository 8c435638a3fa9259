//! Where the images come from: the MNIST test set in a directory (the default), or an images
//! file and a labels file (`--images FILE --labels FILE`: IDX of any dimensions and type, or
//! `.npy`, read by [`crate::tensor_file`]). Either gives the same [`Dataset`], checked against
//! what the network takes before any image runs.

use crate::mnist::{self, Dataset, Image, Split, PIXELS};
use crate::tensor_file::{self, TensorFile};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The test images' source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The MNIST directory's test split.
    Mnist(PathBuf),
    /// An images file and a labels file.
    Files { images: PathBuf, labels: PathBuf },
}

impl Source {
    /// `--mnist DIR`, or `--images`/`--labels` when given (both, or neither).
    pub fn from_args(mnist: &Path, images: Option<&Path>, labels: Option<&Path>) -> Result<Source> {
        match (images, labels) {
            (None, None) => Ok(Source::Mnist(mnist.to_path_buf())),
            (Some(i), Some(l)) => {
                Ok(Source::Files { images: i.to_path_buf(), labels: l.to_path_buf() })
            }
            (Some(_), None) => bail!("--images needs --labels (a file of one label per image)"),
            (None, Some(_)) => bail!("--labels needs --images"),
        }
    }

    /// The test images and their labels.
    pub fn load(&self) -> Result<Dataset> {
        match self {
            Source::Mnist(dir) => mnist::load(dir, Split::Test),
            Source::Files { images, labels } => load_files(images, labels),
        }
    }

    /// How reports name it: `MNIST test images from DIR`, `images from FILE`.
    pub fn describe(&self) -> String {
        match self {
            Source::Mnist(dir) => format!("MNIST test images from {}", dir.display()),
            Source::Files { images, .. } => format!("images from {}", images.display()),
        }
    }

    /// `MNIST test images` or `images`, before an image range.
    pub fn noun(&self) -> &'static str {
        match self {
            Source::Mnist(_) => "MNIST test images",
            Source::Files { .. } => "images",
        }
    }

    /// Where the images are, for a title.
    pub fn path(&self) -> &Path {
        match self {
            Source::Mnist(dir) => dir,
            Source::Files { images, .. } => images,
        }
    }
}

/// Images `N×28×28` or `N×1×28×28` of values 0..255 (the network's input today: one 28×28
/// channel of 8 bits unsigned) and `N` labels 0..9.
fn load_files(images: &Path, labels: &Path) -> Result<Dataset> {
    let t = tensor_file::read(images)?;
    let n = match t.shape.as_slice() {
        [n, 28, 28] | [n, 1, 28, 28] => *n,
        s => bail!(
            "{}: images of shape {s:?}; the network takes N×1×28×28 (or N×28×28), 8 bits \
             unsigned",
            images.display()
        ),
    };
    if let Some((i, v)) = t.values.iter().enumerate().find(|(_, v)| !(0..=255).contains(*v)) {
        bail!(
            "{}: value {v} at element {i} ({} image {}) is outside 8 bits unsigned",
            images.display(),
            t.dtype.name(),
            i / PIXELS
        );
    }
    let l: TensorFile = tensor_file::read(labels)?;
    if l.shape.len() != 1 && !(l.shape.len() == 2 && l.shape[1] == 1) {
        bail!(
            "{}: labels of shape {:?}; expected one label per image, [N]",
            labels.display(),
            l.shape
        );
    }
    if l.values.len() != n {
        bail!(
            "{}: holds {} labels but {} holds {n} images",
            labels.display(),
            l.values.len(),
            images.display()
        );
    }
    if let Some((i, v)) = l.values.iter().enumerate().find(|(_, v)| !(0..=9).contains(*v)) {
        bail!("{}: label {i} is {v}, expected 0..9", labels.display());
    }
    let images: Vec<Image> =
        t.values.chunks_exact(PIXELS).map(|c| std::array::from_fn(|k| c[k] as u8)).collect();
    Ok(Dataset { images, labels: l.values.iter().map(|&v| v as u8).collect() })
}
