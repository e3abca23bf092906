#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Quick start, main job: sets everything up (scripts/setup.sh), then evaluates the bundled VGG model on
# Fashion-MNIST's test set (accuracy, FLOPs, parameters, host latency).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec "${XCEL_BUILD_DIR:-build}/xcel" eval --model models/vgg.pt --data fashion-mnist --threads 2 "$@"
