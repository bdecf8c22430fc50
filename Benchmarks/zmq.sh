#!/usr/bin/env bash
# ZeroMQ wrapper benchmark: builds the C baseline against libzmq, then runs
# `SwitchyardBench zmq`, which measures C and Swift interleaved and prints the Swift/C table.
# Needs the release build (`make bench`, or `swift build -c release --product SwitchyardBench`).
# Extra arguments go to `SwitchyardBench zmq` (e.g. --messages 200000 --repetitions 1).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/SwitchyardBench
if [ ! -x "$BIN" ]; then
  echo "zmq.sh: $BIN not found: run 'swift build -c release --product SwitchyardBench' (make bench does)" >&2
  exit 1
fi
mkdir -p bench-results .build/zmq-bench
# shellcheck disable=SC2046
cc -O2 -Wall -o .build/zmq-bench/zmq_bench Benchmarks/zmq/zmq_bench.c $(pkg-config --cflags --libs libzmq) -lpthread
"$BIN" zmq --c-bench .build/zmq-bench/zmq_bench --out bench-results/zmq.json "$@"
echo "zmq.sh: results in bench-results/zmq.json"
