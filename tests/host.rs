//! Host-driven designs (issue 23): the harness as the host writes the weights and each
//! image over a bus (a load port, OBI), starts the design, waits for done and takes the
//! class, every tap placed by its coordinates — and says in words what went wrong when the
//! design never finishes, the bus never grants or a byte lane is lost.

mod harness;
use harness::*;
use std::path::PathBuf;

const OBI: &str = "tests/designs/host/obi.toml";

/// A binding beside the design (so its globs resolve) made from `from` with `edits`
/// applied; removed when dropped.
fn binding_variant(from: &str, edits: &[(&str, &str)]) -> tempfile::NamedTempFile {
    let mut text = std::fs::read_to_string(root().join(from)).unwrap();
    for (a, b) in edits {
        assert_eq!(text.matches(a).count(), 1, "{a:?} must occur once in {from}");
        text = text.replace(a, b);
    }
    let f = tempfile::Builder::new()
        .prefix(".variant-")
        .suffix(".toml")
        .tempfile_in(root().join("tests/designs/host"))
        .unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

fn path(f: &tempfile::NamedTempFile) -> PathBuf {
    f.path().to_path_buf()
}

/// The OBI design with its `Fault` parameter set.
fn fault(n: u32) -> tempfile::NamedTempFile {
    binding_variant(
        OBI,
        &[(
            "top = \"hs_obi_top\"",
            &format!("top = \"hs_obi_top\"\nparameters = {{ Fault = {n} }}"),
        )],
    )
}

#[test]
fn a_load_port_design_is_bit_exact_with_its_cycles_split() {
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--rtl", "tests/designs/host", "--limit", "2000"], r.path());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("PASS: 2000/2000 images bit-exact at every layer"), "{out}");
    // The load port takes a word a cycle: 196 image words, then 11,281 cycles of compute.
    assert!(
        out.contains(
            "cycles per image (first image write to class): 11477.0 = image load 196.0 + compute \
             11281.0 (start to class, 11281..11281); weights 958 per load"
        ),
        "{out}"
    );
    let summary = read(r.path(), "summary.csv");
    let header = summary.lines().next().unwrap();
    assert!(header.ends_with(",weight_cycles,load_cycles,compute_cycles"), "{header}");
    // Image 0 follows the segment's weight load; image 1 does not.
    let rows: Vec<&str> = summary.lines().skip(1).take(2).collect();
    assert!(rows[0].ends_with(",958,196,11281") && rows[0].starts_with("0,7,7,7,"), "{}", rows[0]);
    assert!(rows[1].ends_with(",,196,11281"), "{}", rows[1]);
}

#[test]
fn an_obi_design_is_bit_exact_through_its_registers_and_a_random_campaign() {
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--bind", OBI, "--limit", "500"], r.path());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("PASS: 500/500 images bit-exact at every layer"), "{out}");
    assert!(out.contains("host-driven over obi"), "{out}");
    // The grant drops pseudo-randomly: loading an image takes more than two cycles a word.
    let loads: Vec<u64> = column(&read(r.path(), "summary.csv"), "load_cycles")
        .iter()
        .map(|(_, v)| v.parse().unwrap())
        .collect();
    assert!(loads.iter().all(|&l| l > 2 * 196), "{loads:?}");
    // Random weights and images, extremes included: the weights go over the bus per set.
    let r = tempfile::tempdir().unwrap();
    let o = verify(
        &["--bind", OBI, "--stimulus", "random", "--seed", "5", "--sets", "3", "--count", "40"],
        r.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("120/120 images bit-exact"), "{}", text(&o));
}

#[test]
fn a_design_that_never_finishes_or_never_grants_is_a_timeout_said_in_words() {
    // Fault 1: done never rises. Each image times out after the binding's 20,000 cycles,
    // the status register's last value named; the design is reset for the next.
    let f = fault(1);
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--bind", path(&f).to_str().unwrap(), "--limit", "3"], r.path());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL: 0/3 images bit-exact; 3 timeouts"), "{out}");
    assert!(
        out.contains(
            "not done 20000 cycles after the start: the status register at 0x4 was polled"
        ) && out.contains("last 0x2, mask 0x1; the design is reset for the next image"),
        "{out}"
    );
    // Fault 2: the bus never grants. The first weight write is named; the segment's later
    // images are not run, and say why.
    let f = fault(2);
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--bind", path(&f).to_str().unwrap(), "--limit", "3"], r.path());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "no gnt within 20000 cycles for the write of conv1.weight word 0 (address 0x2000) \
             while the weights were written"
        ),
        "{out}"
    );
    let notes = column(&read(r.path(), "summary.csv"), "protocol");
    assert!(
        notes[1].1.starts_with("not run: the weights could not be written after a reset"),
        "{notes:?}"
    );
}

#[test]
fn a_bus_write_that_drops_a_byte_lane_is_caught_at_the_first_layer() {
    // Fault 3: byte lane 2 of every write is lost, image pixels and weights alike.
    let f = fault(3);
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--bind", path(&f).to_str().unwrap(), "--limit", "20"], r.path());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("first failure: image 0, layer conv1"), "{out}");
    assert_eq!(locally_wrong(r.path()).first().map(String::as_str), Some("conv1"), "{out}");
}

#[test]
fn rising_edge_taps_agree_under_verilator_and_icarus() {
    // Each layer's valid is a one-cycle pulse with idle cycles between: taken on its rising
    // edge, every beat is the same, in the shim and in the generated host testbench.
    let v = binding_variant(
        "tests/designs/host/binding.toml",
        &[
            (
                "valid = \"u_core.u_conv.conv_valid_q\"",
                "valid = \"u_core.u_conv.conv_valid_q\"\nedge = \"rising\"",
            ),
            (
                "valid = \"u_core.u_pool.pool_valid_q\"",
                "valid = \"u_core.u_pool.pool_valid_q\"\nedge = \"rising\"",
            ),
            (
                "valid = \"u_core.u_fc.logit_valid_q\"",
                "valid = \"u_core.u_fc.logit_valid_q\"\nedge = \"rising\"",
            ),
        ],
    );
    let bind = path(&v);
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--bind", bind.to_str().unwrap(), "--limit", "20"], r.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = cosim(&["icarus", "--bind", bind.to_str().unwrap(), "--limit", "2"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("PASS: 2/2 images bit-exact at every compared layer under Icarus"),
        "{out}"
    );
}

#[test]
fn coordinates_out_of_range_repeated_or_missing_are_protocol_notes() {
    // conv1's row read from its column register: every place of a row is given 22 times
    // over, the rest never.
    let v = binding_variant(
        "tests/designs/host/binding.toml",
        &[("row = \"u_core.u_conv.conv_row_q\"", "row = \"u_core.u_conv.conv_col_q\"")],
    );
    let r = tempfile::tempdir().unwrap();
    let o = verify(&["--bind", path(&v).to_str().unwrap(), "--limit", "2"], r.path());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let summary = read(r.path(), "summary.csv");
    let row = summary.lines().nth(1).unwrap();
    assert!(
        row.contains(
            "conv1: 1386 beats repeating a place already given, first beat 22 at channel 0, row \
             0, col 0"
        ) && row.contains("conv1: 1386 of its 1452 values never came"),
        "{row}"
    );
    assert_eq!(layer_counts(r.path(), "extra_beats")[0], ("conv1".to_string(), 2 * 1386));
}

#[test]
fn bad_host_programs_are_one_line_and_exit_2() {
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[("base = 0x3000", "base = 0x2000")],
            "regions \"conv1.weight\" (0x2000..0x2094) and \"fc1.bias\" (0x2000..0x2028) overlap",
        ),
        (
            &[("base = 0x4000", "base = 0x4000\nsize = 0x400")],
            "region \"fc1.weight\": 3630 values take 908 words (3632 address units), more than its size = 1024",
        ),
        (&[("gnt = \"obi_gnt_o\"\n", "")], "[bus]: obi needs its gnt signal (gnt = \"PORT\")"),
        (
            &[("protocol = \"obi\"", "protocol = \"obi\"\ndata_bits = 64")],
            "[bus] be \"obi_be_i\" is 4 bits wide in the design; the binding says 8",
        ),
        (
            &[("tensor = \"fc1.bias\"", "tensor = \"fc2.bias\"")],
            "region \"fc2.bias\": network \"seed\" has no such tensor",
        ),
        (
            &[("tensor = \"conv1.bias\"\nbase = 0x2400\nbits = 32", "tensor = \"conv1.bias\"\nbase = 0x2400\nbits = 4")],
            "region \"conv1.bias\": bits = 4, but the tensor's values are 8 bits signed (its declared range)",
        ),
        (
            &[("done = { read = 0x0004, mask = 0x1 }", "done = { read = 0x0004, port = \"x\" }")],
            "[host] done: give port = \"PORT\" or read = ADDRESS",
        ),
    ];
    for (edits, want) in cases {
        let v = binding_variant(OBI, edits);
        let r = tempfile::tempdir().unwrap();
        let o = verify(&["--bind", path(&v).to_str().unwrap(), "--limit", "1"], r.path());
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{want}: {out}");
        assert!(out.contains(want), "want {want:?}: {out}");
        assert_eq!(out.trim().lines().count(), 1, "{out}");
        assert!(!r.path().join("summary.csv").exists(), "{want}: a report was written");
    }
}
