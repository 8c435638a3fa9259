//! The description's TOML form and its validation: the input, then each layer built by its
//! op's registered builder ([`super::op::REGISTRY`]), which checks its keys, chains its shape
//! and derives its exact bounds (refusing a description whose declared widths can overflow).

use super::op::{self, Site, REGISTRY};
use super::{line_col, DataSet, IntType, Layer, Network, Range, Recipe, Shape};
use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use std::path::PathBuf;

/// Parses and validates description text; `source` names it in errors.
pub(super) fn parse(source: &str, text: &str) -> Result<Network> {
    let raw: RawNetwork = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line_col(text, s.start)).unwrap_or_default();
        anyhow!("{source}{at}: {}", e.message().trim())
    })?;
    build(source, text, raw)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    name: String,
    #[serde(default)]
    #[allow(dead_code)] // free text for people; not used
    description: Option<String>,
    weights: Option<PathBuf>,
    #[serde(default)]
    train: Recipe,
    input: RawInput,
    #[serde(rename = "layer")]
    layers: Vec<toml::Spanned<RawLayer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    shape: [usize; 3],
    bits: u32,
    signed: bool,
    dataset: DataSet,
    float_divisor: Option<f32>,
}

/// A layer: the keys every layer has, and the op's own (checked by its builder).
#[derive(Deserialize)]
struct RawLayer {
    name: String,
    op: String,
    #[serde(default)]
    tap: bool,
    /// safetensors prefix of a parametrized op's tensors.
    param: Option<String>,
    /// The earlier layer whose output it takes (default: the previous layer).
    input: Option<String>,
    /// The earlier layers an op of several inputs (add) takes.
    inputs: Option<Vec<String>>,
    #[serde(flatten)]
    keys: toml::Table,
}

/// Builds layer by layer, deriving shapes and bounds.
fn build(source: &str, text: &str, raw: RawNetwork) -> Result<Network> {
    let [c, h, w] = raw.input.shape;
    let input = Shape::Map { c, h, w };
    let input_type = IntType { bits: raw.input.bits, signed: raw.input.signed };
    if raw.input.shape.contains(&0) {
        bail!("{source}: [input]: shape = {:?}: every dimension at least 1", raw.input.shape);
    }
    // Input values are held in 32 bits signed.
    if input_type.bits == 0 || input_type.bits > 32 || input_type.bits == 32 && !input_type.signed {
        bail!(
            "{source}: [input]: bits = {}, {}: 1..32 signed or 1..31 unsigned supported",
            input_type.bits,
            if input_type.signed { "signed" } else { "unsigned" }
        );
    }
    let float_divisor = raw.input.float_divisor.unwrap_or(255.0);
    if !(float_divisor.is_finite() && float_divisor > 0.0) {
        bail!("{source}: [input]: float_divisor = {float_divisor}: a positive number");
    }
    match raw.input.dataset {
        DataSet::Mnist(_) => {
            if raw.input.shape != [1, 28, 28] || input_type != (IntType { bits: 8, signed: false })
            {
                bail!(
                    "{source}: [input]: MNIST images are 1×28×28, 8 bits unsigned; the \
                     description says {input}, {input_type} (name the images' files: dataset \
                     = {{ images = \"…\", labels = \"…\" }})"
                );
            }
        }
        DataSet::Files { .. } => {}
    }
    if raw.layers.is_empty() {
        bail!("{source}: no [[layer]] given");
    }
    let mut layers: Vec<Layer> = Vec::new();
    let n = raw.layers.len();
    for (i, spanned) in raw.layers.into_iter().enumerate() {
        let at = line_col(text, spanned.span().start);
        let l = spanned.into_inner();
        let Some(reg) = op::registered(&l.op) else {
            let known: Vec<&str> = REGISTRY.iter().map(|r| r.name).collect();
            bail!("{source}{at}: layer {:?}: unknown op {:?} ({})", l.name, l.op, known.join(", "));
        };
        let wh = format!("{source}{at}: layer {:?} ({})", l.name, l.op);
        if layers.iter().any(|p| p.name == l.name) {
            bail!("{wh}: the name is used by an earlier layer");
        }
        for k in l.keys.keys() {
            if !reg.takes(k) {
                if REGISTRY.iter().any(|r| r.takes(k)) {
                    bail!("{wh}: key `{k}` does not apply to {}", l.op);
                }
                bail!("{wh}: unknown field `{k}` ({} takes: {})", l.op, takes(reg));
            }
        }
        if l.param.is_some() && !reg.parameters {
            bail!("{wh}: key `param` does not apply to {}", l.op);
        }
        let named: Option<Vec<String>> = match (reg.many_inputs, &l.input, &l.inputs) {
            (false, Some(one), None) => Some(vec![one.clone()]),
            (false, _, Some(_)) => {
                bail!("{wh}: key `inputs` does not apply to {} (it takes one `input`)", l.op)
            }
            (true, Some(_), _) => {
                bail!("{wh}: {} takes several layers: `inputs = [\"a\", \"b\"]`", l.op)
            }
            (true, None, None) => bail!("{wh}: missing key `inputs` (the layers it adds)"),
            (true, None, Some(v)) if v.len() < 2 => {
                bail!("{wh}: inputs = {v:?}: {} takes two layers or more", l.op)
            }
            (_, None, many) => many.clone(),
        };
        let sources: Vec<usize> = match &named {
            None if i == 0 => Vec::new(),
            None => vec![i - 1],
            Some(names) => names
                .iter()
                .map(|name| {
                    layers.iter().position(|p| &p.name == name).ok_or_else(|| {
                        anyhow!("{wh}: input {name:?}: no earlier layer has that name")
                    })
                })
                .collect::<Result<_>>()?,
        };
        let inputs: Vec<(Shape, Range)> = match sources.as_slice() {
            [] => vec![(input, Range { min: input_type.min(), max: input_type.max() })],
            s => s.iter().map(|&k| (layers[k].output, layers[k].bounds.out)).collect(),
        };
        let (shape, range) = inputs[0];
        let site = Site { wh: &wh, input: shape, range, inputs: &inputs, names: named.as_deref() };
        let built = (reg.build)(&site, l.keys)?;
        let is_class = built.op.is_argmax();
        if is_class && i + 1 != n {
            bail!("{wh}: argmax must be the last layer");
        }
        if !is_class && i + 1 == n {
            bail!("{wh}: the last layer must be an argmax (the class)");
        }
        if is_class && l.tap {
            bail!("{wh}: `tap` does not apply to the argmax: the class is always compared");
        }
        layers.push(Layer {
            param: l.param.clone().unwrap_or_else(|| l.name.clone()),
            name: l.name,
            op: built.op,
            tap: l.tap,
            sources,
            input: shape,
            output: built.output,
            bounds: built.bounds,
        });
    }
    let net = Network {
        name: raw.name,
        source: source.to_string(),
        input,
        input_type,
        float_divisor,
        dataset: raw.input.dataset,
        layers,
        weights: raw.weights,
        recipe: raw.train,
    };
    if let Some(clash) = net.file_clash() {
        bail!("{source}: {clash}");
    }
    Ok(net)
}

/// The keys op `reg` takes, for messages: `name, op, tap[, param], …`.
fn takes(reg: &op::Registered) -> String {
    let mut k = vec!["name", "op", "tap", if reg.many_inputs { "inputs" } else { "input" }];
    if reg.parameters {
        k.push("param");
    }
    k.extend(reg.keys.iter().flat_map(|g| g.iter()));
    k.join(", ")
}
