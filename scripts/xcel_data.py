# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""Fashion-MNIST IDX reading and xcel's deterministic validation split, in Python.

The split must match src/data/split.cpp exactly: a Fisher-Yates shuffle of the training indices driven by
splitmix64(seed); the first `val_size` shuffled indices form the validation split. The bundled models are
trained on the rest, so xcel's validation accuracy (default --val-size 5000, --seed 0) is held-out data.
"""
import gzip
import struct

import numpy as np

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def permutation(n, seed):
    rng = SplitMix64(seed)
    idx = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.next() % (i + 1)
        idx[i], idx[j] = idx[j], idx[i]
    return idx


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic == 0x803:
        n, h, w = struct.unpack(">III", data[4:16])
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, h, w)
    if magic == 0x801:
        n = struct.unpack(">I", data[4:8])[0]
        return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)
    raise ValueError(f"{path}: bad IDX magic {magic:#x}")


def load(root, train):
    prefix = "train" if train else "t10k"
    x = read_idx(f"{root}/{prefix}-images-idx3-ubyte.gz")
    y = read_idx(f"{root}/{prefix}-labels-idx1-ubyte.gz")
    return x, y
