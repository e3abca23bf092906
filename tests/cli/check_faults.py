#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_faults.py SCENARIO XCEL MODEL IDX_DIR WORK_DIR

Failed writes, simulated with XCEL_FAULT_WRITE (the one atomic-write path every file goes through), one scenario
per run (ctest: cli.faults.SCENARIO). For every write a run makes, in turn:
- search, uniform, finetune: a full disk (enospc; an I/O error, eio, at every third write) at that write stops the
  run with exit 3 and one error line naming the file and the cause, leaves no temporary file, and the run then
  continues (--resume when it has a checkpoint, else started again) to the result of a run that never failed;
- killed: a process killed in the middle of a write (half a temporary file on disk) leaves the previous checkpoint
  whole: --resume removes the dead process's temporary file and ends like an uninterrupted run.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys

scenario, xcel, model, idx, work = sys.argv[1:6]
work = os.path.join(work, scenario)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
data = ["--data", "idx:" + idx, "--val-size", "60", "--batch", "64"]
SEARCH = ["prune", "--model", model, *data, "--force", "--flops", "0.5", "--target", "pixel1", "--episodes", "4", "--warmup",
          "2", "--checkpoint-every", "2", "--seed", "3", "--calib-images", "64"]
UNIFORM = ["prune", "--model", model, *data, "--force", "--uniform", "0.5", "--target", "pixel1", "--calib-images", "64"]
FINETUNE = ["finetune", "--model", model, *data, "--epochs", "2", "--train-limit", "200", "--threads", "1"]
MAX_WRITES = 60


def run(args, out, fault=None, resume=False):
    env = dict(os.environ, XCEL_LOG_LEVEL="warn")
    env.pop("XCEL_FAULT_WRITE", None)
    if fault:
        env["XCEL_FAULT_WRITE"] = fault
    cmd = [xcel] + args + ["--out", out, "--json"] + (["--resume"] if resume else [])
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def litter(out):
    return [p for p in glob.glob(os.path.join(out, "**", "*.tmp.*"), recursive=True)]


def result(out, kind):
    s = json.load(open(os.path.join(out, "summary.json")))
    keys = {"search": ("flops", "val_top1", "best_episode", "widths"), "uniform": ("flops", "val_top1_after"),
            "finetune": ("val_top1", "best_epoch")}[kind]
    return {k: s.get(k) for k in keys}


def finish(args, out):
    """Continues a failed run: --resume when it saved a checkpoint, else a new run in the same directory."""
    resumable = os.path.exists(os.path.join(out, "checkpoint", "state.json"))
    p = run(args, out, resume=resumable)
    assert p.returncode == 0, (out, resumable, p.stderr)
    return p


def sweep(kind, args):
    reference = os.path.join(work, "reference")
    p = run(args, reference)
    assert p.returncode == 0, p.stderr
    want = result(reference, kind)
    # Every write fails once as a full disk; an I/O error takes the same path, so every third write is enough.
    for what, step in (("enospc", 1), ("eio", 3)):
        tolerated = 0
        for n in range(1, MAX_WRITES + 1, step):
            out = os.path.join(work, f"{what}-{n}")
            p = run(args, out, fault=f"{what}:{n}")
            if "XCEL_FAULT_WRITE" not in p.stderr:  # the run makes fewer than n writes
                assert p.returncode == 0 and n > 3, (what, n, p.stderr)
                print(f"{kind}: fewer than {n} writes, every {'' if step == 1 else 'third '}one failed once with "
                      f"{what} ({tolerated} of them caches, which the run goes on without)")
                break
            if p.returncode == 0:  # a cache (latency, decoded images): the run goes on without it
                assert "not written" in p.stderr or "not cached" in p.stderr, (what, n, p.stderr)
                assert result(out, kind) == want, (what, n, result(out, kind), want)
                tolerated += 1
                shutil.rmtree(out)
                continue
            cause = "No space left on device" if what == "enospc" else "Input/output error"
            lines = [l for l in p.stderr.strip().splitlines() if not l.startswith("[warning]")]  # the fault, chance
            assert p.returncode == 3, (what, n, p.returncode, p.stderr[-3000:])
            assert len(lines) == 1 and lines[0].startswith("xcel: error: cannot write '") and cause in lines[0], \
                (what, n, p.stderr)
            assert not litter(out), (what, n, litter(out))
            finish(args, out)
            got = result(out, kind)
            assert got == want, (what, n, got, want)
            assert not litter(out), (what, n, litter(out))
            shutil.rmtree(out)
        else:
            sys.exit(f"FAIL: {kind} still writing after {MAX_WRITES} writes")


def search():
    sweep("search", SEARCH)


def uniform():
    sweep("uniform", UNIFORM)


def finetune():
    sweep("finetune", FINETUNE)


def killed():
    reference = os.path.join(work, "reference")
    assert run(SEARCH, reference).returncode == 0
    want = result(reference, "search")
    killed_any = 0
    for n in range(1, MAX_WRITES + 1):
        out = os.path.join(work, f"kill-{n}")
        p = run(SEARCH, out, fault=f"kill:{n}")
        if "XCEL_FAULT_WRITE" not in p.stderr:
            assert p.returncode == 0, p.stderr
            break
        assert p.returncode == -signal.SIGKILL, (n, p.returncode, p.stderr)
        assert litter(out), n  # the dead process's half-written temporary file
        killed_any += 1
        finish(SEARCH, out)
        assert result(out, "search") == want, (n, result(out, "search"), want)
        assert not litter(out), (n, litter(out))
        shutil.rmtree(out)
    assert killed_any > 3, killed_any
    print(f"search: killed in each of its {killed_any} writes, each resumed to the same result")


SCENARIOS = {fn.__name__: fn for fn in (search, uniform, finetune, killed)}
SCENARIOS[scenario]()
print("ok:", scenario)
