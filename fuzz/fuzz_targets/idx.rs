//! The MNIST IDX reader (src/mnist.rs): the first byte says what the rest is (bit 0: labels
//! rather than images; bit 1: gzip'd).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&what, bytes)) = data.split_first() else { return };
    let path = Path::new("fuzz-idx");
    let raw = if what & 2 != 0 {
        match cnn_cosim::mnist::gunzip(path, bytes) {
            Ok(raw) => raw,
            Err(_) => return,
        }
    } else {
        bytes.to_vec()
    };
    if what & 1 == 0 {
        let _ = cnn_cosim::mnist::parse_images(path, &raw);
    } else {
        let _ = cnn_cosim::mnist::parse_labels(path, &raw);
    }
});
