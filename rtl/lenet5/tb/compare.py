#!/usr/bin/env python3
"""Compare lenet5_tb's tap beats with the reference (cnn-cosim eval).

    compare.py TAPS DUMPS [CLASSES_CSV]

TAPS: lenet5_tb's output. DUMPS: a directory holding, per image N, DUMPS/N/ as written by
`cnn-cosim eval --net lenet5 --dump DUMPS/N --image N`; every layer of every image that has
one is compared: c1, s2, c3, s4, c5 (channel, row, col), f6, output (index) and the class.
Each reference element must come exactly once and equal; no other beat may come.
CLASSES_CSV (`eval --classes`): the class of every image in TAPS without a dump is checked
against its `reference` column. Exit 0 only when everything matches.
"""
import csv
import os
import sys
from collections import defaultdict

LAYERS = {"c1": "03_c1", "s2": "05_s2", "c3": "06_c3", "s4": "08_s4", "c5": "09_c5",
          "f6": "12_f6", "output": "14_output", "class": "15_class"}


def load_dump(d):
    ref = {}
    for layer, stem in LAYERS.items():
        with open(os.path.join(d, stem + ".csv")) as f:
            rows = list(csv.reader(f))
        head, body = rows[0], rows[1:]
        if layer == "class":
            ref[layer] = {(): int(body[0][1])}
        elif head[0] == "index":
            ref[layer] = {(int(r[0]),): int(r[1]) for r in body}
        else:
            ref[layer] = {(int(r[0]), int(r[1]), int(r[2])): int(r[3]) for r in body}
    return ref


def main():
    taps, dumps = sys.argv[1], sys.argv[2]
    classes = {}
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            for r in csv.DictReader(f):
                classes[int(r["image"])] = int(r["reference"])
    got = defaultdict(lambda: defaultdict(list))   # image -> layer -> [(key, value)]
    cycles = {}
    with open(taps) as f:
        for line in f:
            p = line.split()
            img, layer, nums = int(p[0]), p[1], [int(x) for x in p[2:]]
            if layer == "class":
                got[img]["class"].append(((), nums[0]))
                cycles[img] = nums[1]
            else:
                got[img][layer].append((tuple(nums[:-1]), nums[-1]))
    bad = 0
    full = classes_only = 0
    shown = 0

    def err(msg):
        nonlocal bad, shown
        bad += 1
        if shown < 30:
            print("compare.py: MISMATCH", msg)
            shown += 1

    for img in sorted(got):
        d = os.path.join(dumps, str(img))
        if os.path.isdir(d):
            full += 1
            ref = load_dump(d)
            for layer in LAYERS:
                beats = got[img][layer]
                seen = {}
                for key, v in beats:
                    if key in seen:
                        err(f"image {img} {layer} {key}: beat came twice")
                    seen[key] = v
                for key, v in ref[layer].items():
                    if key not in seen:
                        err(f"image {img} {layer} {key}: no beat (reference {v})")
                    elif seen[key] != v:
                        err(f"image {img} {layer} {key}: rtl {seen[key]}, reference {v}")
                for key in seen:
                    if key not in ref[layer]:
                        err(f"image {img} {layer} {key}: beat outside the layer's shape")
            extra = set(got[img]) - set(LAYERS)
            if extra:
                err(f"image {img}: unknown layers {extra}")
        elif img in classes:
            classes_only += 1
            c = got[img]["class"]
            if len(c) != 1 or c[0][1] != classes[img]:
                err(f"image {img} class: rtl {c}, reference {classes[img]}")
        else:
            err(f"image {img}: no reference")
    cyc = sorted(cycles.values())
    print(f"compare.py: {full} images compared in every layer, {classes_only} more by class; "
          f"first image write -> class {cyc[0]}..{cyc[-1]} cycles" if cyc else "no images")
    if bad:
        print(f"compare.py: FAIL ({bad} mismatches)")
        sys.exit(1)
    print("compare.py: PASS")


if __name__ == "__main__":
    main()
