# Dapr Jobs Lab. The two commands that matter: `make lab` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# A stamp per extra, newer than pyproject.toml, makes a second `make` a no-op.
STAMP_LAB := $(VENV)/.installed-lab
STAMP_DEV := $(VENV)/.installed-dev
PYTEST_ARGS ?=
# `make lessons LESSONS="02 03"` runs only those lessons.
LESSONS ?=

.PHONY: lab test lint unit notebooks lessons labs bench run doctor cluster-up cluster-down cluster-status clean help

help:
	@echo "make lab          open JupyterLab on notebooks/ (creates .venv on first run)"
	@echo "make test         ruff + pytest + nbval over notebooks/ and solutions/"
	@echo "make lessons      run every lesson headless (papermill), time it; JOBSLAB_BACKEND=selfhosted for real Dapr"
	@echo "make labs         regenerate labs/ from solutions/"
	@echo "make bench        run benchmarks/ and write benchmarks/results/"
	@echo "make run          start the local Dapr stand-in (jobslab up)"
	@echo "make doctor       what is installed, what is listening, what to fix"
	@echo "make cluster-up   the kind + Dapr 1.18.3 backend (needs Docker, kind, kubectl, helm)"
	@echo "make cluster-down delete the kind cluster (the only clean reset)"
	@echo "make clean        stop everything jobslab started and remove .venv"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0])'
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_LAB): pyproject.toml | $(BIN)/python
	@echo "Installing jobslab and JupyterLab into $(VENV) (first run only)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[lab]"
	@touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	@echo "Installing jobslab and the test tools into $(VENV) (first run only)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

lab: $(STAMP_LAB)
	@$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/00-index.ipynb

lint: $(STAMP_DEV)
	@$(BIN)/ruff check src tests benchmarks scripts
	@$(BIN)/shellcheck scripts/cluster-up scripts/cluster-down .ci/run

unit: $(STAMP_DEV)
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

notebooks: $(STAMP_DEV)
	@$(BIN)/python scripts/test-notebooks

test: lint unit notebooks

lessons: $(STAMP_DEV)
	@$(BIN)/python scripts/make-lessons $(LESSONS)

labs: $(STAMP_DEV)
	@$(BIN)/python scripts/make-labs

bench: $(STAMP_DEV)
	@$(BIN)/python -m benchmarks

run: $(STAMP_DEV)
	@$(BIN)/jobslab up

doctor: $(STAMP_DEV)
	@$(BIN)/jobslab doctor

cluster-up: $(STAMP_DEV)
	@$(BIN)/jobslab cluster up

cluster-down: $(STAMP_DEV)
	@$(BIN)/jobslab cluster down

cluster-status: $(STAMP_DEV)
	@$(BIN)/jobslab cluster status

clean:
	-@[ -x $(BIN)/jobslab ] && $(BIN)/jobslab down || true
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
