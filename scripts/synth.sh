#!/usr/bin/env bash
# Synthesize the designs with yosys (generic gates) and print cell / multiplier /
# flip-flop counts side by side: the seed design (rtl/, cnn_top), the two_conv design
# (rtl/two_conv/, cnn_two_conv_top, with its committed weights vectors/weights/two_conv) and
# the LeNet-5 design (rtl/lenet5/, lenet5_top: weights loaded over its bus at run time, so
# no weight set is involved; its RAMs are kept as RAM macros, $mem_v2 cells, not mapped to
# flip-flops, and their bits are counted).
#
# Usage: scripts/synth.sh [WEIGHTS_DIR]
#   WEIGHTS_DIR (the seed design's) defaults to $WEIGHTS_DIR, else vectors/weights. The weight ROMs are
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

# synth NAME TOP WEIGHTS FILE...: elaborate + flatten + opt and count the structural
# multipliers ($mul), then full generic synthesis and count cells and flip-flops; writes
# "muls cells ffs secs" to $out/NAME/counts beside the stat files.
synth() {
  local name="$1" top="$2" w="$3"
  shift 3
  mkdir -p "$out/$name"
  local log="$out/$name/yosys.log" start end cells muls ffs
  echo "synth.sh: yosys on $top, weights from '$w', log in $log"
  start=$(date +%s)
  yosys -l "$log" -q -p "
    read_verilog -defer $*
    chparam -set WeightsDir \"$w\" $top
    hierarchy -check -top $top
    proc
    flatten
    opt -fast
    tee -q -o $out/$name/stat_rtl.txt stat
    synth -top $top
    tee -q -o $out/$name/stat_gates.txt stat
  "
  end=$(date +%s)
  cells=$(awk '/Number of cells:/ { n = $4 } END { print n }' "$out/$name/stat_gates.txt")
  muls=$(count "$out/$name/stat_rtl.txt" '^\\$mul$')
  ffs=$(count "$out/$name/stat_gates.txt" '^\\$_(S?DFF|DFFE|SDFFE|SDFFCE|ALDFF|DLATCH)')
  echo "$muls $cells $ffs $((end - start))" > "$out/$name/counts"
}

# synth_ram NAME TOP FILE...: as synth, without weights, and with yosys's own synth script
# stopped before memory_map: its "fine" step is run without it, so every inferred RAM stays
# one $mem_v2 cell; writes "muls cells ffs secs mems membits" to $out/NAME/counts.
synth_ram() {
  local name="$1" top="$2"
  shift 2
  mkdir -p "$out/$name"
  local log="$out/$name/yosys.log" start end cells muls ffs mems bits
  echo "synth.sh: yosys on $top (RAMs kept), log in $log"
  start=$(date +%s)
  yosys -l "$log" -q -p "
    read_verilog -defer $*
    hierarchy -check -top $top
    proc
    flatten
    opt -fast
    tee -q -o $out/$name/stat_rtl.txt stat
    synth -top $top -flatten -run begin:fine
    opt -fast -full
    opt -full
    techmap
    opt -fast
    abc -fast
    opt -fast
    hierarchy -check
    tee -q -o $out/$name/stat_gates.txt stat
    check -assert
  "
  end=$(date +%s)
  cells=$(awk '/Number of cells:/ { n = $4 } END { print n }' "$out/$name/stat_gates.txt")
  muls=$(count "$out/$name/stat_rtl.txt" '^\\$mul$')
  ffs=$(count "$out/$name/stat_gates.txt" '^\\$_(S?DFF|DFFE|SDFFE|SDFFCE|ALDFF|DLATCH)')
  mems=$(count "$out/$name/stat_gates.txt" '^\\$mem')
  bits=$(awk '/Number of memory bits:/ { n = $5 } END { print n + 0 }' "$out/$name/stat_rtl.txt")
  echo "$muls $cells $ffs $((end - start)) $mems $bits" > "$out/$name/counts"
}

count() { # count FILE CELLTYPE-REGEX
  awk -v re="$2" '$1 ~ re { n += $2 } END { print n + 0 }' "$1"
}

# The designs in parallel (one core each); lenet5 after the other two on fewer than 3 cores.
mapfile -t shared < <(ls rtl/*.v)
mapfile -t lenet5 < <(ls rtl/lenet5/*.v)
synth seed cnn_top "$weights" "${shared[@]}" &
seed_pid=$!
synth two_conv cnn_two_conv_top "$root/vectors/weights/two_conv" rtl/two_conv/*.v "${shared[@]}" &
two_pid=$!
if [ "$(nproc)" -ge 3 ]; then
  synth_ram lenet5 lenet5_top "${lenet5[@]}" &
  lenet5_pid=$!
fi
wait "$seed_pid"
wait "$two_pid"
if [ "$(nproc)" -ge 3 ]; then
  wait "$lenet5_pid"
else
  synth_ram lenet5 lenet5_top "${lenet5[@]}"
fi
read -r -a seed < "$out/seed/counts"
read -r -a two < "$out/two_conv/counts"
read -r -a le < "$out/lenet5/counts"

echo "----------------------------------------------------------------"
printf '%-36s %12s %12s %12s\n' "" "seed" "two_conv" "lenet5"
printf '%-36s %12s %12s %12s\n' "multipliers (\$mul after elaboration)" "${seed[0]}" "${two[0]}" "${le[0]}"
printf '%-36s %12s %12s %12s\n' "cells (generic gates after synth)" "${seed[1]}" "${two[1]}" "${le[1]}"
printf '%-36s %12s %12s %12s\n' "flip-flops (\$_*DFF*_ after synth)" "${seed[2]}" "${two[2]}" "${le[2]}"
printf '%-36s %12s %12s %12s\n' "RAM macros (\$mem_v2 kept)" 0 0 "${le[4]}"
printf '%-36s %12s %12s %12s\n' "RAM bits" 0 0 "${le[5]}"
printf '%-36s %12s %12s %12s\n' "yosys runtime (s)" "${seed[3]}" "${two[3]}" "${le[3]}"
echo "(lenet5's cells include its RAM macros; seed and two_conv bake their weights into logic)"
for name in seed two_conv lenet5; do
  echo "cell breakdown, $name:"
  awk '/Number of cells:/ { on = 1; next } on && NF == 2 { print "  " $0 } on && NF != 2 { on = 0 }' \
    "$out/$name/stat_gates.txt"
done
