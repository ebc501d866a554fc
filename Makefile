# flux-sidecar developer commands. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
TOKEN_FILE := .dev-token
# What `make run` serves under /api/v1/files (and where its jobs run): never the checkout itself.
FILES_DIR := .dev-files
HOST ?= 127.0.0.1
PORT ?= 5000

.DEFAULT_GOAL := help
.PHONY: help install run test check format

help: ## list the commands
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) ## create .venv and install the package with its test and dev tools

$(TOKEN_FILE):
	@umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > $@

run: install $(TOKEN_FILE) ## serve on 127.0.0.1:5000 with the local backend and a development token
	@echo "Development token (in $(TOKEN_FILE)): $$(cat $(TOKEN_FILE))"
	@echo "Try:"
	@echo "  curl -s -H \"Authorization: Bearer $$(cat $(TOKEN_FILE))\" -H 'Content-Type: application/json' -d '{\"command\": \"echo hello\"}' http://$(HOST):$(PORT)/api/v1/jobs"
	@echo "  curl -s -H \"Authorization: Bearer $$(cat $(TOKEN_FILE))\" -T README.md http://$(HOST):$(PORT)/api/v1/files/README.md"
	@echo "API docs: http://$(HOST):$(PORT)/docs"
	@mkdir -p $(FILES_DIR)
	FLUX_SIDECAR_TOKEN_FILE=$(TOKEN_FILE) FLUX_SIDECAR_FILES_ROOT=$(FILES_DIR) $(BIN)/flux-sidecar serve --backend local --host $(HOST) --port $(PORT)

test: install browser ## run the whole test suite (and the flux tests when flux is on PATH)
	$(BIN)/python -m pytest
	@if command -v $(FLUX) >/dev/null; then $(MAKE) --no-print-directory test-flux; fi

check: install ## lint, format check and type check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## apply the formatter and safe lint fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: browser
CHROMIUM ?= /usr/bin/chromium

# The browser tests drive Debian's chromium (never a downloaded browser build).
# Installed only when missing and only as root (CI); otherwise those tests skip.
browser: ## install Debian's chromium for the browser tests when missing (as root)
	@if [ -x "$(CHROMIUM)" ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		{ apt-get update -q && apt-get install -y -q chromium; } >/dev/null \
			|| echo "chromium could not be installed: the browser tests will skip"; \
	else \
		echo "chromium is missing and this is not root: the browser tests will skip"; \
	fi

.PHONY: image manifests e2e
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= flux-sidecar:$(VERSION)
# Empty: the Dockerfile's pinned default. Else fluxrm/flux-core:<distro>-v<release>,
# the release nearest the broker's `flux version` (README, "Deploy on Kubernetes").
FLUX_IMAGE ?=

image: ## build the container image IMAGE (FLUX_IMAGE=... picks the Flux release)
	@docker info >/dev/null 2>&1 || { echo "make image: no Docker engine here (docker info failed); build where Docker runs" >&2; exit 1; }
	docker build $(if $(FLUX_IMAGE),--build-arg FLUX_IMAGE=$(FLUX_IMAGE)) --build-arg VERSION=$(VERSION) -t $(IMAGE) .

manifests: install ## re-render manifests/ from the chart's defaults (release flux-sidecar)
	$(BIN)/python -m tests.deploy.test_manifests

# Creates and deletes a kind cluster; skips with one line where Docker or kind is missing.
e2e: install ## kind end-to-end: operator, image, chart, job, metrics, shutdown (needs Docker and kind)
	$(BIN)/python -m pip install --quiet -e '.[e2e]'
	RUN_E2E=1 $(BIN)/python -m pytest -m e2e -rs tests/e2e

.PHONY: test-flux bench
FLUX ?= flux
FLUX_STAMP := $(VENV)/.flux-extra

# Flux's Python bindings come with Flux (`flux env` puts them on PYTHONPATH);
# the venv only needs what they import: the `flux` extra.
$(FLUX_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[flux]'
	touch $@

test-flux: install $(FLUX_STAMP) ## run the flux tests inside `flux start --test-size=2` (needs flux on PATH)
	@command -v $(FLUX) >/dev/null || { echo "make test-flux: flux is not on PATH (see DEVELOPERS.md)" >&2; exit 1; }
	$(FLUX) start --test-size=2 $(FLUX) env $(BIN)/python -m pytest -m flux

# Upstream flux-restful-api, the server the sidecar is measured against, in a
# virtual environment of its own (never the project's). Its Flux bindings come
# from `flux env`, as the sidecar's do; they import yaml and ply.
UPSTREAM_VENV := .bench/flux-restful-1.1.0
UPSTREAM_STAMP := $(UPSTREAM_VENV)/.installed

$(UPSTREAM_STAMP):
	$(PYTHON) -m venv $(UPSTREAM_VENV)
	$(UPSTREAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(UPSTREAM_VENV)/bin/python -m pip install --quiet flux-restful==1.1.0 pyyaml ply
	touch $@

bench: install ## the sidecar beside upstream flux-restful-api and in-process Flux (DESIGN section 10)
	@if command -v $(FLUX) >/dev/null; then \
		$(MAKE) --no-print-directory $(FLUX_STAMP) $(UPSTREAM_STAMP) && \
		$(FLUX) start --test-size=2 $(FLUX) env $(BIN)/python -m bench --upstream $(UPSTREAM_VENV); \
	else \
		echo "flux is not on PATH: measuring the local backend alone"; \
		$(BIN)/python -m bench; \
	fi
