#!/usr/bin/env bash
# Work protocol benchmark: `SwitchyardBench protocol` measures, in one run and on tcp loopback,
# binary frames vs length-prefixed JSON, tasks/s through coordinator + N workers for credit
# 1/10/100/1000 beside raw PUSH/PULL (ratio), the protocol with CURVE on every link vs plain text
# (ratio, credits 10 and 100: --curve-credits), end-to-end latency at one request in flight,
# and RSS over a 1M-task run. Writes bench-results/protocol.json and prints the table.
# The CURVE comparison also runs real `switchyard work` processes (--process-tasks 0 skips them), which need
# the release switchyard binary too (`make bench` builds both).
# Needs the release build (`make bench`, or `swift build -c release --product SwitchyardBench`); BIN=path picks
# another binary (e.g. BIN=.build-rel/release/SwitchyardBench for a build with --scratch-path .build-rel).
# Extra arguments go to `SwitchyardBench protocol` (e.g. --tasks 20000 --rss-tasks 0).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/SwitchyardBench}
if [ ! -x "$BIN" ]; then
  echo "protocol.sh: $BIN not found: run 'swift build -c release --product SwitchyardBench' (make bench does)" >&2
  exit 1
fi
mkdir -p bench-results
"$BIN" protocol --switchyard "$(dirname "$BIN")/switchyard" --out bench-results/protocol.json "$@"
echo "protocol.sh: results in bench-results/protocol.json"
