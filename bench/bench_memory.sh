#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of fine-tuning under a memory budget (prints a table; not a test). For each model (MODELS, default the
# bundled vgg and resnet), one epoch on the first TRAIN training images without a budget gives the unconstrained peak
# (resident memory of the whole process) and the resident memory before training; then budgets that leave 100%, 50%
# and 25% of the training's own share (peak - before) are planned with --max-memory-mb and run: the plan chosen,
# predicted and measured peak, seconds per epoch and test top-1.
# usage: [MODELS="vgg resnet"] [TRAIN=10000] [SHARES="1.0 0.5 0.25"] bench/bench_memory.sh [EPOCHS=1] [THREADS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-1}
THREADS=${2:-1}
MODELS=${MODELS:-vgg resnet}
TRAIN=${TRAIN:-10000}
SHARES=${SHARES:-1.0 0.5 0.25}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
XCEL=$B/xcel
ARGS=(--data fashion-mnist --split-seed 0 --train-limit "$TRAIN" --epochs "$EPOCHS" --threads "$THREADS" --json)
echo "## Fine-tuning under a memory budget: $EPOCHS epoch(s) on $TRAIN images, $THREADS thread(s), batch 128"
echo "| model | budget | plan (frozen layers, micro-batch x accumulation) | predicted peak MB | measured peak MB | within budget | error | s/epoch | test top-1 |"
echo "|---|---:|---|---:|---:|---|---:|---:|---:|"
for m in $MODELS; do
  rm -rf "$OUT/$m-free"
  # The unconstrained run measures its own peak the planner's way (a generous budget: the plan is then the default).
  "$XCEL" -q finetune --model "models/$m.pt" --out "$OUT/$m-free" --max-memory-mb 100000 "${ARGS[@]}" > "$OUT/$m-free.json"
  read -r before peak < <(/usr/bin/python3 -c "import json; p=json.load(open('$OUT/$m-free.json'))['memory_plan']; print(p['baseline_mb'], p['measured_mb'])")
  for share in $SHARES; do
    budget=$(/usr/bin/python3 -c "print(round($before + $share * ($peak - $before)))")
    dir="$OUT/$m-$share"
    rm -rf "$dir"
    code=0
    "$XCEL" -q finetune --model "models/$m.pt" --out "$dir" --max-memory-mb "$budget" "${ARGS[@]}" > "$dir.json" 2> "$dir.err" || code=$?
    /usr/bin/python3 - "$m" "$share" "$budget" "$dir" "$code" <<'PY'
import json, sys
m, share, budget, d, code = sys.argv[1:6]
label = f"{budget} MB ({float(share):.0%} of the training's share)"
if code != "0":
    print(f"| {m} | {label} | exit {code}: {open(d + '.err').read().strip().splitlines()[-1][:150]} |||||||")
    sys.exit()
s = json.load(open(d + ".json"))
p = s["memory_plan"]
err = (p["predicted_mb"] - p["measured_mb"]) / p["measured_mb"]
print(f"| {m} | {label} | {p['freeze_first']}, {p['batch']} x {p['accumulate']} | {p['predicted_mb']:.0f} | "
      f"{p['measured_mb']:.0f} | {'yes' if p['within_budget'] else 'NO'} | {100 * err:+.1f}% | "
      f"{s['seconds_per_epoch']:.1f} | {100 * s['test_top1']:.2f}% |")
PY
  done
done
echo
echo "(runs in $OUT)"
