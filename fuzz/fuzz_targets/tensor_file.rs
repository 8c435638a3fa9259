//! The tensor-file reader (src/tensor_file.rs): IDX of any dimensions and type, and .npy.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cnn_cosim::tensor_file::parse(std::path::Path::new("fuzz-tensor"), data);
});
