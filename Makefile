# NNUS Tutor — two commands do all the set-up:
#   make run    create .venv, install, start the app on the built-in phantom (generated on first start)
#   make test   install what the tests need (incl. Debian's Chromium when missing) and run them
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint bench browser clean-data

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

test: $(VENV)/.dev-installed browser
	YOLO_OFFLINE=1 $(PY) -m pytest

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

clean-data:
	rm -rf data/phantom data/cache data/imports runs
