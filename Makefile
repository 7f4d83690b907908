# Every command a developer or CI needs. The Rust toolchain comes with the machine;
# everything else is installed by these targets.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
SHARED ?= ../shared
FUZZ_SECONDS ?= 60
VEND := target/debug/vend

VENV := .venv
ASL_VALIDATOR_VERSION := 4.0.0
# The reference JSONata (the 2.0 line AWS Step Functions runs), for the executor's JSONata tests.
JSONATA_VERSION := 2.0.6
SANDBOX := crates/sandbox
SANDBOX_REQUIREMENTS := $(SANDBOX)/requirements.txt
INFRA_REQUIREMENTS := infra/requirements.txt
# The deploy-time tools (SAM CLI, cfn-lint, cargo-lambda with zig) live in their own virtualenv.
SAM_BIN := $(VENV)/sam/bin
SAM := PATH="$(CURDIR)/$(SAM_BIN):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_BIN)/sam

.PHONY: backstage-test api-fuzz demo test lint lint-workflows lint-infra unit sandbox-test conformance fuzz bench bench-vend coldstart build setup sam-build proof

## setup: the project-local virtualenvs: the sandbox (moto) and the workflow linters, and the
## deploy-time tools. Re-run when the pins change.
setup: $(VENV)/.installed $(VENV)/sam/.installed $(VENV)/.git-daemon

## Debian's git, whose `git daemon` serves the git destination's tests on loopback: installed
## only when the machine's git has no daemon.
$(VENV)/.git-daemon:
	@mkdir -p $(VENV)
	@if [ ! -x "$$(git --exec-path 2>/dev/null)/git-daemon" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq git; \
	fi
	touch $@

$(VENV)/.installed: $(SANDBOX_REQUIREMENTS) Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(SANDBOX_REQUIREMENTS)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node asl-validator@$(ASL_VALIDATOR_VERSION)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/jsonata jsonata@$(JSONATA_VERSION)
	touch $@

$(VENV)/sam/.installed: $(INFRA_REQUIREMENTS) Makefile
	python3 -m venv $(VENV)/sam
	$(SAM_BIN)/pip install --quiet --disable-pip-version-check -r $(INFRA_REQUIREMENTS)
	touch $@

## lint-infra: cfn-lint and `sam validate --lint` on the SAM template (offline, no credentials).
lint-infra: setup
	$(SAM_BIN)/cfn-lint infra/template.yaml infra/event-forwarder.yaml
	$(SAM) validate --lint --region eu-west-1

## sam-build: `sam build` (cargo lambda build --release of every function), then checks that
## every function of the template got its bootstrap. `sam build` builds one function after
## another, each ending in a single-threaded fat-LTO link; building every function's binary in
## one cargo invocation first (the same flags, so `sam build` then finds them up to date) runs
## two links at once.
FUNCTION_BINS = $(shell sed -n 's/^ *Binary: *//p' infra/template.yaml)
sam-build: setup
	PATH="$(CURDIR)/$(SAM_BIN):$$PATH" $(SAM_BIN)/cargo-lambda lambda build --release $(addprefix --bin ,$(FUNCTION_BINS))
	$(SAM) build
	@missing=0; for fn in $$(grep -E '^  [A-Za-z]+Function:$$' infra/template.yaml | tr -d ' :'); do \
	  if [ -s .aws-sam/build/$$fn/bootstrap ]; then echo "bootstrap: $$fn ($$(stat -c %s .aws-sam/build/$$fn/bootstrap) bytes)"; \
	  else echo "no bootstrap for $$fn"; missing=1; fi; \
	done; exit $$missing

## coldstart: each built bootstrap on a local Lambda Runtime API, running the demo's vending
## on the sandbox: init time, first invocation, peak RSS and size per function.
coldstart: build
	$(VEND) coldstart --build-dir .aws-sam/build

## lint-workflows: statelint and asl-validator on every definition, with SAM's ${...}
## substitutions (functions, state machines) replaced by sample ARNs first (statelint wants URIs), as SAM would deploy them.
lint-workflows: setup
	@mkdir -p target/workflows
	@for f in workflows/*.asl.json; do \
	  out=target/workflows/$$(basename $$f); \
	  sed -E -e 's/\$$\{([A-Za-z]+)FunctionArn\}/arn:aws:lambda:us-east-1:123456789012:function:\1/g' \
	    -e 's/\$$\{([A-Za-z]+)StateMachineArn\}/arn:aws:states:us-east-1:123456789012:stateMachine:\1/g' $$f > $$out; \
	  $(VENV)/bin/statelint $$out; \
	  $(VENV)/node/node_modules/.bin/asl-validator --json-path $$out; \
	done

build:
	$(CARGO) build --quiet -p vend

## demo: vend the sample portal request end to end on the local sandbox, showing each step.
demo: setup build
	$(VEND) local --trigger events/portal-request.json

## test: formatting, lints (code, sandbox, workflows, template), every unit and integration
## test, the sandbox's own tests, and the AWS conformance cases.
test: setup lint lint-workflows lint-infra sandbox-test backstage-test unit conformance api-fuzz

## lint: rustfmt and clippy on the workspace, ruff on the sandbox (crates/sandbox).
lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --quiet --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check $(SANDBOX)
	$(VENV)/bin/ruff format --check $(SANDBOX)

## sandbox-test: the sandbox's own tests (pytest, boto3 against an in-process front): each
## strict behaviour refusing as AWS does, and each protocol's error shape.
## backstage-test: the Backstage template and its signing action (backstage/), offline: the
## TypeScript compiles, and jest runs the action on Backstage's mock context and validates the
## template (entity, form schema, rendered request). Node packages come from the committed
## lockfile (`npm ci`); `tests/api.rs` takes the rendered request through `vend serve`.
BACKSTAGE := backstage
$(BACKSTAGE)/node_modules/.installed: $(BACKSTAGE)/package-lock.json
	npm ci --silent --no-audit --no-fund --prefix $(BACKSTAGE)
	touch $@

backstage-test: $(BACKSTAGE)/node_modules/.installed
	cd $(BACKSTAGE) && npx --no-install tsc --noEmit -p tsconfig.json && npx --no-install jest --ci

sandbox-test: setup
	cd $(SANDBOX) && ../../$(VENV)/bin/python -m pytest

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

## api-fuzz: schemathesis against `vend serve`, from docs/openapi.yaml: seeded, bounded in
## examples and time, positive and negative data; no answer may be a 5xx, every answer must
## match the document, every schema-violating request must be refused. Excluded, because the
## local server cannot hold them: the auth checks (`vend serve` is unsigned loopback; in AWS
## the HTTP API's IAM authorizer refuses unsigned calls before the function sees them) and
## positive-data acceptance (whether a schema-valid request is valid depends on the platform
## config and on IAM: its environments, required tags and existing principals; a page token is
## opaque). See docs/operations.md.
API_FUZZ_EXAMPLES ?= 40
API_FUZZ_SEED ?= 7
api-fuzz: setup build
	@rm -f target/serve-url; \
	$(VEND) serve --port 0 --quiet --out target/api-fuzz > target/serve-url 2> target/api-fuzz-serve.log & pid=$$!; \
	trap 'kill -INT $$pid 2>/dev/null; wait $$pid 2>/dev/null' EXIT; \
	for i in $$(seq 1 240); do [ -s target/serve-url ] && break; kill -0 $$pid 2>/dev/null || break; sleep 0.5; done; \
	url=$$(head -1 target/serve-url); \
	if [ -z "$$url" ]; then echo "vend serve did not start:"; cat target/api-fuzz-serve.log; exit 1; fi; \
	timeout 600 $(VENV)/bin/st run docs/openapi.yaml --url "$$url" \
	  --checks all --exclude-checks ignored_auth,missing_required_header,positive_data_acceptance \
	  --generation-with-security-parameters false --mode all \
	  --phases examples,coverage,fuzzing --max-examples $(API_FUZZ_EXAMPLES) --seed $(API_FUZZ_SEED) \
	  --workers 1 --generation-database none --no-color --request-timeout 30

## fuzz: each fuzz target for FUZZ_SECONDS (cargo-fuzz installs itself once): the executor's
## definition and path parsers, and the domain's trigger recognition and request validation.
FUZZ_TARGETS := asl-executor:definition asl-executor:path vending-domain:trigger vending-domain:request
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	@for spec in $(FUZZ_TARGETS); do \
	  crate=$${spec%%:*}; t=$${spec##*:}; \
	  echo "== fuzzing $$crate $$t for $(FUZZ_SECONDS) s"; \
	  ( cd crates/$$crate && mkdir -p fuzz/corpus/$$t && cp -r fuzz/seeds/$$t/. fuzz/corpus/$$t/ && \
	    RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O --target-dir $(CURDIR)/target/fuzz $$t fuzz/corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 ) || exit 1; \
	done

## proof: the claims under crashes, faults and load, in full: a crash after every AWS call of a
## vending, and of an offboarding, 20 tenants with 30 % of AWS calls failing, 100 tenants at once, 20 identical
## requests at once. Ends with "N passed, M failed". (make test runs small versions.)
proof: setup build
	$(VEND) proof

## bench-vend: the vending's figures, one run on one local platform (vend bench): wall time per
## tenant through the workflow and bare, transitions and their cost, AWS calls, 100 tenants at
## once, the local executor against moto's interpreter. Results go in docs/benchmarks.md.
bench-vend: setup build
	$(VEND) bench

## bench: executor throughput (transitions per second).
bench:
	$(CARGO) bench -p asl-executor --bench throughput
