#!/usr/bin/env python3
"""A seeded random lenet5 weight set and random images, to stress the RTL beyond MNIST.

    randset.py SEED KIND OUT_DIR [IMAGES]

writes OUT_DIR/*.mem (vectors/networks/lenet5.toml's files and formats) and
OUT_DIR/images.idx, OUT_DIR/labels.idx (IMAGES images, default 20, 28 x 28 unsigned bytes;
labels are 0). KIND, like src/stimulus.rs's weight kinds:
  all+127, all-128, alternating   every value at its range's top / bottom / alternating
  sparse                          10 % of weights and biases random, the rest 0
  uniform                         every value uniform over its range
  extremes                        a quarter each at the top and bottom, the rest uniform
  balanced                        uniform weights and biases, shifts chosen so that the
                                  requantized values mostly land inside int8 (a few at
                                  the ends of 31..62)
  ties                            balanced, and output rows 2 and 7 equal with the largest
                                  bias (their logits tie: the class must be the lower)
C3's weights of unconnected pairs are drawn like the others (non-zero), which the RTL must
ignore. Multipliers lie in 2^30 .. 2^31 - 1, shifts in 31..62, biases are 24-bit.
Images by index % 8: all 0, all 255, checkerboard 0/255, one hot pixel, sparse, and three
uniform.
"""
import os
import random
import struct
import sys

LAYERS = {  # name: (outputs, inputs per output, weights per line, files)
    "c1": (6, 25, 5, "per-output"),
    "c3": (16, 150, 5, "per-output"),
    "c5": (120, 400, 25, "one"),
    "f6": (84, 120, 120, "one"),
    "output": (10, 84, 84, "one"),
}
# log2 of a typical |accumulator| per layer for "balanced" (inputs ~ 0..127 after ReLU)
TYPICAL = {"c1": 17, "c3": 17, "c5": 17, "f6": 16}


def main():
    seed, kind, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    nimg = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    r = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    n = [0]

    def pick(lo, hi, scale=False):
        # scale: a multiplier or shift, whose range is drawn from as src/stimulus.rs does
        n[0] += 1
        if kind == "all+127":
            return hi
        if kind == "all-128":
            return lo
        if kind == "alternating":
            return hi if n[0] % 2 else lo
        if scale:
            return r.randint(lo, hi)
        if kind == "sparse":
            return r.randint(lo, hi) if r.random() < 0.1 else 0
        if kind == "extremes":
            c = r.randrange(4)
            return hi if c == 0 else lo if c == 1 else r.randint(lo, hi)
        return r.randint(lo, hi)

    def write(name, values, digits, per_line):
        with open(os.path.join(out, name), "w") as f:
            for k in range(0, len(values), per_line):
                f.write(" ".join("%0*x" % (digits, v & ((1 << (4 * digits)) - 1))
                                 for v in values[k:k + per_line]) + "\n")

    for layer, (outs, ins, per_line, files) in LAYERS.items():
        w = [pick(-128, 127) for _ in range(outs * ins)]
        b = [pick(-(1 << 23), (1 << 23) - 1) if kind not in ("balanced", "ties")
             else r.randint(-(1 << 12), 1 << 12) for _ in range(outs)]
        if kind == "ties" and layer == "output":
            w[7 * ins:8 * ins] = w[2 * ins:3 * ins]
            b = [-(1 << 23)] * outs
            b[2] = b[7] = (1 << 23) - 1
        if files == "per-output":
            for o in range(outs):
                write(f"{layer}_weight_{o}.mem", w[o * ins:(o + 1) * ins], 2, per_line)
        else:
            write(f"{layer}_weight.mem", w, 2, per_line)
        write(f"{layer}_bias.mem", b, 6, 1)
        if layer == "output":
            continue
        if kind in ("balanced", "ties"):
            m = [r.randint(1 << 30, (1 << 31) - 1) for _ in range(outs)]
            s = []
            for _ in range(outs):
                u = r.random()
                s.append(31 if u < 0.03 else 62 if u < 0.06 else
                         max(31, min(62, 31 + TYPICAL[layer] - 7 + r.randint(-2, 2))))
        else:
            m = [pick(1 << 30, (1 << 31) - 1, True) for _ in range(outs)]
            s = [pick(31, 62, True) for _ in range(outs)]
        write(f"{layer}_multiplier.mem", m, 8, 1)
        write(f"{layer}_shift.mem", s, 2, 1)

    imgs = bytearray()
    for i in range(nimg):
        k = i % 8
        if k == 0:
            px = [0] * 784
        elif k == 1:
            px = [255] * 784
        elif k == 2:
            px = [255 * ((y + x) % 2) for y in range(28) for x in range(28)]
        elif k == 3:
            px = [0] * 784
            px[r.randrange(784)] = r.randint(1, 255)
        elif k == 4:
            px = [r.randint(0, 255) if r.random() < 0.1 else 0 for _ in range(784)]
        else:
            px = [r.randint(0, 255) for _ in range(784)]
        imgs += bytes(px)
    with open(os.path.join(out, "images.idx"), "wb") as f:
        f.write(struct.pack(">IIII", 0x0803, nimg, 28, 28) + imgs)
    with open(os.path.join(out, "labels.idx"), "wb") as f:
        f.write(struct.pack(">II", 0x0801, nimg) + bytes(nimg))


if __name__ == "__main__":
    main()
