#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_depth.py SCENARIO XCEL MODELS_DIR FIXTURES_DIR WORK_DIR

End-to-end checks of depth in the search (`xcel prune --depth-only` / `--remove-layers`), one scenario per run
(ctest runs each as cli.depth.SCENARIO), on the bundled models and Fashion-MNIST:
- depth_only: the bundled ResNet at 0.7 of the FLOPs can only get there by removing its one removable block
  (layer1, 39% of the FLOPs); the result has no trace of layer1 (PyTorch loads it and finds no layer1 parameter),
  its FLOPs per `xcel inspect` are the summary's, every group keeps its channels, every episode line names what it
  removed, and `xcel prune --policy policy.json` rebuilds a model of the same FLOPs;
- with_channels: the bundled MobileNet (plain stride-1 blocks: removing one ties its output channels to its
  input's) under a latency budget on the host (0.7, or halfway from the host's floor to 1 where 0.7 is out of
  reach), --remove-layers with channel ratios, the dqn agent and
  --retrain-steps 2: every validated policy says whether it was kept or discarded and why, the result's FLOPs are
  the ones its episode predicted, and its latency was measured within the budget;
- transfer: a search started with --init-agent from another run (another thread count, --platform-state) has no
  warm-up and starts from that run's agent (its first episode's exploration noise is the one the other run ended
  with); another agent or another walk is refused (exit 2), a directory without a search checkpoint too (exit 3);
- errors: no removable block (a flat fixture), --agent uniform with depth, a budget that even every block removed cannot
  meet, and the depth flags without a search, each with its exit code and one line.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import torch

scenario, xcel, models, fixtures, work = sys.argv[1:6]
os.makedirs(work, exist_ok=True)
common = ["--data", "fashion-mnist", "--val-size", "500", "--batch", "250", "--calib-images", "250",
          "--split-seed", "0", "--json"]


def fresh(name):
    path = os.path.join(work, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def run(args, code=0):
    p = subprocess.run([xcel] + args, capture_output=True, text=True)
    if p.returncode != code:
        sys.exit(f"FAIL: xcel {' '.join(args)} exited {p.returncode} (expected {code}): {p.stderr[-2000:]}")
    return p


def lines(out):
    return [json.loads(l) for l in open(os.path.join(out, "episodes.jsonl"))]


def inspect_flops(path, shape):
    return json.loads(run(["inspect", "--model", path, "--input", shape, "--json"]).stdout)["flops"]


def depth_only():
    out = fresh("depth_only")
    s = json.loads(run(["prune", "--model", f"{models}/resnet.pt", "--depth-only", "--flops", "0.7",
                        "--episodes", "6", "--warmup", "3", "--agent", "random", "--out", out] + common).stdout)
    assert s["blocks"] == ["layer1"], s["blocks"]
    assert s["removed_blocks"] == ["layer1"], s["removed_blocks"]
    assert s["flops"] <= 0.7 * s["flops_before"], (s["flops"], s["flops_before"])
    assert inspect_flops(os.path.join(out, "best.pt"), "1,1,28,28") == s["flops"]
    assert "uniform_test_top1" not in s, "depth only: no uniform policy meets the budget"
    for l in lines(out):
        assert l["removed"] == ["layer1"], l
        assert l["flops_ratio"] <= 0.7
    m = torch.jit.load(os.path.join(out, "best.pt"))
    names = [n for n, _ in m.named_parameters()]
    assert not any(n.startswith("layer1.") for n in names), names
    assert m(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    policy = json.load(open(os.path.join(out, "policy.json")))
    assert policy["removed_blocks"] == ["layer1"], policy
    for name, g in policy["groups"].items():
        assert g["kept"] == g["channels"], (name, g)
    again = fresh("depth_only_again")
    r = json.loads(run(["prune", "--model", f"{models}/resnet.pt", "--policy", os.path.join(out, "policy.json"),
                        "--out", again, "--json"]).stdout)
    assert r["flops"] == s["flops"] and r["removed_blocks"] == ["layer1"], r


def with_channels():
    # How far latency can fall depends on the CPU (a fast one is overhead-bound on a 28x28 MobileNet): the
    # budget is 0.7 of the original where this host can reach it, else halfway between its floor and 1.
    floor = fresh("with_channels_floor")
    args = ["prune", "--model", f"{models}/mobilenet.pt", "--remove-layers", "--target", "host", "--agent", "dqn"]
    err = run(args + ["--latency", "0.05", "--episodes", "2", "--warmup", "1", "--out", floor] + common, code=5).stderr
    m = re.search(r"still [0-9.]+ ms \(([0-9.]+) of the original\)", err)
    assert m, err
    budget = round(max(0.7, (float(m.group(1)) + 1) / 2), 3)
    assert budget < 0.95, f"this host's latency floor {m.group(1)} leaves no room for a search"
    out = fresh("with_channels")
    s = json.loads(run(args + ["--latency", str(budget), "--episodes", "6", "--warmup", "3", "--retrain-steps", "2",
                               "--out", out] + common).stdout)
    assert len(s["blocks"]) >= 4, s["blocks"]
    assert s["latency_verified"] and s["latency_measured_ratio"] <= budget * 1.0001, (budget, s)
    eps = lines(out)
    validated = [l for l in eps if not l["cached"]]
    assert validated and all("retrain" in l for l in validated), eps[0]
    for l in validated:
        r = l["retrain"]
        assert r["steps"] == 2 and isinstance(r["kept"], bool) and r["why"], r
        assert ("beats" in r["why"] or "first" in r["why"]) == r["kept"], r
    assert any(l["removed"] for l in eps), "some episode removes a block"
    best = [l for l in eps if l["episode"] == s["best_episode"]]
    if best:  # the search's own best (not the uniform policy or a narrowed one)
        assert best[0]["flops"] == s["flops"], (best[0]["flops"], s["flops"])
        assert best[0]["removed"] == s["removed_blocks"]
    assert inspect_flops(os.path.join(out, "best.pt"), "1,1,28,28") == s["flops"]


def transfer():
    a = fresh("transfer_a")
    args = ["prune", "--model", f"{models}/resnet.pt", "--remove-layers", "--flops", "0.6", "--platform-state",
            "--agent", "ddpg"] + common
    run(args + ["--episodes", "5", "--warmup", "3", "--threads", "1", "--out", a])
    a_last = lines(a)[-1]
    b = fresh("transfer_b")
    run(args + ["--episodes", "3", "--threads", "2", "--init-agent", a, "--out", b])
    eps = lines(b)
    assert not any(l["warmup"] for l in eps), "a transferred agent has learnt already: no warm-up"
    assert eps[0]["sigma"] < 0.5 and abs(eps[0]["sigma"] - a_last["sigma"] * 0.95) < 1e-6, (eps[0]["sigma"], a_last["sigma"])
    assert json.load(open(os.path.join(b, "config.json")))["init_agent"] == a
    other = [x if x != "ddpg" else "random" for x in args]
    p = run(other + ["--episodes", "2", "--init-agent", a, "--out", fresh("transfer_other_agent")], code=2)
    assert "--init-agent" in p.stderr and "same agent" in p.stderr, p.stderr
    p = run(["prune", "--model", f"{models}/resnet.pt", "--flops", "0.6", "--episodes", "2", "--init-agent",
             fresh("transfer_nothing"), "--out", fresh("transfer_c")] + common, code=3)
    assert "holds no search checkpoint" in p.stderr, p.stderr


def errors():
    p = run(["prune", "--model", f"{fixtures}/plain.pt", "--depth-only", "--flops", "0.5", "--episodes", "2",
             "--force", "--out", fresh("no_blocks")] + common, code=4)
    assert "no block the search can remove" in p.stderr, p.stderr
    p = run(["prune", "--model", f"{models}/resnet.pt", "--remove-layers", "--agent", "uniform", "--flops", "0.5",
             "--out", fresh("uniform_depth")] + common, code=2)
    assert "--agent uniform decides no blocks" in p.stderr, p.stderr
    p = run(["prune", "--model", f"{models}/resnet.pt", "--depth-only", "--flops", "0.3", "--episodes", "2",
             "--out", fresh("too_deep")] + common, code=5)
    assert "every removable block removed (channels whole)" in p.stderr and "--remove-layers" in p.stderr, p.stderr
    p = run(["prune", "--model", f"{models}/resnet.pt", "--uniform", "0.5", "--depth-only",
             "--out", fresh("depth_no_search")], code=2)
    assert "--depth-only applies to a search" in p.stderr, p.stderr


{"depth_only": depth_only, "with_channels": with_channels, "transfer": transfer, "errors": errors}[scenario]()
print(f"cli.depth.{scenario}: ok")
