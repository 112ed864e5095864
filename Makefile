# NNUS Tutor — two commands do all the set-up:
#   make run    create .venv, install, start the app on the built-in phantom (generated on first start)
#   make test   install what the tests need (incl. Debian's Chromium when missing) and run them
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint bench browser postgres clean-data

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.headless true

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium missing: browser tests will be skipped (sudo apt-get install chromium)"; fi; }

# The store tests start their own throwaway PostgreSQL server (tests/pg.py) from Debian's binaries.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL missing: the PostgreSQL store tests will fail (sudo apt-get install postgresql," \
	    "or NNUS_TEST_POSTGRES=skip for a local run)"; fi; }

test: $(VENV)/.dev-installed browser postgres
	YOLO_OFFLINE=1 $(PY) -m pytest

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

clean-data:
	rm -rf data/phantom data/cache data/imports runs
