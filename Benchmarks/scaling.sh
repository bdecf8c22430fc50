#!/usr/bin/env bash
# Stage-level scaling (make bench): requests/s of one batch through separate `switchyard stage` processes with
# 1 and 2 profile processes (the profile stage CPU-bound on MiniLM; coordinator, ingest, sink, one score and
# one dispatch --dry-run fixed), each with one MiniLM thread per profile process (profiler.threads: 1) and with
# every core per process (unset, the default), the coordinator's switchyard_stage_queue_depth during each, every process's
# CPU per request, and a queueing model from those service demands predicting 1-64 workers across hosts
# (Benchmarks/scaling/scaling.py says how), checked against the two measurements.
# Writes bench-results/scaling.json and prints the tables. Needs the release build (make bench does it),
# the MiniLM files (scripts/setup) and the routing data (data/routing/zeroeval).
# The MiniLM router artifact (uniroute-cluster on MiniLM features; the score stage's cost is not what is
# measured) is built once into ${SWITCHYARD_CACHE:-~/.cache/switchyard}/bench/.
# Environment: SCALING_LINES (1200), SCALING_ROUNDS (2), SCALING_THREADS (1,all: the profiler.threads settings). Say the machine's load with the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${SWITCHYARD_BIN:-.build/release/switchyard}"
MODEL_DIR="$(cd "${SWITCHYARD_MODEL_DIR:-.models/all-MiniLM-L6-v2}" && pwd)"
[ -x "$BIN" ] || { echo "scaling.sh: $BIN not found: run 'swift build -c release' (make bench does)" >&2; exit 1; }
DATA="${SHARED:+$SHARED/data}"; DATA="${DATA:-data/routing}/zeroeval"   # SHARED=DIR reads DIR/data instead
[ -f "$DATA/train.jsonl" ] || { echo "scaling.sh: routing data not found at $DATA (it ships in the repository under data/routing)" >&2; exit 1; }
DATA="$(cd "$DATA" && pwd)"

CACHE="${SWITCHYARD_CACHE:-$HOME/.cache/switchyard}/bench"
KEY="$( (cat "$DATA/train.jsonl" "$DATA/dev.jsonl" "$BIN"; echo best-single,uniroute-cluster) | sha256sum | cut -c1-12)"
PROFILES="$CACHE/profiles-minilm-$KEY"
if [ ! -f "$PROFILES/manifest.json" ]; then
  echo "scaling.sh: building the MiniLM router artifact into $PROFILES (once)"
  mkdir -p "$CACHE"
  rm -rf "$PROFILES.partial"
  "$BIN" profile build --train "$DATA/train.jsonl" --dev "$DATA/dev.jsonl" --models "$DATA/models.json" \
    --featurizer minilm --strategies best-single,uniroute-cluster --minilm-dir "$MODEL_DIR" --out "$PROFILES.partial" --log-level warning
  mv "$PROFILES.partial" "$PROFILES"
fi

mkdir -p bench-results
BATCH="$(mktemp "${TMPDIR:-/tmp}/switchyard-scaling-batch.XXXXXX")"
trap 'rm -f "$BATCH"' EXIT
python3 - "$DATA/test.jsonl" "${SCALING_LINES:-1200}" > "$BATCH" <<'PY'
import json, sys
prompts = [json.loads(line)["prompt"] for line in open(sys.argv[1])]
for i in range(int(sys.argv[2])):
    print(json.dumps({"id": f"scaling-{i + 1}", "prompt": prompts[i % len(prompts)]}))
PY
echo "scaling.sh: uptime: $(uptime)"
python3 Benchmarks/scaling/scaling.py --binary "$BIN" --profiles "$PROFILES" --model-dir "$MODEL_DIR" \
  --models-json "$DATA/models.json" --batch "$BATCH" --rounds "${SCALING_ROUNDS:-2}" \
  --profile-threads "${SCALING_THREADS:-1,all}" --out bench-results/scaling.json
echo "scaling.sh: results in bench-results/scaling.json (uptime: $(uptime))"
