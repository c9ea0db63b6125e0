# ssogate — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Build and run: gcc and libc6-dev link the binary and build the bundled C (SQLite, aws-lc);
# pkg-config finds libssl-dev for the openssl crate and libpq-dev for PostgreSQL; the openssl CLI
# makes data/session.key and `make sp-cert`; ca-certificates for https metadata and OIDC fetches.
SYSTEM_PACKAGES := gcc libc6-dev pkg-config libssl-dev libpq-dev openssl ca-certificates
# Tests only: pysaml2 shells out to xmlsec1; Debian's chromium for the browser walk.
TEST_PACKAGES := xmlsec1 python3-venv postgresql-client chromium
VENV := .venv
SCIM_VENV := .venv-scim
FUZZ_VENV := .venv-fuzz
PG_URL ?= postgres://postgres@127.0.0.1:5432
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help deps system-test-deps test-deps sp-cert build run demo migrate test test-sqlite test-pg lint fmt openapi ci bench clean-test-dbs

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

$(VENV)/.installed $(SCIM_VENV)/.installed $(FUZZ_VENV)/.installed tests/browser/node_modules/.installed tests/op/node_modules/.installed: | system-test-deps

test-deps: system-test-deps $(VENV)/.installed $(SCIM_VENV)/.installed $(FUZZ_VENV)/.installed tests/browser/node_modules/.installed tests/op/node_modules/.installed ## Install what the tests need (pysaml2 in .venv, scim2-tester in .venv-scim, schemathesis in .venv-fuzz, playwright-core, oidc-provider, chromium)

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

ci: lint test test-pg ## What CI runs: lint, SQLite suite, PostgreSQL suite

bench: test-deps ## ACS logins/s, SCIM requests/s, IWMS outbox events/s and admin user queries/s, with p50/p99, on SQLite and PostgreSQL
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
