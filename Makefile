# Two commands matter: `make demo` (set up, then start the dashboard on a demo workspace)
# and `make test` (set up, then run every test, browser tests included).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: setup demo run test test-fast test-browser browser lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,redis]"
	touch $@

demo: setup
	$(PY) manage.py rundashboard --demo $(ARGS)

run: setup
	$(PY) manage.py rundashboard $(ARGS)

# Debian's chromium (Playwright cannot download its own browser here) and redis-server (the
# Redis channel layer test; it skips without it).
browser:
	@command -v chromium >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium and redis-server for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium redis-server >/dev/null; }

# Browser tests run in their own pytest process: sync Playwright and pytest-asyncio
# cannot share one event loop.
test: setup browser
	$(PY) -m pytest -m "not browser" -q
	$(PY) -m pytest -m browser -q -p no:asyncio -W ignore::pytest.PytestConfigWarning

test-fast: setup
	$(PY) -m pytest -m "not browser" -q

test-browser: setup browser
	$(PY) -m pytest -m browser -q -p no:asyncio -W ignore::pytest.PytestConfigWarning

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: setup browser
	$(PY) bench/board_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .static
