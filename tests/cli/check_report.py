#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_report.py XCEL MODEL DATA WORK_DIR

The HTML report in a real browser (Debian's chromium, headless):
- a search with fine-tuning leaves OUT/report.html (and a sweep its sweep.html); every expected chart is on the page, every chart has
  marks and a size, and the page ran its script without a JavaScript error;
- `xcel report DIR` regenerates it from the run's files (same page), `xcel report A B` writes a comparison page
  that passes the same checks; a directory without a run is a clear error (exit 3);
- the checker itself catches a broken page (a script error and a chart without marks), so a pass means something.
"""
import json
import os
import re
import shutil
import subprocess
import sys

xcel, model, data, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
assert CHROMIUM, "chromium is not installed (scripts/test.sh installs it)"


def browser(path):
    """Renders the page headless; returns (the body's data attributes after scripts ran, console errors)."""
    p = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                        "--v=0", f"--user-data-dir={work}/chromium-profile", "--virtual-time-budget=3000",
                        "--dump-dom", "file://" + os.path.abspath(path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", p.stdout)
    assert body, p.stdout[:500]
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    console = [l for l in p.stderr.splitlines() if "CONSOLE" in l and ("Uncaught" in l or "Error" in l)]
    return attrs, console, p.stdout


def problems(path, want_charts):
    attrs, console, dom = browser(path)
    found = []
    if attrs.get("ready") != "1":
        found.append("page script did not run")
    if attrs.get("js-errors"):
        found.append(f"{attrs['js-errors']} JavaScript error(s)")
    if console:
        found.append("console: " + " | ".join(console))
    if attrs.get("charts") != attrs.get("expected-charts"):
        found.append(f"charts {attrs.get('charts')} != expected {attrs.get('expected-charts')}")
    if attrs.get("empty-charts"):
        found.append("charts without marks: " + attrs["empty-charts"])
    for chart in want_charts:
        if f'data-chart="{chart}"' not in dom:
            found.append("missing chart " + chart)
    return found


run = os.path.join(work, "run")
p = subprocess.run([xcel, "prune", "--model", model, "--data", data, "--val-size", "60", "--flops", "0.5",
                    "--episodes", "8", "--warmup", "3", "--batch", "64", "--calib-images", "64", "--reconstruct", "--force",
                    "--finetune-epochs", "1", "--finetune-batch", "50", "--out", run, "--json"],
                   capture_output=True, text=True)
assert p.returncode == 0, p.stderr
summary = json.loads(p.stdout)
report = os.path.join(run, "report.html")
assert summary["report"] == report and os.path.exists(report), summary
charts = ["search-accuracy", "search-reward", "accuracy-flops", "policy", "latency-layers", "latency-share", "finetune"]
bad = problems(report, charts)
assert not bad, bad
page = open(report).read()
assert "uniform" in page and "command line" in page and "warm-up" in page

# Regenerated from the files: the same page.
os.rename(report, report + ".old")
p = subprocess.run([xcel, "report", run], capture_output=True, text=True)
assert p.returncode == 0 and "report.html" in p.stdout, p.stderr
assert open(report).read() == open(report + ".old").read(), "xcel report does not reproduce the run's report"

# Two runs side by side.
run_b = os.path.join(work, "run_b")
p = subprocess.run([xcel, "prune", "--model", model, "--data", data, "--val-size", "60", "--flops", "0.5",
                    "--episodes", "8", "--agent", "random", "--batch", "64", "--force", "--out", run_b], capture_output=True, text=True)
assert p.returncode == 0, p.stderr
cmp_path = os.path.join(work, "compare.html")
p = subprocess.run([xcel, "report", run, run_b, "--out", cmp_path], capture_output=True, text=True)
assert p.returncode == 0, p.stderr
bad = problems(cmp_path, ["compare-search", "accuracy-flops", "compare-policy"])
assert not bad, bad

# A latency-budgeted run also draws predicted against measured latency (on the bundled VGG: the fixture is so
# small that fixed per-call costs leave no measurable room under a budget).
run_l = os.path.join(work, "run_latency")
vgg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "vgg.pt")
p = subprocess.run([xcel, "prune", "--model", vgg, "--data", "fashion-mnist", "--val-size", "100", "--latency", "0.8",
                    "--episodes", "6", "--warmup", "3", "--batch", "100", "--out", run_l], capture_output=True, text=True)
assert p.returncode == 0, p.stderr
bad = problems(os.path.join(run_l, "report.html"), ["predicted-measured", "latency-layers", "policy"])
assert not bad, bad

# A sweep's page (xcel sweep collect): the two runs above and a third as the runs of one sweep.
sweep_file = os.path.join(work, "sweep.json")
json.dump({"models": [model], "data": data, "flops": [0.5, 0.7], "agents": ["uniform"], "out": "sweep",
           "options": ["--val-size", "60", "--episodes", "3", "--batch", "64", "--force"]}, open(sweep_file, "w"))
p = subprocess.run([xcel, "sweep", "run", sweep_file, "-j", "2"], capture_output=True, text=True)
assert p.returncode == 0, p.stderr
bad = problems(os.path.join(work, "sweep", "sweep.html"), ["sweep-flops-plain", "sweep-latency-plain", "sweep-agents-plain"])
assert not bad, bad

# Not a run directory.
p = subprocess.run([xcel, "report", work], capture_output=True, text=True)
assert p.returncode == 3 and "is not an xcel run directory" in p.stderr, (p.returncode, p.stderr)

# The checker catches a broken page.
broken = os.path.join(work, "broken.html")
html = page.replace("</body>", "<script>undefinedFunction();</script></body>")
html = html.replace('<rect class="bar"', '<rect class="nobar"')
open(broken, "w").write(html)
bad = problems(broken, charts)
assert any("JavaScript error" in b for b in bad) and any("without marks" in b for b in bad), bad
print("ok")
