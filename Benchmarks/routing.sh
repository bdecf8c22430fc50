#!/usr/bin/env bash
# Routing benchmark: `SwitchyardBench routing` builds the router on each data set's train (+ dev),
# times profile build and artifact load, measures decisions/s on ONE core for every strategy given
# features (OPENBLAS_NUM_THREADS=1), and sweeps λ on the test split for the quality table
# (AIQ, quality at the best single model's cost, cost to match it), next to the single models
# measured in the same run. Tuning is on dev only.
# Needs the release build (`make bench`, or `swift build -c release --product SwitchyardBench`).
# Extra arguments go to `SwitchyardBench routing` (e.g. --datasets zeroeval --featurizers strip-tfidf,tfidf).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/SwitchyardBench
if [ ! -x "$BIN" ]; then
  echo "routing.sh: $BIN not found: run 'swift build -c release --product SwitchyardBench' (make bench does)" >&2
  exit 1
fi
# The routing data the repository carries (data/routing); SHARED=/path/to/shared reads SHARED/data instead.
DATA="${SHARED:+$SHARED/data}"; DATA="${DATA:-data/routing}"
if [ ! -f "$DATA/zeroeval/train.jsonl" ]; then
  echo "routing.sh: routing data not found under $DATA (it ships in the repository; SHARED overrides it)" >&2
  exit 1
fi
mkdir -p bench-results
OPENBLAS_NUM_THREADS=1 "$BIN" routing --data "$DATA" --out bench-results/routing.json "$@"
echo "routing.sh: results in bench-results/routing.json"
