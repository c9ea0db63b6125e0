# ssogate — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Build and run: gcc and libc6-dev link the binary and build the bundled C (SQLite, aws-lc);
# pkg-config finds libssl-dev for the openssl crate and libpq-dev for PostgreSQL; the openssl CLI
# makes data/session.key and `make sp-cert`; ca-certificates for https metadata and OIDC fetches.
SYSTEM_PACKAGES := gcc libc6-dev pkg-config libssl-dev libpq-dev openssl ca-certificates
# Tests only: pysaml2 shells out to xmlsec1; Debian's chromium for the browser walk;
# systemd's systemd-analyze verifies deploy/ssogate.service; nginx and caddy run docs/reverse-proxies.md's
# reverse-proxy examples (tests/api/proxies.rs).
TEST_PACKAGES := xmlsec1 python3-venv postgresql-client chromium systemd nginx caddy
VENV := .venv
SCIM_VENV := .venv-scim
FUZZ_VENV := .venv-fuzz
PG_URL ?= postgres://postgres@127.0.0.1:5432
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help deps system-test-deps test-deps sp-cert build run demo migrate test test-sqlite test-pg lint fmt openapi ci bench bench-validate bench-old-build bench-http clean-test-dbs

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

define install_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || [ "$(2)" != node ] || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps: ## Install the system packages a fresh Debian/Ubuntu machine lacks to build and run
	$(call install_missing,$(SYSTEM_PACKAGES),)

system-test-deps: deps
	$(call install_missing,$(TEST_PACKAGES),node)

$(VENV)/.installed: tests/idp/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tests/idp/requirements.txt
	touch $@

# scim2-tester (`scim test`, from PyPI's scim2-cli, pinned with its dependencies) checks the
# SCIM server; its own venv keeps its pins apart from pysaml2's.
$(SCIM_VENV)/.installed: tests/scim/requirements.txt
	python3 -m venv $(SCIM_VENV)
	$(SCIM_VENV)/bin/pip install -q -r tests/scim/requirements.txt
	touch $@

# schemathesis (PyPI, pinned with its dependencies) fuzzes the admin API from its OpenAPI
# document (tests/api/api_fuzz.rs); its own venv keeps its pins apart from the others'.
$(FUZZ_VENV)/.installed: tests/fuzz/requirements.txt
	python3 -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install -q -r tests/fuzz/requirements.txt
	touch $@

# playwright-core for tests/browser (it drives Debian's chromium; it downloads no browser).
tests/browser/node_modules/.installed: tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund
	touch $@

# oidc-provider for tests/op, the OpenID Provider the OIDC tests sign in at.
tests/op/node_modules/.installed: tests/op/package-lock.json
	cd tests/op && npm ci --no-audit --no-fund
	touch $@

# newman for tests/entra, which runs Microsoft's SCIM reference test collection.
tests/entra/node_modules/.installed: tests/entra/package-lock.json
	cd tests/entra && npm ci --no-audit --no-fund
	touch $@

$(VENV)/.installed $(SCIM_VENV)/.installed $(FUZZ_VENV)/.installed tests/browser/node_modules/.installed tests/op/node_modules/.installed tests/entra/node_modules/.installed: | system-test-deps

test-deps: system-test-deps $(VENV)/.installed $(SCIM_VENV)/.installed $(FUZZ_VENV)/.installed tests/browser/node_modules/.installed tests/op/node_modules/.installed tests/entra/node_modules/.installed ## Install what the tests need (pysaml2 in .venv, scim2-tester in .venv-scim, schemathesis in .venv-fuzz, playwright-core, oidc-provider, newman, chromium)

build: deps ## Build the release binary
	cargo build --release

data/session.key:
	@mkdir -p data && umask 077 && openssl rand -base64 48 > $@

sp-cert: ## Create certs/sp-key.pem and certs/sp-cert.pem for connections that sign AuthnRequests
	@test ! -e certs/sp-key.pem || { echo "certs/sp-key.pem exists; remove it first to replace it"; exit 1; }
	umask 077 && openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 1095 -subj "/CN=ssogate SP" \
		-keyout certs/sp-key.pem -out certs/sp-cert.pem 2>/dev/null
	@echo "set saml.sp_private_key_file = \"certs/sp-key.pem\" and saml.sp_certificate_file = \"certs/sp-cert.pem\""

migrate: build data/session.key ## Create/upgrade the SQLite database under ./data
	./target/release/ssogate migrate

run: build data/session.key ## Build, migrate and serve on http://127.0.0.1:8080 (DEMO=1 adds a demo tenant)
	./target/release/ssogate migrate
	SSOGATE_DEMO__ENABLED=$(if $(DEMO),true,false) ./target/release/ssogate serve

demo: ## Same as `make run DEMO=1`: sign in at http://127.0.0.1:8080/t/demo/login
	$(MAKE) run DEMO=1

test: test-deps ## Run the whole suite on SQLite (unit + integration)
	cargo test

test-sqlite: test

test-pg: test-deps ## Run the integration suite on PostgreSQL (fails if it is unreachable)
	@psql "$(PG_URL)/postgres" -qAtc 'select 1' >/dev/null || { echo "PostgreSQL at $(PG_URL) is unreachable"; exit 1; }
	TEST_DB=postgres TEST_PG_URL=$(PG_URL) cargo test --test api

lint: deps ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

openapi: ## Regenerate openapi.json (the admin API's OpenAPI document) from the code
	SSOGATE_BLESS_OPENAPI=1 cargo test --test api openapi::committed_openapi_json_is_what_the_code_generates

ci: lint test test-pg fuzz-saml ## What CI runs: lint, SQLite suite, PostgreSQL suite, SAML fuzz run

# validate_response alone, this build beside the verifier it replaced (OLD_VERIFIER: samael +
# libxmlsec1), built from a git worktree under target/bench-old (created on demand, with its own
# target dir) with the same benches/validate.rs. Only that old build needs OLD_PACKAGES
# (libclang for samael's bindgen, libxmlsec1 and libxml2); BENCH_OLD=0 measures this build alone.
OLD_VERIFIER := 6c60eec
OLD_PACKAGES := pkg-config libclang-dev libxml2-dev libxmlsec1-dev libxmlsec1-openssl
OLD_TREE := target/bench-old
VALIDATE_OUT := target/bench-validate
BENCH_OLD ?= 1

bench-validate: ## validate_response alone (4 KB, 16 KB; p50/p99, calls/s, one thread), beside the old libxmlsec1 verifier; median of 3 interleaved runs (BENCH_OLD=0: this build only)
	@rm -rf $(VALIDATE_OUT) && mkdir -p $(VALIDATE_OUT)
	cargo bench --bench validate --no-run
	@if [ "$(BENCH_OLD)" != 0 ]; then $(MAKE) --no-print-directory bench-old-build; fi
	@export BENCH_VALIDATE_FIXTURES=$(abspath $(VALIDATE_OUT))/fixtures BENCH_VALIDATE_RESULTS=$(abspath $(VALIDATE_OUT))/results.tsv BENCH_VALIDATE_RUNS=1; \
	new="new ($$(git describe --always --dirty))"; old="old ($(OLD_VERIFIER), libxmlsec1)"; \
	for run in 1 2 3; do \
		BENCH_VALIDATE_LABEL="$$new" cargo bench -q --bench validate || exit 1; \
		if [ "$(BENCH_OLD)" != 0 ]; then \
			(cd $(OLD_TREE) && BENCH_VALIDATE_LABEL="$$old" env -u CARGO_TARGET_DIR cargo bench -q --locked --bench validate) || exit 1; \
		fi; \
	done
	@BENCH_VALIDATE_REPORT=$(abspath $(VALIDATE_OUT))/results.tsv cargo bench -q --bench validate
	@uptime

bench-old-build:
	@missing=""; for p in $(OLD_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "the old verifier ($(OLD_VERIFIER)) needs:$$missing; installing"; \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; } || { \
			echo "cannot install$$missing, which only the old verifier's build needs: install them, or run BENCH_OLD=0 make bench-validate"; exit 1; }; \
	fi
	@git cat-file -e "$(OLD_VERIFIER)^{commit}" 2>/dev/null || { \
		echo "commit $(OLD_VERIFIER) is not in this clone (shallow? git fetch --unshallow), or run BENCH_OLD=0 make bench-validate"; exit 1; }
	@if [ ! -e $(OLD_TREE)/.git ]; then git worktree prune && git worktree add --detach $(OLD_TREE) $(OLD_VERIFIER); \
	elif [ "$$(git -C $(OLD_TREE) rev-parse HEAD)" != "$$(git rev-parse "$(OLD_VERIFIER)^{commit}")" ]; then \
		git -C $(OLD_TREE) checkout -q -f --detach $(OLD_VERIFIER); fi
	@cmp -s benches/validate.rs $(OLD_TREE)/benches/validate.rs || cp benches/validate.rs $(OLD_TREE)/benches/validate.rs
	@grep -q '^name = "validate"' $(OLD_TREE)/Cargo.toml || printf '\n[[bench]]\nname = "validate"\nharness = false\n' >> $(OLD_TREE)/Cargo.toml
	cd $(OLD_TREE) && env -u CARGO_TARGET_DIR cargo bench --locked --bench validate --no-run

# Over real HTTP from outside the process: the release binary as a child process, wrk (Debian's)
# in its own; benches/http.rs, benches/wrk/*.lua. BENCH_RUNS, BENCH_ACS_N, BENCH_VERIFY_SECS,
# BENCH_ACS_CONNECTIONS and BENCH_VERIFY_CONNECTIONS tune it.
bench-http: deps ## ACS sign-ins/s and /auth/verify requests/s over HTTP: release binary, wrk in its own process (p50/p99, median of 3 runs), RSS; SQLite and PostgreSQL
	$(call install_missing,wrk,)
	cargo build --release --bin ssogate
	cargo bench --bench http
	TEST_DB=postgres TEST_PG_URL=$(PG_URL) cargo bench --bench http

bench: test-deps ## validate_response old vs new (bench-validate); over HTTP with wrk (bench-http); in-process ACS logins/s, SCIM requests/s, IWMS outbox events/s and admin user queries/s, with p50/p99, on SQLite and PostgreSQL
	$(MAKE) --no-print-directory bench-validate
	$(MAKE) --no-print-directory bench-http
	cargo bench --bench acs
	TEST_DB=postgres TEST_PG_URL=$(PG_URL) cargo bench --bench acs
	cargo bench --bench scim
	TEST_DB=postgres TEST_PG_URL=$(PG_URL) cargo bench --bench scim
	cargo bench --bench outbox
	TEST_DB=postgres TEST_PG_URL=$(PG_URL) cargo bench --bench outbox
	cargo bench --bench admin
	TEST_DB=postgres TEST_PG_URL=$(PG_URL) cargo bench --bench admin

clean-test-dbs: ## Drop leftover ssogate_test_* PostgreSQL databases
	@for d in $$(psql "$(PG_URL)/postgres" -Atc "select datname from pg_database where datname like 'ssogate_test_%'"); do \
		psql "$(PG_URL)/postgres" -qc "DROP DATABASE \"$$d\" WITH (FORCE)"; done

# The SAML differential corpus (tests/saml_corpus, checked by tests/api/saml_differential.rs):
# regenerated on demand only; `make ci` tests the committed files. Test-only signers: pysaml2,
# python3-saml, python-xmlsec and signxml in their own venv (lxml and python-xmlsec built from
# source against Debian's libxml2/libxmlsec1, so both use one libxml2), xml-crypto and samlify
# from npm (pinned by package-lock.json).
SAML_CORPUS := tests/saml_corpus
SAML_CORPUS_PACKAGES := xmlsec1 libxmlsec1-dev libxml2-dev libxslt1-dev pkg-config python3-venv

.PHONY: saml-corpus

$(SAML_CORPUS)/.venv/.installed: $(SAML_CORPUS)/requirements.txt
	$(call install_missing,$(SAML_CORPUS_PACKAGES),node)
	python3 -m venv $(SAML_CORPUS)/.venv
	$(SAML_CORPUS)/.venv/bin/pip install -q "cython<3.1" setuptools wheel pkgconfig setuptools_scm
	$(SAML_CORPUS)/.venv/bin/pip install -q --no-binary lxml --no-build-isolation $$(grep '^lxml==' $<)
	$(SAML_CORPUS)/.venv/bin/pip install -q --no-binary xmlsec --no-build-isolation $$(grep '^xmlsec==' $<)
	$(SAML_CORPUS)/.venv/bin/pip install -q -r $<
	touch $@

$(SAML_CORPUS)/node_modules/.installed: $(SAML_CORPUS)/package-lock.json | $(SAML_CORPUS)/.venv/.installed
	cd $(SAML_CORPUS) && npm ci --no-audit --no-fund
	touch $@

saml-corpus: $(SAML_CORPUS)/.venv/.installed $(SAML_CORPUS)/node_modules/.installed ## Regenerate the SAML differential corpus (tests/saml_corpus; not part of ci)
	cd $(SAML_CORPUS) && .venv/bin/python -W ignore generate.py

# Structure-aware fuzzing of the SAML parse + signature verification (tests/fuzz_saml.rs, its
# own test target; `cargo test` skips it): seeded with responses it signs (RSA and EC keys) and
# tests/saml_corpus when generated, FUZZ_SAML_SECONDS long. Fails on a panic, any call over
# FUZZ_SAML_MAX_MS (50 ms of thread CPU time, best of 3; FUZZ_SAML_CLOCK=wall for wall time) on an
# input of up to 256 KiB, peak RSS over
# FUZZ_SAML_MAX_RSS_MIB (512), a signature accepted over content no seed signed, or a c14n that
# is not faithful. Built with the `fuzz` profile (release optimizations, so the time bound is
# meaningful; overflow checks and debug assertions kept in ssogate's own code).
FUZZ_SAML_SECONDS ?= 60
.PHONY: fuzz-saml
fuzz-saml: deps ## Fuzz the SAML parser and verifier (FUZZ_SAML_SECONDS=60; FUZZ_SAML_SEED repeats a run; FUZZ_SAML_REPLAY=file re-runs one)
	FUZZ_SAML_SECONDS=$(FUZZ_SAML_SECONDS) cargo test --profile fuzz --test fuzz_saml || { \
		echo "fuzz-saml failed: failing inputs are in target/fuzz-failures/ (each with a .txt saying what was done to it);"; \
		echo "if the process died, the input it was running is target/fuzz-saml/current.xml"; exit 1; }
