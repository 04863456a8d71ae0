# The two commands: `make lab` (open the course) and `make test` (run every test).
# Both build ./.venv first when it is missing or out of date.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# pytest's own exit code 5 means "no tests were collected": never green.
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: venv lab test lint bench bench-grade clean

venv: $(VENV)/.course

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is needed, found " + sys.version.split()[0]' \
	  || { echo "Set PYTHON=/path/to/python3.10+ and run make again."; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 \
	  || { echo "$(PYTHON) has no venv module: on Debian/Ubuntu run 'sudo apt-get install python3-venv'."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# JupyterLab's defaults asked for: no news dialog, no update checks (no calls to the internet).
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

$(VENV)/.course: $(BIN)/python pyproject.toml jupyterlab-overrides.json
	$(BIN)/python -m pip install --quiet -e ".[course]"
	mkdir -p $(LAB_SETTINGS) && cp jupyterlab-overrides.json $(LAB_SETTINGS)/overrides.json
	@touch $@

$(VENV)/.test: $(VENV)/.course pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	@touch $@

$(VENV)/.bench: $(VENV)/.course pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[course,bench]"
	@touch $@

# JupyterLab refuses to run as root unless told; containers often run as root.
lab: venv
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_index.ipynb

lint: $(VENV)/.test
	$(BIN)/ruff check .

# Everything: lint, rwlib unit, property and reference tests, doctests, nbval over every
# notebook (student copies and solutions), the grading-mode, release, nbgrader and Binder
# checks, and the browser test (every notebook run in JupyterLab in Chromium). Two workers,
# one test file per worker.
test: lint
	$(PYTEST) -n 2 --dist loadfile --doctest-modules \
	  --nbval --nbval-cell-timeout=60 --nbval-sanitize-with tests/sanitize.cfg \
	  rwlib tests notebooks solutions; \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests, which is a failure."; exit 1; fi; \
	exit $$status

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/bench_reward_weighted.py
	$(BIN)/python benchmarks/bench_exact_z.py

# rwlib grade (sandboxed, 2 workers) against nbgrader autograde on 100 generated submissions.
bench-grade: $(VENV)/.bench
	$(BIN)/python benchmarks/bench_grade.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
