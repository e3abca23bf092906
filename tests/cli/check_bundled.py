#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_bundled.py XCEL MODELS_DIR NAME

Runs `xcel eval --json` on a bundled model over the Fashion-MNIST test set and checks it against what
scripts/train_models.py recorded in models.json: test top-1 within 0.1 point (LibTorch and PyTorch may round
a few logits differently), FLOPs and parameters exactly, and the size limit of 5 MB.
"""
import json
import os
import subprocess
import sys

xcel, models, name = sys.argv[1:4]
meta = json.load(open(os.path.join(models, "models.json")))[name]
path = os.path.join(models, meta["file"])
out = subprocess.run([xcel, "eval", "--model", path, "--data", "fashion-mnist", "--json", "--threads", "2"],
                     check=True, capture_output=True, text=True).stdout
got = json.loads(out)
print(f"{name}: xcel top1 {got['top1']:.4f} (recorded {meta['test_top1']:.4f}), flops {got['flops']}, "
      f"params {got['params']}, {got['file_bytes']} bytes, latency median {got['latency_ms']['median']:.3f} ms")
assert got["images"] == 10000, got["images"]
assert abs(got["top1"] - meta["test_top1"]) <= 0.001, (got["top1"], meta["test_top1"])
assert got["flops"] == meta["flops"], (got["flops"], meta["flops"])
assert got["params"] == meta["params"], (got["params"], meta["params"])
assert got["file_bytes"] < 5 * 1024 * 1024
assert 0 <= got["top5"] <= 1 and got["top5"] >= got["top1"]
floor = 0.925 if name in ("vgg", "resnet") else 0.91
assert meta["test_top1"] >= floor, f"{name} below its accuracy floor {floor}"
print("ok")
