#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_images.py SCENARIO XCEL FIXTURES WORK_DIR

Users' own images and models (ctest: cli.images.SCENARIO), on the image folders and the externally normalised
model of tests/fixtures/make_fixtures.py:
- eval_matches_pytorch: `xcel eval --data imagefolder:DIR --mean/--std` gives the top-1 PyTorch's own evaluation
  (torchvision ImageFolder + ToTensor + Normalize) gives on the same files, to 0.1 point; without the
  normalisation it does not;
- search: a search on an image folder validates on its held-out val/ tree, and the summary says so and records
  the normalisation;
- near_chance: an original at chance on the validation images (wrong normalisation) stops with exit 3 naming the
  likely causes, unless --force;
- config_and_bake: options from a JSON --config (the command line wins), --exclude keeps a layer's group whole,
  --bake-normalization writes deploy.pt/.ptl that score on raw pixels what best.pt scores on normalised ones, and
  the run's own config.json starts a second run like it; a TOML --config for eval; bad config files and bad
  --exclude names get their one-line errors;
- bad_inputs: an undecodable image (exit 3, named; --skip-bad-images goes on), a class without images, a val/ class
  the training tree lacks (exit 3), --mean/--std of the wrong length (exit 2), a model the default data does not
  fit (exit 2, asks for --data).
"""
import json
import os
import shutil
import subprocess
import sys

scenario, xcel, fixtures, work = sys.argv[1:5]
work = os.path.join(work, scenario)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
env = dict(os.environ, XCEL_CACHE_DIR=os.path.join(work, "cache"), XCEL_LOG_LEVEL="warn")
model = os.path.join(fixtures, "vgg_external_norm.pt")
images = "imagefolder:" + os.path.join(fixtures, "images")
norm = ["--mean", "0.286", "--std", "0.353"]


def run(*args, code=0, needle=None):
    p = subprocess.run([xcel] + list(args), capture_output=True, text=True, env=env, timeout=600)
    if p.returncode != code:
        sys.exit(f"FAIL: xcel {' '.join(args)} exited {p.returncode}, expected {code}:\n{p.stdout}{p.stderr}")
    if code != 0:
        lines = [l for l in p.stderr.strip().splitlines() if not l.startswith("[")]
        assert len(lines) == 1 and lines[0].startswith("xcel: error: "), p.stderr
        assert needle is None or needle in lines[0], (needle, lines[0])
    return p


def eval_matches_pytorch():
    import torch
    import torchvision
    from torchvision import transforms as T
    ds = torchvision.datasets.ImageFolder(os.path.join(fixtures, "images", "test"),
                                          transform=T.Compose([T.Grayscale(1), T.ToTensor(), T.Normalize([0.286], [0.353])]))
    m = torch.jit.load(model).eval()
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    y = torch.tensor([ds[i][1] for i in range(len(ds))])
    with torch.no_grad():
        reference = (m(x).argmax(1) == y).float().mean().item()
    r = json.loads(run("eval", "--model", model, "--data", images, "--split", "test", *norm, "--bench-runs", "0",
                       "--json").stdout)
    ours = r["top1"]
    assert r["images"] == len(ds) == 100, r
    print("top-1 on", len(ds), "test images: xcel", ours, "PyTorch", reference)
    assert abs(ours - reference) <= 0.001, (ours, reference)
    raw = json.loads(run("eval", "--model", model, "--data", images, "--split", "test", "--bench-runs", "0",
                         "--json").stdout)
    raw_top1 = raw["top1"]
    assert raw_top1 < reference - 0.3, (raw_top1, reference)


def search():
    out = os.path.join(work, "run")
    s = json.loads(run("prune", "--model", model, "--data", images, *norm, "--flops", "0.5", "--episodes", "4",
                       "--warmup", "2", "--out", out, "--json").stdout)
    assert s["val_source"].startswith("held out:") and s["val_source"].endswith("images/val"), s["val_source"]
    assert s["val_carved_from_training"] is False and s["normalization"] == {"mean": [0.286], "std": [0.353]}, s
    assert s["val_top1_before"] > 0.8 and s["flops_ratio"] <= 0.5, s
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["mean"] == [0.286] and config["split_seed"] == 0, config


def near_chance():
    wrong = ["--mean", "5", "--std", "0.01"]
    run("prune", "--model", model, "--data", images, *wrong, "--flops", "0.5", "--episodes", "2",
        "--out", os.path.join(work, "a"), code=3, needle="near chance")
    assert not os.path.exists(os.path.join(work, "a", "summary.json"))
    run("prune", "--model", model, "--data", images, *wrong, "--flops", "0.5", "--episodes", "2", "--warmup", "1",
        "--force", "--out", os.path.join(work, "b"))


def config_and_bake():
    cfg = os.path.join(work, "search.json")
    with open(cfg, "w") as f:
        json.dump({"model": model, "data": images, "mean": [0.286], "std": [0.353], "flops": 0.25,
                   "episodes": 3, "warmup": 2, "exclude": "inner.features.0", "bake_normalization": True}, f)
    out = os.path.join(work, "a")
    s = json.loads(run("prune", "--config", cfg, "--flops", "0.5", "--out", out, "--json").stdout)
    assert s["flops_target"] == 0.5 and s["episodes"] == 3, s  # the command line wins over the file
    policy = json.load(open(os.path.join(out, "policy.json")))
    assert "inner.features.0.0" not in policy["groups"], policy  # excluded: never pruned
    widths = json.loads(run("inspect", "--model", os.path.join(out, "best.pt"), "--input", "1,1,28,28",
                            "--json").stdout)["layers"]
    assert widths[0]["out_channels"] == 32, widths[0]
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["exclude"] == ["inner.features.0"] and config["cli"]["command"] == "prune", config
    assert config["cli"]["options"]["flops"] == 0.5 and "out" not in config["cli"]["options"], config["cli"]
    # Baked normalisation: deploy.pt takes raw pixels and scores what best.pt scores with --mean/--std.
    assert s["deploy"]["model"].endswith("deploy.pt") and s["deploy"]["lite"].endswith("deploy.ptl"), s["deploy"]
    ev = ["eval", "--data", images, "--split", "test", "--bench-runs", "0", "--json"]
    best = json.loads(run(*ev, "--model", os.path.join(out, "best.pt"), *norm).stdout)["top1"]
    baked = json.loads(run(*ev, "--model", os.path.join(out, "deploy.pt")).stdout)["top1"]
    assert best == baked and best > 0.5, (best, baked)
    # The run's own config.json starts a new run like it.
    again = json.loads(run("prune", "--config", os.path.join(out, "config.json"), "--episodes", "2",
                           "--out", os.path.join(work, "b"), "--json").stdout)
    assert again["flops_target"] == 0.5 and again["episodes"] == 2 and "deploy" in again, again
    assert json.load(open(os.path.join(work, "b", "config.json")))["mean"] == [0.286]
    # TOML, with the command's section.
    toml = os.path.join(work, "eval.toml")
    with open(toml, "w") as f:
        f.write('split = "test"\nbench-runs = 0\n[eval]\nlimit = 40\n')
    r = json.loads(run("eval", "--config", toml, "--model", model, "--data", images, *norm, "--json").stdout)
    assert r["images"] == 40 and r["split"] == "test", r
    # Bad config files and names.
    bad = os.path.join(work, "bad.json")
    for text, code, needle in (('{"flopz": 0.5}', 2, "no option --flopz"), ('{"out": "x"}', 2, "--out is never read"),
                               ('{"flops": ', 3, "not valid JSON")):
        with open(bad, "w") as f:
            f.write(text)
        run("prune", "--config", bad, "--out", os.path.join(work, "c"), code=code, needle=needle)
    run("prune", "--config", os.path.join(work, "none.json"), "--out", os.path.join(work, "c"), code=3,
        needle="cannot read the --config file")
    run("eval", "--config", os.path.join(out, "config.json"), code=2, needle="options of 'xcel prune'")
    run("prune", "--model", model, "--data", images, *norm, "--uniform", "0.5", "--exclude", "nope",
        "--out", os.path.join(work, "d"), code=2, needle="--exclude 'nope' names no layer")
    run("prune", "--model", model, "--data", images, "--flops", "0.5", "--bake-normalization",
        "--out", os.path.join(work, "e"), code=2, needle="--bake-normalization needs")


def bad_inputs():
    bad = "imagefolder:" + os.path.join(fixtures, "images_bad")
    ev = ["eval", "--model", model, "--split", "val", "--bench-runs", "0"]
    run(*ev, "--data", bad, code=3, needle="broken.png")
    r = json.loads(run(*ev, "--data", bad, "--skip-bad-images", "--json").stdout)
    assert r["images"] == 2, r  # the broken file skipped, the two good ones read
    run(*ev, "--data", "imagefolder:" + os.path.join(fixtures, "images_empty"), code=3, needle="holds no images")
    run(*ev, "--data", "imagefolder:" + os.path.join(fixtures, "images_unknown"), code=3,
        needle="not a class of the training images")
    run(*ev, "--data", images, "--mean", "0.1,0.2,0.3", "--std", "1,1,1", code=2, needle="1 channel")
    run("prune", "--model", os.path.join(fixtures, "resnet18.pt"), "--flops", "0.5", "--out", os.path.join(work, "r"),
        code=2, needle="pass --data")


SCENARIOS = {f.__name__: f for f in (eval_matches_pytorch, search, near_chance, config_and_bake, bad_inputs)}
SCENARIOS[scenario]()
print("ok:", scenario)
