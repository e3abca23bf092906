#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_finetune.py SCENARIO XCEL VGG_MODEL TRACED_FIXTURE SMALL_IDX_DIR WORK_DIR

End-to-end checks of `xcel finetune`, one scenario per run (ctest: cli.finetune.SCENARIO). `setup` prunes the
bundled VGG to half its widths, which the others fine-tune:
- short: a short fine-tuning raises validation accuracy, writes finetuned.pt (loadable by PyTorch, same accuracy
  as the summary says), history.jsonl, config.json, summary.json; the input model is untouched; the run is not
  overwritten without --resume;
- interrupt: Ctrl-C mid-epoch exits 130 with a checkpoint; --resume ends with exactly the parameters and accuracy
  of an uninterrupted run;
- distil: distillation + --freeze-first + --accumulate: frozen layers keep their weights, the others change;
- traced: a model traced in eval mode gets its batch-norm statistics updated (training flag re-wired);
- prune_finetune: `xcel prune --uniform ... --finetune-epochs 1` fine-tunes into OUT/finetune;
- modes: --train-last 1 trains the classifier alone (every other conv/linear weight unchanged); --from-scratch
  re-initialises every layer (validation top-1 before training at chance, after one short epoch below the
  pretrained model's);
- memory: --max-memory-mb with room for the training's own share halved: the plan (micro-batch and accumulation
  keeping the effective batch) is in the summary, its prediction within 15% of the measured peak, which is within
  the budget; a budget below what the process holds before training is exit 5 naming the smallest feasible
  figure; --max-memory-mb with --accumulate is refused;
- errors: --resume without a run, --freeze-first beyond the layers, --freeze-first with --train-last.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import torch

from interrupt import interrupt_at

scenario, xcel, vgg, traced_model, small, work = sys.argv[1:7]
os.makedirs(work, exist_ok=True)


def fresh(name):
    """A run directory of this scenario's own, emptied."""
    path = os.path.join(work, name)
    shutil.rmtree(path, ignore_errors=True)
    return path



def run(*args, code=0, log="warn"):
    p = subprocess.run([xcel] + list(args), capture_output=True, text=True,
                       env=dict(os.environ, XCEL_LOG_LEVEL=log))
    if p.returncode != code:
        sys.exit(f"FAIL: xcel {' '.join(args)} exited {p.returncode}, expected {code}: {p.stderr[-2000:]}")
    return p


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def params(path):
    return {k: v.clone() for k, v in torch.jit.load(path).state_dict().items()}


pruned = os.path.join(work, "pruned", "pruned.pt")
common = ["--data", "fashion-mnist", "--val-size", "1000", "--train-limit", "4000", "--batch", "100", "--no-test",
          "--threads", "1"]



def setup():
    run("prune", "--model", vgg, "--uniform", "0.5", "--reconstruct", "--data", "fashion-mnist", "--val-size", "1000",
        "--calib-images", "512", "--out", fresh("pruned"))




def short():
    # A short fine-tuning helps, and its outputs are complete.
    before = digest(pruned)
    a = fresh("a")
    s = json.loads(run("finetune", "--model", pruned, "--epochs", "2", "--out", a, "--json", *common).stdout)
    assert s["val_top1"] > s["val_top1_before"] + 0.003, s
    assert s["epochs"] == 2 and 1 <= s["best_epoch"] <= 2, s
    assert s["peak_rss_mb"] > 50 and s["seconds_per_epoch"] > 0, s
    for f in ("finetuned.pt", "history.jsonl", "config.json", "summary.json"):
        assert os.path.exists(os.path.join(a, f)), f
    history = [json.loads(l) for l in open(os.path.join(a, "history.jsonl"))]
    assert [h["epoch"] for h in history] == [1, 2], history
    assert max(h["val_top1"] for h in history) == s["val_top1"], (history, s)
    assert digest(pruned) == before, "the input model was modified"
    ev = json.loads(run("eval", "--model", os.path.join(a, "finetuned.pt"), "--data", "fashion-mnist", "--split", "val",
                        "--val-size", "1000", "--bench-runs", "0", "--json").stdout)
    assert abs(ev["top1"] - s["val_top1"]) < 1e-9, (ev["top1"], s["val_top1"])
    m = torch.jit.load(os.path.join(a, "finetuned.pt"))
    assert m(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    run("finetune", "--model", pruned, "--epochs", "2", "--out", a, *common, code=2)  # no silent overwrite


def interrupt():
    # Ctrl-C in the middle of the first epoch, then --resume: identical to the uninterrupted run `a`.
    a = fresh("a_reference")
    s = json.loads(run("finetune", "--model", pruned, "--epochs", "2", "--out", a, "--json", *common).stdout)
    b = fresh("b")
    interrupt_at([xcel, "finetune", "--model", pruned, "--epochs", "2", "--out", b] + common, "epoch 1/2 step 8/40")
    state = json.load(open(os.path.join(b, "checkpoint", "state.json")))
    assert state["epoch"] == 0 and 0 < state["step"] < 40, state
    r = json.loads(run("finetune", "--resume", "--out", b, "--json").stdout)
    assert r["val_top1"] == s["val_top1"] and r["best_epoch"] == s["best_epoch"], (r, s)
    pa, pb = params(os.path.join(a, "finetuned.pt")), params(os.path.join(b, "finetuned.pt"))
    assert pa.keys() == pb.keys()
    for k in pa:
        assert torch.equal(pa[k], pb[k]), f"{k} differs after resume"


def distil():
    # Distillation, frozen first layers, gradient accumulation.
    c = fresh("c")
    s = json.loads(run("finetune", "--model", pruned, "--epochs", "1", "--out", c, "--teacher", vgg, "--kd-alpha", "0.7",
                       "--freeze-first", "2", "--accumulate", "2", "--json", *common).stdout)
    assert s["effective_batch"] == 200 and s["teacher"] == vgg and len(s["frozen_layers"]) == 2, s
    assert s["val_top1"] > s["val_top1_before"], s
    p0, p1 = params(pruned), params(os.path.join(c, "finetuned.pt"))
    frozen = [k for k in p0 if k.rsplit(".", 1)[0] in s["frozen_layers"] and k.endswith(("weight", "bias"))]
    assert frozen, s["frozen_layers"]
    for k in frozen:
        assert torch.equal(p0[k], p1[k]), f"frozen {k} changed"
    changed = [k for k in p0 if k not in frozen and p0[k].dtype.is_floating_point and not torch.equal(p0[k], p1[k])]
    assert len(changed) > 4, changed


def traced():
    # A model traced in eval mode: batch-norm statistics must follow train mode.
    t = fresh("traced")
    p = run("finetune", "--model", traced_model, "--epochs", "1", "--out", t, "--data", "idx:" + small, "--val-size", "50",
            "--batch", "50", "--no-test", log="info")
    assert "training flags were constants" in p.stderr, p.stderr
    q0, q1 = params(traced_model), params(os.path.join(t, "finetuned.pt"))
    bn = [k for k in q0 if k.endswith("running_mean")]
    assert bn and all(not torch.equal(q0[k], q1[k]) for k in bn), "batch-norm statistics did not move"


def prune_finetune():
    # prune + fine-tune in one command.
    d = fresh("d")
    s = json.loads(run("prune", "--model", traced_model, "--uniform", "0.5", "--data", "idx:" + small, "--val-size", "50",
                       "--reconstruct", "--force", "--out", d, "--finetune-epochs", "1", "--finetune-batch", "50", "--json").stdout)
    assert s["finetune"]["epochs"] == 1 and os.path.exists(os.path.join(d, "finetune", "finetuned.pt")), s
    assert json.load(open(os.path.join(d, "summary.json")))["finetune"]["val_top1"] == s["finetune"]["val_top1"]


def modes():
    # The training modes compared under a memory budget: last layers only, all layers, from scratch.
    last = fresh("last")
    s = json.loads(run("finetune", "--model", pruned, "--epochs", "1", "--out", last, "--train-last", "1", "--json",
                       *common).stdout)
    p0, p1 = params(pruned), params(os.path.join(last, "finetuned.pt"))
    weights = [k for k in p0 if k.endswith("weight") and p0[k].dim() > 1]
    assert [k for k in weights if not torch.equal(p0[k], p1[k])] == ["classifier.weight"], s["frozen_layers"]
    assert s["val_top1"] >= s["val_top1_before"] - 0.01, s
    scratch = fresh("scratch")
    t = json.loads(run("finetune", "--model", pruned, "--epochs", "1", "--out", scratch, "--from-scratch", "--json",
                       *common).stdout)
    assert t["from_scratch"] and t["val_top1_before"] < 0.3, t
    assert 0.3 < t["val_top1"] < s["val_top1"], (t["val_top1"], s["val_top1"])


def memory():
    free = fresh("memory_free")
    f = json.loads(run("finetune", "--model", pruned, "--epochs", "1", "--out", free, "--max-memory-mb", "100000",
                       "--json", *common).stdout)["memory_plan"]
    assert f["batch"] == 100 and f["accumulate"] == 1 and f["freeze_first"] == 0, f  # common: --batch 100
    budget = round(f["baseline_mb"] + 0.5 * (f["measured_mb"] - f["baseline_mb"]))
    tight = fresh("memory_tight")
    s = json.loads(run("finetune", "--model", pruned, "--epochs", "1", "--out", tight, "--max-memory-mb", str(budget),
                       "--json", *common).stdout)
    p = s["memory_plan"]
    assert p["batch"] * p["accumulate"] >= 100 and p["batch"] < 100, p
    assert s["batch"] == p["batch"] and s["accumulate"] == p["accumulate"], s
    assert abs(p["predicted_mb"] - p["measured_mb"]) <= 0.15 * p["measured_mb"], p
    assert p["measured_mb"] <= budget and p["within_budget"], (p["measured_mb"], budget)
    # The planner's probe steps (training mode, random images) leave the model as it was: its accuracy before
    # training is the model's own on the validation split.
    own = json.loads(run("eval", "--model", pruned, "--data", "fashion-mnist", "--val-size", "1000", "--split", "val",
                         "--bench-runs", "0", "--json").stdout)["top1"]
    assert abs(s["val_top1_before"] - own) <= 0.002, (s["val_top1_before"], own)
    e = run("finetune", "--model", pruned, "--epochs", "1", "--out", fresh("memory_none"), "--max-memory-mb", "60",
            *common, code=5)
    assert "--max-memory-mb 60 cannot be met" in e.stderr and "allow at least" in e.stderr, e.stderr
    run("finetune", "--model", pruned, "--epochs", "1", "--out", fresh("memory_acc"), "--max-memory-mb", "500",
        "--accumulate", "2", *common, code=2)


def errors():
    # Errors.
    run("finetune", "--resume", "--out", fresh("never"), code=3)
    run("finetune", "--model", pruned, "--out", fresh("e"), "--freeze-first", "99", *common, code=2)
    run("finetune", "--model", pruned, "--out", fresh("e2"), "--freeze-first", "1", "--train-last", "1", *common,
        code=2)


SCENARIOS = {fn.__name__: fn for fn in (setup, short, interrupt, distil, traced, prune_finetune, modes, memory, errors)}
SCENARIOS[scenario]()
print("ok:", scenario)
