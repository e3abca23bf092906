#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of the latency side (prints tables; not a test), on an otherwise idle machine:
# 1. measured host batch-1 latency of search results against the original, 1 and 2 threads, next to FLOPs;
# 2. wall time of `xcel profile` on the bundled models;
# 3. `xcel latency fit` on the bundled models: held-out accuracy (share within +-10%, RMSE) and its time.
# usage: bench/bench_latency.sh SEARCH_DIR... (run directories of `xcel prune --flops` on models/vgg.pt)
#   VARIANTS=80 HOLDOUT=0.4 RUNS=200 (timed runs per latency measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${XCEL_BUILD_DIR:-build}
RUNS=${RUNS:-200}
VARIANTS=${VARIANTS:-80}
HOLDOUT=${HOLDOUT:-0.4}
py=/usr/bin/python3
OUT=$(mktemp -d)
ms() { "$B/xcel" -q latency measure --model "$1" --threads "$2" --runs "$RUNS" --no-cache --json |
  $py -c "import json,sys; print('%.4f' % json.load(sys.stdin)['ms']['median'])"; }
echo "## Host latency, batch 1 (median of $RUNS runs after 10 warm-up)"
echo "| model | FLOPs ratio | threads | original ms | pruned ms | speed-up |"
echo "|---|---:|---:|---:|---:|---:|"
for dir in "$@"; do
  model=$($py -c "import json; print(json.load(open('$dir/summary.json'))['model'])")
  ratio=$($py -c "import json; print('%.3f' % json.load(open('$dir/summary.json'))['flops_ratio'])")
  for t in 1 2; do
    a=$(ms "$model" $t)
    b=$(ms "$dir/best.pt" $t)
    echo "| $dir/best.pt | $ratio | $t | $a | $b | $($py -c "print('%.2fx' % ($a / $b))") |"
  done
done
echo
echo "## xcel profile (50 runs per layer and for the model, 1 thread)"
echo "| model | layers | wall s |"
echo "|---|---:|---:|"
for m in vgg resnet mobilenet; do
  s=$(date +%s.%N)
  n=$("$B/xcel" -q profile --model models/$m.pt --json | $py -c "import json,sys; print(len(json.load(sys.stdin)['layers']))")
  echo "| models/$m.pt | $n | $($py -c "import time; print('%.1f' % (time.time() - $s))") |"
done
echo
echo "## xcel latency fit (host, 1 thread, $VARIANTS variants per model, $HOLDOUT held out, 5 rounds of 50 runs)"
"$B/xcel" -q latency fit --models models/vgg.pt,models/resnet.pt,models/mobilenet.pt --variants "$VARIANTS" \
  --holdout "$HOLDOUT" \
  --out "$OUT/host.json" --json |
  $py -c "import json,sys; r=json.load(sys.stdin); print('| variants | held out | within +-10%% | RMSE ms | RMSE relative | table entries | regressed layers | s |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n| %d | %d | %.1f%% | %.4f | %.1f%% | %d | %.1f%% | %.0f |' % (r['variants'], r['held_out'], 100*r['within_10pct'], r['rmse_ms'], 100*r['rmse_relative'], r['table_entries'], 100*r['regressed_layer_share'], r['seconds']))"
echo "(predictor in $OUT/host.json)"
