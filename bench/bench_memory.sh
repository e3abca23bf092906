#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of fine-tuning under a memory budget (prints tables; not a test). For each model (MODELS, default the
# bundled vgg and resnet; with SEARCH=N each is first searched at FLOPS of the FLOPs by a DDPG search of N episodes,
# reused when its run directory exists, and its result is what is fine-tuned), one epoch on the first TRAIN training
# images without a budget gives the unconstrained peak (resident memory of the whole process) and the resident memory
# before training; then budgets that leave 100%, 50% and 25% of the training's own share (peak - before) are planned
# with --max-memory-mb and run for each number of epochs in EPOCHS: the plan chosen, predicted and measured peak,
# seconds per epoch and test top-1. With MODES=1 a second table compares training the last layer only, all layers
# and all layers from scratch (re-initialised) at equal epochs, without a budget.
# usage: [MODELS="vgg resnet"] [TRAIN=10000] [SHARES="1.0 0.5 0.25"] [SEARCH=0] [FLOPS=0.25] [MODES=0]
#        bench/bench_memory.sh [EPOCHS="1"] [THREADS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-1}
THREADS=${2:-1}
MODELS=${MODELS:-vgg resnet}
TRAIN=${TRAIN:-10000}
SHARES=${SHARES:-1.0 0.5 0.25}
SEARCH=${SEARCH:-0}
FLOPS=${FLOPS:-0.25}
MODES=${MODES:-0}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
XCEL=$B/xcel
ARGS=(--data fashion-mnist --split-seed 0 --train-limit "$TRAIN" --threads "$THREADS" --json)

# The model fine-tuned for MODEL: the bundled file, or its search result at FLOPS.
model_of() {
  local m=$1
  if [ "$SEARCH" = 0 ]; then echo "models/$m.pt"; return; fi
  local dir="$OUT/search-$m-$FLOPS"
  if [ ! -f "$dir/summary.json" ]; then
    rm -rf "$dir"
    "$XCEL" -q prune --model "models/$m.pt" --data fashion-mnist --split-seed 0 --flops "$FLOPS" --agent ddpg \
      --episodes "$SEARCH" --warmup $((SEARCH / 2)) --threads "$THREADS" --out "$dir" > /dev/null
  fi
  echo "$dir/best.pt"
}

# One row: MODEL LABEL EPOCHS RUN_DIR EXIT_CODE of a finished `xcel finetune --json` (RUN_DIR.json, RUN_DIR.err).
row() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
m, label, epochs, d, code = sys.argv[1:6]
if code != "0":
    print(f"| {m} | {label} | {epochs} | exit {code}: {open(d + '.err').read().strip().splitlines()[-1][:150]} |||||||")
    sys.exit()
s = json.load(open(d + ".json"))
p = s.get("memory_plan")
if p:
    err = (p["predicted_mb"] - p["measured_mb"]) / p["measured_mb"]
    print(f"| {m} | {label} | {epochs} | {p['freeze_first']}, {p['batch']} x {p['accumulate']} | {p['predicted_mb']:.0f} | "
          f"{p['measured_mb']:.0f} | {'yes' if p['within_budget'] else 'NO'} | {100 * err:+.1f}% | "
          f"{s['seconds_per_epoch']:.1f} | {100 * s['test_top1_before']:.2f}% | {100 * s['test_top1']:.2f}% |")
else:
    print(f"| {m} | {label} | {epochs} | {s['trainable_params']} | {s['seconds_per_epoch']:.1f} | {s['peak_rss_mb']:.0f} | "
          f"{100 * s['test_top1_before']:.2f}% | {100 * s['test_top1']:.2f}% |")
PY
}

echo "## Fine-tuning under a memory budget: epochs $EPOCHS on $TRAIN images, $THREADS thread(s), batch 128"
[ "$SEARCH" = 0 ] || echo "(models: DDPG searches at $FLOPS of the FLOPs, $SEARCH episodes)"
echo "| model | budget | epochs | plan (frozen layers, micro-batch x accumulation) | predicted peak MB | measured peak MB | within budget | error | s/epoch | test top-1 before | test top-1 |"
echo "|---|---:|---:|---|---:|---:|---|---:|---:|---:|---:|"
for m in $MODELS; do
  model=$(model_of "$m")
  rm -rf "$OUT/$m-free"
  # The unconstrained run measures its own peak the planner's way (a generous budget: the plan is then the default).
  "$XCEL" -q finetune --model "$model" --out "$OUT/$m-free" --max-memory-mb 100000 --epochs 1 "${ARGS[@]}" > "$OUT/$m-free.json"
  read -r before peak < <(/usr/bin/python3 -c "import json; p=json.load(open('$OUT/$m-free.json'))['memory_plan']; print(p['baseline_mb'], p['measured_mb'])")
  for share in $SHARES; do
    budget=$(/usr/bin/python3 -c "print(round($before + $share * ($peak - $before)))")
    for epochs in $EPOCHS; do
      dir="$OUT/$m-$share-e$epochs"
      rm -rf "$dir"
      code=0
      "$XCEL" -q finetune --model "$model" --out "$dir" --max-memory-mb "$budget" --epochs "$epochs" "${ARGS[@]}" \
        > "$dir.json" 2> "$dir.err" || code=$?
      row "$m" "$budget MB ($(/usr/bin/python3 -c "print(f'{$share:.0%}')") of the training's share)" "$epochs" "$dir" "$code"
    done
  done
done

if [ "$MODES" = 1 ]; then
  echo
  echo "## Training modes at equal epochs (no budget), $TRAIN images, $THREADS thread(s)"
  echo "| model | mode | epochs | trained parameters | s/epoch | peak RSS MB | test top-1 before | test top-1 |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for m in $MODELS; do
    model=$(model_of "$m")
    for mode in last all scratch; do
      case $mode in
        last) flags=(--train-last 1); label="last layer only" ;;
        all) flags=(); label="all layers" ;;
        scratch) flags=(--from-scratch); label="all layers, from scratch" ;;
      esac
      for epochs in $EPOCHS; do
        dir="$OUT/$m-mode-$mode-e$epochs"
        rm -rf "$dir"
        code=0
        "$XCEL" -q finetune --model "$model" --out "$dir" --epochs "$epochs" "${flags[@]}" "${ARGS[@]}" \
          > "$dir.json" 2> "$dir.err" || code=$?
        row "$m" "$label" "$epochs" "$dir" "$code"
      done
    done
  done
fi
echo
echo "(runs in $OUT)"
