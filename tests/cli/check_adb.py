#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_adb.py SCENARIO XCEL XCEL_BENCH FAKE_ADB_DIR CONFIG_DIR MODEL WORK_DIR SMALL_MODEL

The adb latency backend against tests/fake_adb/adb (first on PATH), the code path used with a real phone. Each
scenario has a fake device and a latency cache of its own (ctest: cli.adb.SCENARIO):
- devices: `xcel devices` lists the device and the target it matches;
- measure: `xcel latency measure --target pixel1` pushes the model once per content hash, runs the pinned
  benchmark, parses per-iteration values, caches by hash;
- replay: replayed speed_benchmark_torch output (no per-iteration lines) is read from 'Microseconds per iter';
- quoting: strings from a target profile reach `adb shell` quoted (a remote_dir with a space and a ';' arrives
  intact);
- failures: every failure is its own one-line error with exit 6: no device, unauthorized, offline, lost mid-run,
  binary missing, timeout (after retries), no matching device;
- gate: the eval gate measures --max-latency-ms on the phone;
- profile, fit: `xcel profile` and `xcel latency fit` measure layers and variants on the phone, in its deploy
  form (optimize_for_mobile, .ptl);
- search: a latency-budgeted search measures its result on the phone, and says so when the phone is gone;
- law: the fake phone with a latency law of its own (a fixed cost per op, channels in blocks of 8): the channel
  probe finds its block of 8, the measured table predicts it better than the roofline, a latency-budgeted search
  with the table meets the budget when measured, and a phone lost mid-table or mid-verification stops the run
  with exit 6 and loses nothing (the table keeps what was measured; the search resumes);
- pool: two phones of the target share the table's measurements (about half each, the same table as one phone
  builds), --serial picks among them, a phone lost mid-table or mid-verification leaves the pool and the run
  goes on (exit 6 only when none is left).
"""
import json
import os
import shutil
import subprocess
import sys

scenario, xcel, bench, fake_dir, config_dir, model, work, small = sys.argv[1:9]
work = os.path.join(work, scenario)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
root = os.path.join(work, "device")
cache = os.path.join(work, "cache")

# A config directory with an extra target whose remote_dir needs quoting and whose timeout is short.
configs = os.path.join(work, "configs")
shutil.copytree(config_dir, configs)
weird = json.load(open(os.path.join(configs, "targets", "pixel1.json")))
weird["name"] = "pixel1-weird"
weird["benchmark"].update({"remote_dir": "/data/local/tmp/x cel;touch pwned", "timeout_seconds": 3, "retries": 1})
json.dump(weird, open(os.path.join(configs, "targets", "pixel1-weird.json"), "w"))


def run(*args, mode="ok", code=0, replay=None, law=False, lose_after=None, devices=1):
    env = dict(os.environ, PATH=fake_dir + os.pathsep + os.environ["PATH"], FAKE_ADB_ROOT=root, FAKE_ADB_MODE=mode,
               FAKE_ADB_BENCH=bench, XCEL_CACHE_DIR=cache, XCEL_CONFIG_DIR=configs, XCEL_LOG_LEVEL="warn",
               FAKE_ADB_LATENCY="law" if law else "bench", FAKE_ADB_DEVICES=str(devices))
    if lose_after is not None:
        env["FAKE_ADB_LOSE_AFTER"] = str(lose_after)
    if replay:
        env["FAKE_ADB_REPLAY"] = replay
    p = subprocess.run([xcel] + list(args), capture_output=True, text=True, env=env, timeout=600)
    if p.returncode != code:
        sys.exit(f"FAIL: xcel {' '.join(args)} [{mode}] exited {p.returncode}, expected {code}:\n{p.stdout}{p.stderr}")
    if code != 0:
        lines = p.stderr.strip().splitlines()  # one error line, after any retry warnings
        assert lines[-1].startswith("xcel: error: ") and all(l.startswith("[warning]") for l in lines[:-1]), p.stderr
    return p


def pushes():
    path = os.path.join(root, "push.log")
    return open(path).read().split("\n")[:-1] if os.path.exists(path) else []


MEASURE = ["latency", "measure", "--model", model, "--target", "pixel1", "--runs", "20", "--json"]


def devices():
    devices = json.loads(run("devices", "--json").stdout)
    assert devices[0]["serial"] == "FAKE001" and devices[0]["targets"] == "pixel1, pixel1-weird", devices
    assert devices[0]["props"]["ro.board.platform"] == "msm8996", devices


def measure():
    a = json.loads(run(*MEASURE).stdout)
    assert a["source"] == "measured" and a["method"] == "adb:speed_benchmark_torch" and a["ms"]["n"] == 20, a
    assert a["device"].startswith("FAKE001") and not a["cached"] and a["ms"]["median"] > 0, a
    assert len(pushes()) == 1 and pushes()[0].endswith(a["model_hash"] + ".pt"), pushes()
    b = json.loads(run(*MEASURE).stdout)
    assert b["cached"] and b["ms"] == a["ms"], b  # same file, same settings: from the cache
    c = json.loads(run(*MEASURE, "--no-cache").stdout)
    assert not c["cached"] and len(pushes()) == 1, (c, pushes())  # measured again, but not pushed again
    commands = open(os.path.join(root, "commands.log")).read()
    assert "'taskset' 'c' '/data/local/tmp/speed_benchmark_torch'" in commands and "'--iter=20'" in commands, commands


def replay():
    replay = os.path.join(work, "replay.txt")
    open(replay, "w").write("Starting benchmark.\nRunning warmup runs.\nMain runs.\n"
                            "Main run finished. Microseconds per iter: 12345.6. Iters per second: 81.0\n")
    r = json.loads(run(*MEASURE, "--no-cache", replay=replay).stdout)
    assert abs(r["ms"]["median"] - 12.3456) < 1e-9, r


def quoting():
    # Quoting: the remote_dir arrives as one word, and nothing else runs.
    q = json.loads(run("latency", "measure", "--model", model, "--target", "pixel1-weird", "--no-cache", "--runs", "5",
                       "--json").stdout)
    assert q["source"] == "measured", q
    assert os.path.isdir(os.path.join(root, "fs", "data/local/tmp/x cel;touch pwned")), os.listdir(os.path.join(root, "fs/data/local/tmp"))
    assert not os.path.exists(os.path.join(root, "fs", "pwned"))


def failures():
    # Failures, each distinct, exit 6.
    for mode, message in [("none", "no Android device connected"), ("unauthorized", "is unauthorized"),
                          ("offline", "is offline"), ("lost", "was disconnected during the benchmark"),
                          ("nobinary", "speed_benchmark_torch is missing on FAKE001"),
                          ("other", "no connected device matches target 'pixel1'")]:
        p = run(*MEASURE, "--no-cache", mode=mode, code=6)
        assert message in p.stderr, (mode, p.stderr)
    p = run("latency", "measure", "--model", model, "--target", "pixel1-weird", "--no-cache", mode="slow", code=6)
    assert "timed out 2 times" in p.stderr, p.stderr


def gate():
    # The regression gate on the phone.
    p = run("eval", "--model", model, "--limit", "200", "--target", "pixel1", "--max-latency-ms", "1000", "--json")
    j = json.loads(p.stdout)
    assert j["passed"] and j["latency_ms"]["method"] == "adb:speed_benchmark_torch", j
    assert "FAKE001" in j["latency_ms"]["device"], j
    p = run("eval", "--model", model, "--limit", "200", "--target", "pixel1", "--max-latency-ms", "0.001", code=7)
    assert "FAKE001" in p.stderr, p.stderr


def profile():
    # A per-layer profile on the phone: every layer runs as a one-layer model pushed to the device.
    prof = json.loads(run("profile", "--model", model, "--target", "pixel1", "--runs", "5", "--json").stdout)
    assert prof["device"].startswith("FAKE001") and prof["source"] == "measured" and len(prof["layers"]) == 13, prof
    # The model and its layers go to the phone in its deploy form: optimize_for_mobile, saved as .ptl.
    assert prof["form"] == "mobile", prof["form"]
    assert pushes() and all(p.endswith(".ptl") for p in pushes()), pushes()
    assert all(l["ms"]["n"] == 5 and l["ms"]["median"] > 0 for l in prof["layers"]), prof["layers"]
    # One push per distinct one-layer model (equal signatures are one file: 11 for VGG's 13 layers) and the model.
    assert len(pushes()) == len({l["signature"] for l in prof["layers"]}) + 1, pushes()


def fit():
    # A predictor fitted on the phone (small model, few variants: the code path, not the accuracy).
    fit = json.loads(run("latency", "fit", "--models", small, "--target", "pixel1", "--variants", "6", "--holdout", "0.1", "--runs", "3", "--rounds", "1",
                         "--out", os.path.join(work, "pixel1.json"), "--json").stdout)
    assert fit["target"] == "pixel1" and fit["variants"] == 7 and fit["table_entries"] > 0, fit


def search():
    # A latency-budgeted search for the phone: roofline model in the wall, the result measured on the device.
    runs = os.path.join(work, "search")
    s = json.loads(run("prune", "--model", model, "--data", "fashion-mnist", "--val-size", "200", "--latency", "0.6",
                       "--target", "pixel1", "--episodes", "4", "--warmup", "2", "--batch", "100", "--out", runs,
                       "--latency-model", "roofline", "--round-to", "4", "--json").stdout)
    assert s["latency_predicted_ms"] <= s["latency_budget_ms"] + 1e-12, s
    assert s["latency_measured_on"].startswith("FAKE001") and s["latency_measured_ms"] > 0, s
    assert s["latency_measured_form"] == "mobile" and s["latency_verified"], s
    assert "roofline" in s["latency_model"] and s["flops_target"] is None, s
    s = json.loads(run("prune", "--model", model, "--data", "fashion-mnist", "--val-size", "200", "--latency", "0.6",
                       "--target", "pixel1", "--episodes", "2", "--warmup", "2", "--batch", "100", "--out", runs + "2",
                       "--json", mode="none").stdout)
    assert s["latency_measured_ms"] is None and "no Android device" in s["latency_measure_error"], s


def benchmark_file(serial="FAKE001"):
    return os.path.join(root, "benchmarks.count" if serial == "FAKE001" else f"benchmarks-{serial}.count")


def benchmarks(serial="FAKE001"):
    path = benchmark_file(serial)
    return int(open(path).read()) if os.path.exists(path) else 0


def reset_benchmarks():
    for serial in ("FAKE001", "FAKE002"):
        if os.path.exists(benchmark_file(serial)):
            os.remove(benchmark_file(serial))


def law():
    table = ["latency", "table", "--model", model, "--target", "pixel1", "--table-grid", "2", "--json"]
    # Lost mid-table: exit 6 with one line; the chunks measured before stay in the table (here the channel
    # probe's 16 widths x 3 rounds = 48 runs), and the next run measures only the rest.
    tables = os.path.join(cache, "latency", "tables", "pixel1-t1.json")
    p = run(*table, law=True, lose_after=60, code=6)
    assert "FAKE001" in p.stderr and "not found" in p.stderr, p.stderr
    assert len(json.load(open(tables))["layers"]) == 16, json.load(open(tables))
    t = json.loads(run(*table, "--check", "6", law=True).stdout)
    info = t["info"]
    assert info["source"] == "measured" and info["measured_signatures"] > 0, info
    assert len(json.load(open(tables))["layers"]) == 16 + info["measured_signatures"], info
    assert t["rounding"]["round_to"] == 8, t["rounding"]
    # The measured table predicts whole prunings far better than the roofline on this phone.
    r = json.loads(run(*table, "--latency-model", "roofline", "--check", "6", law=True).stdout)
    assert r["info"]["source"] == "estimated" and r["info"]["table_file"] is None, r["info"]
    assert t["check"]["rmse_relative"] < 0.1 and r["check"]["rmse_relative"] > 2 * t["check"]["rmse_relative"], \
        (t["check"], r["check"])
    # A latency-budgeted search: the probe finds the phone's block of 8 channels (the profile says 4), every kept
    # width is a multiple of it, and the result meets the budget when measured.
    search = ["prune", "--model", model, "--data", "fashion-mnist", "--val-size", "200", "--latency", "0.6",
              "--target", "pixel1", "--episodes", "4", "--warmup", "2", "--batch", "100", "--table-grid", "2", "--json"]
    s = json.loads(run(*search, "--out", os.path.join(work, "s1"), law=True).stdout)
    assert s["round_to"] == 8 and s["rounding"]["source"].startswith("probed"), s["rounding"]
    policy = json.load(open(os.path.join(work, "s1", "policy.json")))["groups"]
    assert all(g["kept"] % 8 == 0 or g["kept"] == g["channels"] for g in policy.values()), policy
    assert s["latency_verified"] and s["latency_measured_ratio"] <= 0.6, s
    assert s["latency_model_info"]["measured_signatures"] == 0, s["latency_model_info"]  # the table was complete
    # The roofline-driven wall misjudges this phone: its first calibration step misses the budget by far more.
    rs = json.loads(run(*search, "--latency-model", "roofline", "--out", os.path.join(work, "s2"), law=True).stdout)
    miss = lambda x: abs(x["latency_calibration"]["steps"][0]["measured_load"] - 1)
    print("first calibration step, load of the budget: table", s["latency_calibration"]["steps"][0]["measured_load"],
          "roofline", rs["latency_calibration"]["steps"][0]["measured_load"])
    assert miss(s) < 0.1 and miss(rs) > 2 * miss(s), (s["latency_calibration"], rs["latency_calibration"])
    assert rs["latency_verified"] and rs["latency_measured_ratio"] <= 0.6, rs
    # Lost mid-verification (the last phone runs of a search): exit 6; --resume finishes the same search.
    os.remove(os.path.join(root, "benchmarks.count"))
    run(*search, "--out", os.path.join(work, "s3"), law=True)
    total = benchmarks()
    os.remove(os.path.join(root, "benchmarks.count"))
    run(*search, "--out", os.path.join(work, "s4"), law=True, lose_after=total - 2, code=6)
    s4 = json.loads(run("prune", "--resume", "--out", os.path.join(work, "s4"), "--json", law=True).stdout)
    s3 = json.load(open(os.path.join(work, "s3", "summary.json")))
    assert s4["latency_verified"] and s4["val_top1"] == s3["val_top1"] and s4["flops"] == s3["flops"], (s3, s4)


def same_table(a, b):
    """The same calibrated grid values, to 3% (the fake phone's law is read from a profile of the model run)."""
    x = [v for l in a["layers"] for v in l["ms"]]
    y = [v for l in b["layers"] for v in l["ms"]]
    return len(x) == len(y) and all(abs(p - q) <= 0.03 * p for p, q in zip(x, y))


def pool():
    table = ["latency", "table", "--model", model, "--target", "pixel1", "--table-grid", "2", "--json"]
    tables = lambda name: ["--latency-table", os.path.join(work, name + ".json")]
    one = json.loads(run(*table, *tables("one"), law=True).stdout)
    single = benchmarks()
    # Two phones of the target share the table's one-layer measurements, about half each, and build the table one
    # phone builds (the fake phone's law is deterministic); whole models (the calibration) go to the first.
    reset_benchmarks()
    p = run(*table, *tables("two"), law=True, devices=2)
    two = json.loads(p.stdout)
    a, b = benchmarks("FAKE001"), benchmarks("FAKE002")
    print("benchmark runs: one phone", single, "two phones", a, "+", b)
    assert a + b == single and b >= 0.3 * single, (single, a, b)
    assert "2 device(s)" in two["info"]["oracle"], two["info"]
    assert same_table(one, two), (one["layers"], two["layers"])
    # --serial picks the devices.
    reset_benchmarks()
    m = json.loads(run(*MEASURE, "--no-cache", "--serial", "FAKE002", law=True, devices=2).stdout)
    assert m["device"].startswith("FAKE002") and benchmarks("FAKE001") == 0 and benchmarks("FAKE002") == 1, m
    run(*MEASURE, "--no-cache", "--serial", "FAKE002,FAKE009", law=True, devices=2, code=6)
    # A phone lost mid-table leaves the pool; the other finishes the same table.
    reset_benchmarks()
    p = run(*table, *tables("lost"), law=True, devices=2, lose_after="FAKE002:10")
    assert "FAKE002" in p.stderr and "leaves the pool" in p.stderr, p.stderr
    lost = json.loads(p.stdout)
    assert same_table(one, lost), (one["layers"], lost["layers"])
    # Both lost: exit 6 with the device error.
    run(*table, *tables("gone"), law=True, devices=2, mode="lost", code=6)
    # A latency-budgeted search whose first phone is lost in the final verification goes on on the second and
    # ends as the same search did with both phones.
    search = ["prune", "--model", model, "--data", "fashion-mnist", "--val-size", "200", "--latency", "0.6",
              "--target", "pixel1", "--episodes", "4", "--warmup", "2", "--batch", "100", "--table-grid", "2",
              *tables("one"), "--json"]
    reset_benchmarks()
    s1 = json.loads(run(*search, "--out", os.path.join(work, "s1"), law=True, devices=2).stdout)
    first = benchmarks("FAKE001")
    assert s1["latency_measured_on"].startswith("FAKE001") and s1["latency_verified"], s1
    reset_benchmarks()
    p = run(*search, "--out", os.path.join(work, "s2"), law=True, devices=2, lose_after=f"FAKE001:{first - 2}")
    s2 = json.loads(p.stdout)
    assert "leaves the pool" in p.stderr, p.stderr
    assert s2["latency_measured_on"].startswith("FAKE002") and s2["latency_verified"], s2
    assert s2["val_top1"] == s1["val_top1"] and s2["flops"] == s1["flops"], (s1, s2)


SCENARIOS = {fn.__name__: fn for fn in (devices, measure, replay, quoting, failures, gate, profile, fit, search, law,
                                        pool)}
SCENARIOS[scenario]()
print("ok:", scenario)
