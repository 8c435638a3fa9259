//! Property tests over the parsers of user input — the IDX reader (raw and gzip), the `.mem`
//! reader, the network description and the binding file — on arbitrary and mutated inputs,
//! from a fixed seed so every run tries the same cases (the coverage-guided campaigns are
//! fuzz/, run by hand). Each parser must return, never panic; an error must be one line
//! naming the file; what it accepts must hold what it promises.

use cnn_cosim::memfile::parse_values;
use cnn_cosim::mnist::{gunzip, parse_images, parse_labels, PIXELS};
use cnn_cosim::network::{IntType, Network};
use cnn_cosim::sim::binding::Binding;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A runner with a fixed seed and `cases` cases.
fn runner(cases: u32) -> TestRunner {
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

/// An error of a parser: one line, naming the file.
fn one_line(e: &anyhow::Error, name: &str) -> Result<(), TestCaseError> {
    let msg = format!("{e:#}");
    prop_assert!(!msg.contains('\n'), "not one line: {msg:?}");
    prop_assert!(msg.contains(name), "does not name {name}: {msg:?}");
    Ok(())
}

/// `base` with up to `n` edits: a byte replaced, deleted or inserted at a position.
fn mutated(base: Vec<u8>, n: usize) -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), 0u8..3, any::<u8>());
    prop::collection::vec(edit, 0..=n).prop_map(move |edits| {
        let mut b = base.clone();
        for (at, kind, byte) in edits {
            let i = at.index(b.len() + 1);
            match kind {
                0 if i < b.len() => b[i] = byte,
                1 if i < b.len() => {
                    b.remove(i);
                }
                _ => b.insert(i, byte),
            }
        }
        b
    })
}

fn idx_images(n: u32) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [2051u32, n, 28, 28] {
        b.extend(v.to_be_bytes());
    }
    b.extend((0..n as usize * PIXELS).map(|i| (i * 7 % 256) as u8));
    b
}

#[test]
fn tensor_file_reader_never_panics() {
    use cnn_cosim::tensor_file::parse;
    let seeds = root().join("fuzz/seeds/tensor_file");
    let mut files: Vec<_> = std::fs::read_dir(&seeds).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    let mut r = runner(256);
    for f in files.into_iter().chain([root().join("vectors/fixtures/numpy_savetxt/README.md")]) {
        let bytes = std::fs::read(&f).unwrap();
        r.run(&mutated(bytes, 6), |b| {
            match parse(Path::new("data.npy"), &b) {
                // What reads holds exactly its shape's values.
                Ok(t) => prop_assert_eq!(t.values.len(), t.shape.iter().product::<usize>()),
                Err(e) => one_line(&e, "data.npy")?,
            }
            Ok(())
        })
        .unwrap();
    }
    // The committed MNIST-style IDX images parse as tensors too.
    let t = parse(Path::new("x.idx"), &idx_images(2)).unwrap();
    assert_eq!(t.shape, [2, 28, 28]);
}

#[test]
fn idx_reader_never_panics() {
    let path = Path::new("t10k-images-idx3-ubyte");
    let check = |bytes: &[u8]| -> Result<(), TestCaseError> {
        match parse_images(path, bytes) {
            Ok(images) => {
                let n = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
                prop_assert_eq!(images.len(), n);
                prop_assert_eq!(bytes.len(), 16 + n * PIXELS);
            }
            Err(e) => one_line(&e, "t10k-images-idx3-ubyte")?,
        }
        match parse_labels(path, bytes) {
            Ok(labels) => prop_assert_eq!(labels.len() + 8, bytes.len()),
            Err(e) => one_line(&e, "t10k-images-idx3-ubyte")?,
        }
        Ok(())
    };
    let mut r = runner(512);
    r.run(&prop::collection::vec(any::<u8>(), 0..64), |b| check(&b)).unwrap();
    r.run(&mutated(idx_images(2), 6), |b| check(&b)).unwrap();
    // Gzip: the valid file round-trips; damaged ones are errors naming the file.
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&idx_images(2)).unwrap();
        e.finish().unwrap()
    };
    assert_eq!(gunzip(Path::new("x.gz"), &gz).unwrap(), idx_images(2));
    r.run(&mutated(gz, 4), |b| {
        match gunzip(Path::new("t10k-images-idx3-ubyte.gz"), &b) {
            Ok(raw) => check(&raw)?,
            Err(e) => one_line(&e, "t10k-images-idx3-ubyte.gz")?,
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn mem_reader_never_panics() {
    // Tokens of the $readmemh syntax and near misses.
    let token = prop::sample::select(vec![
        "0",
        "7f",
        "80",
        "ff",
        "-1",
        "fff",
        "1_0",
        "x",
        "z",
        "@0",
        "@3",
        "@zz",
        "//c\n",
        "/*c*/",
        "/*",
        " ",
        "\n",
        "\t",
        "g",
        "0000000000000000000",
        "ffffffffffffffff",
    ]);
    let text = prop::collection::vec(token, 0..24).prop_map(|t| t.join(" "));
    let mut r = runner(1024);
    r.run(&(text, 1u32..=64, any::<bool>(), 0usize..12), |(text, bits, signed, n)| {
        let ty = IntType { bits, signed };
        match parse_values("w.mem", &text, n, ty) {
            Ok(v) => {
                prop_assert_eq!(v.len(), n);
                for x in v {
                    prop_assert!(
                        ty.min() <= x as i128 && x as i128 <= ty.max(),
                        "{x} out of {ty:?}"
                    );
                }
            }
            Err(e) => one_line(&e, "w.mem")?,
        }
        Ok(())
    })
    .unwrap();
    let bias = std::fs::read(root().join("vectors/weights/fc_bias.mem")).unwrap();
    let s8 = IntType { bits: 8, signed: true };
    r.run(&mutated(bias, 8), |b| {
        let text = String::from_utf8_lossy(&b);
        if let Err(e) = parse_values("fc_bias.mem", &text, 10, s8) {
            one_line(&e, "fc_bias.mem")?;
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn network_description_never_panics() {
    let mut r = runner(384);
    let two = std::fs::read_to_string(root().join("vectors/networks/two_conv.toml")).unwrap();
    // File patterns per (output, input) pair, too.
    let pairs = two
        .replace("conv2_weight_{o}.mem", "conv2_weight_{o+1}{i+1}.txt")
        .replace("neuron_weights_{o}.mem", "fc_{o}_{i}.mem");
    assert!(Network::parse("pairs.toml", &pairs).is_ok());
    let texts = [
        std::fs::read(root().join("vectors/networks/seed.toml")).unwrap(),
        two.into_bytes(),
        pairs.into_bytes(),
        // Requantization: multipliers, shifts per channel, zero points, every rounding form.
        std::fs::read(root().join("vectors/fixtures/requant.toml")).unwrap(),
        // avgpool (window size and reciprocal), clamp, global_avgpool.
        std::fs::read(root().join("vectors/fixtures/pooling.toml")).unwrap(),
        // A connection table and groups.
        std::fs::read(root().join("vectors/fixtures/sparse.toml")).unwrap(),
        // A residual add and a named input.
        std::fs::read(root().join("vectors/fixtures/residual.toml")).unwrap(),
        // rescale and pad.
        std::fs::read(root().join("vectors/fixtures/input_transforms.toml")).unwrap(),
        // Multipliers and shifts loaded with the weights, a [train] recipe.
        std::fs::read(root().join("vectors/networks/lenet5.toml")).unwrap(),
        // A 3×8×8 int8 input from files, a float divisor.
        std::fs::read(root().join("vectors/fixtures/int8_input.toml")).unwrap(),
    ];
    for text in texts {
        r.run(&mutated(text, 6), |b| {
            let text = String::from_utf8_lossy(&b);
            match Network::parse("net.toml", &text) {
                Ok(net) => prop_assert!(!net.show().is_empty()),
                Err(e) => one_line(&e, "net.toml")?,
            }
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn binding_file_never_panics() {
    let mut r = runner(384);
    // The new keys too: top-level signals and arrays (toplevel), beats and edge (strobe),
    // per-pair weight files (pairs, against its own network), host programs (host, lenet5).
    for (file, net) in [
        ("rtl/binding.toml", "seed"),
        ("tests/designs/stall/binding.toml", "seed"),
        ("tests/bindings/internal.toml", "seed"),
        ("tests/designs/toplevel/binding.toml", "seed"),
        ("tests/designs/strobe/binding.toml", "seed"),
        ("tests/designs/pairs/binding.toml", "two_conv"),
        // Host programs: a load port, OBI, AXI4-Lite; tap qualifiers and coordinates.
        ("tests/designs/host/binding.toml", "seed"),
        ("tests/designs/host/obi.toml", "seed"),
        ("rtl/lenet5/binding.toml", "lenet5"),
    ] {
        let text = std::fs::read(root().join(file)).unwrap();
        let net = Network::find(net).unwrap();
        let parsed = Binding::parse(
            "b.toml",
            Path::new("."),
            &String::from_utf8_lossy(&text),
            Some(net.clone()),
        );
        assert!(parsed.is_ok(), "{file}: {parsed:?}");
        r.run(&mutated(text, 6), |b| {
            let text = String::from_utf8_lossy(&b);
            match Binding::parse("b.toml", Path::new("."), &text, Some(net.clone())) {
                Ok(b) => prop_assert!(!b.show().is_empty()),
                Err(e) => one_line(&e, "b.toml")?,
            }
            Ok(())
        })
        .unwrap();
    }
}
