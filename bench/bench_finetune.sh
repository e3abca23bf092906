#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of fine-tuning (prints a table; not a test): the bundled VGG on Fashion-MNIST, DDPG searches at
# FLOPs 0.5 and 0.25 (reused when already in the work directory), then `xcel finetune` of each best model
# for 1 and 3 epochs, with and without distillation from the original. Test top-1, seconds per epoch, peak RSS.
# usage: bench/bench_finetune.sh [THREADS=2] [EPISODES=300] [WARMUP=100]
#   XCEL_BENCH_OUT=DIR keeps (and reuses) the run directories; FLOPS_TARGETS="0.25" runs one budget only.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
EPISODES=${2:-300}
WARMUP=${3:-100}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
py=/usr/bin/python3
orig=$("$B/xcel" -q eval --model models/vgg.pt --bench-runs 0 --json | $py -c "import json,sys; print('%.2f' % (100*json.load(sys.stdin)['top1']))")
echo "## Fine-tuning searched models/vgg.pt (original test top-1 $orig%), $THREADS threads"
echo "| FLOPs target | FLOPs ratio | before | epochs | distillation | test top-1 | vs original (points) | s/epoch | peak RSS MB |"
echo "|---:|---:|---:|---:|---|---:|---:|---:|---:|"
for flops in ${FLOPS_TARGETS:-0.5 0.25}; do
  search="$OUT/search-$flops"
  if [ ! -f "$search/summary.json" ]; then
    rm -rf "$search"
    "$B/xcel" -q prune --model models/vgg.pt --data fashion-mnist --target pixel1 --flops "$flops" --agent ddpg \
      --episodes "$EPISODES" --warmup "$WARMUP" --threads "$THREADS" --reconstruct --out "$search" > /dev/null
  fi
  ratio=$($py -c "import json; print('%.3f' % json.load(open('$search/summary.json'))['flops_ratio'])")
  for epochs in 1 3; do
    for kd in no yes; do
      dir="$OUT/ft-$flops-$epochs-$kd"
      rm -rf "$dir"
      teacher=()
      [ "$kd" = yes ] && teacher=(--teacher models/vgg.pt)
      "$B/xcel" -q finetune --model "$search/best.pt" --epochs "$epochs" --threads "$THREADS" "${teacher[@]}" \
        --out "$dir" --json |
        $py -c "import json,sys; s=json.load(sys.stdin); t=100*s['test_top1']; print('| $flops | $ratio | %.2f%% | $epochs | $kd | %.2f%% | %+.2f | %.1f | %.0f |' % (100*s['test_top1_before'], t, t-$orig, s['seconds_per_epoch'], s['peak_rss_mb']))"
    done
  done
done
echo "(run directories in $OUT)"
