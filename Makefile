# The project's two promises: `make demo` runs the main job on the local control plane,
# `make test` runs every check (lint, types, unit, end-to-end). Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install clients system-deps test lint unit e2e monitoring bench-smoke demo bench lock clean

# The control plane's certificates are made with the openssl command; the real node (the e2e tests'
# kubelet and containerd) needs runc, the CNI plugins (/usr/lib/cni), a static busybox for its images, and
# ip/mount. Debian-based machines may lack any of them: only the missing ones are installed.
SYSTEM_PACKAGES := openssl:/usr/bin/openssl runc:/usr/sbin/runc \
	containernetworking-plugins:/usr/lib/cni/bridge busybox-static:/bin/busybox iproute2:/usr/sbin/ip \
	mount:/usr/bin/mount
system-deps:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do \
		test -e "$${entry#*:}" || missing="$$missing $${entry%%:*}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; apt-get update && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends $$missing; fi

$(BIN)/statuswatch: pyproject.toml
	$(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev]'
	touch $@

install: $(BIN)/statuswatch

# The official kubernetes client and pykube-ng (the `clients` extra) in a venv of their own: the e2e tests of
# the docs/integrations.md recipes run them from there, and the dev venv, which the benchmarks run the
# operator from, stays free of them (kopf imports both whenever they are installed).
CLIENTS_VENV ?= .venv-clients
$(CLIENTS_VENV)/bin/python: pyproject.toml
	$(PYTHON) -m venv $(CLIENTS_VENV)
	$(CLIENTS_VENV)/bin/pip install -e '.[clients]'
	touch $@

clients: $(CLIENTS_VENV)/bin/python

# lint-imports holds the layers and purity rules written in .importlinter.
lint: install
	$(BIN)/ruff check operator tests benchmarks
	$(BIN)/ruff format --check operator tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

unit: install
	$(BIN)/pytest tests/unit

e2e: install system-deps clients
	$(BIN)/statuswatch cluster build --real-node
	STATUSWATCH_CLIENTS_PYTHON=$(abspath $(CLIENTS_VENV))/bin/python $(BIN)/pytest tests/e2e

# The alerts and the dashboard: promtool and helm are built from the Go module proxy (pinned, cached).
monitoring: install
	$(BIN)/statuswatch cluster build
	$(BIN)/pytest tests/monitoring

# The scale benchmark at its small size, as a smoke run (no timing assertions: it fails only when a peer or
# a figure is missing). Its own control plane, stopped afterwards; the Go peer is built first (cached).
BENCH_SMOKE_DIR ?= /tmp/statuswatch-bench-smoke
bench-smoke: install
	$(BIN)/statuswatch cluster build
	$(BIN)/python -m benchmarks.peers.kstatus_go
	$(BIN)/python -m benchmarks.scale --size small --soak 0.5 --require-go --dir $(BENCH_SMOKE_DIR) \
		--out build/bench-smoke; status=$$?; $(BIN)/statuswatch cluster down --dir $(BENCH_SMOKE_DIR); exit $$status

test: lint unit monitoring e2e bench-smoke

demo: install
	$(BIN)/statuswatch cluster build
	$(BIN)/statuswatch demo

bench: install
	$(BIN)/python -m benchmarks

# Refresh the hashed lock files the image installs from (run after changing runtime dependencies; a unit test
# checks the lock still satisfies pyproject.toml).
lock:
	$(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install pip-tools
	.lock-venv/bin/pip-compile --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements/operator.lock pyproject.toml
	cd requirements && ../.lock-venv/bin/pip-compile --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file build.lock build.in

clean:
	rm -rf $(VENV) $(CLIENTS_VENV)
