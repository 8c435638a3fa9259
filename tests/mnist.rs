//! MNIST IDX reader: good files (raw and gzip) and every rejected case.

use cnn_cosim::mnist::{self, Split, PIXELS};
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::Path;

fn images(count: u32, rows: u32, magic: u32, pixels: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [magic, count, rows, 28] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend((0..pixels).map(|i| (i % 251) as u8));
    v
}

fn labels(values: &[u8], magic: u32) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    v.extend_from_slice(&(values.len() as u32).to_be_bytes());
    v.extend_from_slice(values);
    v
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn write_gz(dir: &Path, name: &str, bytes: &[u8]) {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    std::fs::write(dir.join(format!("{name}.gz")), e.finish().unwrap()).unwrap();
}

const IMG: &str = "t10k-images-idx3-ubyte";
const LBL: &str = "t10k-labels-idx1-ubyte";

fn good(dir: &Path) {
    write(dir, IMG, &images(3, 28, 2051, 3 * PIXELS));
    write(dir, LBL, &labels(&[7, 2, 1], 2049));
}

fn load_err(dir: &Path) -> String {
    format!("{:#}", mnist::load(dir, Split::Test).unwrap_err())
}

#[test]
fn reads_raw_files() {
    let d = tempfile::tempdir().unwrap();
    good(d.path());
    let ds = mnist::load(d.path(), Split::Test).unwrap();
    assert_eq!(ds.labels, vec![7, 2, 1]);
    assert_eq!(ds.images.len(), 3);
    assert_eq!(ds.images[1][0], (PIXELS % 251) as i32);
}

#[test]
fn reads_gzip_files_as_torchvision_leaves_them() {
    let d = tempfile::tempdir().unwrap();
    write_gz(d.path(), IMG, &images(2, 28, 2051, 2 * PIXELS));
    write_gz(d.path(), LBL, &labels(&[3, 9], 2049));
    let ds = mnist::load(d.path(), Split::Test).unwrap();
    assert_eq!(ds.labels, vec![3, 9]);
    assert_eq!(ds.images[0][5], 5);
}

#[test]
fn rejects_bad_magic() {
    let d = tempfile::tempdir().unwrap();
    good(d.path());
    write(d.path(), IMG, &images(3, 28, 2049, 3 * PIXELS));
    let e = load_err(d.path());
    assert!(
        e.ends_with(
            "t10k-images-idx3-ubyte: bad magic number 2049, expected 2051 for an IDX image file"
        ),
        "{e}"
    );
    good(d.path());
    write(d.path(), LBL, &labels(&[1, 2, 3], 2051));
    let e = load_err(d.path());
    assert!(
        e.ends_with(
            "t10k-labels-idx1-ubyte: bad magic number 2051, expected 2049 for an IDX label file"
        ),
        "{e}"
    );
}

#[test]
fn rejects_wrong_image_size() {
    let d = tempfile::tempdir().unwrap();
    good(d.path());
    write(d.path(), IMG, &images(3, 27, 2051, 3 * 27 * 28));
    assert!(load_err(d.path()).ends_with("images are 27×28, expected 28×28"));
}

#[test]
fn rejects_length_that_disagrees_with_header() {
    let d = tempfile::tempdir().unwrap();
    good(d.path());
    write(d.path(), IMG, &images(3, 28, 2051, 3 * PIXELS - 1));
    let e = load_err(d.path());
    assert!(e.ends_with("file is 2367 bytes but its header promises 3 images (2368 bytes)"), "{e}");
    good(d.path());
    let mut l = labels(&[1, 2, 3], 2049);
    l.push(4);
    write(d.path(), LBL, &l);
    assert!(load_err(d.path())
        .ends_with("file is 12 bytes but its header promises 3 labels (11 bytes)"));
    write(d.path(), LBL, &[0, 0, 8]);
    assert!(load_err(d.path()).ends_with("3 bytes is too short for an IDX label header (8 bytes)"));
}

#[test]
fn rejects_count_mismatch_between_files() {
    let d = tempfile::tempdir().unwrap();
    good(d.path());
    write(d.path(), LBL, &labels(&[1, 2], 2049));
    let e = load_err(d.path());
    assert!(e.contains("t10k-labels-idx1-ubyte: holds 2 labels but"), "{e}");
    assert!(e.ends_with("t10k-images-idx3-ubyte holds 3 images"), "{e}");
}

#[test]
fn rejects_label_out_of_range() {
    let d = tempfile::tempdir().unwrap();
    good(d.path());
    write(d.path(), LBL, &labels(&[1, 10, 3], 2049));
    assert!(load_err(d.path()).ends_with("t10k-labels-idx1-ubyte: label 1 is 10, expected 0..9"));
}

#[test]
fn rejects_missing_files_and_bad_gzip() {
    let d = tempfile::tempdir().unwrap();
    let e = load_err(&d.path().join("absent"));
    assert!(e.contains("absent: MNIST directory not found"), "{e}");
    write(d.path(), LBL, &labels(&[1], 2049));
    let e = load_err(d.path());
    assert!(e.ends_with("t10k-images-idx3-ubyte: MNIST file missing (neither it nor t10k-images-idx3-ubyte.gz exists)"), "{e}");
    std::fs::write(d.path().join(format!("{IMG}.gz")), b"not gzip at all").unwrap();
    let e = load_err(d.path());
    assert!(e.contains("t10k-images-idx3-ubyte.gz: not a valid gzip file"), "{e}");
}
