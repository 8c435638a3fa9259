//! The binding file (src/sim/binding.rs, src/sim/binding_file.rs, src/sim/host.rs): parse and validate against the
//! seed network (given, so the target reads no files).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let net = cnn_cosim::network::Network::seed();
    if let Ok(b) = cnn_cosim::sim::binding::Binding::parse("fuzz.toml", Path::new("."), text, Some(net)) {
        let _ = b.show();
    }
});
