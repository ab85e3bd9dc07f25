# Bootstraps everything from nothing: `make demo` runs the demo, `make test` runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench clean system-deps phoenix

$(BIN)/reviewdesk: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# Arize Phoenix, the open-source tracing server the Phoenix tests run for real (`phoenix serve`, SQLite,
# offline). Its own venv: its pins must not move ours (pydantic, httpx, protobuf, OpenTelemetry).
PHOENIX_VERSION := 20.26.1
PHOENIX_VENV := .venv-phoenix

$(PHOENIX_VENV)/bin/phoenix:
	$(PY) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/pip install --quiet --upgrade pip
	$(PHOENIX_VENV)/bin/pip install --quiet "arize-phoenix==$(PHOENIX_VERSION)"
	touch $@

phoenix: $(PHOENIX_VENV)/bin/phoenix

demo: $(BIN)/reviewdesk
	$(BIN)/reviewdesk demo

# Debian packages the tests drive for real: a PostgreSQL server (the review store must work on it),
# and Chromium for the browser tests (`playwright install` cannot download browsers here).
system-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends postgresql >/dev/null)
	@[ -x /usr/bin/chromium ] || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null)

# Two workers for all but the browser tests (each worker starts its own PostgreSQL, Prefect and Phoenix),
# then the browser tests on their own: they time what a reviewer waits for, on a machine not shared.
test: $(BIN)/reviewdesk system-deps phoenix
	$(BIN)/ruff check reviewdesk schemas flows review_app tests bench
	$(BIN)/python -m pytest -n 2 -m "not e2e"
	$(BIN)/python -m pytest -m e2e

bench: $(BIN)/reviewdesk
	for b in bench/*_bench.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(PHOENIX_VENV) .pytest_cache .ruff_cache
