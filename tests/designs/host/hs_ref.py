#!/usr/bin/env python3
"""Stimulus and reference for tb_host (tests/designs/host), Python 3.11, no numpy.

    hs_ref.py pixels IDX N OUT           first N images of an MNIST IDX file as a $readmemh
                                         file: one two-digit hex byte per line, raster order
    hs_ref.py refs COSIM ROOT N DIR      the reference: `COSIM eval --dump DIR/img<i> --image i`
                                         for i < N, and `--classes DIR/classes.csv` (every test
                                         image), run in the project ROOT (seed network)
    hs_ref.py compare LOG DIR N [FULL]   tb_host's beat log against the reference: every conv1,
                                         pool1 and fc1 value of images < FULL (those dumped),
                                         the class of images < N; exit 0 only if all match

The log's lines are `conv IMG K R C V`, `pool IMG K R C V`, `fc IMG O V`,
`class IMG CLASS CYCLES`. Beats are placed by their coordinates; a coordinate given twice
or missing, or a value that is not an integer (x), is a mismatch.
"""
import csv
import os
import struct
import subprocess
import sys


def pixels(idx, n, out):
    with open(idx, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x00000803:
            sys.exit(f"hs_ref.py: {idx}: not an IDX u8 image file (magic {magic:#x})")
        if n > count:
            sys.exit(f"hs_ref.py: {idx} holds {count} images, {n} requested")
        data = f.read(n * rows * cols)
    with open(out, "w") as f:
        f.write("".join(f"{b:02x}\n" for b in data))
    print(f"hs_ref.py: {n} images of {rows}x{cols} -> {out}")


def refs(cosim, root, n, out):
    os.makedirs(out, exist_ok=True)
    subprocess.run([cosim, "eval", "--classes", os.path.join(out, "classes.csv")],
                   cwd=root, check=True, stdout=subprocess.DEVNULL)
    for i in range(n):
        subprocess.run([cosim, "eval", "--dump", os.path.join(out, f"img{i}"), "--image", str(i)],
                       cwd=root, check=True, stdout=subprocess.DEVNULL)
    print(f"hs_ref.py: reference classes of every test image, every layer of images 0..{n - 1}"
          f" -> {out}")


def read_map(path):
    """channel,row,col,value -> {(k, r, c): value}"""
    with open(path) as f:
        return {(int(r["channel"]), int(r["row"]), int(r["col"])): int(r["value"])
                for r in csv.DictReader(f)}


def read_vec(path):
    with open(path) as f:
        return {int(r["index"]): int(r["value"]) for r in csv.DictReader(f)}


def compare(log, ref, n, full):
    got = {}       # (layer, img) -> {coord: value string}
    dup = []
    classes = {}
    cycles = []
    with open(log) as f:
        for line in f:
            t = line.split()
            if not t:
                continue
            if t[0] in ("conv", "pool"):
                key, coord, v = (t[0], int(t[1])), tuple(int(x) for x in t[2:5]), t[5]
            elif t[0] == "fc":
                key, coord, v = ("fc", int(t[1])), int(t[2]), t[3]
            elif t[0] == "class":
                classes[int(t[1])] = t[2]
                cycles.append(int(t[3]))
                continue
            else:
                sys.exit(f"hs_ref.py: {log}: unknown line {line!r}")
            d = got.setdefault(key, {})
            if coord in d:
                dup.append((key, coord))
            d[coord] = v

    with open(os.path.join(ref, "classes.csv")) as f:
        ref_class = {int(r["image"]): int(r["reference"]) for r in csv.DictReader(f)}

    bad = 0
    shown = 0
    per = {"conv": 0, "pool": 0, "fc": 0, "class": 0}

    def report(msg):
        nonlocal bad, shown
        bad += 1
        if msg.split()[0] in per:
            per[msg.split()[0]] += 1
        if shown < 20:
            print(f"hs_ref.py: MISMATCH {msg}")
            shown += 1

    for key, coord in dup:
        report(f"{key[0]} image {key[1]} {coord}: beat given twice")
    compared = {"conv": 0, "pool": 0, "fc": 0}
    for i in range(full):
        d = os.path.join(ref, f"img{i}")
        expect = {"conv": read_map(os.path.join(d, "01_conv1.csv")),
                  "pool": read_map(os.path.join(d, "03_pool1.csv")),
                  "fc": read_vec(os.path.join(d, "05_fc1.csv"))}
        for layer, want in expect.items():
            have = got.get((layer, i), {})
            for coord, v in want.items():
                if coord not in have:
                    report(f"{layer} image {i} {coord}: no beat")
                elif have[coord] != str(v):
                    report(f"{layer} image {i} {coord}: got {have[coord]}, reference {v}")
                compared[layer] += 1
            for coord in have.keys() - want.keys():
                report(f"{layer} image {i} {coord}: beat outside the layer")
    for i in range(n):
        if i not in classes:
            report(f"class image {i}: none")
        elif classes[i] != str(ref_class[i]):
            report(f"class image {i}: got {classes[i]}, reference {ref_class[i]}")
    extra = [k for k in got if k[1] >= n] + [i for i in classes if i >= n]
    for k in extra:
        report(f"beats or class of image {k}, beyond the {n} images")

    span = f", cycles start->done {min(cycles)}..{max(cycles)}" if cycles else ""
    print(f"hs_ref.py: compared every layer of {full} images (conv1 {compared['conv']}, pool1 "
          f"{compared['pool']}, fc1 {compared['fc']} values) and {len(classes)} of {n} classes"
          f"{span}: {bad} mismatches (conv1 {per['conv']}, pool1 {per['pool']}, fc1 {per['fc']},"
          f" class {per['class']})")
    print("hs_ref.py: MATCH" if bad == 0 else "hs_ref.py: DIFFER")
    return 0 if bad == 0 else 1


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "pixels":
        pixels(a[1], int(a[2]), a[3])
    elif len(a) == 5 and a[0] == "refs":
        refs(a[1], a[2], int(a[3]), a[4])
    elif len(a) in (4, 5) and a[0] == "compare":
        n = int(a[3])
        sys.exit(compare(a[1], a[2], n, int(a[4]) if len(a) == 5 else n))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
