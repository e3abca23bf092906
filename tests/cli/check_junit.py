#!/usr/bin/python3
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
"""usage: check_junit.py SCENARIO XCEL MODEL WORK_DIR

The regression gate's JUnit report (ctest: cli.gate_junit.SCENARIO):
- failing: `xcel eval` with one passing and two failing bounds exits 7 and writes a well-formed JUnit file with
  three test cases, two failures that carry their messages, and the run's properties;
- passing: with every bound met it exits 0 and the report has no failure.
"""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

scenario, xcel, model, work = sys.argv[1:5]
work = os.path.join(work, scenario)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
junit = os.path.join(work, "gate.xml")
base = [xcel, "eval", "--model", model, "--data", "fashion-mnist", "--limit", "500", "--bench-runs", "0",
        "--baseline", model, "--junit", junit]

def failing():
    p = subprocess.run(base + ["--min-top1", "0.99", "--max-drop", "0.0", "--max-flops-ratio", "0.5"],
                       capture_output=True, text=True)
    assert p.returncode == 7, (p.returncode, p.stderr)
    assert p.stderr.startswith("xcel: error: regression gate failed: min_top1") and "max_flops_ratio" in p.stderr, p.stderr
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "2", ET.tostring(root)
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"min_top1", "max_drop", "max_flops_ratio"}, cases
    assert cases["max_drop"].find("failure") is None
    assert "below the minimum 99.00%" in cases["min_top1"].find("failure").get("message")
    assert "of the baseline" in cases["max_flops_ratio"].find("failure").get("message")
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["model"] == model and props["baseline"] == model and props["images"] == "500", props


def passing():
    p = subprocess.run(base + ["--min-top1", "0.5", "--max-drop", "0.0"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0" and root.get("tests") == "2", ET.tostring(root)


{"failing": failing, "passing": passing}[scenario]()
print("ok:", scenario)
