#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of the search (prints a table; not a test): the bundled VGG on Fashion-MNIST at FLOPs targets
# 0.5 and 0.25, agents ddpg / random / uniform with the same episodes, validation split and fix-ups.
# usage: bench/bench_search.sh [EPISODES=300] [WARMUP=100] [THREADS=2] [FIXUPS="--reconstruct"]
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES=${1:-300}
WARMUP=${2:-100}
THREADS=${3:-2}
FIXUPS=${4:---reconstruct}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
echo "## Search on models/vgg.pt, $EPISODES episodes ($WARMUP warm-up), $THREADS threads, fix-ups: $FIXUPS"
echo "| target | agent | FLOPs ratio | val top-1 | test top-1 | s/episode | distinct policies |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for flops in 0.5 0.25; do
  for agent in ddpg random uniform; do
    dir="$OUT/vgg-$flops-$agent"
    rm -rf "$dir"
    "$B/xcel" -q prune --model models/vgg.pt --data fashion-mnist --target pixel1 --flops "$flops" \
      --agent "$agent" --episodes "$EPISODES" --warmup "$WARMUP" --threads "$THREADS" $FIXUPS --out "$dir" --json |
      /usr/bin/python3 -c "import json,sys; s=json.load(sys.stdin); print('| $flops | $agent | %.3f | %.2f%% | %.2f%% | %.3f | %d |' % (s['flops_ratio'], 100*s['val_top1'], 100*s['test_top1'], s['seconds_per_episode'], s['unique_policies']))"
  done
done
echo "(run directories in $OUT)"
