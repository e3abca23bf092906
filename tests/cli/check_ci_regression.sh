#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# usage: check_ci_regression.sh SOURCE_DIR BUILD_DIR WORK_DIR
# scripts/ci_regression.sh on the committed pruned model: passes (exit 0) with the default bounds and writes a
# JUnit report; fails with exit 7 naming the bound when the bound is raised above what the model reaches.
set -uo pipefail
src=$1 build=$2 work=$3
rm -rf "$work"
export XCEL_BUILD_DIR=$build OUT=$work
bash "$src/scripts/ci_regression.sh" > "$work.out" 2> "$work.err"
code=$?
[ $code -eq 0 ] || { echo "FAIL: exit $code"; cat "$work.out" "$work.err"; exit 1; }
grep -q 'failures="0"' "$work/gate.xml" || { echo "FAIL: gate.xml"; cat "$work/gate.xml"; exit 1; }
MIN_TOP1=0.99 bash "$src/scripts/ci_regression.sh" > "$work.out" 2> "$work.err"
code=$?
[ $code -eq 7 ] || { echo "FAIL: exit $code, expected 7"; cat "$work.err"; exit 1; }
grep -q "regression gate failed: min_top1: top-1 92.41% is below the minimum 99.00%" "$work.err" || { cat "$work.err"; exit 1; }
grep -q 'failures="1"' "$work/gate.xml" || exit 1
echo ok
