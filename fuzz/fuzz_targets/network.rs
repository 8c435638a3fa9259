//! The network description (src/network.rs): parse and validate, derived bounds included.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(net) = cnn_cosim::network::Network::parse("fuzz.toml", text) {
        let _ = net.show();
    }
});
