//! Integer tensors from files: IDX of any dimensions and element type (the format carries
//! both), raw or gzip'd, and NumPy `.npy` (format 1.0–3.0, C order, u8/i8/i16/i32, either
//! byte order): the forms data sets other than MNIST come in. Everything is validated before
//! any value is returned; every error is one line naming the file and the problem.
//! `verify`/`eval --images FILE --labels FILE` read them ([`crate::data`]).

use crate::mnist::gunzip;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// An element type a tensor file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    U8,
    I8,
    I16,
    I32,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::U8 | Dtype::I8 => 1,
            Dtype::I16 => 2,
            Dtype::I32 => 4,
        }
    }

    /// The name `net show` and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::U8 => "u8",
            Dtype::I8 => "i8",
            Dtype::I16 => "i16",
            Dtype::I32 => "i32",
        }
    }

    /// The element at the start of `b`.
    fn read(self, b: &[u8], big_endian: bool) -> i32 {
        match (self, big_endian) {
            (Dtype::U8, _) => b[0] as i32,
            (Dtype::I8, _) => b[0] as i8 as i32,
            (Dtype::I16, false) => i16::from_le_bytes([b[0], b[1]]) as i32,
            (Dtype::I16, true) => i16::from_be_bytes([b[0], b[1]]) as i32,
            (Dtype::I32, false) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            (Dtype::I32, true) => i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        }
    }
}

/// A tensor read from a file: its shape (outermost first), element type and values in C
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorFile {
    pub shape: Vec<usize>,
    pub dtype: Dtype,
    pub values: Vec<i32>,
}

/// The most elements a tensor file may hold: 2^30 (4 GiB of `i32`), so a header cannot make
/// the reader allocate without bound.
pub const MAX_ELEMENTS: usize = 1 << 30;

/// Reads an IDX (`.idx`, `-ubyte`, any of them `.gz`) or `.npy` file, by its contents: a
/// `.npy` starts with `\x93NUMPY`, an IDX with two zero bytes.
pub fn read(path: &Path) -> Result<TensorFile> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let bytes =
        if path.extension().is_some_and(|e| e == "gz") { gunzip(path, &bytes)? } else { bytes };
    parse(path, &bytes)
}

/// [`read`] on bytes already in memory; `path` only names the file in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<TensorFile> {
    if bytes.starts_with(b"\x93NUMPY") {
        parse_npy(path, bytes)
    } else {
        parse_idx(path, bytes)
    }
}

/// The element count of `shape`, refused past [`MAX_ELEMENTS`].
fn elements(path: &Path, shape: &[usize]) -> Result<usize> {
    let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    match n {
        Some(n) if n <= MAX_ELEMENTS => Ok(n),
        _ => bail!("{}: shape {shape:?} holds more than {MAX_ELEMENTS} elements", path.display()),
    }
}

/// IDX: two zero bytes, a type byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32; 0x0D f32 and 0x0E f64
/// are refused: quantize first), the number of dimensions, each dimension as a big-endian
/// u32, then the data, big-endian.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<TensorFile> {
    let p = path.display();
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        bail!("{p}: not an IDX or .npy file (an IDX file starts with two zero bytes)");
    }
    let dtype = match bytes[2] {
        0x08 => Dtype::U8,
        0x09 => Dtype::I8,
        0x0B => Dtype::I16,
        0x0C => Dtype::I32,
        0x0D | 0x0E => bail!("{p}: IDX holds floating-point data; quantize it to integers first"),
        t => bail!("{p}: IDX element type 0x{t:02x} is not one of u8, i8, i16, i32"),
    };
    let dims = bytes[3] as usize;
    if dims == 0 {
        bail!("{p}: IDX header has no dimensions");
    }
    let header = 4 + 4 * dims;
    if bytes.len() < header {
        bail!("{p}: {} bytes is too short for an IDX header of {dims} dimensions", bytes.len());
    }
    let shape: Vec<usize> = (0..dims)
        .map(|d| {
            let at = 4 + 4 * d;
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
        })
        .collect();
    let n = elements(path, &shape)?;
    let expected = header + n * dtype.size();
    if bytes.len() != expected {
        bail!(
            "{p}: file is {} bytes but its header promises {shape:?} {} ({expected} bytes)",
            bytes.len(),
            dtype.name()
        );
    }
    let values = bytes[header..].chunks_exact(dtype.size()).map(|b| dtype.read(b, true)).collect();
    Ok(TensorFile { shape, dtype, values })
}

/// NumPy `.npy`: `\x93NUMPY`, the format version, the header's length (u16 in 1.0, u32 in
/// 2.0/3.0, little-endian), the header (a Python dict literal of `descr`, `fortran_order` and
/// `shape`), then the data.
pub fn parse_npy(path: &Path, bytes: &[u8]) -> Result<TensorFile> {
    let p = path.display();
    if bytes.len() < 10 {
        bail!("{p}: {} bytes is too short for a .npy header", bytes.len());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        2 | 3 => bail!("{p}: {} bytes is too short for a .npy {major}.0 header", bytes.len()),
        _ => bail!("{p}: .npy format version {major}.{minor} is not 1.0, 2.0 or 3.0"),
    };
    let Some(header) = bytes.get(start..start.saturating_add(len)) else {
        bail!("{p}: the .npy header promises {len} bytes; the file ends before them");
    };
    let header =
        std::str::from_utf8(header).with_context(|| format!("{p}: the .npy header is not text"))?;
    let field = |key: &str| -> Result<&str> {
        let at = header
            .find(&format!("'{key}'"))
            .with_context(|| format!("{p}: the .npy header has no '{key}': {}", shown(header)))?;
        let rest = header[at + key.len() + 2..].trim_start();
        rest.strip_prefix(':')
            .map(str::trim_start)
            .with_context(|| format!("{p}: the .npy header's '{key}' has no value"))
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .with_context(|| format!("{p}: the .npy header's 'descr' is not a string"))?;
    let (dtype, big_endian) = match descr {
        "|u1" | "<u1" | ">u1" | "u1" => (Dtype::U8, false),
        "|i1" | "<i1" | ">i1" | "i1" => (Dtype::I8, false),
        "<i2" => (Dtype::I16, false),
        ">i2" => (Dtype::I16, true),
        "<i4" => (Dtype::I32, false),
        ">i4" => (Dtype::I32, true),
        d => bail!(
            "{p}: .npy dtype {} is not one of u8, i8, i16, i32 (|u1, |i1, <i2, <i4; floats: \
             quantize first)",
            shown(d)
        ),
    };
    if !field("fortran_order")?.starts_with("False") {
        bail!("{p}: .npy data in Fortran order; save it in C order (numpy.ascontiguousarray)");
    }
    let shape = field("shape")?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .with_context(|| format!("{p}: the .npy header's 'shape' is not a tuple"))?;
    let shape: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!("{p}: the .npy shape {} is not a tuple of integers", shown(shape))
        })?;
    let n = elements(path, &shape)?;
    let data = &bytes[start + len..];
    if data.len() != n * dtype.size() {
        bail!(
            "{p}: holds {} data bytes but its shape {shape:?} of {} needs {}{}",
            data.len(),
            dtype.name(),
            n * dtype.size(),
            if data.len() < n * dtype.size() { " (truncated)" } else { "" }
        );
    }
    let values = data.chunks_exact(dtype.size()).map(|b| dtype.read(b, big_endian)).collect();
    Ok(TensorFile { shape, dtype, values })
}

/// Text from a file, quoted and cut short for a one-line message.
fn shown(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(60) {
        Some((at, _)) => format!("{:?}…", &t[..at]),
        None => format!("{t:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` of `values` with `descr` and `shape`, as numpy.save writes format 1.0.
    pub(crate) fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        // numpy pads the header with spaces to a multiple of 64 bytes, ending in a newline.
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((header.len() as u16).to_le_bytes());
        b.extend(header.as_bytes());
        b.extend(data);
        b
    }

    fn err(bytes: &[u8]) -> String {
        let e = format!("{:#}", parse(Path::new("d.npy"), bytes).unwrap_err());
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    }

    #[test]
    fn npy_of_every_type_and_byte_order() {
        let t =
            parse(Path::new("a.npy"), &npy("|u1", "(2, 3)", &[0, 1, 2, 253, 254, 255])).unwrap();
        assert_eq!(
            (t.shape, t.dtype, t.values),
            (vec![2, 3], Dtype::U8, vec![0, 1, 2, 253, 254, 255])
        );
        let t = parse(Path::new("a.npy"), &npy("|i1", "(3,)", &[0x80, 0xff, 0x7f])).unwrap();
        assert_eq!(t.values, [-128, -1, 127]);
        let t = parse(Path::new("a.npy"), &npy("<i2", "(2,)", &[0x00, 0x80, 0x34, 0x12])).unwrap();
        assert_eq!(t.values, [-32768, 0x1234]);
        let t = parse(Path::new("a.npy"), &npy(">i2", "(1,)", &[0x12, 0x34])).unwrap();
        assert_eq!(t.values, [0x1234]);
        let t =
            parse(Path::new("a.npy"), &npy("<i4", "(1, 1, 1)", &(-5i32).to_le_bytes())).unwrap();
        assert_eq!((t.shape, t.values), (vec![1, 1, 1], vec![-5]));
        // A scalar's shape is ().
        let t = parse(Path::new("a.npy"), &npy("|u1", "()", &[9])).unwrap();
        assert_eq!((t.shape, t.values), (vec![], vec![9]));
    }

    #[test]
    fn idx_of_every_type() {
        // 2×2 i16, big-endian.
        let mut b = vec![0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 2];
        b.extend([0x80, 0x00, 0x7f, 0xff, 0x00, 0x01, 0xff, 0xff]);
        let t = parse(Path::new("a.idx"), &b).unwrap();
        assert_eq!(
            (t.shape, t.dtype, t.values),
            (vec![2, 2], Dtype::I16, vec![-32768, 32767, 1, -1])
        );
        let b = [0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9];
        assert_eq!(parse(Path::new("l.idx"), &b).unwrap().values, [7, 8, 9]);
        let b = [0, 0, 0x0C, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe];
        assert_eq!(parse(Path::new("l.idx"), &b).unwrap().values, [-2]);
    }

    #[test]
    fn malformed_files_are_one_line_naming_the_problem() {
        assert!(err(b"\x93NUMPY\x01").contains("too short for a .npy header"));
        assert!(err(&npy("<f4", "(1,)", &[0; 4])).contains(".npy dtype \"<f4\" is not one of"));
        let trunc = npy("<i2", "(4,)", &[0; 7]);
        let e = err(&trunc);
        assert!(
            e.contains("holds 7 data bytes but its shape [4] of i16 needs 8 (truncated)"),
            "{e}"
        );
        let mut fortran = npy("|u1", "(1,)", &[0]);
        let at = fortran.windows(5).position(|w| w == b"False").unwrap();
        fortran[at..at + 5].copy_from_slice(b"True ");
        assert!(err(&fortran).contains("Fortran order"));
        assert!(err(&npy("|u1", "(2, x)", &[0, 0])).contains("is not a tuple of integers"));
        let mut long = npy("|u1", "(1,)", &[0]);
        long[8] = 0xff; // the header length past the file's end
        assert!(err(&long).contains("the file ends before them"));
        let mut v9 = npy("|u1", "(1,)", &[0]);
        v9[6] = 9;
        assert!(err(&v9).contains("format version 9.0 is not 1.0, 2.0 or 3.0"));
        assert!(err(b"PK\x03\x04").contains("not an IDX or .npy file"));
        assert!(err(&[0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]).contains("floating-point data"));
        assert!(err(&[0, 0, 0x08, 2, 0, 0, 0, 2]).contains("too short for an IDX header of 2"));
        let e = err(&[0, 0, 0x08, 1, 0, 0, 0, 3, 1, 2]);
        assert!(e.contains("file is 10 bytes but its header promises [3] u8 (11 bytes)"), "{e}");
        // A header that promises more than memory allows is refused before allocating.
        let e = err(&[0, 0, 0x0C, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9]);
        assert!(e.contains("holds more than"), "{e}");
    }

    #[test]
    fn mnist_files_read_as_tensors() {
        // The committed MNIST test labels, when set up, are a 10,000-long u8 IDX vector.
        let path = Path::new("vectors/mnist/t10k-labels-idx1-ubyte");
        if path.is_file() {
            let t = read(path).unwrap();
            assert_eq!((t.shape, t.dtype), (vec![10_000], Dtype::U8));
            assert_eq!(t.values[..3], [7, 2, 1]);
        }
    }
}
