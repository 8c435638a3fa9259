#!/usr/bin/env bash
# The reset-bug lane: `verify --x-init unique` (Verilator's --x-initial unique, run with
# +verilator+rand+reset+2, the initial values seeded by --seed), so every register without a
# reset starts from a random value; two seeds, 1,000 MNIST images each, must stay bit-exact.
# The model is one of its own in the cache (the flag is part of its key).
set -euo pipefail
cd "$(dirname "$0")/.."
# The binary of the release test build (what make test has already built; a plain `cargo
# build` would compile the crate again with other features of its shared dependencies).
cargo test --release --no-run --quiet
for seed in 3 11; do
  echo "unique_init.sh: --x-init unique, rtl/ (compiled-in binding, Verilated at run time), seed $seed"
  target/release/cnn-cosim verify --x-init unique --quiet --limit 1000 --seed "$seed" \
    --reports "reports/unique-init-$seed"
done
echo "unique_init.sh: --x-init unique, tests/designs/stall"
target/release/cnn-cosim verify --rtl tests/designs/stall --x-init unique --quiet --limit 300 \
  --seed 5 --reports reports/unique-init-stall
