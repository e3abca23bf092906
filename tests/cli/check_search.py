#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_search.py SCENARIO XCEL MODEL DATA WORK_DIR

End-to-end checks of `xcel prune --flops` (the search) on a small model and dataset, one scenario per run
(ctest runs each as cli.search.SCENARIO; `outputs` and `early_stop` leave the runs the others compare with):
- outputs: the run directory holds best.pt (loadable by PyTorch, FLOPs within budget per `xcel inspect`),
  policy.json, config.json, summary.json and one episodes.jsonl line per episode;
- same_seed: the same seed gives the same run;
- resume: a run stopped after 4 episodes and continued with --resume ends exactly like an uninterrupted one;
- no_overwrite: an existing run directory is not overwritten without --resume;
- interrupt: Ctrl-C (SIGINT) mid-run exits 130 with a checkpoint, and --resume then finishes identically;
- early_stop: a policy validated on part of the split was clearly below the best whole-split result at that
  point, and the best is validated on the whole split;
- early_stop_resume: a resumed early-stopping run ends identically; early_stop_off: --early-stop 0 validates
  everything;
- latency_resume: a resumed latency-budgeted run reuses its saved budget calibration, and its result is measured
  within the budget;
- damaged: a checkpoint damaged by something else (truncated agent, rng or state, a state without a key, garbage
  config, truncated episodes) stops --resume with exit 3 and one line.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import torch

from interrupt import interrupt_at

scenario, xcel, model, data, work = sys.argv[1:6]
os.makedirs(work, exist_ok=True)
base = ["prune", "--model", model, "--data", data, "--val-size", "60", "--flops", "0.5", "--target", "pixel1",
        "--warmup", "3", "--checkpoint-every", "2", "--seed", "3", "--batch", "64", "--calib-images", "64",
        "--reconstruct", "--force"]  # a random-weight fixture on random data: at chance by design


def fresh(name):
    """A run directory of this scenario's own, emptied."""
    path = os.path.join(work, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def search(out, episodes, *extra, check=True):
    cmd = [xcel] + base + ["--out", out, "--episodes", str(episodes), "--json"] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}: {p.stderr}")
    return p


def episodes(out):
    lines = [json.loads(l) for l in open(os.path.join(out, "episodes.jsonl"))]
    for l in lines:
        del l["seconds"]
    return lines


def result(out):
    s = json.load(open(os.path.join(out, "summary.json")))
    return {k: s[k] for k in ("flops", "val_top1", "test_top1", "best_episode", "episodes")}


a = os.path.join(work, "a")  # the reference run of `outputs`


def outputs():
    summary = json.loads(search(fresh("a"), 8).stdout)
    assert summary["flops_ratio"] <= 0.5, summary
    assert summary["episodes"] == 8 and len(episodes(a)) == 8
    for f in ("best.pt", "policy.json", "config.json", "summary.json", "episodes.jsonl"):
        assert os.path.exists(os.path.join(a, f)), f
    m = torch.jit.load(os.path.join(a, "best.pt"))
    x = torch.rand(2, 1, 28, 28)
    assert m(x).shape == (2, 10)
    # best.ptl is the phone's deploy form of the same model: the lite interpreter runs it to the same outputs.
    from torch.jit.mobile import _load_for_lite_interpreter
    lite = _load_for_lite_interpreter(os.path.join(a, "best.ptl"))
    assert torch.allclose(lite(x), m.eval()(x), atol=1e-4), "best.ptl differs from best.pt"
    inspected = json.loads(subprocess.run([xcel, "inspect", "--model", os.path.join(a, "best.pt"), "--json"],
                                          check=True, capture_output=True, text=True).stdout)
    assert inspected["flops"] == summary["flops"] <= 0.5 * summary["flops_before"], (inspected["flops"], summary)
    print(f"best val {summary['val_top1']:.3f} at {summary['flops_ratio']:.3f} of the FLOPs; "
          f"{summary['seconds_per_episode']:.3f} s per episode")


def same_seed():
    b = fresh("b")
    search(b, 8)
    assert episodes(a) == episodes(b) and result(a) == result(b), "same seed, different run"


def resume():
    c = fresh("c")
    search(c, 4)
    search(c, 8, "--resume")
    search(c, 8, "--resume")  # without a new total: nothing left to run, same result
    assert episodes(c) == episodes(a), "resumed run differs from the uninterrupted one"
    assert result(c) == result(a), (result(c), result(a))


def no_overwrite():
    before = open(os.path.join(a, "episodes.jsonl")).read()
    p = search(a, 8, check=False)
    assert p.returncode == 2 and "--resume" in p.stderr, (p.returncode, p.stderr)
    assert open(os.path.join(a, "episodes.jsonl")).read() == before, "the finished run was touched"


def interrupt():
    d = fresh("d")
    interrupt_at([xcel] + base + ["--out", d, "--episodes", "60"], "episode 3/60")
    assert len(episodes(d)) < 60, "the interrupted run did not stop early"
    p = subprocess.run([xcel, "prune", "--resume", "--out", d, "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr  # the saved configuration, including its 60 episodes
    e = fresh("e")
    search(e, 60)
    assert episodes(d) == episodes(e) and result(d) == result(e), "run resumed after Ctrl-C differs"


def one_owner():
    # Two runs into one --out: the second stops at once (exit 2, naming the first's pid) while the first goes
    # on (until Ctrl-C here, which saves it); a killed owner leaves no stale lock, so --resume continues its run.
    f = fresh("owner")
    first = subprocess.Popen([xcel] + base + ["--out", f, "--episodes", "100000"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ, XCEL_LOG_LEVEL="info"))
    for line in first.stderr:
        if "/100000" in line:  # the first progress line: the search is running
            break
    p = search(f, 60, check=False)
    assert p.returncode == 2 and "in use by another xcel process" in p.stderr and str(first.pid) in p.stderr, p.stderr
    first.send_signal(signal.SIGINT)
    rest = first.stderr.read()
    first.wait()
    assert first.returncode == 130 and "--resume" in rest, (first.returncode, rest)
    g = fresh("owner-killed")
    killed = subprocess.Popen([xcel] + base + ["--out", g, "--episodes", "60"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in killed.stderr:
        if "episode 6/60" in line:
            break
    killed.kill()
    killed.wait()
    p = subprocess.run([xcel, "prune", "--resume", "--out", g, "--json"], capture_output=True, text=True)
    assert p.returncode == 0 and json.loads(p.stdout)["episodes"] == 60, p.stderr


def interrupt_setup():
    # Ctrl-C during set-up (here when the latency table starts) stops the run: exit 130 and one line saying how to
    # go on; going on then finishes the run.
    h, cache = fresh("setup-int"), fresh("setup-int-cache")
    env = dict(os.environ, XCEL_LOG_LEVEL="info", XCEL_CACHE_DIR=cache)
    cmd = [xcel, "prune", "--model", vgg, "--data", "fashion-mnist", "--val-size", "200", "--batch", "100",
           "--latency", "0.8", "--target", "host", "--episodes", "3", "--warmup", "1", "--out", h, "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stderr:
        if "kept channels are multiples" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    proc.wait()
    errors = [l for l in rest.splitlines() if l.startswith("xcel: error:")]
    assert proc.returncode == 130 and len(errors) == 1 and "interrupted" in errors[0], (proc.returncode, rest)
    again = cmd if "--resume" not in errors[0] else [xcel, "prune", "--resume", "--out", h, "--json"]
    p = subprocess.run(again, capture_output=True, text=True, env=env)
    assert p.returncode == 0 and json.loads(p.stdout)["latency_verified"], p.stderr


# Early stop, on the bundled VGG and Fashion-MNIST (the fixtures' random weights give every policy the same
# accuracy): 200 validation images in batches of 20, checked after every twentieth (each batch), z = 0.5 so
# that policies at 0.3 do stop.
vgg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "vgg.pt")


def early(out, z, episodes=16):
    cmd = [xcel, "prune", "--model", vgg, "--data", "fashion-mnist", "--val-size", "200", "--batch", "20", "--flops", "0.3",
           "--warmup", "6", "--episodes", str(episodes), "--calib-images", "64", "--reconstruct", "--early-stop", str(z),
           "--checkpoint-every", "4", "--out", out, "--json"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True)


f = os.path.join(work, "f")  # the early-stopping run of `early_stop`


def early_stop():
    s_f = json.loads(early(fresh("f"), 0.5).stdout)
    best, partial, firsts = -1.0, 0, {}
    for ep in episodes(f):
        n, acc = ep["val_images"], ep["val_top1"]
        w = tuple(ep["widths"])
        if w in firsts:  # a repeated policy reuses its first result
            assert (n, acc) == firsts[w], (ep, firsts[w])
            continue
        firsts[w] = (n, acc)
        assert n % 20 == 0 and 20 <= n <= 200, ep
        if n < 200:
            partial += 1
            q = min(max(acc, 0.01), 0.99)
            assert acc + 0.5 * (q * (1 - q) / n) ** 0.5 < best, (ep, best)
        else:
            best = max(best, acc)
    assert partial > 0, "no policy stopped early; the check proves nothing"
    assert s_f["stopped_early"] == partial and s_f["val_top1"] == best, (s_f, partial, best)
    assert episodes(f)[s_f["best_episode"]]["val_images"] == 200


def early_stop_resume():
    # Resumed halfway, an early-stopping run (warm-up and learning episodes) ends exactly like the uninterrupted one.
    s_f = json.load(open(os.path.join(f, "summary.json")))
    h = fresh("h")
    early(h, 0.5, episodes=8)
    subprocess.run([xcel, "prune", "--resume", "--out", h, "--episodes", "16", "--json"], capture_output=True, check=True)
    s_h = json.load(open(os.path.join(h, "summary.json")))
    assert episodes(h) == episodes(f), "resumed early-stopping run differs"
    for k in ("stopped_early", "val_images_per_policy", "val_top1", "best_episode"):
        assert s_h[k] == s_f[k], (k, s_h[k], s_f[k])


def early_stop_off():
    g = fresh("g")
    early(g, 0)
    assert all(ep["val_images"] == 200 for ep in episodes(g))
    assert json.load(open(os.path.join(g, "summary.json")))["stopped_early"] == 0


def latency_resume():
    # A latency-budgeted run measures its budget's calibration once: the resumed run uses the saved one, and its
    # result is measured within the budget.
    out = fresh("latency")
    cmd = [xcel, "prune", "--model", vgg, "--data", "fashion-mnist", "--val-size", "100", "--batch", "100",
           "--latency", "0.8", "--warmup", "2", "--checkpoint-every", "2", "--out", out, "--json"]
    subprocess.run(cmd + ["--episodes", "2"], capture_output=True, check=True)
    first = json.load(open(os.path.join(out, "checkpoint", "calibration.json")))
    assert 0 < first["budget_scale"] <= 1 / 0.8 and len(first["steps"]) == 2, first  # never past the original
    p = subprocess.run([xcel, "prune", "--resume", "--out", out, "--episodes", "4", "--json"], capture_output=True,
                       text=True, check=True)
    s = json.loads(p.stdout)
    assert s["latency_calibration"] == first, (s["latency_calibration"], first)
    assert s["latency_verified"] and s["latency_measured_ratio"] <= 0.8, s
    assert s["episodes"] == 4 and len(episodes(out)) == 4


def damaged():
    # A checkpoint damaged by something else (a truncated file, a missing key, garbage) stops --resume with exit 3
    # and one line naming the checkpoint, never a crash or an internal error.
    c = fresh("damaged-base")
    search(c, 4)
    ck = os.path.join(c, "checkpoint")
    agent = [f for f in os.listdir(ck) if f.startswith("agent")][0]
    rng = [f for f in os.listdir(ck) if f.startswith("torch_rng")][0]
    cases = {"state.json truncated": ("checkpoint/state.json", lambda b: b[:len(b) // 2]),
             "state.json without a key": ("checkpoint/state.json", lambda b: b'{"next_episode": 2}'),
             "agent truncated": ("checkpoint/" + agent, lambda b: b[:len(b) // 3]),
             "rng state truncated": ("checkpoint/" + rng, lambda b: b[:30]),
             "config.json garbage": ("config.json", lambda b: b"garbage"),
             "episodes truncated": ("episodes.jsonl", lambda b: b[:100])}
    for name, (path, damage) in cases.items():
        d = fresh("damaged")
        shutil.copytree(c, d)
        f = os.path.join(d, path)
        data = open(f, "rb").read()
        open(f, "wb").write(damage(data))
        p = subprocess.run([xcel, "prune", "--resume", "--out", d, "--episodes", "6"], capture_output=True, text=True)
        lines = [l for l in p.stderr.strip().splitlines() if not l.startswith("[warning]")]  # a fixture at chance
        assert p.returncode == 3 and len(lines) == 1 and lines[0].startswith("xcel: error: "), (name, p.returncode,
                                                                                               p.stderr[-2000:])
        assert "start a new run" in lines[0] or "not valid JSON" in lines[0], (name, lines[0])
        print(f"{name}: {lines[0]}")


def evolution():
    """--agent evolution: within the budget, and a resumed search ends as the uninterrupted one."""
    e1, e2 = fresh("evolution"), fresh("evolution_resumed")
    s = json.loads(search(e1, 10, "--agent", "evolution").stdout)
    assert s["agent"] == "evolution" and s["flops_ratio"] <= 0.5, s
    search(e2, 5, "--agent", "evolution")
    search(e2, 10, "--resume")
    assert episodes(e2) == episodes(e1), "resumed evolution search differs from the uninterrupted one"
    assert result(e2) == result(e1), (result(e2), result(e1))


def rerank():
    """--rerank 3: three distinct policies (the uniform one among them) fine-tuned briefly and re-scored; the result
    is the one most accurate after that, and the summary says how it compares with the uniform policy."""
    r = fresh("rerank")
    s = json.loads(search(r, 8, "--rerank", "3", "--rerank-images", "128").stdout)
    block = s["rerank"]
    assert block["k"] == 3 and block["train_images"] == 128 and len(block["policies"]) == 3, block
    assert -1 in [p["episode"] for p in block["policies"]] or s["uniform_val_top1"] <= min(
        p["val_top1"] for p in block["policies"]), "the uniform policy competes when it ranks among the best"
    after = [p["val_top1_after_finetune"] for p in block["policies"]]
    winner = block["policies"][after.index(max(after))]
    assert s["best_episode"] == winner["episode"] and s["flops"] == winner["flops"], (s["best_episode"], block)
    assert block["winner_changed"] == (after.index(max(after)) != 0), block
    # The result is the pruned (not fine-tuned) model of that policy, within the budget.
    assert s["flops_ratio"] <= 0.5 and abs(s["val_lead_over_uniform"] - 100 * (s["val_top1"] - s["uniform_val_top1"])) < 1e-9
    assert s["result_is_uniform"] == (s["best_episode"] == -1), s
    print(f"re-ranked: after {after}, winner episode {s['best_episode']}, changed {block['winner_changed']}")


SCENARIOS = {fn.__name__: fn for fn in (outputs, same_seed, resume, no_overwrite, interrupt, early_stop,
                                         early_stop_resume, early_stop_off, latency_resume, one_owner,
                                         interrupt_setup, damaged, rerank, evolution)}
SCENARIOS[scenario]()
print("ok:", scenario)
