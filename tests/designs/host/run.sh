#!/usr/bin/env bash
# Verify hs_load_top and hs_obi_top under Icarus against the reference (tb_host.v, hs_ref.py):
#   tests/designs/host/run.sh [N] [FULL] [extra plusargs for the correct runs]
# N images (default 200) through each top, their classes compared with the reference's;
# every conv1, pool1 and fc1 value of the first FULL (default 30) compared too. Then the
# faults: Fault=1 must never raise done (both tops), Fault=2 never grant (OBI), Fault=3 must
# give wrong layers (both tops, memories zeroed at start as under Verilator).
# The reference is `cnn-cosim eval --dump`, from $CNN_COSIM (default /tmp/hsbin/cnn-cosim, a
# copy of target/release/cnn-cosim). HS_SIM=verilator simulates with Verilator (--binary
# --timing; $VERILATOR, default .tools/bin/verilator) instead of Icarus: ~50x faster.
# Works in a fresh temporary directory (printed); the repository is only read. Exits 0 only
# on PASS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
n="${1:-200}"; shift || true
full="${1:-30}"; shift || true
if [ "$full" -gt "$n" ]; then full="$n"; fi
cosim="${CNN_COSIM:-/tmp/hsbin/cnn-cosim}"
idx="$root/vectors/mnist/t10k-images-idx3-ubyte"
weights="$root/vectors/weights"
work="$(mktemp -d)"
echo "run.sh: work dir $work"

python3 "$here/hs_ref.py" pixels "$idx" "$n" "$work/pixels.hex"
python3 "$here/hs_ref.py" pixels "$idx" 1 "$work/pixels1.hex"
python3 "$here/hs_ref.py" pixels "$idx" 4 "$work/pixels4.hex"
dumps=$(( full > 4 ? full : 4 ))   # the Fault=3 runs compare every layer of 4 images
python3 "$here/hs_ref.py" refs "$cosim" "$root" "$dumps" "$work/ref"

srcs=("$here"/hs_*.v "$here/tb_host.v")
sim_kind="${HS_SIM:-icarus}"
verilator="${VERILATOR:-$root/.tools/bin/verilator}"
build() { # name, fault, extra flags (-DHS_OBI)
  local name="$1" fault="$2"; shift 2
  if [ "$sim_kind" = verilator ]; then
    "$verilator" --binary --timing -Wno-fatal -Wno-lint -Wno-style -CFLAGS -std=c++20 \
      -CFLAGS -fcoroutines --top-module tb_host -GFault="$fault" "$@" --Mdir "$work/obj_$name" \
      -o "$work/$name.bin" "${srcs[@]}" >"$work/build_$name.log" 2>&1 ||
      { cat "$work/build_$name.log"; exit 2; }
  else
    iverilog -g2012 -o "$work/$name.vvp" -s tb_host -Ptb_host.Fault="$fault" "$@" "${srcs[@]}"
  fi
}
build load 0
build obi 0 -DHS_OBI
build load_f1 1
build obi_f1 1 -DHS_OBI
build obi_f2 2 -DHS_OBI
build load_f3 3
build obi_f3 3 -DHS_OBI

cd "$work"
sim() { # name, pixel file, images, plusargs...
  local name="$1" pix="$2" k="$3"; shift 3
  local cmd=(vvp -n "$name.vvp")
  if [ "$sim_kind" = verilator ]; then cmd=("$work/$name.bin"); fi
  "${cmd[@]}" +pixels="$pix" +weights="$weights" +images="$k" +log="$work/$name.log" \
    "$@" >"$work/$name.out" 2>&1 || true
}

# the correct designs, both at once
sim load "$work/pixels.hex" "$n" "$@" &
sim obi "$work/pixels.hex" "$n" "$@" &
wait
# the faults
sim load_f1 "$work/pixels1.hex" 1 &
sim obi_f1 "$work/pixels1.hex" 1 &
wait
sim obi_f2 "$work/pixels1.hex" 1 &
sim load_f3 "$work/pixels4.hex" 4 +zero_init &
wait
sim obi_f3 "$work/pixels4.hex" 4 +zero_init

status=0
check() { # description, condition command...
  local what="$1"; shift
  if "$@"; then echo "run.sh: ok    $what"; else echo "run.sh: FAIL  $what"; status=1; fi
}
compare() { python3 "$here/hs_ref.py" compare "$work/$1.log" "$work/ref" "$2" "$3" >"$work/$1.cmp"; }

for top in load obi; do
  grep '^tb_host:' "$work/$top.out"
  check "$top: no testbench errors" grep -q '^tb_host: FINISHED (errors 0, readback mismatches 0)' "$work/$top.out"
  check "$top: $n classes, every layer of $full images equal to the reference" compare "$top" "$n" "$full"
  tail -n 2 "$work/$top.cmp"
done
check "load Fault=1: done never rises" grep -q '^tb_host: TIMEOUT' "$work/load_f1.out"
check "obi  Fault=1: done never rises" grep -q '^tb_host: TIMEOUT' "$work/obi_f1.out"
check "obi  Fault=2: no grant" grep -q '^tb_host: NOGRANT' "$work/obi_f2.out"
for top in load_f3 obi_f3; do
  check "$top: finishes" grep -q '^tb_host: FINISHED' "$work/$top.out"
  python3 "$here/hs_ref.py" compare "$work/$top.log" "$work/ref" 4 >"$work/$top.cmp" || true
  check "$top: layers differ from the reference" grep -q '^hs_ref.py: DIFFER' "$work/$top.cmp"
  tail -n 2 "$work/$top.cmp"
done
check "obi_f3: read-back shows the dropped lane" bash -c "! grep -q 'readback mismatches 0)' '$work/obi_f3.out'"

if [ "$status" -eq 0 ]; then echo "run.sh: PASS"; else echo "run.sh: FAIL"; fi
exit "$status"
