#!/usr/bin/env bash
# Dispatcher benchmark: `SwitchyardBench dispatch` runs the replay backend in-process (zero added
# latency) and measures the Dispatcher beside a plain AsyncHTTPClient loop with the same concurrency
# against the same server, alternating rounds; prints the table and writes bench-results/dispatch.json.
# Needs the release build (`make bench`, or `swift build -c release --product SwitchyardBench`).
# Extra arguments go to `SwitchyardBench dispatch` (e.g. --requests 5000 --rounds 1).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/SwitchyardBench
if [ ! -x "$BIN" ]; then
  echo "dispatch.sh: $BIN not found: run 'swift build -c release --product SwitchyardBench' (make bench does)" >&2
  exit 1
fi
# The routing data the repository carries (data/routing); SHARED=/path/to/shared reads SHARED/data instead.
DATA="${SHARED:+$SHARED/data}"; DATA="${DATA:-data/routing}"
DATA="$DATA/zeroeval/test.jsonl"
if [ ! -f "$DATA" ]; then
  echo "dispatch.sh: routing data not found at $DATA: it ships in the repository under data/routing" >&2
  exit 1
fi
mkdir -p bench-results
"$BIN" dispatch --data "$DATA" --out bench-results/dispatch.json "$@"
