#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of FLOPs-budgeted searches by their speed as deployed (prints a table; not a test): per bundled model,
# the DDPG search and the uniform policy at the same FLOPs budget on the host target, with the channel multiple
# probed on the host (the default) and with --round-to 1 (every width allowed); the speed-up is the summary's,
# measured in deploy form in 5 rounds in turns with the original. --reconstruct, no fine-tuning.
# usage: [MODELS="vgg resnet mobilenet"] [BUDGET=0.25] bench/bench_flops_deploy.sh [EPISODES=100] [WARMUP=50] [THREADS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES=${1:-100}
WARMUP=${2:-50}
THREADS=${3:-1}
MODELS=${MODELS:-vgg resnet mobilenet}
BUDGET=${BUDGET:-0.25}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
py=/usr/bin/python3
echo "## --flops $BUDGET on the host, $EPISODES episodes ($WARMUP warm-up), $THREADS thread(s), --reconstruct"
echo "| model | agent | round to | FLOPs ratio | speed-up (deploy form) | val top-1 | test top-1 |"
echo "|---|---|---:|---:|---:|---:|---:|"
for m in $MODELS; do
  for rounding in auto 1; do
    for agent in ddpg uniform; do
      dir="$OUT/$m-$agent-$rounding"
      rm -rf "$dir"
      extra=()
      [ "$rounding" = auto ] || extra=(--round-to "$rounding")
      "$B/xcel" -q prune --model "models/$m.pt" --data fashion-mnist --target host --flops "$BUDGET" --agent "$agent" \
        --episodes "$EPISODES" --warmup "$WARMUP" --threads "$THREADS" --reconstruct "${extra[@]}" --out "$dir" > /dev/null
      $py - "$dir/summary.json" "$m" "$agent" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
m, agent = sys.argv[2:4]
print(f"| {m} | {agent} | {s['round_to']} | {s['flops_ratio']:.3f} | {s['speedup']:.2f}x | {100 * s['val_top1']:.2f}% | "
      f"{100 * s['test_top1']:.2f}% |")
PY
    done
  done
done
echo "(runs in $OUT)"
