#!/usr/bin/env bash
# MiniLM embedding benchmark (issue 9): texts/s and tokens/s of `MiniLMEmbedder` on 2,000 real prompts
# from data/routing (*/train.jsonl), batch 32 and batch 1; the machine's sgemm GFLOP/s and the
# encoder's achieved GFLOP/s as a fraction of it; peak RSS; and the PyTorch peer (sentence-transformers)
# encoding the same prompts in the same run. Writes bench-results/embedding.json and prints a table.
#
# The peer is installed into a throwaway venv from PyPI (torch: a CPU wheel from PIP_FIND_LINKS or PyPI),
# with a 10-minute cap; if that fails it is skipped with a message and the table says so.
# Env: EMBED_BENCH_TEXTS (default 2000), EMBED_BENCH_BATCH1_TEXTS (default all), SKIP_PEER=1.
# Needs the release build (`make bench`, or `swift build -c release --product SwitchyardBench`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/SwitchyardBench
MODEL=.models/all-MiniLM-L6-v2
# The routing data the repository carries (data/routing); SHARED=/path/to/shared reads SHARED/data instead.
DATA="${SHARED:+$SHARED/data}"; DATA="${DATA:-data/routing}"
N="${EMBED_BENCH_TEXTS:-2000}"
if [ ! -x "$BIN" ]; then
  echo "embedding.sh: $BIN not found: run 'swift build -c release --product SwitchyardBench' (make bench does)" >&2
  exit 1
fi
if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "embedding.sh: $MODEL missing: run scripts/setup or bash scripts/fetch-minilm.sh" >&2
  exit 1
fi
mkdir -p bench-results
TEXTS=bench-results/embedding-texts.jsonl
"$BIN" embedding --data-dir "$DATA" --texts "$N" --write-texts "$TEXTS"

PEER_ARGS=()
if [ "${SKIP_PEER:-0}" != "1" ]; then
  VENV="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-peer.XXXXXX")"
  trap 'rm -rf "$VENV"' EXIT
  echo "embedding.sh: installing the PyTorch peer into $VENV (capped at 10 minutes)"
  # torch: a CPU wheel from PIP_FIND_LINKS (e.g. /opt/wheels) if present, else PyPI's default build.
  if timeout 600 bash -c "python3 -m venv '$VENV' &&
      '$VENV/bin/pip' install -q --disable-pip-version-check torch sentence-transformers" >/dev/null 2>&1 \
     && "$VENV/bin/python" -c "import torch, sentence_transformers" >/dev/null 2>&1; then
    if timeout 1200 "$VENV/bin/python" Benchmarks/embedding/peer.py --texts "$TEXTS" --model-dir "$MODEL" \
         --threads "$(nproc)" --out bench-results/embedding-peer.json; then
      PEER_ARGS=(--peer-json bench-results/embedding-peer.json)
    else
      echo "embedding.sh: the PyTorch peer failed to run; skipping it" >&2
    fi
  else
    echo "embedding.sh: could not install torch + sentence-transformers from PyPI; skipping the peer" >&2
  fi
fi
if [ ${#PEER_ARGS[@]} -eq 0 ]; then
  # Fall back to the stored figure, clearly labelled (different texts: synthetic prompts, mean 67.8 ids).
  python3 - <<'PY'
import json
b = json.load(open("Tests/Fixtures/minilm/PEER_BASELINE.json"))
json.dump({"texts_per_s": b["texts_per_s"], "tokens_per_s": b["tokens_per_s"], "n_texts": b["n_texts"],
           "threads": b["threads"], "median_seconds": b["median_seconds"], "same_texts": False,
           "source": "STORED PEER_BASELINE.json (not this run; synthetic prompts, mean 67.8 ids): compare tokens/s"},
          open("bench-results/embedding-peer.json", "w"), indent=1)
PY
  PEER_ARGS=(--peer-json bench-results/embedding-peer.json)
fi
BATCH1=()
[ -n "${EMBED_BENCH_BATCH1_TEXTS:-}" ] && BATCH1=(--batch-one-texts "$EMBED_BENCH_BATCH1_TEXTS")
"$BIN" embedding --data-dir "$DATA" --model-dir "$MODEL" --texts "$N" "${BATCH1[@]}" "${PEER_ARGS[@]}" \
  --out bench-results/embedding.json
