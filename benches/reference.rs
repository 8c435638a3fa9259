//! `cargo bench --bench reference`: the generic reference (the seed description interpreted)
//! against the old hand-written one (tests/common, kept as the oracle) on the 10,000 MNIST
//! test images; prints the median µs per image of 7 interleaved runs and their ratio. Also
//! times the layer-local path (pool1 → class recomputed from a perturbed conv1) and the
//! float model's class.

#[path = "../tests/common/mod.rs"]
mod common;

use cnn_cosim::mnist::{self, Split};
use cnn_cosim::network::Network;
use cnn_cosim::reference;
use cnn_cosim::weights::Params;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let test = match mnist::load(Path::new("vectors/mnist"), Split::Test) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench reference: {e:#} (run scripts/setup.sh first)");
            return;
        }
    };
    let net = Network::seed();
    let dir = Path::new("vectors/weights");
    let params = Params::load(&net, dir).expect("committed weights");
    let old = common::QuantWeights::load(dir).expect("committed weights");
    // CNN_COSIM_BENCH_IMAGES=N: the first N images, one run (for callgrind's instruction
    // counts, which unlike seconds do not depend on what else the machine does).
    let limit: Option<usize> =
        std::env::var("CNN_COSIM_BENCH_IMAGES").ok().and_then(|v| v.parse().ok());
    let images = &test.images[..limit.unwrap_or(test.len()).min(test.len())];
    let runs = if limit.is_some() { 1 } else { 7 };
    let n = images.len() as f64;
    let model = reference::Model::new(&net, &params);
    let fw = cnn_cosim::float_model::FloatWeights::load(&net, &dir.join("model.safetensors"))
        .expect("committed float weights");
    let old_float = common::OldFloat::from_generic(&fw);
    let (mut t_old, mut t_new, mut t_local, mut t_float, mut t_old_float) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        for img in images {
            black_box(common::run(&old, black_box(img)));
        }
        t_old.push(t.elapsed().as_secs_f64() * 1e6 / n);
        let t = Instant::now();
        for img in images {
            black_box(model.run(black_box(img)));
        }
        t_new.push(t.elapsed().as_secs_f64() * 1e6 / n);
        let t = Instant::now();
        for img in images.iter().take(1000) {
            let out = model.run(img);
            let mut conv = out.taps[0].clone();
            conv[0] += 1;
            black_box(model.run_layers(1, net.layers.len() - 1, &conv));
        }
        t_local.push(t.elapsed().as_secs_f64() * 1e6 / n.min(1000.0));
        let t = Instant::now();
        for img in images {
            black_box(fw.classify(&net, black_box(img)));
        }
        t_float.push(t.elapsed().as_secs_f64() * 1e6 / n);
        let t = Instant::now();
        for img in images {
            black_box(old_float.logits(black_box(img)));
        }
        t_old_float.push(t.elapsed().as_secs_f64() * 1e6 / n);
    }
    let (o, g, l) = (median(t_old), median(t_new), median(t_local));
    println!("reference, 10,000 MNIST images, median of 7 runs, one thread:");
    println!("  old hand-written (i32)        {o:8.2} µs/image");
    println!("  generic (description)         {g:8.2} µs/image   ({:.2}× the old)", g / o);
    println!("  generic + layer-local re-run  {l:8.2} µs/image   (an image whose conv1 is wrong)");
    println!("  old float model (f32)         {:8.2} µs/image", median(t_old_float));
    println!("  float model (f32, generic)    {:8.2} µs/image", median(t_float));
}
