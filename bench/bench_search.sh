#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# Benchmark of the search (prints tables; not a test): bundled models (MODELS, default vgg) on Fashion-MNIST at
# FLOPs targets 0.5 and 0.25 (TARGETS; "lat0.5" is a latency budget of 0.5 measured on the host), AGENTS (default
# ddpg / random / uniform) with the same episodes, validation split and fix-ups, for each seed in SEEDS (a seed picks
# the agents' random streams; the validation split is fixed by --split-seed 0, the images the bundled models never
# trained on). FT=N fine-tunes every result for N epochs (`--finetune-epochs N`, the full training split) and adds
# its test top-1 after that. RERANK=K re-judges each searched run (not uniform) with `--rerank K`: the finished run
# is copied and resumed with --rerank, so the re-ranked result comes from the very same search (agent "<agent>+rrK";
# the column "changed" says whether re-ranking changed the winner). Ends with the mean over seeds per model, target
# and agent, and each agent's lead over the uniform policy the budget allows (every summary carries it, validated and
# tested alike; after fine-tuning, against the uniform agent's fine-tuned result of the same seed).
# usage: [MODELS="vgg resnet mobilenet"] [AGENTS="ddpg evolution random uniform"] [SEEDS="0 1 2"] \
#        [TARGETS="0.5 0.25 lat0.5"] [FT=1] [RERANK=5] [EXTRA="--early-stop 0"] \
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
FT=${FT:-0}
RERANK=${RERANK:-0}
B=${XCEL_BUILD_DIR:-build}
OUT=${XCEL_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
XCEL=$B/xcel
row() {  # one table row from a run directory
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
m, target, agent, seed, d = sys.argv[1:6]
s = json.load(open(d + "/summary.json"))
ft = s.get("finetune", {}).get("test_top1")
rr = s.get("rerank", {})
lat = f" (latency {s['latency_measured_ratio']:.3f})" if "latency_measured_ratio" in s else ""
print(f"| {m} | {target} | {agent} | {seed} | {s['flops_ratio']:.3f}{lat} | {100 * s['val_top1']:.2f}% | "
      f"{100 * s['test_top1']:.2f}% | " + (f"{100 * ft:.2f}% | " if ft is not None else "| ")
      + f"{s['seconds_per_episode']:.3f} | {s['unique_policies']} | {s['stopped_early']} | "
      + ("yes" if rr.get("winner_changed") else "no" if rr else "") + " |")
PY
}
echo "## Search, $EPISODES episodes ($WARMUP warm-up), $THREADS threads, fix-ups: ${FIXUPS:-defaults} $EXTRA"
echo "| model | target | agent | seed | FLOPs ratio | val top-1 | test top-1 | test after $FT epoch(s) | s/episode | distinct policies | stopped early | changed |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for m in $MODELS; do
  for target in $TARGETS; do
    budget=(--flops "$target" --target pixel1)
    [[ $target == lat* ]] && budget=(--latency "${target#lat}" --target host)
    for seed in $SEEDS; do
      for agent in $AGENTS; do
        dir="$OUT/$m-$target-$agent-s$seed"
        rm -rf "$dir"
        # shellcheck disable=SC2086
        "$XCEL" -q prune --model "models/$m.pt" --data fashion-mnist "${budget[@]}" \
          --agent "$agent" --episodes "$EPISODES" --warmup "$WARMUP" --threads "$THREADS" --seed "$seed" \
          --finetune-epochs "$FT" $FIXUPS $EXTRA --out "$dir" --json >/dev/null
        row "$m" "$target" "$agent" "$seed" "$dir"
        if [ "$RERANK" -gt 0 ] && [ "$agent" != uniform ]; then
          rr="$dir-rr$RERANK"
          rm -rf "$rr"
          cp -r "$dir" "$rr"
          rm -rf "$rr/finetune"
          "$XCEL" -q prune --resume --out "$rr" --rerank "$RERANK" --finetune-epochs "$FT" --json >/dev/null
          row "$m" "$target" "$agent+rr$RERANK" "$seed" "$rr"
        fi
      done
    done
  done
done
/usr/bin/python3 - "$OUT" "$TARGETS" "$SEEDS" "$MODELS" "$AGENTS" "$RERANK" <<'EOF'
import json, os, sys
out = sys.argv[1]
targets, seeds, models, agents = (a.split() for a in sys.argv[2:6])
rerank = int(sys.argv[6])
runs = [a for a in agents] + ([f"{a}+rr{rerank}" for a in agents if a != "uniform"] if rerank else [])
def s(m, target, agent, seed):
    name = agent.replace(f"+rr{rerank}", f"-s{seed}-rr{rerank}") if "+rr" in agent else f"{agent}-s{seed}"
    return json.load(open(os.path.join(out, f"{m}-{target}-{name}", "summary.json")))
def ft(r):
    return r.get("finetune", {}).get("test_top1")
print(f"\n## Mean over seeds {', '.join(seeds)}")
print("| model | target | agent | val top-1 | test top-1 | test after fine-tuning | s/episode | val lead over uniform "
      "(min .. max) | test lead over uniform | test lead after fine-tuning | winner changed by re-ranking |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for m in models:
    for target in targets:
        for agent in runs:
            rs = [s(m, target, agent, k) for k in seeds]
            mean = lambda key: sum(r[key] for r in rs) / len(rs)
            d = [100 * (r["val_top1"] - r["uniform_val_top1"]) for r in rs]
            t = [100 * (r["test_top1"] - r["uniform_test_top1"]) for r in rs]
            f = [ft(r) for r in rs]
            fu = [ft(s(m, target, "uniform", k)) if "uniform" in agents else None for k in seeds]
            ftcol, ftlead = "", ""
            if all(x is not None for x in f):
                ftcol = f"{100 * sum(f) / len(f):.2f}%"
                if all(x is not None for x in fu):
                    ftlead = f"{100 * sum(a - b for a, b in zip(f, fu)) / len(f):+.2f}"
            changed = sum(1 for r in rs if r.get("rerank", {}).get("winner_changed"))
            print(f"| {m} | {target} | {agent} | {100 * mean('val_top1'):.2f}% | {100 * mean('test_top1'):.2f}% | "
                  f"{ftcol} | {mean('seconds_per_episode'):.3f} | {sum(d) / len(d):+.2f} ({min(d):+.2f} .. "
                  f"{max(d):+.2f}) | {sum(t) / len(t):+.2f} | {ftlead} | "
                  + (f"{changed} of {len(rs)}" if "+rr" in agent else "") + " |")
EOF
echo "(run directories in $OUT)"
