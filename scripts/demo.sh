#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Quick start, main job: sets everything up (scripts/setup.sh), then searches a pruned version of the bundled
# VGG at 0.25 of its FLOPs for the pixel1 target on Fashion-MNIST (DDPG, least-squares reconstruction),
# fine-tunes the result for one epoch, and evaluates it on the test set with a FLOPs gate against the original.
# The run goes to runs/demo-<time>/ (open its report.html). Extra arguments go to xcel prune (e.g. --episodes
# 300 --warmup 100 for the full-length search).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
X=${XCEL_BUILD_DIR:-build}/xcel
OUT=runs/demo-$(date +%Y%m%d-%H%M%S)
"$X" prune --model models/vgg.pt --data fashion-mnist --target pixel1 --flops 0.25 --reconstruct \
  --episodes 60 --warmup 20 --threads 2 --finetune-epochs 1 --out "$OUT" "$@"
"$X" eval --model "$OUT/finetune/finetuned.pt" --data fashion-mnist --threads 2 \
  --baseline models/vgg.pt --max-flops-ratio 0.25
echo "report: $OUT/report.html"
