#!/usr/bin/env python3
"""Writes vectors/fixtures/numpy_savetxt/: the six .mem files exactly as the notebook's
numpy.savetxt(path, a, fmt='%1.2x', delimiter=' ') writes them, for a fixed pattern of s8
integers (tests/memfile.rs builds the same integers and compares its exporter byte for byte).

    pip install numpy && python3 scripts/make_numpy_fixture.py
"""
import os
import numpy as np

out = os.path.join(os.path.dirname(__file__), "..", "vectors", "fixtures", "numpy_savetxt")
os.makedirs(out, exist_ok=True)


def pattern(n, salt):
    # s8 values covering -128..127, including both ends; same formula as tests/memfile.rs
    return np.array([((i * 37 + salt * 11) % 256) - 128 for i in range(n)], dtype=np.int32)


def twos(a):
    a = a.copy()
    a[a < 0] += 256  # the notebook's 2's complement step
    return a


for k in range(3):
    np.savetxt(os.path.join(out, f"conv1_weight_{k + 1}.mem"), twos(pattern(49, k).reshape(7, 7)),
               fmt="%1.2x", delimiter=" ")
np.savetxt(os.path.join(out, "conv1_bias.mem"), twos(pattern(3, 3)), fmt="%1.2x", delimiter=" ")
np.savetxt(os.path.join(out, "fc_weight.mem"), twos(pattern(3630, 4).reshape(10, 363)),
           fmt="%1.2x", delimiter=" ")
np.savetxt(os.path.join(out, "fc_bias.mem"), twos(pattern(10, 5)), fmt="%1.2x", delimiter=" ")
print("numpy", np.__version__, "->", os.path.abspath(out))
