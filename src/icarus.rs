//! A second simulator: the same RTL under Icarus Verilog (`iverilog -g2012`), driven by
//! `rtl/tb/cnn_tb.v` from files the harness writes, every tap compared with the reference.
//! It shows the RTL does not rely on Verilator-only semantics.

use crate::compare::{compare, Capture};
use crate::mnist::{self, Split};
use crate::network::Network;
use crate::reference;
use crate::rtl;
use crate::weights::Params;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// What `icarus` runs.
#[derive(Debug, Clone)]
pub struct IcarusArgs {
    pub mnist: std::path::PathBuf,
    pub weights: std::path::PathBuf,
    pub start: usize,
    pub limit: usize,
    /// The testbench's LFSR bubbles between pixels.
    pub bubbles: bool,
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
    let mut images = Vec::new();
    let bound = rtl::taps();
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
    let test = mnist::load(&a.mnist, Split::Test)?;
    let net = Network::seed();
    rtl::check_taps(&net)?;
    let params = Params::load(&net, &a.weights)?;
    let taps = net.taps();
    let model = reference::Model::new(&net, &params);
    let end = (a.start + a.limit).min(test.len());
    if a.start >= end {
        bail!("--start {} --limit {} selects no test image", a.start, a.limit);
    }
    let weights = a
        .weights
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve weight directory", a.weights.display()))?;
    let work = tempfile::Builder::new().prefix("cnn-cosim-icarus-").tempdir()?;
    let mut hex = String::with_capacity((end - a.start) * 784 * 3);
    for img in &test.images[a.start..end] {
        for p in img {
            let _ = writeln!(hex, "{p:02x}");
        }
    }
    let pixels = work.path().join("pixels.hex");
    std::fs::write(&pixels, hex).with_context(|| format!("{}: cannot write", pixels.display()))?;

    let rtl_dir = Path::new(rtl::RTL_DIR);
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
    let out = work.path().join("taps.txt");
    let mut sim = Command::new("vvp");
    sim.arg("-n")
        .arg(&vvp)
        .arg(format!("+weights={}", weights.display()))
        .arg(format!("+pixels={}", pixels.display()))
        .arg(format!("+images={}", end - a.start))
        .arg(format!("+out={}", out.display()));
    if a.bubbles {
        sim.args(["+bubbles", "+seed=7"]);
    }
    run_tool(&mut sim, "vvp")?;
    let text =
        std::fs::read_to_string(&out).with_context(|| format!("{}: no tap log", out.display()))?;
    let caps = parse_log(&out, &text)?;

    let mut counts = vec![0u64; taps.len()];
    let mut bad_images = 0;
    let mut first_bad = None;
    for (i, img) in test.images[a.start..end].iter().enumerate() {
        let expected = model.run(img);
        let got = caps.get(i).cloned().unwrap_or_else(|| Capture::for_taps(&taps));
        let cmp = compare(&model, &taps, &expected, &got, 0);
        for (c, n) in counts.iter_mut().zip(&cmp.counts) {
            *c += n;
        }
        if !cmp.is_clean() {
            bad_images += 1;
            first_bad.get_or_insert((a.start + i, cmp.first_bad_layer()));
        }
    }
    let n = end - a.start;
    println!(
        "icarus: MNIST test images {}..{} through {} under Icarus Verilog, back-to-back{}",
        a.start,
        end - 1,
        rtl_dir.display(),
        if a.bubbles { ", with bubbles" } else { "" }
    );
    for (tap, c) in taps.iter().zip(counts) {
        println!("  {:<6} {c} mismatching elements", tap.name);
    }
    if caps.len() != n {
        println!("FAIL: the testbench reported {} images, expected {n}", caps.len());
        return Ok(false);
    }
    match first_bad {
        None => println!("PASS: {n}/{n} images bit-exact at every layer under Icarus"),
        Some((img, layer)) => println!(
            "FAIL: {}/{n} images bit-exact under Icarus; first failure: image {img}, layer {}",
            n - bad_images,
            layer.map_or("?", |l| taps[l].name.as_str())
        ),
    }
    Ok(first_bad.is_none())
}
