#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# A CI regression gate for a pruned model, as a pipeline would run it: take the committed pruned model (or
# prune + fine-tune a fresh one with --fresh), evaluate it on the test split against the original, and fail
# (exit 7) when it is less accurate or larger than allowed. Writes a JUnit report for the CI system.
#
# usage: scripts/ci_regression.sh [--fresh]
# environment (all optional):
#   MODEL=models/vgg.pt                 the original (baseline)
#   PRUNED=models/vgg-flops025.pt       the pruned model under test (ignored with --fresh)
#   FLOPS=0.25 EPISODES=100 EPOCHS=1    the --fresh pipeline: search budget, episodes, fine-tuning epochs
#   MIN_TOP1=0.90 MAX_DROP=2.0 MAX_FLOPS_RATIO=0.26   the bounds (top-1 fraction, points, ratio)
#   MAX_LATENCY_MS=                     also bound the median host latency (batch 1) when set
#   OUT=runs/ci-regression              where the JUnit report (gate.xml) and a --fresh run go
#   THREADS=2
# exit: 0 every bound met, 7 a bound broken (the message says which and by how much), other codes as xcel's.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${XCEL_BUILD_DIR:-build}
[ -x "$B/xcel" ] || bash scripts/setup.sh
MODEL=${MODEL:-models/vgg.pt}
PRUNED=${PRUNED:-models/vgg-flops025.pt}
FLOPS=${FLOPS:-0.25}
EPISODES=${EPISODES:-100}
EPOCHS=${EPOCHS:-1}
MIN_TOP1=${MIN_TOP1:-0.90}
MAX_DROP=${MAX_DROP:-2.0}
MAX_FLOPS_RATIO=${MAX_FLOPS_RATIO:-0.26}
OUT=${OUT:-runs/ci-regression}
THREADS=${THREADS:-2}
mkdir -p "$OUT"

if [ "${1:-}" = "--fresh" ]; then
  run="$OUT/prune-$(date +%Y%m%d-%H%M%S)"
  echo "ci_regression: searching $MODEL at FLOPs $FLOPS ($EPISODES episodes), fine-tuning $EPOCHS epoch(s) -> $run" >&2
  "$B/xcel" prune --model "$MODEL" --data fashion-mnist --target pixel1 --flops "$FLOPS" --episodes "$EPISODES" \
    --reconstruct --finetune-epochs "$EPOCHS" --finetune-kd --threads "$THREADS" --out "$run" > /dev/null
  PRUNED="$run/finetune/finetuned.pt"
fi

latency=()
[ -n "${MAX_LATENCY_MS:-}" ] && latency=(--max-latency-ms "$MAX_LATENCY_MS")
bench=(--bench-runs 0)
[ -n "${MAX_LATENCY_MS:-}" ] && bench=(--bench-runs 100)
echo "ci_regression: gating $PRUNED against $MODEL" >&2
exec "$B/xcel" eval --model "$PRUNED" --data fashion-mnist --split test --threads "$THREADS" "${bench[@]}" \
  --baseline "$MODEL" --min-top1 "$MIN_TOP1" --max-drop "$MAX_DROP" --max-flops-ratio "$MAX_FLOPS_RATIO" \
  "${latency[@]}" --junit "$OUT/gate.xml"
