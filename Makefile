# Two entry points for a fresh clone: `make demo` and `make test`.
# Each creates .venv when it is missing and (re)installs when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint format install install-dev bench clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/hotline demo
	@echo
	@echo "Watch it in a browser: $(BIN)/hotline demo --console   (the web console, demo logins printed)"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Everything but the tests marked slow (real processes, faults, whole simulated mornings).
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check hotline tests benchmarks
	$(BIN)/ruff format --check hotline tests benchmarks

format: $(VENV)/.installed-dev
	$(BIN)/ruff format hotline tests benchmarks

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/webhooks.py
	$(BIN)/python benchmarks/routing.py

# A PNG of each console page under docs/screenshots/ (needs Debian's chromium).
screenshots: $(VENV)/.installed-dev
	$(BIN)/python tests/screenshots.py

clean:
	rm -rf $(VENV) .hotline .pytest_cache
