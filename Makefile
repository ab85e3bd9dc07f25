# Bootstraps everything from nothing: `make demo` runs the demo, `make test` runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/reviewdesk: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: $(BIN)/reviewdesk
	$(BIN)/reviewdesk demo

test: $(BIN)/reviewdesk
	$(BIN)/ruff check reviewdesk schemas flows review_app tests bench
	$(BIN)/python -m pytest

bench: $(BIN)/reviewdesk
	for b in bench/*_bench.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
