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

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: release
	@bash scripts/demo

bench: setup
	$(SWIFT) build -c release
	@bash scripts/bench

clean:
	rm -rf .build demo-out bench-results
