# Two commands matter: `make run` (the whole local stack, in the foreground) and `make test`.
# Everything else here is what they need: the venv, pinned dependencies, system test tools.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)

.PHONY: install run test test-tools bench clean-state

install: $(STAMP)

# Exact versions from requirements.lock, then our own packages (editable, no re-resolve).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

run: install
	$(BIN)/qd run

# System tools some tests need (on-chain build check, TimescaleDB harness); best effort.
test-tools:
	@bash deploy/local/install_test_tools.sh

test: install test-tools
	$(BIN)/python -m pytest

BENCHMARKS := matching risk engine projections read_api replay settlement scale

# Every benchmark in turn; each prints its figure beside the raw limit of the same run.
bench: install
	@for b in $(BENCHMARKS); do echo "== bench.$$b"; $(BIN)/python -m bench.$$b || exit 1; done

clean-state:
	rm -rf .state
