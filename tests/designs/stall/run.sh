#!/usr/bin/env bash
# Build and run tb_stall under Icarus: mnist_accel against rtl/cnn_top on N MNIST test images.
#   tests/designs/stall/run.sh [N] [extra plusargs, e.g. +bubble_pct=0 +seed=7]
# Works in a fresh temporary directory (printed); the repository is only read.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
n="${1:-200}"; shift || true
work="$(mktemp -d)"
echo "run.sh: work dir $work"
python3 "$here/make_weights.py" "$root/vectors/weights" "$work/weights_ma"
python3 "$here/make_pixels.py" "$root/vectors/mnist/t10k-images-idx3-ubyte" "$n" "$work/pixels.hex"
iverilog -g2012 -o "$work/tb_stall.vvp" -s tb_stall "$here"/ma_*.v "$here/mnist_accel.v" \
  "$here/tb_stall.v" "$root"/rtl/*.v
cd "$work"
vvp -n tb_stall.vvp +images="$n" +pixels="$work/pixels.hex" +weights="$root/vectors/weights" \
  +WEIGHT_DIR="$work/weights_ma" "$@" | tee "$work/tb_stall.log"
tail -n 1 "$work/tb_stall.log" | grep -q '^tb_stall: PASS'   # exit status: 0 only on PASS
