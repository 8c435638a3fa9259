#!/usr/bin/env bash
# The reset-bug lane: a Verilator build with --x-initial unique, run with
# +verilator+rand+reset+2 (the shim passes it), so every register without a reset starts
# from a random value; two seeds, 1,000 MNIST images each, must stay bit-exact.
set -euo pipefail
cd "$(dirname "$0")/.."
# The binary of the release test build (what make test has already built; a plain `cargo
# build` would compile the crate again with other features of its shared dependencies).
cargo test --release --no-run --quiet
# Run-time Verilation of rtl/ and of a bound test design with the flag (flags are part of
# the model cache key, so these never share a model with the fast builds). Exported only
# now: in cargo's environment it would rebuild the compiled-in model with it.
export CNN_COSIM_VERILATOR_FLAGS="--x-initial unique"
for seed in 3 11; do
  echo "unique_init.sh: --x-initial unique, rtl/, seed $seed"
  target/release/cnn-cosim verify --rtl rtl --quiet --limit 1000 --seed "$seed" \
    --reports "reports/unique-init-$seed"
done
echo "unique_init.sh: --x-initial unique, tests/designs/stall"
target/release/cnn-cosim verify --rtl tests/designs/stall --quiet --limit 300 --seed 5 \
  --reports reports/unique-init-stall
