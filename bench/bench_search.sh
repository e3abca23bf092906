#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of the search (prints tables; not a test): the bundled VGG on Fashion-MNIST at FLOPs targets
# 0.5 and 0.25, agents ddpg / random / uniform with the same episodes, validation split and fix-ups, for each
# seed in SEEDS (a seed picks the agents' random streams; the validation split is fixed by --split-seed 0, the
# images the bundled models never trained on). Ends with the mean over seeds per target and agent, and DDPG's
# lead over uniform and random.
# usage: [SEEDS="0 1 2"] [TARGETS="0.5 0.25"] [EXTRA="--early-stop 0"] \
#        bench/bench_search.sh [EPISODES=300] [WARMUP=100] [THREADS=2] [FIXUPS="" (the defaults: reconstruction
#        and batch-norm recalibration)]
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES=${1:-300}
WARMUP=${2:-100}
THREADS=${3:-2}
FIXUPS=${4:-}
SEEDS=${SEEDS:-0}
TARGETS=${TARGETS:-0.5 0.25}
EXTRA=${EXTRA:-}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
echo "## Search on models/vgg.pt, $EPISODES episodes ($WARMUP warm-up), $THREADS threads, fix-ups: ${FIXUPS:-defaults} $EXTRA"
echo "| target | agent | seed | FLOPs ratio | val top-1 | test top-1 | s/episode | distinct policies | stopped early |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for flops in $TARGETS; do
  for seed in $SEEDS; do
    for agent in ddpg random uniform; do
      dir="$OUT/vgg-$flops-$agent-s$seed"
      rm -rf "$dir"
      # shellcheck disable=SC2086
      "$B/xcel" -q prune --model models/vgg.pt --data fashion-mnist --target pixel1 --flops "$flops" \
        --agent "$agent" --episodes "$EPISODES" --warmup "$WARMUP" --threads "$THREADS" --seed "$seed" \
        --finetune-epochs 0 $FIXUPS $EXTRA --out "$dir" --json >/dev/null
      /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print('| $flops | $agent | $seed | %.3f | %.2f%% | %.2f%% | %.3f | %d | %d |' % (s['flops_ratio'], 100*s['val_top1'], 100*s['test_top1'], s['seconds_per_episode'], s['unique_policies'], s['stopped_early']))" "$dir/summary.json"
    done
  done
done
/usr/bin/python3 - "$OUT" "$TARGETS" "$SEEDS" <<'EOF'
import json, os, sys
out, targets, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
def s(flops, agent, seed):
    return json.load(open(os.path.join(out, f"vgg-{flops}-{agent}-s{seed}", "summary.json")))
print(f"\n## Mean over seeds {', '.join(seeds)}")
print("| target | agent | val top-1 | test top-1 | s/episode | val lead of ddpg (min .. max over seeds) |")
print("|---:|---|---:|---:|---:|---:|")
for flops in targets:
    for agent in ("ddpg", "random", "uniform"):
        rs = [s(flops, agent, k) for k in seeds]
        mean = lambda key: sum(r[key] for r in rs) / len(rs)
        lead = ""
        if agent != "ddpg":
            d = [100 * (s(flops, "ddpg", k)["val_top1"] - r["val_top1"]) for k, r in zip(seeds, rs)]
            lead = f"{sum(d) / len(d):+.2f} ({min(d):+.2f} .. {max(d):+.2f})"
        print(f"| {flops} | {agent} | {100 * mean('val_top1'):.2f}% | {100 * mean('test_top1'):.2f}% | "
              f"{mean('seconds_per_episode'):.3f} | {lead} |")
EOF
echo "(run directories in $OUT)"
