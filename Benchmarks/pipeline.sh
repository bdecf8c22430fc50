#!/usr/bin/env bash
# Pipeline benchmark (issue 18): the real `switchyard` binary end to end on 17,040 plain lines (the ZeroEval
# test prompts × 40), every process measured by the kernel (wall, user + system CPU, peak RSS):
#   (a) run --dry-run, and the same with the demo's budget_usd;  (b) run against two replay backends (no added
#   latency);  (c) the seven stage processes, dry;  beside the stage-work bound measured in the same run: the
#   same prompts through the profiler alone, the router alone, and a plain AsyncHTTPClient loop against the same
#   replay backend; end-to-end CPU per request is reported as a ratio to that bound. Then a 1,000,000-line dry
#   run (RSS at 10 / 50 / 100 % of the records) and a MiniLM-feature router against `switchyard embed` alone.
# Writes bench-results/pipeline.json and prints the table.
# Env: BEFORE=path/to/older/switchyard also runs (a), (b), (c) with it in the same run (before/after table);
#      PIPELINE_PHASES (default bound,dry,budget,replay,stages,scale,minilm), SCALE_LINES (default 1000000),
#      MINILM_PROMPTS (default 2000), SWITCHYARD (default .build/release/switchyard).
# Needs the release build (`make bench`, or `swift build -c release`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/SwitchyardBench
SWITCHYARD="${SWITCHYARD:-.build/release/switchyard}"
for binary in "$BIN" "$SWITCHYARD"; do
  if [ ! -x "$binary" ]; then
    echo "pipeline.sh: $binary not found: run 'swift build -c release' (make bench does)" >&2
    exit 1
  fi
done
# The routing data the repository carries (data/routing); SHARED=/path/to/shared reads SHARED/data instead.
DATA="${SHARED:+$SHARED/data}"; DATA="${DATA:-data/routing}"
if [ ! -f "$DATA/zeroeval/test.jsonl" ]; then
  echo "pipeline.sh: routing data not found under $DATA (it ships in the repository; SHARED overrides it)" >&2
  exit 1
fi
mkdir -p bench-results
args=(pipeline --switchyard "$SWITCHYARD" --data "$DATA" --out bench-results/pipeline.json
      --phases "${PIPELINE_PHASES:-bound,dry,budget,replay,stages,scale,minilm}"
      --scale-lines "${SCALE_LINES:-1000000}" --minilm-prompts "${MINILM_PROMPTS:-2000}")
if [ -n "${BEFORE:-}" ]; then args+=(--before "$BEFORE"); fi
"$BIN" "${args[@]}" "$@"
