#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# usage: check_batch.sh SOURCE_DIR MODEL DATA WORK_DIR
# scripts/batch_prune.sh on a small model: 2 budgets x 2 agents in parallel give 4 run directories and a CSV
# with 4 rows; a second sweep skips every finished run; a run whose summary is missing (half-finished) is resumed.
set -euo pipefail
src=$1 model=$2 data=$3 work=$4
rm -rf "$work"
sweep() { bash "$src/scripts/batch_prune.sh" -j 2 -o "$work" -m "$model" -f "0.5 0.7" -a "uniform random" -- \
  --data "$data" --val-size 60 --episodes 4 --batch 64 --threads 1 --force 2>&1; }
sweep > "$work.log1" || { cat "$work.log1"; exit 1; }
[ "$(grep -c starting "$work.log1")" -eq 4 ] || { echo "FAIL: expected 4 runs started"; cat "$work.log1"; exit 1; }
[ "$(wc -l < "$work/results.csv")" -eq 5 ] || { echo "FAIL: results.csv"; cat "$work/results.csv"; exit 1; }
head -1 "$work/results.csv" | grep -q "^run,model,agent,flops_target,flops_ratio,val_top1" || exit 1
rm "$work/plain-0.7-random/summary.json"
sweep > "$work.log2" || { cat "$work.log2"; exit 1; }
[ "$(grep -c "finished before; skipped" "$work.log2")" -eq 3 ] || { echo "FAIL: skips"; cat "$work.log2"; exit 1; }
grep -q "plain-0.7-random resuming" "$work.log2" || { echo "FAIL: no resume"; cat "$work.log2"; exit 1; }
[ -f "$work/plain-0.7-random/summary.json" ] && [ "$(wc -l < "$work/results.csv")" -eq 5 ] || exit 1
echo ok
