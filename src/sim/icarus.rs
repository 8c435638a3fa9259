//! A second simulator: the same RTL under Icarus Verilog (`iverilog -g2012`), every tap
//! compared with the reference. It shows the RTL does not rely on Verilator-only semantics.
//! The project's `rtl/` is driven by its testbench `rtl/tb/cnn_tb.v`; a design bound by a
//! binding (`--rtl DIR` / `--bind FILE`) by a testbench generated from the binding
//! ([`bound_testbench`]), which reads every tap by hierarchical reference.

use crate::compare::{compare, Capture};
use crate::mnist::{self, Split};
use crate::network::Network;
use crate::reference;
use crate::sim::binding::Binding;
use crate::sim::model;
use crate::weights::Params;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// What `icarus` runs.
#[derive(Debug, Clone)]
pub struct IcarusArgs {
    pub mnist: std::path::PathBuf,
    /// `--weights`; `None`: the network description's own.
    pub weights: Option<std::path::PathBuf>,
    pub start: usize,
    pub limit: usize,
    /// The testbench's LFSR bubbles between pixels (`rtl/` only).
    pub bubbles: bool,
    /// A bound design instead of `rtl/`: its directory, and/or its binding file.
    pub rtl: Option<std::path::PathBuf>,
    pub bind: Option<std::path::PathBuf>,
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| {
        format!("cannot run {what} (scripts/setup.sh test installs Icarus Verilog)")
    })?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Parses the testbench's tap log into one capture per image (split at `class` lines).
pub fn parse_log(path: &Path, text: &str) -> Result<Vec<Capture>> {
    parse_log_for(path, text, &model::taps())
}

/// [`parse_log`] for a design bringing out `bound` (layer, values per beat).
fn parse_log_for(path: &Path, text: &str, bound: &[(String, usize)]) -> Result<Vec<Capture>> {
    let mut images = Vec::new();
    let empty = Capture { taps: vec![Vec::new(); bound.len()], class: None };
    let mut cur = empty.clone();
    for (n, line) in text.lines().enumerate() {
        let mut f = line.split_whitespace();
        let tag = f.next().unwrap_or("");
        let nums: Vec<i64> = f
            .map(|v| v.parse())
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}:{}: not a tap line: {line:?}", path.display(), n + 1))?;
        let tap = bound.iter().position(|(name, lanes)| name == tag && *lanes == nums.len());
        match (tag, nums.len()) {
            _ if tap.is_some() => cur.taps[tap.expect("matched")].extend_from_slice(&nums),
            ("class", 1) => {
                cur.class = Some(nums[0] as u8);
                images.push(std::mem::replace(&mut cur, empty.clone()));
            }
            ("cycles", 1) | ("", 0) => {}
            _ => bail!("{}:{}: not a tap line: {line:?}", path.display(), n + 1),
        }
    }
    Ok(images)
}

/// Runs the sample under Icarus; Ok(true) when every tap of every image equals the reference.
pub fn run(a: &IcarusArgs) -> Result<bool> {
    if a.rtl.is_some() || a.bind.is_some() {
        return run_bound(a);
    }
    let test = mnist::load(&a.mnist, Split::Test)?;
    let net = Network::seed();
    model::check_taps(&net)?;
    let wdir = crate::weights::dir(&net, a.weights.as_deref());
    let params = Params::load(&net, &wdir)?;
    let taps = net.taps();
    let model = reference::Model::new(&net, &params);
    let end = (a.start + a.limit).min(test.len());
    if a.start >= end {
        bail!("--start {} --limit {} selects no test image", a.start, a.limit);
    }
    let weights = wdir
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve weight directory", wdir.display()))?;
    let work = tempfile::Builder::new().prefix("cnn-cosim-icarus-").tempdir()?;
    let rtl_dir = Path::new(crate::sim::binding::RTL_DIR);
    let mut sources: Vec<_> = std::fs::read_dir(rtl_dir)
        .with_context(|| format!("{}: cannot read RTL directory", rtl_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "v"))
        .collect();
    sources.sort();
    let tb = rtl_dir.join("tb/cnn_tb.v");
    let vvp = work.path().join("tb.vvp");
    run_tool(
        Command::new("iverilog")
            .args(["-g2012", "-s", "cnn_tb", "-o"])
            .arg(&vvp)
            .args(&sources)
            .arg(&tb),
        "iverilog",
    )?;
    let images = &test.images[a.start..end];
    let sim = |pixels: &Path, out: &Path, count: usize| {
        let mut sim = Command::new("vvp");
        sim.arg("-n")
            .arg(&vvp)
            .arg(format!("+weights={}", weights.display()))
            .arg(format!("+pixels={}", pixels.display()))
            .arg(format!("+images={count}"))
            .arg(format!("+out={}", out.display()));
        if a.bubbles {
            sim.args(["+bubbles", "+seed=7"]);
        }
        sim
    };
    let shards = Shards::of(images.len());
    let run = shards.simulate(work.path(), (images, u8::MAX), sim, parse_log)?;
    let header = format!(
        "icarus: MNIST test images {}..{} through {} under Icarus Verilog, back-to-back{}{}",
        a.start,
        end - 1,
        rtl_dir.display(),
        if a.bubbles { ", with bubbles" } else { "" },
        shards.say(", ")
    );
    let keep: Vec<_> = (0..taps.len()).map(|i| (i, crate::compare::Beats::Exact)).collect();
    Ok(judge(&header, &model, &keep, images, a.start, &run, "every layer"))
}

/// Icarus simulates on one thread, so a run is split into one contiguous share of the
/// images per core, each its own `vvp` process from its own reset, all at once.
struct Shards {
    /// Images per share (the last may have fewer).
    size: usize,
    count: usize,
}

impl Shards {
    fn of(images: usize) -> Shards {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let count = cores.min(images).max(1);
        let size = images.div_ceil(count).max(1);
        Shards { size, count: images.div_ceil(size).max(1) }
    }

    /// For the header: how the images were split (after `sep`), or nothing for one share.
    fn say(&self, sep: &str) -> String {
        if self.count > 1 {
            format!("{sep}{} vvp processes at once, each from its own reset", self.count)
        } else {
            String::new()
        }
    }

    /// Writes each share's pixels, runs `sim(pixels, out, images)` for every share at once and
    /// parses each share's log with `parse`.
    fn simulate(
        &self,
        work: &Path,
        (images, mask): (&[mnist::Image], u8),
        sim: impl Fn(&Path, &Path, usize) -> Command,
        parse: impl Fn(&Path, &str) -> Result<Vec<Capture>>,
    ) -> Result<Simulated> {
        let bytes = |share: &[mnist::Image]| {
            let mut hex = String::with_capacity(share.len() * share[0].len() * 3);
            for img in share {
                for &p in img.iter() {
                    let _ = writeln!(hex, "{:02x}", p as u8 & mask);
                }
            }
            hex
        };
        self.simulate_with(work, images, bytes, sim, parse)
    }

    /// [`Shards::simulate`] with each share's stimulus file written by `stimulus`.
    fn simulate_with(
        &self,
        work: &Path,
        images: &[mnist::Image],
        stimulus: impl Fn(&[mnist::Image]) -> String,
        sim: impl Fn(&Path, &Path, usize) -> Command,
        parse: impl Fn(&Path, &str) -> Result<Vec<Capture>>,
    ) -> Result<Simulated> {
        let mut runs = Vec::new();
        for (k, share) in images.chunks(self.size).enumerate() {
            let hex = stimulus(share);
            let pixels = work.join(format!("pixels{k}.hex"));
            std::fs::write(&pixels, hex)
                .with_context(|| format!("{}: cannot write", pixels.display()))?;
            let out = work.join(format!("taps{k}.txt"));
            let mut cmd = sim(&pixels, &out, share.len());
            cmd.stdin(std::process::Stdio::null());
            let child =
                cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            let child = child
                .spawn()
                .context("cannot run vvp (scripts/setup.sh test installs Icarus Verilog)")?;
            runs.push((child, out, share.len()));
        }
        let mut caps = Vec::new();
        let mut reported = 0;
        for (child, out, len) in runs {
            let o = child.wait_with_output().context("vvp")?;
            if !o.status.success() {
                bail!(
                    "vvp failed: {}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            let text = std::fs::read_to_string(&out)
                .with_context(|| format!("{}: no tap log", out.display()))?;
            let mut got = parse(&out, &text)?;
            reported += got.len();
            let empty = Capture { taps: Vec::new(), class: None };
            got.resize(len, empty);
            caps.extend(got);
        }
        Ok(Simulated { caps, reported })
    }
}

/// What the testbenches reported.
struct Simulated {
    /// In image order, one per image: a share that reported fewer images is padded with
    /// empty captures (no class), so no image is judged on another's.
    caps: Vec<Capture>,
    /// How many images the testbenches reported in all.
    reported: usize,
}

/// Compares the testbench's captures of `images` (the first being test image `start`) with
/// the reference on the network taps at positions `keep` (each with its binding's beat rule),
/// prints the header, the counts per layer and the verdict; true when every image is
/// bit-exact on them.
fn judge(
    header: &str,
    model: &reference::Model,
    keep: &[(usize, crate::compare::Beats)],
    images: &[mnist::Image],
    start: usize,
    run: &Simulated,
    every: &str,
) -> bool {
    let all = model.net.taps();
    let taps: Vec<_> = keep.iter().map(|&(i, _)| all[i].clone()).collect();
    let beats: Vec<_> = keep.iter().map(|&(_, b)| b).collect();
    let mut counts = vec![0u64; taps.len()];
    let (mut missing, mut extra) = (vec![0u64; taps.len()], vec![0u64; taps.len()]);
    let mut bad_images = 0;
    let mut first_bad = None;
    for (i, img) in images.iter().enumerate() {
        let mut expected = model.run(img);
        if keep.len() != expected.taps.len() {
            let mut full = std::mem::take(&mut expected.taps);
            expected.taps = keep.iter().map(|&(k, _)| std::mem::take(&mut full[k])).collect();
        }
        let got = match run.caps.get(i) {
            Some(c) if c.class.is_some() => c.clone(),
            _ => Capture::for_taps(&taps),
        };
        let cmp = compare(model, &taps, &beats, &expected, &got, 0);
        for t in 0..taps.len() {
            counts[t] += cmp.counts[t];
            missing[t] += cmp.missing_beats[t];
            extra[t] += cmp.extra_beats[t];
        }
        if !cmp.is_clean() {
            bad_images += 1;
            first_bad.get_or_insert((start + i, cmp.first_bad_layer()));
        }
    }
    let n = images.len();
    println!("{header}");
    for (t, tap) in taps.iter().enumerate() {
        let beats = match (missing[t], extra[t]) {
            (0, 0) => String::new(),
            (m, e) => format!("; beats: {m} missing, {e} extra"),
        };
        println!("  {:<6} {} mismatching elements{beats}", tap.name, counts[t]);
    }
    if run.reported != n {
        println!("FAIL: the testbench reported {} images, expected {n}", run.reported);
        return false;
    }
    match first_bad {
        None => println!("PASS: {n}/{n} images bit-exact at {every} under Icarus"),
        Some((img, layer)) => println!(
            "FAIL: {}/{n} images bit-exact under Icarus; first failure: image {img}, layer {}",
            n - bad_images,
            layer.map_or("?", |l| taps[l].name.as_str())
        ),
    }
    first_bad.is_none()
}

/// A testbench for `b`'s design: resets it, streams `+images=N` (at most and by default
/// `images`) images from `+pixels=FILE`
/// (hex bytes, raster order) through its input as the binding says (valid/ready
/// handshake, pixels per beat, no valid: one pixel per clock from `start_after_reset`,
/// a reset before every image when `between = "reset"`, idle cycles for `idle:N`), and
/// writes every tap beat and class read by hierarchical reference to `+out=FILE` in
/// `rtl/tb/cnn_tb.v`'s log format. The design's inputs are set at the falling edge and a
/// beat counts as accepted when `ready` is high just before the rising edge.
pub fn bound_testbench(b: &Binding, images: usize, weights: &Path) -> Result<String> {
    let top = &b.design.top;
    let pixels = b.network.input_len();
    let lanes = b.input.lanes.max(1);
    let (active, idle) = match b.reset.active {
        crate::sim::binding::Level::Low => ("1'b0", "1'b1"),
        crate::sim::binding::Level::High => ("1'b1", "1'b0"),
    };
    let between: crate::sim::binding::Between =
        b.between.parse().map_err(|e: String| anyhow::anyhow!("{}: {e}", b.source))?;
    let idle_between = match between {
        crate::sim::binding::Between::Idle(n) => n,
        _ => 0,
    };
    let reset_each = between == crate::sim::binding::Between::Reset;
    let timeout = b.timeout.unwrap_or(4 * pixels as u64);
    let hier = |s: &str| format!("u_dut.{s}");
    // One element of a tap beat: lane k of a packed signal, or a whole per-lane signal.
    let element = |sig: &str, lo: u32, bits: u32, signed: bool| {
        let e = format!("{}[{}:{lo}]", hier(sig), lo + bits - 1);
        if signed {
            format!("$signed({e})")
        } else {
            e
        }
    };
    // A rising-edge valid fires when high after a sample where it was low: `seen_q[n]` holds
    // its last sample, taken at every falling edge (in reset too), as the shim does.
    let mut edges: Vec<String> = Vec::new();
    let fires = |valid: &str, edge: crate::sim::binding_file::Edge, edges: &mut Vec<String>| {
        let v = hier(valid);
        match edge {
            crate::sim::binding_file::Edge::Level => v,
            crate::sim::binding_file::Edge::Rising => {
                edges.push(v.clone());
                format!("{v} && !seen_q[{}]", edges.len() - 1)
            }
        }
    };
    let mut monitor = String::new();
    for t in &b.taps {
        let sigs = t.data.expand().map_err(|e| anyhow::anyhow!("{}: {e}", b.source))?;
        let elems: Vec<String> = if sigs.len() == 1 {
            (0..t.lanes as u32).map(|k| element(&sigs[0], k * t.bits, t.bits, t.signed)).collect()
        } else {
            sigs.iter().map(|s| element(s, 0, t.bits, t.signed)).collect()
        };
        let fmt = vec!["%0d"; elems.len()].join(" ");
        let _ = writeln!(
            monitor,
            "      if ({}) $fwrite(fd, \"{} {fmt}\\n\", {});",
            fires(&t.valid, t.edge, &mut edges),
            t.layer,
            elems.join(", ")
        );
    }
    let ports = {
        let mut p = vec![format!(".{}(clk)", b.clock.port), format!(".{}(rst)", b.reset.port)];
        let sigs = b.input.data.expand().map_err(|e| anyhow::anyhow!("{}: {e}", b.source))?;
        if sigs.len() == 1 {
            p.push(format!(".{}(data)", sigs[0]));
        } else {
            for (k, s) in sigs.iter().enumerate() {
                p.push(format!(".{s}(data[{}:{}])", 8 * k + 7, 8 * k));
            }
        }
        if let Some(v) = &b.input.valid {
            p.push(format!(".{v}(valid)"));
        }
        p.join(",\n    ")
    };
    let params = params_of(b, Some(weights));
    let ready = b.input.ready.as_deref().map_or("1'b1".to_string(), hier);
    let start = if b.input.valid.is_none() { b.input.start_after_reset } else { 0 };
    let class_valid = fires(&b.class.valid, b.class.edge, &mut edges);
    let class_data = hier(&b.class.data);
    let n_edges = edges.len().max(1);
    let track: String =
        edges.iter().enumerate().map(|(n, v)| format!("    seen_q[{n}] <= {v};\n")).collect();
    Ok(format!(
        r#"// Generated by cnn-cosim (src/sim/icarus.rs) from {source}: drives {top} as its binding says.
`timescale 1ns/1ps
module cnn_bound_tb;
  localparam integer Pixels = {pixels};
  localparam integer Lanes = {lanes};
  localparam integer Images = {images};  // capacity; +images=N runs the first N
  reg clk = 1'b0;
  reg rst = {active};
  reg valid = 1'b0;
  reg [8*Lanes-1:0] data = {{(8*Lanes){{1'b0}}}};
  reg [7:0] pixels [0:Images*Pixels-1];
  reg [8*1024-1:0] pixfile, outfile;
  integer fd, img, b, k, classes, guard, images;

  {top} {params}u_dut (
    {ports}
  );

  always #5 clk = ~clk;

  // Taps then class, read after each rising edge (at the falling edge).
  reg [{n_edges}-1:0] seen_q = {{{n_edges}{{1'b0}}}};
  always @(negedge clk) begin
    if (rst == {idle}) begin
{monitor}      if ({class_valid}) begin
        $fwrite(fd, "class %0d\n", {class_data});
        classes = classes + 1;
      end
    end
{track}  end

  task reset_dut;
    begin
      @(negedge clk);
      rst = {active};
      valid = 1'b0;
      repeat ({reset_cycles}) @(negedge clk);
      rst = {idle};
      repeat ({start}) begin
        @(posedge clk);
        @(negedge clk);
      end
    end
  endtask

  initial begin
    classes = 0;
    if (!$value$plusargs("pixels=%s", pixfile)) $fatal(1, "cnn_bound_tb: +pixels=FILE missing");
    if (!$value$plusargs("out=%s", outfile)) $fatal(1, "cnn_bound_tb: +out=FILE missing");
    if (!$value$plusargs("images=%d", images)) images = Images;
    if (images > Images) $fatal(1, "cnn_bound_tb: +images=%0d exceeds %0d", images, Images);
    $readmemh(pixfile, pixels);
    fd = $fopen(outfile, "w");
    reset_dut;
    for (img = 0; img < images; img = img + 1) begin
      if (img > 0 && {reset_each}) begin
        guard = 0;
        while (classes < img && guard < {timeout}) begin
          @(negedge clk);
          guard = guard + 1;
        end
        reset_dut;
      end
      if (img > 0) repeat ({idle_between}) @(negedge clk);
      for (b = 0; b < Pixels / Lanes; b = b + 1) begin
        for (k = 0; k < Lanes; k = k + 1) data[8*k +: 8] = pixels[img*Pixels + b*Lanes + k];
        valid = 1'b1;
        guard = 0;
        @(posedge clk);
        while (!({ready}) && guard < {timeout}) begin
          @(posedge clk);
          guard = guard + 1;
        end
        @(negedge clk);
        valid = 1'b0;
      end
    end
    guard = 0;
    while (classes < images && guard < {timeout}) begin
      @(negedge clk);
      guard = guard + 1;
    end
    $fclose(fd);
    $finish;
  end
endmodule
"#,
        source = b.source,
        reset_cycles = b.reset.cycles,
        reset_each = reset_each as u8,
    ))
}

/// Writes the generated testbench `tb` into `work` and compiles it with `b`'s design (its
/// sources, include directories and defines); returns the `vvp` file.
fn compile(b: &Binding, work: &Path, tb: &str) -> Result<std::path::PathBuf> {
    let path = work.join("cnn_bound_tb.v");
    std::fs::write(&path, tb).with_context(|| format!("{}: cannot write", path.display()))?;
    let sources = crate::sim::verilate::sources(b)?;
    let vvp = work.join("tb.vvp");
    let mut cc = Command::new("iverilog");
    cc.args(["-g2012", "-s", "cnn_bound_tb", "-o"]).arg(&vvp);
    for inc in &b.design.include_dirs {
        cc.arg(format!("-I{}", b.dir.join(inc).display()));
    }
    for (k, v) in &b.design.defines {
        cc.arg(format!("-D{k}={v}"));
    }
    run_tool(cc.args(&sources).arg(&path), "iverilog")?;
    Ok(vvp)
}

/// `icarus --rtl DIR`: the bound design under Icarus with a generated testbench.
fn run_bound(a: &IcarusArgs) -> Result<bool> {
    let rtl = a.rtl.clone().unwrap_or_else(|| std::path::PathBuf::from("."));
    let b = Binding::find(&rtl, a.bind.as_deref())?;
    if a.bubbles {
        bail!("--bubbles: the generated testbench of a bound design streams without bubbles");
    }
    let net = &b.network;
    if b.host.is_some() {
        return run_host(a, &b);
    }
    crate::sim::driver::check_input_width(net)?;
    let test = crate::data::Source::from_args(net, &a.mnist, None, None)?.load(net)?;
    let params = Params::load(net, &crate::weights::dir(net, a.weights.as_deref()))?;
    let end = (a.start + a.limit).min(test.len());
    if a.start >= end {
        bail!("--start {} --limit {} selects no test image", a.start, a.limit);
    }
    let work = tempfile::Builder::new().prefix("cnn-cosim-icarus-").tempdir()?;
    // The weights as the design reads them.
    let wdir = work.path().join("weights");
    let layout = if b.weights.files.is_empty() { net } else { &b.design_net };
    params.save(layout, &wdir)?;
    let images = &test.images[a.start..end];
    let shards = Shards::of(images.len());
    let vvp = compile(&b, work.path(), &bound_testbench(&b, shards.size, &wdir)?)?;
    let sim = |pixels: &Path, out: &Path, count: usize| {
        let mut sim = Command::new("vvp");
        sim.arg("-n")
            .arg(&vvp)
            .arg(format!("+pixels={}", pixels.display()))
            .arg(format!("+out={}", out.display()))
            .arg(format!("+images={count}"))
            .args(b.weight_args(&wdir));
        if b.weights.load == crate::sim::binding::WeightLoad::Workdir {
            sim.current_dir(&wdir);
        }
        sim
    };
    let bound: Vec<(String, usize)> = b.taps.iter().map(|t| (t.layer.clone(), t.lanes)).collect();
    let parse = |out: &Path, text: &str| parse_log_for(out, text, &bound);
    let mask = crate::sim::driver::lane_mask(net.input_type.bits);
    let run = shards.simulate(work.path(), (images, mask), sim, parse)?;
    let all = net.taps();
    let keep: Vec<_> = (0..all.len())
        .filter(|&i| all[i].is_class || bound.iter().any(|(n, _)| *n == all[i].name))
        .map(|i| (i, b.tap(&all[i].name).map_or(crate::compare::Beats::Exact, |t| t.beats)))
        .collect();
    let model = reference::Model::new(net, &params);
    let header = format!(
        "icarus: MNIST test images {}..{} through {} bound by {} under Icarus Verilog \
         (generated testbench, {}{})",
        a.start,
        end - 1,
        b.design.top,
        b.source,
        b.between,
        shards.say("; ")
    );
    Ok(judge(&header, &model, &keep, images, a.start, &run, "every compared layer"))
}

/// A testbench for a host-driven design `b` (its `[bus]`, `[host]` and regions): resets it,
/// writes the weights of `+weights=FILE` (`weights` words), then per image of `+words=FILE`
/// (`per_image` words each; `+images=N` of at most `images`) writes its words, starts it,
/// waits for done and takes the class, with the bus protocol's own tasks
/// ([`crate::sim::bus::Protocol::verilog`]); every tap beat (its coordinates, then its
/// values) and each class go to `+out=FILE` in `rtl/tb/cnn_tb.v`'s log format. A word is
/// four 64-bit hex lines: address, data, strobe, select. Inputs are set just after a falling
/// edge; the design's outputs are sampled 1 ns before the rising edge (`step`), as the
/// Verilator driver reads them.
pub fn host_testbench(
    b: &Binding,
    images: usize,
    weights: usize,
    per_image: usize,
) -> Result<String> {
    use crate::sim::host::{Class, Done, Start};
    let h = b.host.as_ref().ok_or_else(|| anyhow::anyhow!("{}: not host-driven", b.source))?;
    let top = &b.design.top;
    let (active, idle) = match b.reset.active {
        crate::sim::binding::Level::Low => ("1'b0", "1'b1"),
        crate::sim::binding::Level::High => ("1'b1", "1'b0"),
    };
    let hier = |s: &str| format!("u_dut.{s}");
    let width = |w: Option<u32>| w.unwrap_or(64).max(1);
    let mut decl = String::new();
    let mut ports = vec![format!(".{}(clk)", b.clock.port), format!(".{}(rst)", b.reset.port)];
    let roles = h.protocol.inputs().iter().map(|r| r.key).chain(["start"]);
    for (key, (_, sig, w)) in roles.zip(&h.ports.inputs) {
        let _ = writeln!(decl, "  reg [{}:0] h_{key} = 0;", width(*w) - 1);
        if !sig.is_empty() {
            ports.push(format!(".{sig}(h_{key})"));
        }
    }
    let mut sample = String::new();
    let outs = h.protocol.outputs().iter().map(|r| r.key);
    for (key, (_, sig, w)) in outs.zip(&h.ports.outputs) {
        let src = if sig.is_empty() { "0".to_string() } else { hier(sig) };
        let _ = writeln!(
            decl,
            "  wire [{}:0] h_{key} = {src};\n  reg [63:0] s_{key} = 0;",
            width(*w) - 1
        );
        let _ = writeln!(sample, "      s_{key} = h_{key};");
    }
    if let Some((d, _)) = &h.ports.done {
        let _ = writeln!(decl, "  reg s_done = 1'b0;");
        let _ = writeln!(sample, "      s_done = {};", hier(d));
    }
    if let Some(c) = &h.ports.class {
        let _ = writeln!(decl, "  reg [63:0] s_class = 0;");
        let _ = writeln!(sample, "      s_class = {};", hier(c));
    }
    let mut monitor = String::new();
    // A rising-edge valid fires when high after a sample where it was low: `seen_q[n]` holds
    // its last sample, taken at every falling edge (in reset too), as the shim does.
    let mut edges: Vec<String> = Vec::new();
    for t in &b.taps {
        let sigs = t.data.expand().map_err(|e| anyhow::anyhow!("{}: {e}", b.source))?;
        let element = |sig: &str, lo: u32| {
            let e = format!("{}[{}:{lo}]", hier(sig), lo + t.bits - 1);
            if t.signed {
                format!("$signed({e})")
            } else {
                e
            }
        };
        let mut elems: Vec<String> =
            t.at.as_ref()
                .map(|a| a.signals())
                .unwrap_or_default()
                .iter()
                .map(|(_, s)| hier(s))
                .collect();
        if sigs.len() == 1 {
            elems.extend((0..t.lanes as u32).map(|k| element(&sigs[0], k * t.bits)));
        } else {
            elems.extend(sigs.iter().map(|s| element(s, 0)));
        }
        let when = t
            .when
            .as_ref()
            .map(|q| format!(" && {} == {}", hier(&q.signal), q.equals))
            .unwrap_or_default();
        let valid = match t.edge {
            crate::sim::binding_file::Edge::Level => hier(&t.valid),
            crate::sim::binding_file::Edge::Rising => {
                edges.push(hier(&t.valid));
                format!("{} && !seen_q[{}]", hier(&t.valid), edges.len() - 1)
            }
        };
        let _ = writeln!(
            monitor,
            "      if ({valid}{when}) $fwrite(fd, \"{} {}\\n\", {});",
            t.layer,
            vec!["%0d"; elems.len()].join(" "),
            elems.join(", ")
        );
    }
    let write_word = |mem: &str, at: &str| {
        format!("bus_write({mem}[{at}], {mem}[{at} + 1], {mem}[{at} + 2], {mem}[{at} + 3]);")
    };
    let all = if h.data_bits >= 64 { u64::MAX } else { (1u64 << (h.data_bits / 8)) - 1 };
    let start = match &h.start {
        Start::Port(_) => "h_start = 1'b1;\n      step;\n      h_start = 1'b0;".to_string(),
        Start::Write(w) => format!(
            "bus_write(64'h{:x}, 64'h{:x}, 64'h{all:x}, 64'h{:x});",
            w.addr,
            w.data,
            w.select.unwrap_or(0)
        ),
    };
    let done = match (&h.done, h.ports.done.as_ref().map(|d| d.1)) {
        (Done::Port, Some(crate::sim::binding_file::Edge::Rising)) => "step;\n      while (!(s_done && !done_seen)) begin\n        done_seen = s_done;\n        if (guard == Timeout) begin $display(\"cnn_bound_tb: no done\"); $finish; end\n        guard = guard + 1;\n        step;\n      end\n      done_seen = s_done;".to_string(),
        (Done::Port, _) => "step;\n      while (!s_done) begin\n        if (guard == Timeout) begin $display(\"cnn_bound_tb: no done\"); $finish; end\n        guard = guard + 1;\n        step;\n      end".to_string(),
        (Done::Poll { addr, mask }, _) => format!(
            "bus_read(64'h{addr:x}, v);\n      while ((v & 64'h{mask:x}) != 64'h{mask:x}) begin\n        if (polls == Timeout) begin $display(\"cnn_bound_tb: not done\"); $finish; end\n        polls = polls + 1;\n        bus_read(64'h{addr:x}, v);\n      end"
        ),
    };
    let class = match &h.class {
        Class::Port => "cls = s_class;".to_string(),
        Class::Read { addr, mask } => format!(
            "bus_read(64'h{addr:x}, v);\n      cls = (v & 64'h{mask:x}) >> {};",
            mask.trailing_zeros().min(63)
        ),
    };
    let every = (h.weights == crate::sim::binding_file::WeightsWhen::EveryImage) as u8;
    let n_edges = edges.len().max(1);
    let track: String =
        edges.iter().enumerate().map(|(n, v)| format!("    seen_q[{n}] <= {v};\n")).collect();
    Ok(format!(
        r#"// Generated by cnn-cosim (src/sim/icarus.rs) from {source}: the host of {top} as its binding says.
`timescale 1ns/1ps
module cnn_bound_tb;
  localparam integer Images = {images};  // capacity; +images=N runs the first N
  localparam integer WeightWords = {weights};
  localparam integer ImageWords = {per_image};
  localparam integer Timeout = {timeout};
  reg clk = 1'b0;
  reg rst = {active};
  reg [63:0] wmem [0:4*WeightWords];
  reg [63:0] imem [0:4*Images*ImageWords];
  reg [8*1024-1:0] wfile, ifile, outfile;
  integer fd, img, k, guard, polls, images;
  reg [63:0] v, cls;
  reg done_seen = 1'b0;
{decl}
  {top} {params}u_dut (
    {ports}
  );

  always #5 clk = ~clk;

  // Taps, read after each rising edge (at the falling edge).
  reg [{n_edges}-1:0] seen_q = {{{n_edges}{{1'b0}}}};
  always @(negedge clk) begin
    if (rst == {idle}) begin
{monitor}    end
{track}  end

  // One clock cycle: the inputs as set since the falling edge go into the rising edge; the
  // design's outputs are sampled just before it.
  task step;
    begin
      #4;
{sample}      @(negedge clk);
    end
  endtask

{tasks}
  initial begin
    if (!$value$plusargs("weights=%s", wfile)) $fatal(1, "cnn_bound_tb: +weights=FILE missing");
    if (!$value$plusargs("words=%s", ifile)) $fatal(1, "cnn_bound_tb: +words=FILE missing");
    if (!$value$plusargs("out=%s", outfile)) $fatal(1, "cnn_bound_tb: +out=FILE missing");
    if (!$value$plusargs("images=%d", images)) images = Images;
    if (images > Images) $fatal(1, "cnn_bound_tb: +images=%0d exceeds %0d", images, Images);
    $readmemh(wfile, wmem);
    $readmemh(ifile, imem);
    fd = $fopen(outfile, "w");
    @(negedge clk);
    rst = {active};
    repeat ({reset_cycles}) @(negedge clk);
    rst = {idle};
    for (k = 0; k < WeightWords; k = k + 1) {wweights}
    for (img = 0; img < images; img = img + 1) begin
      if ({every} && img > 0) for (k = 0; k < WeightWords; k = k + 1) {wweights}
      for (k = 0; k < ImageWords; k = k + 1) {wimage}
      {start}
      guard = 0;
      polls = 0;
      {done}
      {class}
      $fwrite(fd, "class %0d\n", cls);
    end
    $fclose(fd);
    $finish;
  end
endmodule
"#,
        source = b.source,
        timeout = h.timeout,
        params = params_of(b, None),
        ports = ports.join(",\n    "),
        tasks = h.protocol.verilog(),
        reset_cycles = b.reset.cycles,
        wweights = write_word("wmem", "4*k"),
        wimage = write_word("imem", "4*(img*ImageWords + k)"),
    ))
}

/// A bound top's parameter overrides (`#(…) `, or nothing), with the weight directory's
/// when the design takes it as a parameter.
fn params_of(b: &Binding, weights: Option<&Path>) -> String {
    let mut params: Vec<String> = b
        .design
        .parameters
        .iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => format!(".{k}(\"{s}\")"),
            other => format!(".{k}({other})"),
        })
        .collect();
    if let (crate::sim::binding::WeightLoad::Parameter, Some(p), Some(w)) =
        (b.weights.load, &b.weights.arg, weights)
    {
        params.push(format!(".{p}(\"{}\")", w.display()));
    }
    if params.is_empty() {
        String::new()
    } else {
        format!("#({}) ", params.join(", "))
    }
}

/// `icarus` on a host-driven design: its generated host testbench, the same host program.
fn run_host(a: &IcarusArgs, b: &Binding) -> Result<bool> {
    let h = b.host.as_ref().expect("host-driven");
    let net = &b.network;
    let test = crate::data::Source::from_args(net, &a.mnist, None, None)?.load(net)?;
    let params = Params::load(net, &crate::weights::dir(net, a.weights.as_deref()))?;
    let end = (a.start + a.limit).min(test.len());
    if a.start >= end {
        bail!("--start {} --limit {} selects no test image", a.start, a.limit);
    }
    let work = tempfile::Builder::new().prefix("cnn-cosim-icarus-").tempdir()?;
    let hex = |words: &mut dyn Iterator<Item = &crate::sim::bus::Word>| {
        let mut s = String::new();
        for w in words {
            let _ = writeln!(
                s,
                "{:016x}\n{:016x}\n{:016x}\n{:016x}",
                w.addr,
                w.data,
                w.strobe,
                w.select.unwrap_or(0)
            );
        }
        s
    };
    let weights = h.weight_words(&params);
    let n_weights: usize = weights.iter().map(|(_, w)| w.len()).sum();
    let wfile = work.path().join("weights.hex");
    std::fs::write(&wfile, hex(&mut weights.iter().flat_map(|(_, w)| w)))
        .with_context(|| format!("{}: cannot write", wfile.display()))?;
    let input = h.input();
    let per_image = input.words as usize;
    let encode = |img: &mnist::Image| {
        input.encode(h.data_bits, h.protocol.byte_addressed(), img.iter().map(|&v| i64::from(v)))
    };
    let images = &test.images[a.start..end];
    let shards = Shards::of(images.len());
    let vvp = compile(b, work.path(), &host_testbench(b, shards.size, n_weights, per_image)?)?;
    let sim = |words: &Path, out: &Path, count: usize| {
        let mut sim = Command::new("vvp");
        sim.arg("-n")
            .arg(&vvp)
            .arg(format!("+weights={}", wfile.display()))
            .arg(format!("+words={}", words.display()))
            .arg(format!("+out={}", out.display()))
            .arg(format!("+images={count}"))
            .args(&b.design.plusargs);
        sim
    };
    let bound: Vec<(String, usize)> = b
        .taps
        .iter()
        .map(|t| (t.layer.clone(), t.lanes + t.at.as_ref().map_or(0, |a| a.signals().len())))
        .collect();
    let all = net.taps();
    let placed_taps: Vec<_> =
        all.iter().filter(|t| !t.is_class && b.tap(&t.name).is_some()).cloned().collect();
    let parse = |out: &Path, text: &str| -> Result<Vec<Capture>> {
        let mut caps = parse_log_for(out, text, &bound)?;
        for c in &mut caps {
            crate::sim::place::place(b, &placed_taps, c, true);
        }
        Ok(caps)
    };
    let stimulus =
        |share: &[mnist::Image]| hex(&mut share.iter().flat_map(encode).collect::<Vec<_>>().iter());
    let run = shards.simulate_with(work.path(), images, stimulus, sim, parse)?;
    let keep: Vec<_> = (0..all.len())
        .filter(|&i| all[i].is_class || bound.iter().any(|(n, _)| *n == all[i].name))
        .map(|i| (i, crate::compare::Beats::Exact))
        .collect();
    let model = reference::Model::new(net, &params);
    let header = format!(
        "icarus: test images {}..{} through {} bound by {} under Icarus Verilog (generated host \
         testbench over {}{})",
        a.start,
        end - 1,
        b.design.top,
        b.source,
        h.protocol.name(),
        shards.say("; ")
    );
    Ok(judge(&header, &model, &keep, images, a.start, &run, "every compared layer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_that_reports_fewer_images_is_padded_not_shifted() {
        // Five images in shares of 3 and 2; the first share's testbench reports one class
        // only. The second share's classes must stay on images 3 and 4.
        let work = tempfile::tempdir().unwrap();
        let images: Vec<mnist::Image> = vec![vec![0; mnist::PIXELS].into(); 5];
        let shards = Shards { size: 3, count: 2 };
        let sim = |_: &Path, out: &Path, n: usize| {
            let log = if n == 3 { "class 7\n" } else { "class 1\nclass 2\n" };
            let mut c = Command::new("sh");
            c.args(["-c", &format!("printf '{log}' > '{}'", out.display())]);
            c
        };
        let run = shards.simulate(work.path(), (&images, u8::MAX), sim, parse_log).unwrap();
        let classes: Vec<Option<u8>> = run.caps.iter().map(|c| c.class).collect();
        assert_eq!(classes, [Some(7), None, None, Some(1), Some(2)]);
        assert_eq!(run.reported, 3);
        // Every image in exactly one share, none empty, whatever the core count.
        for n in 1..20 {
            let s = Shards::of(n);
            assert!(s.size * s.count >= n && s.size * (s.count - 1) < n, "{n}");
        }
        assert_eq!(Shards::of(1).count, 1);
        assert_eq!(Shards::of(0).count, 1);
    }

    #[test]
    fn the_generated_testbench_drives_and_reads_what_the_binding_says() {
        let b = Binding::load(Path::new("tests/designs/stall/binding.toml")).unwrap();
        let tb = bound_testbench(&b, 3, Path::new("/w")).unwrap();
        for want in [
            "mnist_accel u_dut (",
            ".clock(clk)",
            ".reset_n(rst)",
            ".s_pix_tdata(data)",
            ".s_pix_tvalid(valid)",
            "while (!(u_dut.s_pix_tready) && guard < 3136)",
            "if (u_dut.u_conv.conv_valid_q) $fwrite(fd, \"conv1 %0d %0d %0d\\n\", \
             $signed(u_dut.u_conv.conv_q[0][15:0])",
            "$fwrite(fd, \"pool1 %0d %0d %0d\\n\", u_dut.u_pool.pool_q[12:0], \
             u_dut.u_pool.pool_q[25:13], u_dut.u_pool.pool_q[38:26]);",
            "if (u_dut.m_cls_valid) begin",
        ] {
            assert!(tb.contains(want), "{want}\n---\n{tb}");
        }
    }
}
