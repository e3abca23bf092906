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
#    LOWBIT_FT (default 3) epochs of quantization-aware fine-tuning, with the packed size;
# 4. the latency search (int8 or float per layer) at LATENCIES (default 0.95 0.85) of the float model in deploy form
#    on the host, with LAT_AGENTS (default ddpg uniform): the latency table's float / all-int8 / fastest-mix
#    ratios, the result's measured ratio and its layers in float, validation and test top-1 of the real int8.pt.
# usage: [MODELS="vgg resnet mobilenet"] [PRECISIONS="8/8"] [SIZES="0.125 0.0625"] [AGENTS="ddpg random uniform"]
#        [SEEDS="0"] [FT=1] [MIN_BITS=1] [LOWBIT="ternary binary"] [LOWBIT_MODELS=vgg] [LOWBIT_FT=3]
#        [LATENCIES="0.95 0.85"] [LAT_AGENTS="ddpg uniform"] [PARTS="1 2 3 4"]
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
LATENCIES=${LATENCIES:-0.95 0.85}
LAT_AGENTS=${LAT_AGENTS:-ddpg uniform}
PARTS=${PARTS:-1 2 3 4}
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
if [[ " $PARTS " == *" 4 "* ]]; then
  echo; echo "## Latency search on the host (int8 or float per layer), $EPISODES episodes ($WARMUP warm-up), no fine-tuning"
  echo "| model | latency budget | agent | all int8 (table) | fastest mix (table) | result measured | verified | layers in float | int8.pt val | int8.pt test | float test | s/episode |"
  echo "|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"
  for m in $MODELS; do
    for lat in $LATENCIES; do
      for agent in $LAT_AGENTS; do
        d="$OUT/$m-lat$lat-$agent"
        rm -rf "$d"
        "$XCEL" -q quantize --model "models/$m.pt" --latency "$lat" --agent "$agent" --episodes "$EPISODES" \
          --warmup "$WARMUP" "${common[@]}" --out "$d" >/dev/null 2>"$d.err" || {
          echo "| $m | $lat | $agent | exit $?: $(grep -o 'cannot be met.*float model' "$d.err" | head -1) ||||||||"; continue; }
        /usr/bin/python3 - "$m" "$lat" "$agent" "$d" <<'PY'
import json, sys
m, lat, agent, d = sys.argv[1:]
s = json.load(open(d + "/summary.json"))
t, q = s["latency_table"], s.get("int8", {})
fastest = t["int8_ms"] + sum(min(0.0, l["float_extra_ms"]) for l in t["layers"])
pct = lambda v: f"{100 * v:.2f}%"
print(f"| {m} | {lat} | {agent} | {t['int8_ms'] / t['float_ms']:.3f} | {fastest / t['float_ms']:.3f} | "
      f"{s['latency_measured_ratio']:.3f} | {s['latency_verified']} | {q.get('float_layers', len(s['layers']))} | "
      f"{pct(q['val_top1']) if q else ''} | {pct(q['test_top1']) if q else ''} | {pct(s['test_top1_before'])} | "
      f"{s['seconds_per_episode']:.3f} |")
PY
      done
    done
  done
fi
echo "(run directories in $OUT)"
