#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_quantize.py SCENARIO XCEL VGG_MODEL WORK_DIR

End-to-end checks of `xcel quantize` on the bundled VGG and Fashion-MNIST, one scenario per run
(ctest: cli.quantize.SCENARIO):
- uniform: --bits 8/8 keeps test top-1 within a point of float; best.pt loads in PyTorch, runs fake-quantize ops,
  holds at most 256 values per output channel in every layer, and scores in PyTorch what xcel's summary says on the
  10,000 test images; int8.pt (the real int8 model) runs quantized::conv2d in PyTorch with the engine the summary
  names, within half a point of float and scoring there what xcel says; the input is untouched; policy.json applied
  again (--policy) gives the same model; xcel eval --baseline --max-size-ratio passes at 0.26 and fails (exit 7)
  at 0.2;
- binary: --bits binary keeps the ends at 8 bits (2 values per channel elsewhere) and a 1-epoch quantization-aware
  fine-tuning (--finetune-epochs 1) raises validation top-1 with its result still on the grid;
- search: --size 0.125 with DDPG never exceeds the size, records episodes, beats or equals the uniform policy on
  validation by construction; Ctrl-C + --resume continue it; report.html draws the search against weight size and
  the bits per layer;
- latency: --latency halfway between the fastest mix and float (as this host measures them): each layer int8 or
  float, every episode within the budget by its latency table, the mixed int8.pt measured within it and scoring in
  PyTorch what xcel says, the table kept when the finished run is resumed for more episodes, --min-bits refused;
- errors: no mode, two modes, an infeasible size (exit 5), --bits 9, a policy naming a missing layer.
"""
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import torch

scenario, xcel, vgg, work = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
FMNIST = os.environ.get("XCEL_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
common = ["--val-size", "1000", "--calib-images", "256", "--threads", "1"]


def fresh(name):
    path = os.path.join(work, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def run(*args, code=0):
    p = subprocess.run([xcel] + list(args), capture_output=True, text=True, env=dict(os.environ, XCEL_LOG_LEVEL="warn"))
    if p.returncode != code:
        sys.exit(f"FAIL: xcel {' '.join(args)} exited {p.returncode}, expected {code}: {p.stderr[-2000:]}")
    if code != 0:
        lines = [l for l in p.stderr.splitlines() if l.startswith("xcel: error:")]
        assert len(lines) == 1, p.stderr
    return p


def idx(name):
    data = gzip.open(os.path.join(FMNIST, name)).read()
    return np.frombuffer(data, dtype=np.uint8, offset=16 if "images" in name else 8)


def test_top1(path):
    x = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").copy()).float().div(255).view(-1, 1, 28, 28)
    y = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").copy()).long()
    m = torch.jit.load(path).eval()
    with torch.no_grad():
        pred = torch.cat([m(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return (pred == y).float().mean().item()


def weights(path):
    m = torch.jit.load(path)
    return {k: v for k, v in m.state_dict().items() if k.endswith("weight") and v.dim() > 1}


def max_values_per_channel(w):
    return max(len(torch.unique(w[c])) for c in range(w.shape[0]))


def uniform():
    digest = hashlib.sha256(open(vgg, "rb").read()).hexdigest()
    out = fresh("uniform")
    s = json.loads(run("quantize", "--model", vgg, "--bits", "8/8", "--out", out, "--json", *common).stdout)
    assert hashlib.sha256(open(vgg, "rb").read()).hexdigest() == digest, "the input model changed"
    assert abs(s["test_top1"] - s["test_top1_before"]) < 0.01, s
    assert s["size_ratio"] == 0.25 and s["packed_bytes"] < s["float_bytes"] / 3.5, s
    best = os.path.join(out, "best.pt")
    graph = str(torch.jit.load(best).graph)
    assert "fake_quantize_per_tensor_affine" in graph or "fake_quantize" in str(torch.jit.load(best).code), graph[:500]
    for k, w in weights(best).items():
        assert max_values_per_channel(w) <= 256, k
    got = test_top1(best)
    assert abs(got - s["test_top1"]) < 1e-4, (got, s["test_top1"])
    q = s["int8"]
    assert q["engine"] == "onednn" and q["int8_layers"] == 7 and q["file_bytes"] < 0.35 * os.path.getsize(vgg), q
    assert abs(q["test_top1"] - s["test_top1_before"]) < 0.005, q
    torch.backends.quantized.engine = q["engine"]
    int8 = test_top1(q["model"])
    assert abs(int8 - q["test_top1"]) < 0.0005, (int8, q["test_top1"])
    assert "quantized::conv2d" in str(torch.jit.load(q["model"]).graph)
    # The CI gate reads the stored size from the model: 8-bit weights take at most a quarter of float's bits (a
    # channel with at most 128 distinct values needs 7).
    gate = ["eval", "--model", best, "--baseline", vgg, "--limit", "500", "--bench-runs", "0", "--json"]
    g = json.loads(run(*gate, "--max-size-ratio", "0.26").stdout)
    assert g["passed"] and 0.22 < g["gates"][0]["value"] <= 0.25, g["gates"]
    p = run(*gate, "--max-size-ratio", "0.2", code=7)
    assert '"passed": false' in p.stdout, p.stdout[-500:]
    again = fresh("uniform_policy")
    s2 = json.loads(run("quantize", "--model", vgg, "--policy", os.path.join(out, "policy.json"), "--out", again,
                        "--json", *common).stdout)
    assert s2["test_top1"] == s["test_top1"], (s2["test_top1"], s["test_top1"])
    print(f"ok: 8/8 test {s['test_top1']:.4f} (float {s['test_top1_before']:.4f}), PyTorch agrees ({got:.4f}); int8 "
          f"model test {q['test_top1']:.4f} (PyTorch {int8:.4f}), {q['int8_ms']:.3f} ms vs float {q['float_ms']:.3f} ms")


def binary():
    out = fresh("binary")
    s = json.loads(run("quantize", "--model", vgg, "--bits", "binary/8", "--out", out, "--json", "--finetune-epochs",
                       "1", "--finetune-train-limit", "6000", "--finetune-lr", "0.005", *common).stdout)
    layers = s["layers"]
    assert layers[0]["bits"] == "8/8" and layers[-1]["bits"] == "8/8", layers
    assert all(l["bits"] == "binary/8" for l in layers[1:-1]), layers
    ft = s["finetune"]
    assert ft["val_top1"] > ft["val_top1_before"], ft
    tuned = weights(ft["finetuned"])
    names = [l["name"] for l in layers]
    for name in names[1:-1]:
        assert max_values_per_channel(tuned[name + ".weight"]) <= 2, name
    for name in (names[0], names[-1]):
        assert max_values_per_channel(tuned[name + ".weight"]) <= 256, name
    print(f"ok: binary val {ft['val_top1_before']:.4f} -> {ft['val_top1']:.4f} after 1 QAT epoch, weights on the grid")


def search():
    out = fresh("search")
    args = ["quantize", "--model", vgg, "--size", "0.125", "--episodes", "8", "--warmup", "4", "--out", out,
            "--checkpoint-every", "2", *common]
    p = subprocess.Popen([xcel] + args, stderr=subprocess.PIPE, text=True, env=dict(os.environ, XCEL_LOG_LEVEL="info"))
    deadline = time.time() + 300
    while time.time() < deadline and not os.path.exists(os.path.join(out, "checkpoint", "state.json")):
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    err = p.communicate()[1]
    assert p.returncode in (0, 130), err[-2000:]
    if p.returncode == 130:
        assert "xcel quantize --resume --out" in err, err[-1000:]
    s = json.loads(run("quantize", "--resume", "--out", out, "--json").stdout if p.returncode == 130
                   else open(os.path.join(out, "summary.json")).read())
    episodes = [json.loads(l) for l in open(os.path.join(out, "episodes.jsonl"))]
    assert len(episodes) == 8 and [e["episode"] for e in episodes] == list(range(8)), len(episodes)
    assert all(e["size_ratio"] <= 0.125 + 1e-9 for e in episodes), [e["size_ratio"] for e in episodes]
    assert s["size_ratio"] <= 0.125 + 1e-9 and s["val_lead_over_uniform"] >= 0, s
    for l in s["layers"][1:-1]:
        assert 2 <= int(l["bits"].split("/")[0]) <= 8, l
    html = open(os.path.join(out, "report.html")).read()
    for chart in ("search-accuracy", "accuracy-flops", "bits"):
        assert f'data-chart="{chart}"' in html, chart
    assert "weight size (fraction of float 32)" in html
    print(f"ok: size {s['size_ratio']:.4f} <= 0.125, val {s['val_top1']:.4f}, lead over uniform "
          f"{s['val_lead_over_uniform']:+.2f}, resumed: {p.returncode == 130}")


def latency():
    # How much faster int8 is depends on the CPU: the budget is halfway between the fastest policy by the latency
    # table and float, as this host measures them (the refusal of a budget below that says where it is).
    p = run("quantize", "--model", vgg, "--latency", "0.01", "--latency-rounds", "2", "--out", fresh("latency_floor"),
            *common, code=5)
    m = re.search(r"is at [0-9.]+ ms, ([0-9.]+) of the float model", p.stderr)
    assert m, p.stderr
    floor = float(m.group(1))
    assert floor < 0.95, f"neither int8 nor a mix is faster than float here ({floor}): nothing to search"
    budget = round((floor + 1) / 2, 3)
    out = fresh("latency")
    args = ["quantize", "--model", vgg, "--latency", str(budget), "--episodes", "6", "--warmup", "3",
            "--latency-rounds", "3", "--out", out, *common]
    s = json.loads(run(*args, "--json").stdout)
    table = json.load(open(os.path.join(out, "latency_table.json")))
    assert table == s["latency_table"] and len(table["layers"]) == 5, table  # 7 layers, the ends fixed in int8
    episodes = [json.loads(l) for l in open(os.path.join(out, "episodes.jsonl"))]
    assert len(episodes) == 6 and all(e["latency_ratio"] <= budget + 1e-9 for e in episodes), episodes
    assert s["latency_verified"] and s["latency_measured_ratio"] <= budget * 1.0001, s
    bits = [l["bits"] for l in s["layers"]]
    assert set(bits) <= {"8/8", "float"} and bits[0] == bits[-1] == "8/8", bits  # the ends fixed at 8/8
    q = s["int8"]
    assert q["int8_layers"] == bits.count("8/8") and q["float_layers"] == bits.count("float"), (q, bits)
    torch.backends.quantized.engine = q["engine"]
    code = str(torch.jit.load(q["model"]).graph)
    assert code.count("quantized::conv2d(") + code.count("quantized::linear(") == q["int8_layers"], code[:2000]
    got = test_top1(q["model"])
    assert abs(got - q["test_top1"]) < 0.0005, (got, q["test_top1"])
    assert abs(q["test_top1"] - s["test_top1_before"]) < 0.01, q
    # More episodes on the finished run: the table measured once is the one the walk keeps.
    s2 = json.loads(run("quantize", "--resume", "--out", out, "--episodes", "8", "--json").stdout)
    assert s2["episodes"] == 8 and s2["latency_table"] == table, (s2["episodes"], s2["latency_table"], table)
    p = run("quantize", "--model", vgg, "--latency", "0.9", "--min-bits", "4", "--out", fresh("latency_bits"), code=2)
    assert "does not apply to --latency" in p.stderr, p.stderr
    print(f"ok: budget {budget} (int8 floor {floor:.3f}): measured {s['latency_measured_ratio']:.3f}, "
          f"{q['float_layers']} layers in float, int8.pt test {q['test_top1']:.4f} (PyTorch {got:.4f})")


def errors():
    run("quantize", "--model", vgg, "--out", fresh("e1"), code=2)
    run("quantize", "--model", vgg, "--bits", "8", "--size", "0.2", "--out", fresh("e2"), code=2)
    p = run("quantize", "--model", vgg, "--size", "0.02", "--out", fresh("e3"), *common, code=5)
    assert "cannot be met" in p.stderr, p.stderr
    p = run("quantize", "--model", vgg, "--bits", "9", "--out", fresh("e4"), code=2)
    assert "outside 2..8" in p.stderr, p.stderr
    bad = os.path.join(work, "bad_policy.json")
    json.dump({"layers": [{"name": "nope", "bits": "8"}]}, open(bad, "w"))
    p = run("quantize", "--model", vgg, "--policy", bad, "--out", fresh("e5"), *common, code=3)
    assert "no entry for layer" in p.stderr, p.stderr
    print("ok: errors")


{"uniform": uniform, "binary": binary, "search": search, "latency": latency, "errors": errors}[scenario]()
