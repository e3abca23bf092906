#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of the pruning engine (prints tables; not a test):
#  1. time to apply a policy (analysis and pruning, median of 5 runs) on the bundled models, resnet18 and
#     mobilenet_v2;
#  2. bundled VGG at uniform 0.5 preserve: validation top-1 with no fix-up, BN recalibration,
#     least-squares reconstruction, both;
#  3. host latency at batch 1 of resnet18 / mobilenet_v2 before and after uniform 0.5 pruning, 1 and 2 threads.
# usage: bench/bench_prune.sh [BUILD_DIR]   (needs the fixtures: run the tests once, or make_fixtures.py)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
X=$B/xcel
FX=$B/fixtures
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
[ -f "$FX/resnet18.pt" ] || /usr/bin/python3 tests/fixtures/make_fixtures.py "$FX" >/dev/null
py() { /usr/bin/python3 -c "$@"; }
median() { py "import sys,statistics; print('%.1f' % statistics.median(float(v) for v in sys.argv[1:]))" "$@"; }

echo "## Time to apply a policy (uniform 0.5, median of 5)"
echo "| model | analysis ms | pruning ms |"
echo "|---|---:|---:|"
for spec in "models/vgg.pt 1,1,28,28" "models/resnet.pt 1,1,28,28" "models/mobilenet.pt 1,1,28,28" \
            "$FX/resnet18.pt 1,3,224,224" "$FX/mobilenet_v2.pt 1,3,224,224"; do
  set -- $spec
  a=() p=()
  for i in 1 2 3 4 5; do
    out=$("$X" -q prune -m "$1" --input "$2" --uniform 0.5 --out "$W/apply" --json)
    a+=($(echo "$out" | py "import json,sys; print(json.load(sys.stdin)['analyze_ms'])"))
    p+=($(echo "$out" | py "import json,sys; print(json.load(sys.stdin)['apply_ms'])"))
  done
  echo "| $(basename "$1") | $(median "${a[@]}") | $(median "${p[@]}") |"
done

echo
echo "## Bundled VGG, uniform 0.5 preserve, Fashion-MNIST validation (5,000 images)"
echo "| fix-up | FLOPs ratio | val top-1 |"
echo "|---|---:|---:|"
for fix in "none:" "BN recalibration (8 batches):--bn-recal 8" "reconstruction:--reconstruct" "both:--reconstruct --bn-recal 8"; do
  name=${fix%%:*} flags=${fix#*:}
  "$X" -q prune -m models/vgg.pt --uniform 0.5 --data fashion-mnist --threads 2 --out "$W/vgg" $flags --json |
    py "import json,sys; s=json.load(sys.stdin); print('| $name | %.3f | %.2f%% |' % (s['flops_ratio'], 100*s['val_top1']))"
done

echo
echo "## Host latency, batch 1 (median ms of 100 runs after 20 warm-up)"
echo "| model | threads | original | pruned (uniform 0.5) | FLOPs ratio | speed-up |"
echo "|---|---:|---:|---:|---:|---:|"
for m in resnet18 mobilenet_v2; do
  ratio=$("$X" -q prune -m "$FX/$m.pt" --input 1,3,224,224 --uniform 0.5 --out "$W/$m" --json |
    py "import json,sys; print('%.3f' % json.load(sys.stdin)['flops_ratio'])")
  for t in 1 2; do
    lat() { "$B/xcel-bench" --model "$1" --input 1,3,224,224 --threads "$t" --warmup 20 --runs 100 |
      py "import json,sys; print('%.2f' % json.load(sys.stdin)['latency_ms']['median'])"; }
    o=$(OMP_WAIT_POLICY=PASSIVE lat "$FX/$m.pt")
    p=$(OMP_WAIT_POLICY=PASSIVE lat "$W/$m/pruned.pt")
    echo "| $m | $t | $o | $p | $ratio | $(py "print('%.2fx' % ($o / $p))") |"
  done
done
