# The README's two commands: `make verify` (set-up + the main job), `make test` (set-up + the
# whole test suite, what CI runs).
CARGO ?= cargo

.PHONY: verify test setup setup-test lint synth fmt-check clippy unit verify-bubbles

verify: setup
	$(CARGO) run --release -- verify

test: setup-test fmt-check clippy lint synth unit
	$(CARGO) run --release -- eval
	$(CARGO) run --release -- verify --quiet
	$(CARGO) run --release -- verify --quiet --bubbles 0.3 --seed 7 --reports reports/bubbles

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh test

fmt-check:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

lint:
	scripts/lint.sh

synth:
	scripts/synth.sh

# Release profile, so the tests share the build `verify` uses.
unit:
	$(CARGO) test --release
