#!/usr/bin/env python3
"""Check lenet5_requant (rtl/lenet5/lenet5_requant.v) alone under Icarus against a model of
src/network/rounding.rs's srdhm and rdbpot (TFLite's int32 arithmetic) and int8 saturation,
on the corners (acc = -2^31, 2^31 - 1, 0, +-1, exact ties of both roundings; M = 2^30,
2^31 - 1 and below the declared range, down to 0; every shift 31..62) and random vectors.

    requant_check.py [N_RANDOM]      exit 0 on PASS
"""
import os
import random
import subprocess
import sys
import tempfile

I32 = 1 << 32


def wrap32(v):
    v &= I32 - 1
    return v - I32 if v >> 31 else v


def srdhm(a, b):
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    n = ab + nudge
    q = abs(n) // (1 << 31)          # C++ division truncates toward zero
    return wrap32(q if n >= 0 else -q)


def rdbpot(x, e):
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def ref(acc, m, s):
    return max(-128, min(127, rdbpot(srdhm(acc, m), s - 31)))


def main():
    nrand = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    r = random.Random(1)
    accs = [-(1 << 31), (1 << 31) - 1, 0, 1, -1, 2, -2, 127, -128, 1 << 30, -(1 << 30)]
    ms = [1 << 30, (1 << 31) - 1, 0, 1, 3 << 29, 1 << 24]
    vecs = [(a, m, s) for a in accs for m in ms for s in range(31, 63)]
    for _ in range(nrand):
        s = r.randint(31, 62)
        m = r.choice([r.randint(1 << 30, (1 << 31) - 1), r.randint(0, (1 << 31) - 1)])
        e = s - 31
        kind = r.randrange(4)
        if kind == 0:
            a = r.randint(-(1 << 31), (1 << 31) - 1)
        elif kind == 1:     # around int8 after scaling
            a = int(r.uniform(-200, 200) * (1 << e) * (1 << 31) / max(m, 1))
        elif kind == 2:     # an SRDHM result on a tie of RDBPOT: x = (2k + 1) 2^(e-1)
            x = (2 * r.randint(-300, 300) + 1) << max(e - 1, 0)
            a = int(x * (1 << 31) / max(m, 1))
        else:
            a = r.randint(-(1 << 20), 1 << 20)
        a = max(-(1 << 31), min((1 << 31) - 1, a))
        vecs.append((a, m, s))
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "v.hex"), "w") as f:
        for a, m, s in vecs:
            f.write("%08x%08x%02x%02x\n" % (a & (I32 - 1), m, s, ref(a, m, s) & 0xFF))
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run(["iverilog", "-g2012", "-s", "requant_tb", "-o", os.path.join(d, "t.vvp"),
                    os.path.join(here, "..", "lenet5_requant.v"),
                    os.path.join(here, "requant_tb.v")], check=True)
    out = subprocess.run(["vvp", "-n", os.path.join(d, "t.vvp"), "+vectors=" + os.path.join(d, "v.hex"),
                          "+n=%d" % len(vecs)], capture_output=True, text=True).stdout
    print(out.strip())
    sys.exit(0 if "requant_tb: PASS" in out else 1)


if __name__ == "__main__":
    main()
