# Switchyard. `make demo` shows it working; `make test` is what CI runs.
SWIFT ?= swift
SHARED ?= ../shared
.PHONY: setup build release test demo bench clean

setup:
	@bash scripts/setup

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release --product switchyard

# Suites that assert on wall-clock timing (retry backoff, Retry-After, rate limits) run on their own
# after the rest, so the CPU-heavy suites (MiniLM parity, multi-process runs) cannot skew their clocks.
TIMING_SUITES = FailureHandlingTests|ThreeBackendsTests|DispatcherTests

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip "$(TIMING_SUITES)"
	$(SWIFT) test --skip-build --filter "$(TIMING_SUITES)"

demo: release
	@bash scripts/demo

bench: setup
	$(SWIFT) build -c release
	@bash scripts/bench

clean:
	rm -rf .build demo-out bench-results
