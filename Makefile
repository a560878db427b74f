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
# `make check LAB=04` checks labs/04-*.ipynb; `make grade LAB=04 SUBMISSIONS=dir/` grades a folder.
LAB ?=
SUBMISSIONS ?= submissions
WORKERS ?= 2
GRADES ?=

.PHONY: lab test browser lint unit notebooks lessons labs labs-check check grade bench run reset doctor cluster-up cluster-down cluster-status clean help

help:
	@echo "make lab          open JupyterLab on notebooks/ (creates .venv on first run)"
	@echo "make test         ruff + pytest + nbval over notebooks/ and solutions/"
	@echo "make browser      every lesson in JupyterLab in headless Chromium (screenshots in build/browser/)"
	@echo "make lessons      run every lesson headless (papermill), time it; JOBSLAB_BACKEND=selfhosted for real Dapr"
	@echo "make labs         regenerate labs/ from solutions/"
	@echo "make check LAB=NN check your answers in labs/NN-*.ipynb (every exercise right = pass)"
	@echo "make grade LAB=NN SUBMISSIONS=dir/  grade submissions: gradebook in grades/lab-NN/"
	@echo "make bench        run benchmarks/ and write benchmarks/results/"
	@echo "make run          start the local Dapr stand-in (jobslab up)"
	@echo "make reset        stop everything and forget every job: a clean slate between two demos"
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

# JupyterLab reads default settings from the environment's share/jupyter/lab/settings: no
# "get notified about Jupyter news?" pop-up over the first screen of a workshop.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

$(LAB_OVERRIDES): jupyter/overrides.json | $(BIN)/python
	@mkdir -p $(@D)
	@cp $< $@

lab: $(STAMP_LAB) $(LAB_OVERRIDES)
	@$(BIN)/python -m jobslab lab-banner notebooks/00-index.ipynb
	@$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/00-index.ipynb

lint: $(STAMP_DEV)
	@$(BIN)/ruff check src tests benchmarks scripts
	@$(BIN)/shellcheck scripts/cluster-up scripts/cluster-down .ci/run

unit: $(STAMP_DEV)
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

notebooks: $(STAMP_DEV)
	@$(BIN)/python scripts/test-notebooks

# pytest and the notebooks side by side (scripts/run-tests); `make unit` / `make notebooks` alone.
test: lint labs-check $(STAMP_DEV)
	@$(BIN)/python scripts/run-tests $(PYTEST_ARGS)

# The browser tier beyond 00-index (which `make test` runs): Run All Cells of every lesson in
# JupyterLab, in headless Chromium (apt installs chromium and chromium-driver when missing and
# run as root; elsewhere the tier is skipped in one line).
browser: $(STAMP_DEV)
	@$(BIN)/python -m pytest -m browser tests/browser $(PYTEST_ARGS)

lessons: $(STAMP_DEV)
	@$(BIN)/python scripts/make-lessons $(LESSONS)

labs: $(STAMP_DEV)
	@$(BIN)/python scripts/make-labs

labs-check: $(STAMP_DEV)
	@$(BIN)/python scripts/make-labs --check

check: $(STAMP_LAB)
	@[ -n "$(LAB)" ] || { echo "usage: make check LAB=NN  (checks labs/NN-*.ipynb)"; exit 2; }
	@ls labs/$(LAB)-*.ipynb >/dev/null 2>&1 || { echo "no lab labs/$(LAB)-*.ipynb"; exit 2; }
	@$(BIN)/python scripts/test-notebooks labs/$(LAB)-*.ipynb

grade: $(STAMP_LAB)
	@[ -n "$(LAB)" ] || { echo "usage: make grade LAB=NN SUBMISSIONS=dir/ [WORKERS=2] [GRADES=out/]"; exit 2; }
	@$(BIN)/jobslab grade $(SUBMISSIONS) --lab $(LAB) --workers $(WORKERS) $(if $(GRADES),--out $(GRADES))

bench: $(STAMP_DEV)
	@$(BIN)/python -m benchmarks

run: $(STAMP_DEV)
	@$(BIN)/jobslab up

reset: $(STAMP_LAB)
	@$(BIN)/jobslab reset

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
