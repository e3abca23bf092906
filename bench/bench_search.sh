#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of the search (prints tables; not a test): bundled models (MODELS, default vgg) on Fashion-MNIST at
# FLOPs targets 0.5 and 0.25, AGENTS (default ddpg / random / uniform) with the same episodes, validation split and
# fix-ups, for each
# seed in SEEDS (a seed picks the agents' random streams; the validation split is fixed by --split-seed 0, the
# images the bundled models never trained on). Ends with the mean over seeds per model, target and agent, and each
# agent's lead over the uniform policy the budget allows (every summary carries it, validated and tested alike).
# usage: [MODELS="vgg resnet mobilenet"] [AGENTS="ddpg evolution random uniform"] [SEEDS="0 1 2"] \
#        [TARGETS="0.5 0.25"] [EXTRA="--early-stop 0"] \
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
MODELS=${MODELS:-vgg}
AGENTS=${AGENTS:-ddpg random uniform}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
echo "## Search, $EPISODES episodes ($WARMUP warm-up), $THREADS threads, fix-ups: ${FIXUPS:-defaults} $EXTRA"
echo "| model | target | agent | seed | FLOPs ratio | val top-1 | test top-1 | s/episode | distinct policies | stopped early |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for m in $MODELS; do
  for flops in $TARGETS; do
    for seed in $SEEDS; do
      for agent in $AGENTS; do
        dir="$OUT/$m-$flops-$agent-s$seed"
        rm -rf "$dir"
        # shellcheck disable=SC2086
        "$B/xcel" -q prune --model "models/$m.pt" --data fashion-mnist --target pixel1 --flops "$flops" \
          --agent "$agent" --episodes "$EPISODES" --warmup "$WARMUP" --threads "$THREADS" --seed "$seed" \
          --finetune-epochs 0 $FIXUPS $EXTRA --out "$dir" --json >/dev/null
        /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print('| $m | $flops | $agent | $seed | %.3f | %.2f%% | %.2f%% | %.3f | %d | %d |' % (s['flops_ratio'], 100*s['val_top1'], 100*s['test_top1'], s['seconds_per_episode'], s['unique_policies'], s['stopped_early']))" "$dir/summary.json"
      done
    done
  done
done
/usr/bin/python3 - "$OUT" "$TARGETS" "$SEEDS" "$MODELS" "$AGENTS" <<'EOF'
import json, os, sys
out = sys.argv[1]
targets, seeds, models, agents = (a.split() for a in sys.argv[2:6])
def s(m, flops, agent, seed):
    return json.load(open(os.path.join(out, f"{m}-{flops}-{agent}-s{seed}", "summary.json")))
print(f"\n## Mean over seeds {', '.join(seeds)}")
print("| model | target | agent | val top-1 | test top-1 | s/episode | val lead over uniform (min .. max) | test lead over uniform |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for m in models:
    for flops in targets:
        for agent in agents:
            rs = [s(m, flops, agent, k) for k in seeds]
            mean = lambda key: sum(r[key] for r in rs) / len(rs)
            d = [100 * (r["val_top1"] - r["uniform_val_top1"]) for r in rs]
            t = [100 * (r["test_top1"] - r["uniform_test_top1"]) for r in rs]
            print(f"| {m} | {flops} | {agent} | {100 * mean('val_top1'):.2f}% | {100 * mean('test_top1'):.2f}% | "
                  f"{mean('seconds_per_episode'):.3f} | {sum(d) / len(d):+.2f} ({min(d):+.2f} .. {max(d):+.2f}) | "
                  f"{sum(t) / len(t):+.2f} |")
EOF
echo "(run directories in $OUT)"
