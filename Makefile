# Every command a developer or CI needs. The Rust toolchain comes with the machine;
# everything else is installed by these targets.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
SHARED ?= ../shared
FUZZ_SECONDS ?= 60
VEND := target/debug/vend

VENV := .venv
SANDBOX_REQUIREMENTS := crates/vend/sandbox/requirements.txt

.PHONY: demo test lint unit conformance fuzz bench build setup

## setup: the project-local virtualenv with the sandbox (moto, pinned). Re-run when the pins change.
setup: $(VENV)/.installed

$(VENV)/.installed: $(SANDBOX_REQUIREMENTS)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(SANDBOX_REQUIREMENTS)
	touch $@

build:
	$(CARGO) build --quiet -p vend

## demo: run the example vending-shaped workflow on the local executor, showing each step.
demo: build
	$(VEND) states run --steps \
	  --definition crates/asl-executor/examples/account-poll.asl.json \
	  --input @crates/asl-executor/examples/account-poll.input.json

## test: formatting, lints, every unit and integration test, and the AWS conformance cases.
test: setup lint unit conformance

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --quiet --workspace --all-targets -- -D warnings

unit:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --no-fail-fast --lib --bins --tests; \
	fi
	$(CARGO) test --quiet --workspace --doc

conformance: build
	@if [ -f "$(SHARED)/asl-conformance/cases.jsonl" ]; then \
	  $(VEND) states test --cases "$(SHARED)/asl-conformance/cases.jsonl"; \
	else \
	  echo "skipping the conformance cases: no $(SHARED)/asl-conformance beside this checkout"; \
	fi

## fuzz: each fuzz target for FUZZ_SECONDS (cargo-fuzz installs itself once).
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd crates/asl-executor && for t in definition path; do \
	  mkdir -p fuzz/corpus/$$t && cp -r fuzz/seeds/$$t/. fuzz/corpus/$$t/; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t fuzz/corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048; \
	done

## bench: executor throughput (transitions per second).
bench:
	$(CARGO) bench -p asl-executor --bench throughput
