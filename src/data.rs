//! Where the images come from: the MNIST test set in a directory (the default), or an images
//! file and a labels file (named by the description's `dataset`, or by `--images FILE
//! --labels FILE`: IDX of any dimensions and type, or `.npy`, read by [`crate::tensor_file`]).
//! Either gives the same [`Dataset`], checked against what the network takes (its input's
//! shape and type, its classes) before any image runs.

use crate::image::{Dataset, Image};
use crate::mnist::{self, Split};
use crate::network::{DataSet, Network, Shape};
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
    /// `--images`/`--labels` when given (both, or neither), else the files `net`'s
    /// description names, else MNIST in `--mnist DIR`.
    pub fn from_args(
        net: &Network,
        mnist: &Path,
        images: Option<&Path>,
        labels: Option<&Path>,
    ) -> Result<Source> {
        match (images, labels) {
            (None, None) => Ok(match &net.dataset {
                DataSet::Mnist(_) => Source::Mnist(mnist.to_path_buf()),
                DataSet::Files { images, labels } => {
                    Source::Files { images: images.clone(), labels: labels.clone() }
                }
            }),
            (Some(i), Some(l)) => {
                Ok(Source::Files { images: i.to_path_buf(), labels: l.to_path_buf() })
            }
            (Some(_), None) => bail!("--images needs --labels (a file of one label per image)"),
            (None, Some(_)) => bail!("--labels needs --images"),
        }
    }

    /// The test images and their labels, checked against `net`'s input and classes.
    pub fn load(&self, net: &Network) -> Result<Dataset> {
        match self {
            Source::Mnist(dir) => {
                if !net.takes_mnist_images() {
                    bail!(
                        "{}: the network takes {} of {}, not MNIST's 1×28×28 bytes: name its \
                         images (--images FILE --labels FILE)",
                        net.source,
                        net.input,
                        net.input_type
                    );
                }
                mnist::load(dir, Split::Test)
            }
            Source::Files { images, labels } => load_files(net, images, labels),
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

/// Images `N×C×H×W` (or `N×H×W` for one channel) of the network's input shape, each value
/// within its input type, and `N` labels below its class count.
fn load_files(net: &Network, images: &Path, labels: &Path) -> Result<Dataset> {
    let t = tensor_file::read(images)?;
    let Shape::Map { c, h, w } = net.input else {
        bail!("{}: the network's input is not a map", net.source);
    };
    let n = match t.shape.as_slice() {
        &[n, fc, fh, fw] if [fc, fh, fw] == [c, h, w] => n,
        &[n, fh, fw] if c == 1 && [fh, fw] == [h, w] => n,
        s => bail!(
            "{}: images of shape {s:?}; the network ({}) takes N×{c}×{h}×{w}{}",
            images.display(),
            net.source,
            if c == 1 { format!(" (or N×{h}×{w})") } else { String::new() }
        ),
    };
    let ty = net.input_type;
    let len = c * h * w;
    if let Some((i, v)) = t.values.iter().enumerate().find(|(_, &v)| !ty.holds(v as i128)) {
        bail!(
            "{}: value {v} at element {i} (image {}) is outside the network's input, {ty}",
            images.display(),
            i / len
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
    let classes = net.classes() as i64;
    if let Some((i, v)) =
        l.values.iter().enumerate().find(|(_, &v)| !(0..classes).contains(&(v as i64)))
    {
        bail!("{}: label {i} is {v}, expected 0..{}", labels.display(), classes - 1);
    }
    let images: Vec<Image> = t.values.chunks_exact(len).map(|c| c.into()).collect();
    Ok(Dataset { images, labels: l.values.iter().map(|&v| v as u8).collect() })
}
