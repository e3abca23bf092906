#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Quick start, main job: sets everything up (scripts/setup.sh), then searches a pruned version of the bundled
# VGG at 0.25 of its FLOPs for the pixel1 target on Fashion-MNIST (DDPG, least-squares reconstruction), and
# evaluates the result on the test set. The run goes to runs/demo-<time>/. Extra arguments go to xcel prune
# (e.g. --episodes 300 --warmup 100 for the full-length search).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
X=${XCEL_BUILD_DIR:-build}/xcel
OUT=runs/demo-$(date +%Y%m%d-%H%M%S)
"$X" prune --model models/vgg.pt --data fashion-mnist --target pixel1 --flops 0.25 --reconstruct \
  --episodes 60 --warmup 20 --threads 2 --out "$OUT" "$@"
"$X" eval --model "$OUT/best.pt" --data fashion-mnist --threads 2
