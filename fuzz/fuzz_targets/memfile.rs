//! The `.mem` reader (src/memfile.rs): byte 0 picks the integer type (bits 1..=64, bit 6
//! signed), byte 1 how many values the file must hold, the rest is the file.
#![no_main]
use cnn_cosim::network::IntType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [ty, count, rest @ ..] = data else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let ty = IntType { bits: u32::from(ty % 64) + 1, signed: ty & 0x40 != 0 };
    let _ = cnn_cosim::memfile::parse_values("fuzz.mem", text, usize::from(*count), ty);
});
