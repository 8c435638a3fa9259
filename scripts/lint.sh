#!/usr/bin/env bash
# Lint the RTL: Verilator -Wall lint of the design and Icarus compiles of the
# design alone and of design + testbench. Fails (non-zero) if any tool exits
# non-zero or prints anything at all.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

status=0
run() { # run a command; any output or a non-zero exit is a failure
  echo "+ $*"
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  if [ -n "$out" ]; then printf '%s\n' "$out"; fi
  if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
    echo "lint.sh: FAILED (exit $rc${out:+, output above})"
    status=1
  fi
}

mapfile -t rtl < <(ls rtl/*.v)

run verilator --lint-only -Wall --top-module cnn_top "${rtl[@]}"
run iverilog -g2012 -o /dev/null -s cnn_top "${rtl[@]}"
run iverilog -g2012 -o /dev/null -s cnn_tb "${rtl[@]}" rtl/tb/cnn_tb.v

# The two_conv design (rtl/two_conv/): its top and the shared modules it re-parameterizes,
# with its verification aid off (the default) and on.
two_conv=(rtl/two_conv/cnn_two_conv_top.v "${rtl[@]}")
run verilator --lint-only -Wall --top-module cnn_two_conv_top "${two_conv[@]}"
run verilator --lint-only -Wall --top-module cnn_two_conv_top -GStallSeed=4242 "${two_conv[@]}"
run iverilog -g2012 -o /dev/null -s cnn_two_conv_top "${two_conv[@]}"

# The test designs bound by their binding files (tests/designs/*/binding.toml).
mapfile -t stall < <(ls tests/designs/stall/mnist_accel.v tests/designs/stall/ma_*.v)
run verilator --lint-only -Wall --top-module mnist_accel "${stall[@]}"
run iverilog -g2012 -o /dev/null -s mnist_accel "${stall[@]}"
mapfile -t freerun < <(ls tests/designs/freerun/freerun_top.v tests/designs/freerun/fr_*.v)
run verilator --lint-only -Wall --top-module freerun_top "${freerun[@]}"
run iverilog -g2012 -o /dev/null -s freerun_top "${freerun[@]}"
run verilator --lint-only -Wall --top-module two_lane_top tests/designs/two_lane/two_lane_top.v "${rtl[@]}"
run iverilog -g2012 -o /dev/null -s two_lane_top tests/designs/two_lane/two_lane_top.v "${rtl[@]}"
run verilator --lint-only -Wall --top-module misbehave_top tests/designs/misbehave/misbehave_top.v "${rtl[@]}"
run iverilog -g2012 -o /dev/null -s misbehave_top tests/designs/misbehave/misbehave_top.v "${rtl[@]}"
run verilator --lint-only -Wall --top-module tl_top tests/designs/toplevel/tl_top.v "${rtl[@]}"
run iverilog -g2012 -o /dev/null -s tl_top tests/designs/toplevel/tl_top.v "${rtl[@]}"
run verilator --lint-only -Wall --top-module strobe_top tests/designs/strobe/strobe_top.v "${rtl[@]}"
run iverilog -g2012 -o /dev/null -s strobe_top tests/designs/strobe/strobe_top.v "${rtl[@]}"
run verilator --lint-only -Wall --top-module pairs_top tests/designs/pairs/pairs_*.v "${rtl[@]}"
run iverilog -g2012 -o /dev/null -s pairs_top tests/designs/pairs/pairs_*.v "${rtl[@]}"
# The host-loaded designs (tests/designs/host): both tops over the shared hs_core (the
# default, correct; the OBI top once with its dropped byte lane, Fault=3), and tb_host for each.
mapfile -t host < <(ls tests/designs/host/hs_*.v)
run verilator --lint-only -Wall --top-module hs_load_top "${host[@]}"
run verilator --lint-only -Wall --top-module hs_obi_top "${host[@]}"
run verilator --lint-only -Wall --top-module hs_obi_top -GFault=3 "${host[@]}"
run iverilog -g2012 -o /dev/null -s hs_load_top "${host[@]}"
run iverilog -g2012 -o /dev/null -s hs_obi_top "${host[@]}"
run iverilog -g2012 -o /dev/null -s tb_host "${host[@]}" tests/designs/host/tb_host.v
run iverilog -g2012 -o /dev/null -s tb_host -DHS_OBI "${host[@]}" tests/designs/host/tb_host.v
# The LeNet-5 design (rtl/lenet5/, host-loaded over AXI4-Lite), its testbench and the
# requantization unit's testbench.
mapfile -t lenet5 < <(ls rtl/lenet5/*.v)
run verilator --lint-only -Wall --top-module lenet5_top "${lenet5[@]}"
run iverilog -g2012 -o /dev/null -s lenet5_top "${lenet5[@]}"
run iverilog -g2012 -o /dev/null -s lenet5_tb "${lenet5[@]}" rtl/lenet5/tb/lenet5_tb.v
run iverilog -g2012 -o /dev/null -s requant_tb rtl/lenet5/lenet5_requant.v rtl/lenet5/tb/requant_tb.v

if [ "$status" -eq 0 ]; then echo "lint.sh: clean"; fi
exit "$status"
