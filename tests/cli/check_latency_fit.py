#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_latency_fit.py XCEL MODEL_A MODEL_B WORK_DIR OTHER_MODEL OTHER_INPUT

`xcel latency fit` on two small models: it writes a predictor and reports held-out accuracy with its fields in
range; `xcel latency measure --backend predictor` answers from it, labelled estimated; a predictor fitted for
one target is refused for another; a damaged predictor file is a clear error; a model of another family with
layers outside the fitted sizes (OTHER_MODEL at OTHER_INPUT) gets its estimate with a warning saying so, a model
it was fitted on gets none.
"""
import json
import os
import shutil
import subprocess
import sys

xcel, a, b, work, other, other_input = sys.argv[1:7]
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
assert r["table_entries"] > 5 and len(r["held_out_variants"]) == r["held_out"], r
# The accuracy figures are those of the held-out rows it lists: recomputed here, they must agree.
rows = r["held_out_variants"]
rel = [(v["predicted_ms"] - v["measured_ms"]) / v["measured_ms"] for v in rows]
assert all(v["predicted_ms"] > 0 and v["measured_ms"] > 0 for v in rows), rows
assert abs(r["within_10pct"] - sum(abs(e) <= 0.10 for e in rel) / len(rows)) < 1e-12, (r["within_10pct"], rel)
assert abs(r["rmse_relative"] - (sum(e * e for e in rel) / len(rel)) ** 0.5) < 1e-9, (r["rmse_relative"], rel)
rmse = (sum((v["predicted_ms"] - v["measured_ms"]) ** 2 for v in rows) / len(rows)) ** 0.5
assert abs(r["rmse_ms"] - rmse) < 1e-9, (r["rmse_ms"], rmse)
# A predictor is no better than a guess if it cannot tell a model from its half-width variants: the held-out
# variants are predicted within a factor of three (a broken unit or calibration is off by far more).
assert all(abs(e) < 2.0 for e in rel), rel
saved = json.load(open(pred))
assert saved["target"] == "host" and len(saved["coef"]) == 4 and saved["lut"], saved.keys()

p = run("latency", "measure", "--model", a, "--backend", "predictor", "--predictor", pred, "--json")
m = json.loads(p.stdout)
assert m["source"] == "estimated" and m["method"] == "predictor" and m["ms"]["median"] > 0, m
assert "outside what it was fitted on" not in p.stderr, p.stderr
p = run("latency", "measure", "--model", other, "--input", other_input, "--backend", "predictor", "--predictor", pred,
        "--json")
assert "outside what it was fitted on" in p.stderr and "layer sizes it was fitted on" in p.stderr, p.stderr
assert json.loads(p.stdout)["ms"]["median"] > 0
p = run("latency", "measure", "--model", a, "--target", "pixel1", "--backend", "predictor", "--predictor", pred, code=2)
assert "fitted for target 'host'" in p.stderr, p.stderr
open(os.path.join(work, "bad.json"), "w").write("{\"target\": \"host\"")
p = run("latency", "measure", "--model", a, "--backend", "predictor", "--predictor", os.path.join(work, "bad.json"), code=3)
assert "is damaged" in p.stderr, p.stderr
print("ok")
