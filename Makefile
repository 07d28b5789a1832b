# Hilum: two commands do all set-up on a fresh Debian/Ubuntu machine with Python 3.11.
#   make run    create/reuse .venv, install the full workstation (Hilum[train]), open the viewer
#               with the shipped default model
#   make test   create/reuse .venv, install Hilum[train,test], system Qt libraries and the PACS test
#               tools (Orthanc, DCMTK), then lint + type + tests
# Everything else here is a helper of those two.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test test-slow lint bench installer clean-venv

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Hilum needs $(PYTHON) (set PYTHON=... to another 3.11 interpreter)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps make re-runs instant: the project is reinstalled only when pyproject.toml changes.
$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[train]"
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[train,test]"
	@touch $@ $(VENV)/.installed-app

run: $(VENV)/.installed-app
	@bash scripts/ensure_qt_system_libs.sh gui
	$(BIN)/hilum $(ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(VENV)/.installed-test
	@bash scripts/ensure_qt_system_libs.sh headless
	@bash scripts/ensure_pacs_tools.sh
	$(MAKE) --no-print-directory lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The slow checks (installer build and its self-test, longer training) — documented in README.
test-slow: $(VENV)/.installed-test
	@bash scripts/ensure_qt_system_libs.sh headless
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
