# The workbook's two set-up-and-run commands (plus the benchmark table).
#   make lab    create .venv if needed, install the pinned versions, start JupyterLab
#   make test   the same install, then every test: unit tests, notebooks (nbval), browser tests
#   make bench  the performance table (benchmarks/), also written to bench-results.json

PYTHON ?= python3
# A failed pip inside a pipe must fail the recipe, so that no stamp is written
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888
# extra `jupyter lab` options, e.g. LAB_ARGS="--no-browser" (the tests use it)
LAB_ARGS ?=
# OpenMP threads (torch) that wait for work sleep instead of spinning: on a laptop
# that is also running a browser (or a machine running other jobs) a spinning
# thread steals the core the real work needs; measured 5-30x slower for small
# models without it. It changes no result and no thread count.
export OMP_WAIT_POLICY ?= PASSIVE
# JupyterLab refuses to run as root (a container, a CI machine) unless told it may
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test bench install clean

# JupyterLab settings of the workbook (jupyterlab-settings/): saved notebooks keep a
# snapshot of every widget, so they reopen without "Error displaying widget".
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.d/coursekit.json

install: $(STAMP) $(LAB_SETTINGS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the package metadata or the pins change, so a second
# `make lab` starts within seconds.
$(STAMP): $(VENV)/bin/python pyproject.toml constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]" -c constraints.txt 2>&1 \
		| { grep -v "is ignored: it is neither a file nor a directory" || true; }
	$(PY) -c "import coursekit, torch, ipywidgets, ipympl, pytest, nbval, hypothesis, playwright"
	touch $(STAMP)

$(LAB_SETTINGS): jupyterlab-settings/overrides.json $(STAMP)
	mkdir -p $(dir $@)
	cp $< $@

lab: $(STAMP) $(LAB_SETTINGS)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --port=$(PORT) $(ROOT_ARGS) $(LAB_ARGS)

# Each notebook runs at most twice: the source version under nbval and under the grader
# (tests/test_release_notebooks.py), the student version once: in its unit's browser test,
# or for a unit without one in tests/test_release_notebooks.py.
test: $(STAMP) $(LAB_SETTINGS)
	$(PY) -m pytest tests --nbval-lax notebooks $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) bench-results.json test-artifacts .pytest_cache
