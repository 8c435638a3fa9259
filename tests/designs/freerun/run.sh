#!/usr/bin/env bash
# Build and run tb_freerun under Icarus: freerun_top against rtl/cnn_top on N MNIST test
# images, from a fresh temporary directory (printed) holding copies of the six weight files
# (freerun_top opens them by fixed name in the working directory).
#   tests/designs/freerun/run.sh [N] [extra plusargs, e.g. +seed=7 +max_gap=0]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
n="${1:-200}"; shift || true
work="$(mktemp -d)"
echo "run.sh: work dir $work"
for f in conv1_weight_1.mem conv1_weight_2.mem conv1_weight_3.mem conv1_bias.mem \
         fc_weight.mem fc_bias.mem; do
  cp "$root/vectors/weights/$f" "$work/$f"
done
python3 "$here/../stall/make_pixels.py" "$root/vectors/mnist/t10k-images-idx3-ubyte" "$n" \
  "$work/pixels.hex"
iverilog -g2012 -o "$work/tb_freerun.vvp" -s tb_freerun "$here"/fr_*.v "$here/freerun_top.v" \
  "$here/tb_freerun.v" "$root"/rtl/*.v
cd "$work"
vvp -n tb_freerun.vvp +images="$n" +pixels="$work/pixels.hex" \
  +weights="$root/vectors/weights" "$@" | tee "$work/tb_freerun.log"
tail -n 1 "$work/tb_freerun.log" | grep -q '^tb_freerun: PASS'   # exit status: 0 only on PASS
