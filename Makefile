# NNUS Tutor — two commands do all the set-up:
#   make run    create .venv, install, start the app on the built-in phantom (generated on first start)
#   make test   install what the tests need (incl. Debian's Chromium when missing) and run them
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint bench browser postgres nginx clean-data

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

# The browser tests need Chromium: installed here as root; otherwise a missing one stops `make test`
# (NNUS_SKIP_BROWSER=1 skips the browser tests instead, on a local machine only, never where $$CI is set).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  elif [ "$$NNUS_SKIP_BROWSER" = 1 ] && [ -z "$$CI" ]; then \
	    echo "Chromium missing: browser tests skipped (NNUS_SKIP_BROWSER=1, local runs only)"; \
	  else echo "Chromium missing: the browser tests need it (sudo apt-get install chromium)," \
	    "or skip them on a local machine with NNUS_SKIP_BROWSER=1 make test" >&2; exit 1; fi; }

# The store tests start their own throwaway PostgreSQL server (tests/pg.py) from Debian's binaries.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL missing: the PostgreSQL store tests will fail (sudo apt-get install postgresql," \
	    "or NNUS_TEST_POSTGRES=skip for a local run)"; fi; }

# The several-servers browser test puts two app servers behind Debian's nginx, started unprivileged (tests/nginx.py).
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nginx >/dev/null; \
	  else echo "nginx missing: the two-servers browser test will fail (sudo apt-get install nginx)"; fi; }

# Two pytest-xdist workers: the browser tests in one group on one worker (their Chromium and app
# servers shared), the other tests spread over both (README). PYTEST_ARGS="-p no:xdist" runs serially.
PYTEST_ARGS ?= -n 2 --dist loadgroup
test: $(VENV)/.dev-installed browser postgres nginx
	YOLO_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean-data:
	rm -rf data/phantom data/cache data/imports runs
