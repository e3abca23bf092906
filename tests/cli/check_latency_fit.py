#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_latency_fit.py XCEL MODEL_A MODEL_B WORK_DIR

`xcel latency fit` on two small models: it writes a predictor and reports held-out accuracy with its fields in
range; `xcel latency measure --backend predictor` answers from it, labelled estimated; a predictor fitted for
one target is refused for another; a damaged predictor file is a clear error.
"""
import json
import os
import shutil
import subprocess
import sys

xcel, a, b, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
pred = os.path.join(work, "host.json")


def run(*args, code=0):
    p = subprocess.run([xcel] + list(args), capture_output=True, text=True)
    assert p.returncode == code, (args, p.returncode, p.stderr)
    return p


r = json.loads(run("latency", "fit", "--models", f"{a},{b}", "--variants", "8", "--runs", "10", "--rounds", "2", "--out", pred,
                   "--json").stdout)
assert r["variants"] == 18 and r["held_out"] >= 1 and r["fitted"] + r["held_out"] == 18, r
assert 0 <= r["within_10pct"] <= 1 and r["rmse_ms"] >= 0 and r["table_entries"] > 5, r
assert len(r["held_out_variants"]) == r["held_out"], r
saved = json.load(open(pred))
assert saved["target"] == "host" and len(saved["coef"]) == 4 and saved["lut"], saved.keys()

m = json.loads(run("latency", "measure", "--model", a, "--backend", "predictor", "--predictor", pred, "--json").stdout)
assert m["source"] == "estimated" and m["method"] == "predictor" and m["ms"]["median"] > 0, m
p = run("latency", "measure", "--model", a, "--target", "pixel1", "--backend", "predictor", "--predictor", pred, code=2)
assert "fitted for target 'host'" in p.stderr, p.stderr
open(os.path.join(work, "bad.json"), "w").write("{\"target\": \"host\"")
p = run("latency", "measure", "--model", a, "--backend", "predictor", "--predictor", os.path.join(work, "bad.json"), code=3)
assert "is damaged" in p.stderr, p.stderr
print("ok")
