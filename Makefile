# The two commands: `make lab` (open the course) and `make test` (run every test).
# Both build ./.venv first when it is missing or out of date, with the versions of the
# semester's lock (constraints.txt, exported from uv.lock; `make lock` refreshes both).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# pytest's own exit code 5 means "no tests were collected": never green.
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
# Every install takes its versions from the lock.
PIP    := $(BIN)/python -m pip install --quiet -c constraints.txt
# The uv that `make lock` runs (from PyPI, into ./.venv): one version, one lock format.
UV_VERSION := 0.13.9

.PHONY: venv lab test lint lock bench bench-grade clean

venv: $(VENV)/.course

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert (3, 10) <= sys.version_info < (3, 14), "the lock covers Python 3.10 to 3.13, found " + sys.version.split()[0]' \
	  || { echo "Set PYTHON=/path/to/python3.10 ... python3.13 and run make again."; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 \
	  || { echo "$(PYTHON) has no venv module: on Debian/Ubuntu run 'sudo apt-get install python3-venv'."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# JupyterLab's defaults asked for: no news dialog, no update checks (no calls to the internet).
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

$(VENV)/.course: $(BIN)/python pyproject.toml constraints.txt jupyterlab-overrides.json
	$(PIP) -e ".[course]"
	mkdir -p $(LAB_SETTINGS) && cp jupyterlab-overrides.json $(LAB_SETTINGS)/overrides.json
	@touch $@

# The test tools include the instructor's (rwlib[instructor]: release and grade).
$(VENV)/.test: $(VENV)/.course pyproject.toml constraints.txt
	$(PIP) -e ".[test]"
	@touch $@

$(VENV)/.bench: $(VENV)/.course pyproject.toml constraints.txt
	$(PIP) -e ".[bench]"
	@touch $@

# JupyterLab refuses to run as root unless told; containers often run as root.
# The URL it prints (and opens) is the course index's, not the file browser's.
# The course's notebooks are trusted first, so that their saved sliders and figures show
# before anything is run (JupyterLab draws saved widgets only in trusted notebooks).
lab: venv
	$(BIN)/jupyter trust notebooks/*.ipynb >/dev/null
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) \
	  --LabApp.default_url=/lab/tree/notebooks/00_index.ipynb

lint: $(VENV)/.test
	$(BIN)/ruff check .

# Everything: lint, rwlib unit, property and reference tests, doctests, nbval over every
# notebook (student copies and solutions), the grading-mode, release, nbgrader and Binder
# checks, and the browser tests (every notebook run in JupyterLab in Chromium, the saved
# widgets, the review page: all collected in tests/test_browser.py, so they share one worker).
# Two workers, one test file per worker. The summary at the end names each failure, error
# and skipped test with its reason (-rfEs).
test: lint
	$(PYTEST) -n 2 --dist loadfile -rfEs --doctest-modules \
	  --nbval --nbval-cell-timeout=60 --nbval-sanitize-with tests/sanitize.cfg \
	  rwlib tests notebooks solutions; \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests, which is a failure."; exit 1; fi; \
	exit $$status

# A new lock for a new semester: the newest versions that pyproject.toml allows, for
# Python 3.10 to 3.13 on every OS ([tool.uv] in pyproject.toml), into uv.lock, and the
# same versions for pip into constraints.txt. Commit both; `make venv` then reinstalls.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/python -m uv lock --upgrade
	$(BIN)/python -m uv export --frozen --all-extras --no-hashes --no-emit-project --quiet \
	  -o constraints.txt

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/bench_reward_weighted.py
	$(BIN)/python benchmarks/bench_exact_z.py
	$(BIN)/python benchmarks/bench_notebooks.py

# rwlib grade (sandboxed, 2 workers) against nbgrader autograde on 100 generated submissions.
bench-grade: $(VENV)/.bench
	$(BIN)/python benchmarks/bench_grade.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
