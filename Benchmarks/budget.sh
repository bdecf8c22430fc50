#!/usr/bin/env bash
# Batch-budget benchmark (issue 6): λ calibration for 1M queries × 26 models on one core must take ≤ 2 s.
# `SwitchyardBench budget` measures our frontier + bisection beside a naive full-scan bisection and one
# streaming pass over the data (peers in the same run), prints the table, writes bench-results/budget.json.
# Needs the release build (`make bench`, or `swift build -c release --product SwitchyardBench`); BIN=... runs
# another build, e.g. BIN=.build-rel/release/SwitchyardBench after `swift build -c release --product
# SwitchyardBench --scratch-path .build-rel`.
# Extra arguments go to `SwitchyardBench budget` (e.g. --queries 200000 --repetitions 1).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.build/release/SwitchyardBench}"
if [ ! -x "$BIN" ]; then
  echo "budget.sh: $BIN not found: run 'swift build -c release --product SwitchyardBench' (make bench does), or set BIN=" >&2
  exit 1
fi
mkdir -p bench-results
# one core, as the target says
if command -v taskset >/dev/null 2>&1; then
  taskset -c 0 "$BIN" budget --out bench-results/budget.json "$@"
else
  "$BIN" budget --out bench-results/budget.json "$@"
fi
