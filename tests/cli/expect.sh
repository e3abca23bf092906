#!/usr/bin/env bash
# Copyright 2026 The xcel Authors. Licensed under the Apache License, Version 2.0.
# usage: expect.sh EXIT_CODE OUTPUT_REGEX -- COMMAND...
# Runs COMMAND; passes when it exits with EXIT_CODE, its stdout+stderr match OUTPUT_REGEX (grep -E), and a
# non-zero exit printed exactly one "xcel: error:" line and nothing else on stderr.
set -u
want_code=$1 pattern=$2
shift 2
[ "$1" = "--" ] && shift
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" >"$out" 2>"$err"
code=$?
fail() { echo "FAIL: $*"; echo "--- command: $*"; echo "--- stdout:"; head -50 "$out"; echo "--- stderr:"; head -50 "$err"; exit 1; }
[ "$code" -eq "$want_code" ] || fail "exit code $code, expected $want_code"
cat "$out" "$err" | grep -Eq -- "$pattern" || fail "output does not match '$pattern'"
if [ "$want_code" -ne 0 ]; then
  [ "$(wc -l <"$err")" -eq 1 ] || fail "stderr must be exactly one line"
  grep -q '^xcel: error: ' "$err" || fail "stderr must start with 'xcel: error: '"
fi
echo "ok: exit $code, matched '$pattern'"
