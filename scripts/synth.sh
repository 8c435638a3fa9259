#!/usr/bin/env bash
# Synthesize cnn_top with yosys (generic gates) and print cell / multiplier /
# flip-flop counts.
#
# Usage: scripts/synth.sh [WEIGHTS_DIR]
#   WEIGHTS_DIR defaults to $WEIGHTS_DIR, else vectors/weights. The weight ROMs are
#   baked in at synthesis time ($readmemh), so that directory must hold the six
#   .mem files; if it does not, a deterministic pseudo-random weight set is
#   generated in a temporary directory so the script always runs (e.g. in CI).
# Output: summary on stdout; yosys log and stat files in $SYNTH_OUT (default: a
# fresh temporary directory, printed).
set -euo pipefail

caller="$PWD"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# a directory given by the caller is relative to the caller's cwd; the default is
# relative to the repository root
weights="${1:-${WEIGHTS_DIR:-}}"
if [ -z "$weights" ]; then
  weights="vectors/weights"
elif [ "${weights#/}" = "$weights" ]; then
  weights="$caller/$weights"
fi
tmpdir=""
cleanup() { if [ -n "$tmpdir" ]; then rm -rf "$tmpdir"; fi; }
trap cleanup EXIT

missing=0
for f in conv1_weight_1.mem conv1_weight_2.mem conv1_weight_3.mem conv1_bias.mem \
         fc_weight.mem fc_bias.mem; do
  [ -f "$weights/$f" ] || missing=1
done
if [ "$missing" -ne 0 ]; then
  tmpdir="$(mktemp -d)"
  echo "synth.sh: no weight set in '$weights'; generating a pseudo-random one in $tmpdir"
  # gen FILE LINES TOKENS SEED: two's-complement byte tokens, deterministic LCG
  gen() {
    awk -v lines="$2" -v toks="$3" -v seed="$4" 'BEGIN {
      s = seed
      for (l = 0; l < lines; l++) {
        row = ""
        for (t = 0; t < toks; t++) {
          s = (s * 1103515245 + 12345) % 2147483648
          row = row (t ? " " : "") sprintf("%02x", int(s / 65536) % 256)
        }
        print row
      }
    }' > "$1"
  }
  gen "$tmpdir/conv1_weight_1.mem" 7 7 1
  gen "$tmpdir/conv1_weight_2.mem" 7 7 2
  gen "$tmpdir/conv1_weight_3.mem" 7 7 3
  gen "$tmpdir/conv1_bias.mem" 3 1 4
  gen "$tmpdir/fc_weight.mem" 10 363 5
  gen "$tmpdir/fc_bias.mem" 10 1 6
  weights="$tmpdir"
fi

out="${SYNTH_OUT:-$(mktemp -d)}"
mkdir -p "$out"
log="$out/yosys.log"
echo "synth.sh: yosys, weights from '$weights', log in $log"

start=$(date +%s)
# 1. elaborate + flatten + opt, count the structural multipliers ($mul)
# 2. full generic synthesis, count cells and flip-flops
yosys -l "$log" -q -p "
  read_verilog -defer $(ls rtl/*.v | tr '\n' ' ')
  chparam -set WeightsDir \"$weights\" cnn_top
  hierarchy -check -top cnn_top
  proc
  flatten
  opt -fast
  tee -q -o $out/stat_rtl.txt stat
  synth -top cnn_top
  tee -q -o $out/stat_gates.txt stat
"
end=$(date +%s)

count() { # count FILE CELLTYPE-REGEX
  awk -v re="$2" '$1 ~ re { n += $2 } END { print n + 0 }' "$1"
}
cells=$(awk '/Number of cells:/ { n = $4 } END { print n }' "$out/stat_gates.txt")
muls=$(count "$out/stat_rtl.txt" '^\\$mul$')
ffs=$(count "$out/stat_gates.txt" '^\\$_(S?DFF|DFFE|SDFFE|SDFFCE|ALDFF|DLATCH)')
echo "----------------------------------------------------------------"
echo "multipliers (\$mul after elaboration): $muls"
echo "cells (generic gates after synth):    $cells"
echo "flip-flops (\$_*DFF*_ after synth):    $ffs"
echo "yosys runtime: $((end - start)) s"
echo "cell breakdown:"
awk '/Number of cells:/ { on = 1; next } on && NF == 2 { print "  " $0 } on && NF != 2 { on = 0 }' \
  "$out/stat_gates.txt"
