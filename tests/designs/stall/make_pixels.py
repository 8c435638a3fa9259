#!/usr/bin/env python3
"""Write the first N images of an MNIST IDX image file as a $readmemh pixel file: one
two-digit hex byte per line, raster order, images one after another (N*784 lines), the
format rtl/tb/cnn_tb.v, tb_stall.v and ../freerun/tb_freerun.v read with +pixels=FILE.

    python3 make_pixels.py IDX N OUT
"""
import struct
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: make_pixels.py IDX N OUT")
    idx, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(idx, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x00000803:
            sys.exit(f"make_pixels.py: {idx}: not an IDX u8 image file (magic {magic:#x})")
        if n > count:
            sys.exit(f"make_pixels.py: {idx} holds {count} images, {n} requested")
        data = f.read(n * rows * cols)
    with open(out, "w") as f:
        f.write("".join(f"{b:02x}\n" for b in data))
    print(f"make_pixels.py: {n} images of {rows}x{cols} -> {out}")


if __name__ == "__main__":
    main()
