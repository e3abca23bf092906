#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# usage: check_sweep.sh SCENARIO XCEL MODEL DATA WORK_DIR
# `xcel sweep` with the local backend on a small model, one scenario per CTest entry:
#   local      2 budgets x 2 agents with -j 2: four runs finish, results.csv has four rows, sweep.html draws them;
#              run again: all skipped; a run that lost its summary (half-finished) is resumed, and only it
#   failing    a run whose data is missing fails (exit 8, its error in `sweep status`); the others finish
#   slurm_dry  --backend slurm --dry-run prints one job array over the unfinished runs and writes nothing; a phone's
#              latency runs go to the nodes of its profile's "slurm" feature, and with none named they are refused (exit 2)
set -euo pipefail
scenario=$1 xcel=$2 model=$3 data=$4 work=$5/$1
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "--- $f"; cat "$f"; done; exit 1; }
opts='"options": ["--val-size", "60", "--episodes", "4", "--batch", "64", "--threads", "1", "--force"]'

case $scenario in
local)
  cat > "$work/s.json" <<EOF
{"models": ["$model"], "data": "$data", "flops": [0.5, 0.7], "agents": ["uniform", "random"], "out": "runs", $opts}
EOF
  "$xcel" sweep run "$work/s.json" -j 2 > "$work/run1.log" 2>&1 || fail "first sweep"
  grep -q "4 finished, 0 skipped, 0 failed, 0 interrupted" "$work/run1.log" || fail "first sweep's counts"
  [ "$(wc -l < "$work/runs/results.csv")" -eq 5 ] || fail "results.csv rows"
  head -1 "$work/runs/results.csv" | grep -q "^run,state,model,budget_kind,budget,agent,target,seed,flops_ratio" || fail "csv header"
  grep -q 'data-chart="sweep-flops-plain"' "$work/runs/sweep.html" || fail "no accuracy-FLOPs chart"
  grep -q 'href="plain-flops0.5-random-s0/report.html"' "$work/runs/sweep.html" || fail "no link to a run's report"
  "$xcel" sweep run "$work/s.json" -j 2 > "$work/run2.log" 2>&1 || fail "second sweep"
  grep -q "0 finished, 4 skipped" "$work/run2.log" || fail "finished runs were not skipped"
  # A half-finished run: its checkpoint stays, its summary goes.
  rm "$work/runs/plain-flops0.7-random-s0/summary.json"
  "$xcel" sweep status "$work/s.json" > "$work/status.log" 2>&1 || fail "status"
  grep -Eq "plain-flops0.7-random-s0 +interrupted" "$work/status.log" || fail "status of the half-finished run"
  grep -q "4 runs: 3 finished, 1 interrupted" "$work/status.log" || fail "status counts"
  "$xcel" sweep run "$work/s.json" > "$work/run3.log" 2>&1 || fail "third sweep"
  grep -q "1 finished, 3 skipped" "$work/run3.log" || fail "only the half-finished run runs"
  grep -q '"resumed": true' "$work/runs/plain-flops0.7-random-s0/sweep-task.json" || fail "the run was not resumed"
  grep -q "resuming plain-flops0.7-random-s0" "$work/runs/plain-flops0.7-random-s0/xcel.log" || fail "log header"
  "$xcel" sweep status "$work/s.json" --json | grep -c '"state": "finished"' | grep -qx 4 || fail "all finished"
  ;;
failing)
  cat > "$work/s.json" <<EOF
{"models": ["$model"], "data": "$data", "flops": [0.5], "agents": ["uniform"], "out": "runs", $opts}
EOF
  cat > "$work/bad.json" <<EOF
{"models": ["$model"], "data": "idx:$work/missing", "flops": [0.5], "agents": ["uniform"], "out": "bad", $opts}
EOF
  code=0
  "$xcel" sweep run "$work/bad.json" > "$work/bad.log" 2>&1 || code=$?
  [ "$code" -eq 8 ] || fail "a failed run must end the sweep with exit 8 (got $code)"
  [ "$(grep -c "xcel: error:" "$work/bad.log")" -eq 1 ] || fail "one error line"
  grep -q "1 run(s) failed (plain-flops0.5-uniform-s0)" "$work/bad.log" || fail "the failed run is named"
  "$xcel" sweep status "$work/bad.json" > "$work/status.log" 2>&1 || fail "status"
  grep -Eq "plain-flops0.5-uniform-s0 +failed +exit 3: dataset directory .*missing' not found" "$work/status.log" || fail "the run's own error"
  "$xcel" sweep run "$work/s.json" > "$work/good.log" 2>&1 || fail "a good sweep in its own out"
  ;;
slurm_dry)
  cat > "$work/s.json" <<EOF
{"models": ["$model"], "data": "$data", "flops": [0.5, 0.7], "agents": ["uniform"], "out": "runs", $opts,
 "slurm": {"cpus": 2, "mem": "2G", "time": "00:20:00", "max_parallel": 4}}
EOF
  "$xcel" sweep run "$work/s.json" --backend slurm --dry-run > "$work/dry.log" 2>&1 || fail "dry run"
  for line in "#SBATCH --array=0-1%4" "#SBATCH --cpus-per-task=2" "#SBATCH --mem=2G" "#SBATCH --time=00:20:00" \
              "#SBATCH --requeue" "sweep task" "# tasks (array index order): plain-flops0.5-uniform-s0 plain-flops0.7-uniform-s0"; do
    grep -qF -- "$line" "$work/dry.log" || fail "dry run lacks '$line'"
  done
  [ ! -e "$work/runs" ] || fail "a dry run wrote files"
  # A phone's latency runs go to the nodes its profile names; FLOPs runs anywhere.
  cat > "$work/phone.json" <<EOF
{"models": ["$model"], "data": "$data", "flops": [0.5], "latency": [0.5], "targets": ["pixel1"], "out": "runs", $opts}
EOF
  "$xcel" sweep run "$work/phone.json" --backend slurm --dry-run > "$work/phone.log" 2>&1 || fail "phone dry run"
  [ "$(grep -c "^#!/bin/bash" "$work/phone.log")" -eq 2 ] || fail "two arrays (anywhere, and the phone's nodes)"
  grep -q "#SBATCH --constraint=pixel1" "$work/phone.log" || fail "the profile's placement"
  # A phone whose profile names no nodes, and a sweep file that names none: refused.
  mkdir -p "$work/config/targets"
  cp "$XCEL_SOURCE_DIR/configs/ddpg.json" "$work/config/"
  cp "$XCEL_SOURCE_DIR/configs/targets/host.json" "$work/config/targets/"
  /usr/bin/python3 -c "import json, sys; j = json.load(open(sys.argv[1])); j.pop('slurm'); json.dump(j, open(sys.argv[2], 'w'))" \
    "$XCEL_SOURCE_DIR/configs/targets/pixel1.json" "$work/config/targets/pixel1.json" || fail "profile copy"
  code=0
  XCEL_CONFIG_DIR=$work/config "$xcel" sweep run "$work/phone.json" --backend slurm --dry-run > "$work/unplaced.log" 2>&1 || code=$?
  [ "$code" -eq 2 ] && grep -q "nothing says which Slurm nodes have it" "$work/unplaced.log" || fail "device placement ($code)"
  ;;
*) echo "unknown scenario $scenario"; exit 2 ;;
esac
echo ok
