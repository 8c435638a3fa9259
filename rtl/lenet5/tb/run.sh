#!/usr/bin/env bash
# Run lenet5_top under lenet5_tb and compare every tap with the reference (cnn-cosim eval).
#
#   rtl/lenet5/tb/run.sh [-s icarus|verilator] [-w WEIGHTS_DIR] [-i IMAGES_IDX -l LABELS_IDX]
#                        [-f FIRST] [-d DUMPED] [-p "PLUSARGS"] [N]
#
#   N            images to run (default 20), FIRST .. FIRST+N-1 of the image set
#   -s SIM       icarus (default) or verilator (--binary --timing)
#   -w DIR       weight set (default vectors/weights/lenet5)
#   -i, -l       image and label IDX files (default: MNIST's test set)
#   -d DUMPED    compare every layer of the first DUMPED images (default: all N, at most 20);
#                the others are compared by class (eval --classes)
#   -p PLUSARGS  extra testbench plusargs, e.g. "+delay_pct=0 +split_pct=0 +seed=7"
#
# The reference is $CNN_COSIM (default target/release/cnn-cosim; copy it elsewhere first if
# someone may be rebuilding it). Works in a fresh temporary directory (printed; removed on
# success unless KEEP=1); the repository is only read. Exit status 0 only on PASS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
caller="$PWD"
abs() { case "$1" in /*) echo "$1" ;; *) echo "$caller/$1" ;; esac; }  # caller-relative paths
cd "$root"   # eval --net lenet5 resolves the network and MNIST from the repository root

sim=icarus weights=vectors/weights/lenet5 images="" labels="" first=0 dumped="" plus=""
while getopts "s:w:i:l:f:d:p:" opt; do
  case "$opt" in
    s) sim="$OPTARG" ;;
    w) weights="$(abs "$OPTARG")" ;;
    i) images="$(abs "$OPTARG")" ;;
    l) labels="$(abs "$OPTARG")" ;;
    f) first="$OPTARG" ;;
    d) dumped="$OPTARG" ;;
    p) plus="$OPTARG" ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
n="${1:-20}"
[ -n "$dumped" ] || dumped=$(( n < 20 ? n : 20 ))
ref="${CNN_COSIM:-$root/target/release/cnn-cosim}"
work="$(mktemp -d)"
echo "run.sh: work dir $work"

# images: the given IDX files, or MNIST's test set
if [ -n "$images" ]; then
  idx="$images"
  evalset=(--images "$images" --labels "$labels")
else
  idx="$(ls vectors/mnist/t10k-images*idx3-ubyte | head -n 1)"
  evalset=()
fi

python3 "$here/prep.py" "$weights" "$idx" "$first" "$n" "$work"

# the reference: every layer of the first DUMPED images, the class of all
mkdir -p "$work/dumps"
if [ "$dumped" -gt 0 ]; then
  seq "$first" $((first + dumped - 1)) | xargs -P "$(nproc)" -I{} \
    "$ref" eval --net lenet5 --weights "$weights" "${evalset[@]}" --dump "$work/dumps/{}" \
    --image {} > /dev/null
fi
if [ "$dumped" -lt "$n" ]; then
  "$ref" eval --net lenet5 --weights "$weights" "${evalset[@]}" --classes "$work/classes.csv" \
    > /dev/null
fi

# the simulation
srcs=("$root"/rtl/lenet5/*.v "$here/lenet5_tb.v")
args=(+writes="$work/writes.hex" +nwrites="$(cat "$work/nwrites.txt")" +images="$work/images.hex"
      +nimages="$n" +first="$first" +out="$work/taps.txt")
# shellcheck disable=SC2206
args+=($plus)
start=$(date +%s)
case "$sim" in
  icarus)
    iverilog -g2012 -s lenet5_tb -o "$work/tb.vvp" "${srcs[@]}"
    vvp -n "$work/tb.vvp" "${args[@]}" | tee "$work/tb.log"
    ;;
  verilator)
    "${VERILATOR:-verilator}" --binary --timing -Wno-fatal -Wno-lint -Wno-style -O3 \
      --top-module lenet5_tb -Mdir "$work/obj" -o Vlenet5_tb "${srcs[@]}" > "$work/build.log"
    "$work/obj/Vlenet5_tb" "${args[@]}" | tee "$work/tb.log"
    ;;
  *) echo "run.sh: unknown simulator $sim"; exit 2 ;;
esac
echo "run.sh: $sim ran $n images in $(( $(date +%s) - start )) s"
grep -q '^lenet5_tb: DONE' "$work/tb.log"

cls=()
if [ -f "$work/classes.csv" ]; then cls=("$work/classes.csv"); fi
python3 "$here/compare.py" "$work/taps.txt" "$work/dumps" "${cls[@]}"
if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
