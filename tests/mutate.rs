//! `cnn-cosim mutate` (issue 24): mutants of a bound design built at run time and verified;
//! a real bug is killed at its layer, a bad option is one line.

mod harness;
use harness::*;

/// The id `mutate --list` gives the mutant at `place` (`file:line`) with `change`.
fn mutant_id(rtl: &str, place: &str, change: &str) -> String {
    let o = cosim(&["mutate", "--rtl", rtl, "--list"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains(&format!(" {place} ")) && l.contains(change))
        .unwrap_or_else(|| panic!("no {place} {change} in:\n{out}"));
    line.split_whitespace().next().unwrap().to_string()
}

#[test]
fn a_real_bug_is_killed_at_its_layer_and_dead_code_is_equivalent() {
    // The fc accumulator subtracting: fc1 is wrong on the RTL's own input.
    let bug = mutant_id("rtl", "rtl/cnn_fc_acc.v:50", "`+` → `-`");
    // In the one-file-per-output branch of cnn_fc's generate, which rtl/ does not elaborate
    // (PerOutputFiles = 0): Verilator generates the very same model.
    let dead = mutant_id("rtl", "rtl/cnn_fc.v:87", "`0` → `1`");
    let r = tempfile::tempdir().unwrap();
    let o = cosim(&[
        "mutate",
        "--rtl",
        "rtl",
        "--mutant",
        &bug,
        "--mutant",
        &dead,
        "--reports",
        r.path().to_str().unwrap(),
        "--",
        "--limit",
        "100",
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "mutation score 100.0 %: 1 killed, 0 survived, 1 equivalent, 0 stillborn (of 2)"
        ),
        "{out}"
    );
    let csv = read(r.path(), "mutants.csv");
    let row =
        |id: &str| csv.lines().find(|l| l.starts_with(&format!("{id},"))).unwrap().to_string();
    assert_eq!(
        row(&bug),
        format!("{bug},rtl/cnn_fc_acc.v,50,arith,`+` → `-`,killed,mismatch,fc1,layer-local,verify,image 0")
    );
    assert_eq!(
        row(&dead),
        format!(
            "{dead},rtl/cnn_fc.v,87,constant,`0` → `1`,equivalent,,,,,Verilator generates the same \
             model as for the original"
        )
    );
}

#[test]
fn the_same_seed_draws_the_same_mutants() {
    let list = |seed: &str| {
        let o = cosim(&["mutate", "--rtl", "rtl", "--count", "5", "--seed", seed, "--list"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        text(&o)
    };
    assert_eq!(list("7"), list("7"));
    assert_ne!(list("7"), list("8"));
    assert_eq!(list("7").lines().count(), 5, "{}", list("7"));
}

#[test]
fn options_that_cannot_apply_to_a_mutant_are_one_line() {
    for (args, says) in [
        (&["--", "--image", "3"][..], "--image cannot apply to each mutant"),
        (&["--", "--rtl", "rtl/two_conv"][..], "--rtl/--bind (the design is mutate's own --rtl)"),
        (&["--", "--no-such-option"][..], "the verify options: error: unexpected argument"),
        (&["--mutant", "99999"][..], "--mutant 99999: the design has mutants 0.."),
    ] {
        let mut all = vec!["mutate", "--rtl", "rtl"];
        all.extend_from_slice(args);
        let o = cosim(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn shards_merge_into_the_single_run_byte_for_byte() {
    let ids = [
        mutant_id("rtl", "rtl/cnn_fc_acc.v:50", "`+` → `-`"),
        mutant_id("rtl", "rtl/cnn_fc.v:87", "`0` → `1`"),
        mutant_id("rtl", "rtl/cnn_argmax.v:32", "`-` → `+`"),
    ];
    let run = |shard: Option<&str>| {
        let r = tempfile::tempdir().unwrap();
        let mut args = vec!["mutate", "--rtl", "rtl", "--reports", r.path().to_str().unwrap()];
        for id in &ids {
            args.extend(["--mutant", id]);
        }
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        args.extend(["--", "--limit", "50"]);
        let o = cosim(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        r
    };
    let (single, a, b) = (run(None), run(Some("1/2")), run(Some("2/2")));
    let m = tempfile::tempdir().unwrap();
    let o = cosim(&[
        "merge",
        a.path().to_str().unwrap(),
        b.path().to_str().unwrap(),
        "--out",
        m.path().to_str().unwrap(),
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("1 killed, 0 survived, 1 equivalent, 1 stillborn (of 3)"), "{out}");
    for f in ["mutants.csv", "index.html"] {
        assert_eq!(read(single.path(), f), read(m.path(), f), "{f}");
    }
    // The same shard twice overlaps.
    let o = cosim(&[
        "merge",
        a.path().to_str().unwrap(),
        a.path().to_str().unwrap(),
        "--out",
        m.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("the shards overlap"), "{}", text(&o));
}

/// yosys proves a widened internal wire equivalent, and does not prove a real change.
#[test]
fn yosys_proves_a_widened_wire_equivalent_and_not_a_real_bug() {
    use cnn_cosim::mutate::{equiv, verilog};
    let d = tempfile::tempdir().unwrap();
    let top = d.path().join("eq_top.v");
    let sum = d.path().join("eq_sum.v");
    std::fs::write(
        &top,
        "module eq_top (input wire [7:0] a_i, input wire [7:0] b_i, output wire [7:0] y_o);\n\
         \x20 eq_sum #(.W(8)) u_sum (.a_i(a_i), .b_i(b_i), .y_o(y_o));\n\
         endmodule\n",
    )
    .unwrap();
    let text = "module eq_sum #(parameter integer W = 4) (\n\
                \x20 input wire [W-1:0] a_i, input wire [W-1:0] b_i, output wire [W-1:0] y_o);\n\
                \x20 localparam integer SumW = W + 1;\n\
                \x20 wire [SumW-1:0] sum = a_i + b_i;\n\
                \x20 assign y_o = sum[W-1:0];\n\
                endmodule\n";
    std::fs::write(&sum, text).unwrap();
    let e = equiv::Elaboration {
        sources: vec![top, sum.clone()],
        top: "eq_top".into(),
        ..Default::default()
    };
    let edits = verilog::mutations(text);
    let find = |line: usize, change: &str| {
        edits
            .iter()
            .find(|x| x.line(text) == line && x.change == change)
            .unwrap_or_else(|| panic!("no {change} on line {line}: {edits:?}"))
    };
    // `SumW = W + 2`: one more bit the output never reads.
    let wider = equiv::prove(&e, &sum, find(3, "`1` → `2`"), &d.path().join("w")).unwrap();
    assert_eq!(
        wider.as_deref(),
        Some(
            "yosys proves eq_sum equivalent in its 1 parameterization (equiv_simple, \
             equiv_induct, 5 cycles)"
        )
    );
    // `a_i - b_i`: a different sum.
    let bug = equiv::prove(&e, &sum, find(4, "`+` → `-`"), &d.path().join("b")).unwrap();
    assert_eq!(bug, None);
}
