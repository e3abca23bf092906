#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_device_finetune.py SCENARIO XCEL FAKE_ADB_DIR MODEL WORK_DIR FIXTURES

`xcel finetune --target pixel1` against tests/fake_adb/adb (first on PATH): the fake phone reports ABI x86_64, so the
host's own xcel build is the --device-binary it runs (in the fake device's file system, in a session of its own),
and a battery discharging at a known power (ctest: cli.device_finetune.SCENARIO):
- run: the binary and the data shard are pushed, the device trains with the options and memory budget given, the
  trained model comes back and scores on the host exactly what the device reported; time per step and the battery
  energy (the fake battery's power x the training's time) are in the summary; every device command is quoted; the
  shard's images are removed from the device afterwards; a second run does not push the binary again; colour images
  (an image folder, ImageNet normalisation, torchvision resnet18) go as a 4-dimensional IDX shard and the model
  comes back scoring what it scored on the device;
- resume: the phone lost after the first epoch is exit 6 naming --resume; --resume continues the device's checkpoint
  (not a new run) to the full epochs; Ctrl-C on the host stops the device's run, which saves its checkpoint (exit
  130), and --resume finishes it;
- errors: a binary for another ABI (exit 2), no binary on the device (exit 6), a memory budget the device cannot meet
  (the device's own exit 5 and message, and the same --out starts again), no device (exit 6).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

scenario, xcel, fake_dir, model, work, fixtures = sys.argv[1:7]
work = os.path.join(work, scenario)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
root = os.path.join(work, "device")
DATA = ["--data", "fashion-mnist", "--val-size", "500", "--train-limit", "1000", "--batch", "100"]


def env(**extra):
    e = dict(os.environ, PATH=fake_dir + os.pathsep + os.environ["PATH"], FAKE_ADB_ROOT=root, FAKE_ADB_ABI="x86_64",
             XCEL_LOG_LEVEL="info")
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run(*args, code=0, **extra):
    p = subprocess.run([xcel] + list(args), capture_output=True, text=True, env=env(**extra), timeout=900)
    if p.returncode != code:
        sys.exit(f"FAIL: xcel {' '.join(args)} exited {p.returncode}, expected {code}:\n{p.stdout}{p.stderr}")
    if code != 0:
        last = p.stderr.strip().splitlines()[-1]
        assert last.startswith("xcel: error: "), p.stderr
        return last
    return p


def commands():
    return open(os.path.join(root, "commands.log")).read().splitlines()


def device_files(*parts):
    return os.path.join(root, "fs", "data/local/tmp/xcel-train", *parts)


def finetune(out, *extra, code=0, binary=True, **env_extra):
    args = ["finetune", "--target", "pixel1", "--model", model, "--out", out, "--json"] + DATA + list(extra)
    if binary:
        args += ["--device-binary", xcel]
    return run(*args, code=code, **env_extra)


def check_summary(s, epochs):
    assert s["device"]["serial"] == "FAKE001" and s["device"]["abi"] == "x86_64", s["device"]
    assert s["epochs"] == epochs and len(open(os.path.join(s["out"], "history.jsonl")).read().splitlines()) == epochs
    # The model came back whole: on the host it scores what the device reported on the same validation images.
    assert abs(s["host_val_top1"] - s["val_top1"]) < 1e-9, (s["host_val_top1"], s["val_top1"])
    assert s["seconds_per_step"] > 0 and s["optimizer_steps"] == epochs * 10, s
    e = s["energy"]
    assert e["status"] == "measured" and not e["charging"], e
    assert abs(e["mean_watts"] - 1.7325) < 1e-3, e  # the fake battery: 450 mA at 3.85 V
    assert abs(e["joules"] - 1.7325 * e["seconds"]) < 1e-3 * max(1.0, e["joules"]), e
    assert s["joules_per_step"] > 0, s


def scenario_run():
    out = os.path.join(work, "a")
    s = json.loads(finetune(out, "--epochs", "2", "--max-memory-mb", "100000").stdout)
    check_summary(s, 2)
    assert s["memory_plan"]["budget_mb"] == 100000 and s["memory_plan"]["within_budget"], s["memory_plan"]
    assert s["model"] == model and s["finetuned"] == os.path.join(out, "finetuned.pt"), s
    cmds = commands()
    train = [c for c in cmds if "'finetune'" in c]
    assert len(train) == 1, cmds
    t = train[0]
    assert t.startswith("cd '/data/local/tmp/xcel-train/runs/a-") and "OMP_NUM_THREADS=1 taskset 'c' " in t, t
    for words in ("'--data' 'idx:data'", "'--val-data' 'idx:val'", "'--max-memory-mb' '100000'", "'--epochs' '2'",
                  "'--augment' 'crop-flip'", "'--batch' '100'"):
        assert words in t, (words, t)
    run_dir = t.split("'")[1]
    # The shard's images are gone from the device; the run (model, checkpoint, result) stays.
    fs_run = os.path.join(root, "fs", run_dir.lstrip("/"))
    assert not os.path.exists(os.path.join(fs_run, "data")) and os.path.exists(os.path.join(fs_run, "run/finetuned.pt"))
    pushes = open(os.path.join(root, "push.log")).read().splitlines()
    assert sum("/bin/xcel-" in p for p in pushes) == 1, pushes
    # A second run finds the binary there (same content) and pushes only its own shard.
    s2 = json.loads(finetune(os.path.join(work, "b"), "--epochs", "1").stdout)
    pushes = open(os.path.join(root, "push.log")).read().splitlines()
    assert sum("/bin/xcel-" in p for p in pushes) == 1, pushes
    assert s2["device"]["pushed_bytes"] < s["device"]["pushed_bytes"], (s2["device"], s["device"])
    # Colour images from an image folder, normalised: the shard holds them as N x C x H x W.
    rgb = json.loads(run("finetune", "--target", "pixel1", "--device-binary", xcel, "--model",
                         os.path.join(fixtures, "resnet18.pt"), "--data",
                         "imagefolder:" + os.path.join(fixtures, "images_rgb"), "--normalize", "imagenet",
                         "--image-size", "64", "--epochs", "1", "--batch", "4", "--out", os.path.join(work, "rgb"),
                         "--json").stdout)
    assert abs(rgb["host_val_top1"] - rgb["val_top1"]) < 1e-9, rgb
    pushes = open(os.path.join(root, "push.log")).read().splitlines()
    assert any(p.endswith("/data/train-images-idx4-ubyte.gz") for p in pushes), pushes
    assert any("'--mean' '0.485,0.456,0.406' '--std' '0.229,0.224,0.225'" in c for c in commands()), commands()[-3:]
    # The table shows where it trained and the energy.
    table = run("finetune", "--resume", "--out", out).stdout
    assert "trained on" in table and "FAKE001" in table and "J per step" in table, table


def scenario_resume():
    out = os.path.join(work, "lost")
    last = finetune(out, "--epochs", "3", code=6, FAKE_ADB_LOSE_TRAINING=1)
    assert "was disconnected during fine-tuning" in last and f"--resume --out {out}" in last, last
    s = json.loads(run("finetune", "--resume", "--out", out, "--json").stdout)
    check_summary(s, 3)
    resumed = [c for c in commands() if "'--resume'" in c]
    assert len(resumed) == 1 and "'--out' 'run'" in resumed[0], resumed
    assert s["device"]["pushed_bytes"] == 0, s["device"]  # nothing sent again

    # Ctrl-C on the host during the device's first epoch.
    out = os.path.join(work, "ctrl-c")
    cmd = [xcel, "finetune", "--target", "pixel1", "--model", model, "--out", out, "--device-binary", xcel,
           "--epochs", "2"] + DATA
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    log = os.path.join(out, "device.log")
    deadline = time.time() + 300
    while time.time() < deadline and not (os.path.exists(log) and "epoch 1/2 step 3/" in open(log).read()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130 and f"--resume --out {out}" in err, (proc.returncode, err)
    assert "state saved" in open(log).read(), open(log).read()[-500:]  # the device's run saved its checkpoint
    s = json.loads(run("finetune", "--resume", "--out", out, "--json").stdout)
    check_summary(s, 2)


def scenario_errors():
    last = finetune(os.path.join(work, "abi"), code=2, FAKE_ADB_ABI="arm64-v8a")
    assert "is built for x86_64, but device FAKE001 runs arm64-v8a" in last, last
    last = finetune(os.path.join(work, "nobin"), code=6, binary=False)
    assert "has no xcel build at /data/local/tmp/xcel-train/xcel: pass --device-binary" in last, last
    out = os.path.join(work, "budget")
    last = finetune(out, "--max-memory-mb", "50", code=5)
    assert last.startswith("xcel: error: on device FAKE001: --max-memory-mb 50 cannot be met"), last
    s = json.loads(finetune(out, "--epochs", "1").stdout)  # the same --out starts again
    assert s["epochs"] == 1, s
    last = finetune(os.path.join(work, "none"), code=6, FAKE_ADB_MODE="none")
    assert "no Android device connected" in last, last


{"run": scenario_run, "resume": scenario_resume, "errors": scenario_errors}[scenario]()
print(f"ok: {scenario}")
