#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of xcel quantize on the bundled models and Fashion-MNIST (prints tables; not a test), validation split
# fixed (--split-seed 0), seeds vary the searches:
# 1. uniform precisions (PRECISIONS, default 8/8) without fine-tuning: validation and test top-1 next to float;
# 2. mixed precision at weight sizes SIZES (default 1/8 and 1/16 of float) with AGENTS (ddpg / random / uniform),
#    EPISODES each, activations at 8 bits, first and last layer at 8 bits: top-1 without fine-tuning and, with
#    FT=N, after N epochs of quantization-aware fine-tuning of each result; s/episode; layers may go down to
#    MIN_BITS (default 1 = binary weights: 1/16 of float cannot be met at 2 bits with the ends at 8);
# 3. LOWBIT (default "ternary binary") weights (activations 8 bits) on LOWBIT_MODELS (default vgg) after
#    LOWBIT_FT (default 3) epochs of quantization-aware fine-tuning, with the packed size.
# usage: [MODELS="vgg resnet mobilenet"] [PRECISIONS="8/8"] [SIZES="0.125 0.0625"] [AGENTS="ddpg random uniform"]
#        [SEEDS="0"] [FT=1] [MIN_BITS=1] [LOWBIT="ternary binary"] [LOWBIT_MODELS=vgg] [LOWBIT_FT=3] [PARTS="1 2 3"]
#        bench/bench_quant.sh [EPISODES=100] [WARMUP=50] [THREADS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES=${1:-100}
WARMUP=${2:-50}
THREADS=${3:-1}
MODELS=${MODELS:-vgg resnet mobilenet}
PRECISIONS=${PRECISIONS:-8/8}
SIZES=${SIZES:-0.125 0.0625}
AGENTS=${AGENTS:-ddpg random uniform}
SEEDS=${SEEDS:-0}
FT=${FT:-1}
MIN_BITS=${MIN_BITS:-1}
LOWBIT=${LOWBIT:-ternary binary}
LOWBIT_MODELS=${LOWBIT_MODELS:-vgg}
LOWBIT_FT=${LOWBIT_FT:-3}
PARTS=${PARTS:-1 2 3}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
XCEL=$B/xcel
common=(--data fashion-mnist --split-seed 0 --threads "$THREADS" --json)
row() {  # one table row from a run directory: label columns, then the summary's figures
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
*labels, d = sys.argv[1:]
s = json.load(open(d + "/summary.json"))
ft = s.get("finetune", {})
cells = labels + [f"{s['size_ratio']:.4f}", f"{s['packed_bytes'] / 1024:.1f}", f"{100 * s['val_top1_before']:.2f}%",
                  f"{100 * s['val_top1']:.2f}%", f"{100 * s['test_top1_before']:.2f}%", f"{100 * s['test_top1']:.2f}%",
                  f"{100 * ft['test_top1']:.2f}%" if ft else "",
                  f"{s['seconds_per_episode']:.3f}" if "seconds_per_episode" in s else "",
                  " ".join(l["bits"] for l in s["layers"])]
print("| " + " | ".join(cells) + " |")
PY
}
header() {
  echo "| $1 | weight size | packed KiB | float val | val top-1 | float test | test top-1 | test after QAT | s/episode | bits per layer |"
  echo "|---|$2---:|---:|---:|---:|---:|---:|---:|---:|---|"
}
uniform_rows() {  # one row per model and precision: MODELS PRECISIONS FT_EPOCHS
  for m in $1; do
    for p in $2; do
      d="$OUT/$m-${p//\//_}"
      rm -rf "$d"
      "$XCEL" -q quantize --model "models/$m.pt" --bits "$p" --finetune-epochs "$3" "${common[@]}" --out "$d" >/dev/null
      row "$m" "$p" "$d"
    done
  done
}
if [[ " $PARTS " == *" 1 "* ]]; then
  echo "## Uniform precision, no fine-tuning"
  header "model | bits" "---|"
  uniform_rows "$MODELS" "$PRECISIONS" 0
fi
if [[ " $PARTS " == *" 2 "* ]]; then
  echo; echo "## Mixed precision under a weight-size budget, $EPISODES episodes ($WARMUP warm-up), 8-bit activations, QAT $FT epoch(s)"
  header "model | size budget | agent | seed" "---|---|---:|"
  for m in $MODELS; do
    for size in $SIZES; do
      for seed in $SEEDS; do
        for agent in $AGENTS; do
          d="$OUT/$m-size$size-$agent-s$seed"
          rm -rf "$d"
          "$XCEL" -q quantize --model "models/$m.pt" --size "$size" --agent "$agent" --min-bits "$MIN_BITS" \
            --episodes "$EPISODES" --warmup "$WARMUP" --seed "$seed" --finetune-epochs "$FT" "${common[@]}" --out "$d" >/dev/null || {
            echo "| $m | $size | $agent | $seed | exit $? |||||||||"; continue; }
          row "$m" "$size" "$agent" "$seed" "$d"
        done
      done
    done
  done
fi
if [[ " $PARTS " == *" 3 "* ]]; then
  echo; echo "## Ternary and binary weights (first and last layer 8 bits, activations 8 bits), $LOWBIT_FT epoch(s) of QAT"
  header "model | weights" "---|"
  uniform_rows "$LOWBIT_MODELS" "$(for w in $LOWBIT; do echo -n "$w/8 "; done)" "$LOWBIT_FT"
fi
echo "(run directories in $OUT)"
