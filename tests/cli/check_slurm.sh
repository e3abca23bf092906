#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# usage: check_slurm.sh XCEL MODEL DATA WORK_DIR
# `xcel sweep` against a real Slurm: starts a one-node cluster on this machine (scripts/slurm_local.sh: munged,
# slurmctld, slurmd as root, no cgroups, its own key, socket, ports and state under WORK_DIR), submits a sweep of three short runs as a job
# array, cancels one task midway (SIGTERM: the run saves its state), checks that running the sweep again submits
# only that run and that it resumes to the end, then shuts the cluster down. Exit 77 (CTest: skipped) with the
# reason where the daemons are missing or cannot start; scripts/setup.sh installs them with XCEL_WITH_TEST_TOOLS=1.
set -uo pipefail
xcel=$1 model=$2 data=$3 work=$4
skip() { echo "SKIPPED: $*"; exit 77; }
fail() {
  echo "FAIL: $*"
  for f in "$work"/*.log "$work"/cluster/*.log "$work"/runs/.sweep/logs/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
  exit 1
}
rm -rf "$work"
mkdir -p "$work"
slurm_local=$(dirname "$0")/../../scripts/slurm_local.sh
trap 'bash "$slurm_local" stop "$work/cluster"' EXIT
up=$(bash "$slurm_local" start "$work/cluster")
case $? in
  0) echo "$up" ;;
  77) skip "$up" ;;
  *) fail "slurm_local.sh: $up" ;;
esac
export SLURM_CONF=$work/cluster/slurm.conf

# Three runs; the longest (DDPG, thousands of short episodes) is cancelled midway.
cat > "$work/s.json" <<EOF
{"models": ["$model"], "data": "$data", "flops": [0.5, 0.7], "agents": ["uniform"], "out": "runs",
 "options": ["--val-size", "60", "--episodes", "4", "--batch", "64", "--force"],
 "slurm": {"cpus": 1, "time": "00:30:00"}}
EOF
cat > "$work/long.json" <<EOF
{"models": ["$model"], "data": "$data", "flops": [0.6], "agents": ["ddpg"], "out": "runs",
 "options": ["--val-size", "60", "--episodes", "4000", "--warmup", "10", "--batch", "64", "--force",
             "--checkpoint-every", "50"],
 "slurm": {"cpus": 1, "time": "00:30:00"}}
EOF
wait_queue_empty() {
  for _ in $(seq 1 "$1"); do
    [ -z "$(squeue -h 2> /dev/null)" ] && return 0
    sleep 1
  done
  return 1
}
start=$(date +%s)
"$xcel" sweep run "$work/s.json" --backend slurm > "$work/submit1.log" 2>&1 || fail "submission"
grep -q "submitted job array [0-9]* (2 runs)" "$work/submit1.log" || fail "two runs in one array"
"$xcel" sweep run "$work/long.json" --backend slurm > "$work/submit_long.log" 2>&1 || fail "submission of the long run"
long_dir=$work/runs/plain-flops0.6-ddpg-s0
# Cancel the long run once it has checkpointed some episodes.
for _ in $(seq 1 240); do
  n=$(/usr/bin/python3 -c "import json; print(json.load(open('$long_dir/checkpoint/state.json'))['next_episode'])" 2> /dev/null || echo 0)
  [ "$n" -ge 200 ] && break
  sleep 0.5
done
[ "${n:-0}" -ge 200 ] || fail "the long run did not get going"
"$xcel" sweep status "$work/long.json" > "$work/status_running.log" 2>&1
grep -Eq "plain-flops0.6-ddpg-s0 +running" "$work/status_running.log" || fail "status while running"
job=$(/usr/bin/python3 -c "import json; print(json.load(open('$work/runs/.sweep/jobs.json'))[-1]['job'])")
scancel "${job}_0" || fail "scancel"
wait_queue_empty 90 || fail "tasks still queued: $(squeue -h)"
[ -f "$work/runs/plain-flops0.5-uniform-s0/summary.json" ] && [ -f "$work/runs/plain-flops0.7-uniform-s0/summary.json" ] \
  || fail "the short runs did not finish"
[ ! -f "$long_dir/summary.json" ] || fail "the long run finished before it was cancelled; make it longer"
"$xcel" sweep status "$work/long.json" > "$work/status_cancelled.log" 2>&1
grep -Eq "plain-flops0.6-ddpg-s0 +interrupted" "$work/status_cancelled.log" || fail "cancelled run not interrupted"
done_before=$(/usr/bin/python3 -c "import json; print(json.load(open('$long_dir/checkpoint/state.json'))['next_episode'])")

# Again: only the unfinished run goes to Slurm, and it resumes.
"$xcel" sweep run "$work/s.json" --backend slurm > "$work/submit2.log" 2>&1 || fail "second submission"
grep -q "nothing to submit" "$work/submit2.log" || fail "finished runs were submitted again"
"$xcel" sweep run "$work/long.json" --backend slurm > "$work/submit3.log" 2>&1 || fail "resubmission"
grep -q "submitted job array [0-9]* (1 runs)" "$work/submit3.log" || fail "the cancelled run was not resubmitted"
wait_queue_empty 600 || fail "the resumed run did not end"
[ -f "$long_dir/summary.json" ] || fail "the resumed run did not finish"
grep -q '"resumed": true' "$long_dir/sweep-task.json" || fail "the run started over instead of resuming"
episodes=$(wc -l < "$long_dir/episodes.jsonl")
[ "$episodes" -eq 4000 ] || fail "episodes.jsonl has $episodes lines, expected 4000 (resumed after $done_before)"
"$xcel" sweep collect "$work/long.json" > "$work/collect.log" 2>&1 || fail "collect"
[ "$(wc -l < "$work/runs/results.csv")" -eq 2 ] || fail "results.csv"
echo "ok: sweep on Slurm in $(( $(date +%s) - start )) s; the cancelled run resumed after $done_before of 4000 episodes"
