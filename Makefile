# The project's two promises: `make demo` runs the main job on the local control plane,
# `make test` runs every check (lint, types, unit, end-to-end). Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install system-deps test lint unit e2e demo bench clean

# The control plane's certificates are made with the openssl command; Debian-based machines may lack it.
system-deps:
	@command -v openssl >/dev/null || { apt-get update && apt-get install -y --no-install-recommends openssl; }

$(BIN)/statuswatch: pyproject.toml
	$(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev]'
	touch $@

install: $(BIN)/statuswatch

# lint-imports holds the layers and purity rules written in .importlinter.
lint: install
	$(BIN)/ruff check operator tests benchmarks
	$(BIN)/ruff format --check operator tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

unit: install
	$(BIN)/pytest tests/unit

e2e: install
	$(BIN)/statuswatch cluster build
	$(BIN)/pytest tests/e2e

test: lint unit e2e

demo: install
	$(BIN)/statuswatch cluster build
	$(BIN)/statuswatch demo

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV)
