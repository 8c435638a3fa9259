#!/usr/bin/env python3
"""Convert a weight directory in the project's layout (vectors/weights) into the layout
mnist_accel (tests/designs/stall) loads:

    conv1_weight_1.mem .. conv1_weight_3.mem, conv1_bias.mem, fc_bias.mem   copied as they are
    fc_weight.mem line o (363 tokens)  ->  neuron_weights_<o>.mem, one token per line

    python3 make_weights.py SRC DST
"""
import os
import shutil
import sys

COPIED = ["conv1_weight_1.mem", "conv1_weight_2.mem", "conv1_weight_3.mem",
          "conv1_bias.mem", "fc_bias.mem"]
OUTPUTS = 10
INPUTS = 363


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_weights.py SRC DST")
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
    with open(os.path.join(src, "fc_weight.mem")) as f:
        rows = [line.split() for line in f if line.strip()]
    if len(rows) != OUTPUTS or any(len(r) != INPUTS for r in rows):
        sys.exit(f"make_weights.py: {src}/fc_weight.mem is not {OUTPUTS} lines x {INPUTS} tokens")
    for o, row in enumerate(rows):
        for tok in row:
            int(tok, 16)  # every token must be a hex byte
            if len(tok) > 2:
                sys.exit(f"make_weights.py: token '{tok}' is not two hex digits")
        with open(os.path.join(dst, f"neuron_weights_{o}.mem"), "w") as f:
            f.write("".join(f"{tok}\n" for tok in row))
    print(f"make_weights.py: {src} -> {dst} ({len(COPIED)} copied, {OUTPUTS} neuron files)")


if __name__ == "__main__":
    main()
