#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_pruned.py XCEL MODEL INPUT_SHAPE OUT_DIR [xcel prune options...]

Runs `xcel prune --json` and checks the result from the outside: PyTorch's torch.jit.load runs pruned.pt
with the original output shape (and, with --remove, holds no parameter of the removed blocks), `xcel inspect` counts exactly the FLOPs
the summary reports, its stored tensors are smaller, policy.json re-applied with --policy gives the same FLOPs, and the input model's bytes
are unchanged.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile

import torch

xcel, model, shape, out = sys.argv[1:5]
extra = sys.argv[5:]
shape = [int(v) for v in shape.split(",")]
digest = hashlib.sha256(open(model, "rb").read()).hexdigest()
shutil.rmtree(out, ignore_errors=True)


def run(args):
    return json.loads(subprocess.run([xcel] + args, check=True, capture_output=True, text=True).stdout)


summary = run(["prune", "--model", model, "--input", ",".join(map(str, shape)), "--out", out, "--json"] + extra)
pruned = os.path.join(out, "pruned.pt")
original = torch.jit.load(model)
m = torch.jit.load(pruned)
x = torch.rand(shape)
with torch.no_grad():
    assert m(x).shape == original(x).shape, (m(x).shape, original(x).shape)
removed = extra[extra.index("--remove") + 1].split(",") if "--remove" in extra else []
for block in removed:  # blocks removed whole: no parameter of theirs is left, and the code no longer calls them
    assert not [k for k in m.state_dict() if k.startswith(block + ".")], block
    assert summary["removed_blocks"] == removed, summary.get("removed_blocks")


def tensor_bytes(path):
    """Bytes of tensor storage in a TorchScript archive (its data/ entries), without the code."""
    with zipfile.ZipFile(path) as z:
        return sum(i.file_size for i in z.infolist() if "/data/" in i.filename)


assert tensor_bytes(pruned) < tensor_bytes(model), "pruned weights are not smaller"
assert summary["params"] < summary["params_before"]
inspected = run(["inspect", "--model", pruned, "--input", ",".join(map(str, shape)), "--json"])
assert inspected["flops"] == summary["flops"] == summary["flops_predicted"], (inspected["flops"], summary)
assert summary["flops"] < summary["flops_before"]
again = run(["prune", "--model", model, "--input", ",".join(map(str, shape)), "--out", out + "-again",
             "--policy", os.path.join(out, "policy.json"), "--json"] + (["--remove", ",".join(removed)] if removed else []))
assert again["flops"] == summary["flops"], (again["flops"], summary["flops"])
assert hashlib.sha256(open(model, "rb").read()).hexdigest() == digest, "input model changed"
shutil.rmtree(out + "-again")
print(f"ok: FLOPs {summary['flops_before']} -> {summary['flops']}, params {summary['params_before']} -> "
      f"{summary['params']}, apply {summary['apply_ms']:.1f} ms")
