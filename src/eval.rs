//! `eval`: a weight set's float and fixed-point accuracy on the test images, and what an ML
//! engineer needs to hold the reference against a model of their own without RTL: every
//! image's classes (`--classes FILE`) and one image's every layer (`--dump DIR --image N`).

use crate::commands::pct;
use crate::data::Source;
use crate::float_model::{self, FloatWeights, SAFETENSORS};
use crate::memfile::tmp_path;
use crate::network::{Network, Shape};
use crate::reference::{self, Outputs};
use crate::weights::Params;
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// What `eval` writes besides the accuracies.
#[derive(Debug, Clone, Default)]
pub struct EvalOutputs {
    /// `image,label,reference,float,reference_tie` for every test image.
    pub classes: Option<PathBuf>,
    /// One CSV per layer of image `dump.1`, in directory `dump.0`.
    pub dump: Option<(PathBuf, usize)>,
}

/// Runs `eval` and prints the accuracies (and where the outputs went).
pub fn run(net: &Network, source: &Source, weights: &Path, out: &EvalOutputs) -> Result<()> {
    let test = source.load(net)?;
    if let Some((_, n)) = &out.dump {
        if *n >= test.len() {
            bail!("--image {n}: the test set has {} images (0..{})", test.len(), test.len() - 1);
        }
    }
    let params = Params::load(net, weights)?;
    let fw = float_model::load_dir(net, weights)?;
    let model = reference::Model::new(net, &params);
    let fixed: Vec<Outputs> = test.images.par_iter().map(|img| model.run(img)).collect();
    let float: Option<Vec<u8>> =
        fw.as_ref().map(|fw| test.images.par_iter().map(|img| fw.classify(net, img)).collect());
    let n = test.len() as u64;
    let correct = |classes: &mut dyn Iterator<Item = u8>| {
        classes.zip(&test.labels).filter(|(a, b)| a == *b).count() as u64
    };
    let fixed_ok = correct(&mut fixed.iter().map(|o| o.class));
    println!("network {} ({}), weights {}", net.name, net.source, weights.display());
    match source {
        Source::Mnist(_) => println!("test images: {n}"),
        Source::Files { .. } => println!("test images: {n} ({})", source.describe()),
    }
    println!("fixed-point accuracy: {fixed_ok}/{n} ({:.2} %)", pct(fixed_ok, n));
    match &float {
        None => println!("float accuracy: n/a ({} has no {SAFETENSORS})", weights.display()),
        Some(float) => {
            let float_ok = correct(&mut float.iter().copied());
            let changed = float.iter().zip(&fixed).filter(|(a, b)| **a != b.class).count();
            println!("float accuracy: {float_ok}/{n} ({:.2} %)", pct(float_ok, n));
            println!("images whose class changes between float and fixed-point: {changed}");
        }
    }
    if let Some(path) = &out.classes {
        write_classes(path, &test.labels, &fixed, float.as_deref())?;
        println!("classes of {n} images written to {}", path.display());
    }
    if let Some((dir, image)) = &out.dump {
        let files = dump_layers(dir, net, &model, &test.images[*image], fw.as_ref())?;
        println!(
            "image {image} (label {}, reference class {}): {} files in {}",
            test.labels[*image],
            fixed[*image].class,
            files.len(),
            dir.display()
        );
    }
    Ok(())
}

/// Writes `path` through a temporary file renamed into place, so a failed run leaves no
/// half-written file.
fn write_csv(
    path: &Path,
    write: impl FnOnce(&mut csv::Writer<std::fs::File>) -> Result<()>,
) -> Result<()> {
    let tmp = tmp_path(path);
    let result = (|| {
        let mut w = csv::Writer::from_path(&tmp)
            .with_context(|| format!("{}: cannot create", tmp.display()))?;
        write(&mut w)?;
        w.flush().with_context(|| format!("{}: cannot write", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `image,label,reference,float,reference_tie`, one row per image (`float` empty without
/// float weights; `reference_tie` true where the largest reference logit is shared).
fn write_classes(
    path: &Path,
    labels: &[u8],
    fixed: &[Outputs],
    float: Option<&[u8]>,
) -> Result<()> {
    write_csv(path, |w| {
        w.write_record(["image", "label", "reference", "float", "reference_tie"])?;
        for (i, (o, label)) in fixed.iter().zip(labels).enumerate() {
            let f = float.map_or(String::new(), |f| f[i].to_string());
            w.write_record([
                i.to_string(),
                label.to_string(),
                o.class.to_string(),
                f,
                o.tie().to_string(),
            ])?;
        }
        Ok(())
    })
}

/// One image's every layer as the reference computes it, `DIR/NN_name.csv` (`NN` its place in
/// the network, from `00_input.csv`): `channel,row,col,value` for a map, `index,value` for a
/// vector; the class last. Returns the file names.
fn dump_layers(
    dir: &Path,
    net: &Network,
    model: &reference::Model,
    image: &[i32],
    fw: Option<&FloatWeights>,
) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create dump directory", dir.display()))?;
    let mut names = Vec::new();
    let mut write = |k: usize, name: &str, shape: Shape, values: &[i64]| -> Result<()> {
        let file = format!("{k:02}_{name}.csv");
        write_csv(&dir.join(&file), |w| {
            match shape {
                Shape::Map { .. } => w.write_record(["channel", "row", "col", "value"])?,
                Shape::Vector(_) => w.write_record(["index", "value"])?,
            }
            for (i, v) in values.iter().enumerate() {
                match shape {
                    Shape::Map { .. } => {
                        let (c, r, col) = shape.coords(i);
                        w.write_record(
                            [c, r, col].map(|x| x.to_string()).into_iter().chain([v.to_string()]),
                        )?
                    }
                    Shape::Vector(_) => w.write_record([i.to_string(), v.to_string()])?,
                }
            }
            Ok(())
        })?;
        names.push(file);
        Ok(())
    };
    let x: Vec<i64> = image.iter().map(|&p| p as i64).collect();
    write(0, "input", net.input, &x)?;
    for (i, (l, v)) in net.layers.iter().zip(model.layer_values(image)).enumerate() {
        write(i + 1, &l.name, l.output, &v)?;
    }
    if let Some(fw) = fw {
        let logits: Vec<String> = fw.logits(net, image).iter().map(|v| v.to_string()).collect();
        let file = "float_logits.csv".to_string();
        write_csv(&dir.join(&file), |w| {
            w.write_record(["index", "value"])?;
            for (i, v) in logits.iter().enumerate() {
                w.write_record([i.to_string(), v.clone()])?;
            }
            Ok(())
        })?;
        names.push(file);
    }
    Ok(names)
}
