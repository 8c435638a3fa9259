#!/usr/bin/env bash
# The reset-bug lane: a Verilator build with --x-initial unique, run with
# +verilator+rand+reset+2 (the shim passes it), so every register without a reset starts
# from a random value; two seeds, 1,000 MNIST images each, must stay bit-exact.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target/variants
export CNN_COSIM_VERILATOR_FLAGS="--x-initial unique"
export CNN_COSIM_CACHE=target/variants/model-cache
cargo build --release --quiet --no-default-features --bin cnn-cosim
for seed in 3 11; do
  echo "unique_init.sh: --x-initial unique, seed $seed"
  target/variants/release/cnn-cosim verify --quiet --limit 1000 --seed "$seed" \
    --reports "reports/unique-init-$seed"
done
# The same lane for a design Verilated at run time (the flags are part of its cache key).
echo "unique_init.sh: --x-initial unique, tests/designs/stall (run-time Verilation)"
target/variants/release/cnn-cosim verify --quiet --limit 300 --seed 5 --rtl tests/designs/stall \
  --reports reports/unique-init-stall
