#!/usr/bin/env python3
"""Stimulus for lenet5_tb: the AXI4-Lite writes that load a lenet5 weight set, and images.

    prep.py WEIGHTS_DIR IMAGES_IDX FIRST COUNT OUT_DIR

writes into OUT_DIR
  writes.hex   one write per line, 13 hex digits: byte address (20 bits) then data (32 bits),
               every weight, bias, multiplier and shift of WEIGHTS_DIR (vectors/networks/
               lenet5.toml's files) at the address rtl/lenet5/README.md gives it;
  nwrites.txt  the number of lines of writes.hex;
  images.hex   COUNT images (IMAGES_IDX's images FIRST .. FIRST+COUNT-1), 196 words each:
               pixel 4k + j of an image in bits 8j+7..8j of its word k.
IMAGES_IDX is an IDX file of unsigned bytes, N x 28 x 28 (MNIST's t10k-images-idx3-ubyte).
"""
import os
import struct
import sys

C1_W, C3_W, F6_W, OUT_W, C5_W = 0x01000, 0x02000, 0x04000, 0x07000, 0x10000
PARAMS = {  # layer: (bias, multiplier, shift) byte addresses, channels
    "c1": (0x08000, 0x08100, 0x08200, 6),
    "c3": (0x08400, 0x08500, 0x08600, 16),
    "c5": (0x08800, 0x08C00, 0x09000, 120),
    "f6": (0x09400, 0x09600, 0x09800, 84),
    "output": (0x09A00, None, None, 10),
}


def tokens(path):
    with open(path) as f:
        return f.read().split()


def signed(tok, bits):
    v = int(tok, 16)
    if v >> (bits - 1):
        v -= 1 << bits
    return v


def int8s(path):
    return [signed(t, 8) for t in tokens(path)]


def words_of_bytes(base, values):
    """Little-endian words of int8 values at byte address base. A last word past the end
    (C1's 150 bytes) is padded with 0xA5: the RTL must not write those bytes anywhere."""
    out = []
    for k in range(0, len(values), 4):
        chunk = [v & 0xFF for v in values[k:k + 4]]
        chunk += [0xA5] * (4 - len(chunk))
        out.append((base + k, chunk[0] | chunk[1] << 8 | chunk[2] << 16 | chunk[3] << 24))
    return out


def main():
    wdir, idx, first, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    os.makedirs(out, exist_ok=True)
    w = lambda name: os.path.join(wdir, name)

    c1 = sum((int8s(w(f"c1_weight_{o}.mem")) for o in range(6)), [])
    c3 = sum((int8s(w(f"c3_weight_{o}.mem")) for o in range(16)), [])
    c5 = int8s(w("c5_weight.mem"))
    f6 = int8s(w("f6_weight.mem"))
    ow = int8s(w("output_weight.mem"))
    for name, v, n in (("c1", c1, 150), ("c3", c3, 2400), ("c5", c5, 48000),
                       ("f6", f6, 10080), ("output", ow, 840)):
        if len(v) != n:
            sys.exit(f"prep.py: {name} weights: {len(v)} values, expected {n}")

    writes = []
    for base, v in ((C1_W, c1), (C3_W, c3), (C5_W, c5), (F6_W, f6), (OUT_W, ow)):
        writes += words_of_bytes(base, v)
    for layer, (b_addr, m_addr, s_addr, n) in PARAMS.items():
        bias = [signed(t, 24) for t in tokens(w(f"{layer}_bias.mem"))]
        assert len(bias) == n, layer
        writes += [(b_addr + 4 * k, b & 0xFFFFFFFF) for k, b in enumerate(bias)]
        if m_addr is not None:
            mult = [int(t, 16) for t in tokens(w(f"{layer}_multiplier.mem"))]
            shift = [int(t, 16) for t in tokens(w(f"{layer}_shift.mem"))]
            assert len(mult) == n and len(shift) == n, layer
            writes += [(m_addr + 4 * k, m) for k, m in enumerate(mult)]
            writes += [(s_addr + 4 * k, s) for k, s in enumerate(shift)]
    with open(os.path.join(out, "writes.hex"), "w") as f:
        for a, d in writes:
            f.write(f"{a:05x}{d:08x}\n")
    with open(os.path.join(out, "nwrites.txt"), "w") as f:
        f.write(f"{len(writes)}\n")

    with open(idx, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = [struct.unpack(">I", data[4 + 4 * i:8 + 4 * i])[0] for i in range(magic & 0xFF)]
    if magic >> 8 != 0x08 or dims[-2:] != [28, 28] or len(dims) != 3:
        sys.exit(f"prep.py: {idx}: not an IDX file of unsigned bytes N x 28 x 28")
    n, off = dims[0], 4 + 4 * len(dims)
    if first + count > n:
        sys.exit(f"prep.py: {idx} holds {n} images, asked for {first}..{first + count - 1}")
    with open(os.path.join(out, "images.hex"), "w") as f:
        for i in range(first, first + count):
            px = data[off + 784 * i:off + 784 * (i + 1)]
            for k in range(196):
                f.write("%08x\n" % int.from_bytes(px[4 * k:4 * k + 4], "little"))


if __name__ == "__main__":
    main()
