# make run  : start Layer Lab on http://localhost:8501
# make test : run every test (explorer math, pages under AppTest, the browser in Chromium)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench chromium clean

run: $(VENV)/.runtime
	$(PY) -m streamlit run app.py

test: $(VENV)/.dev chromium
	$(PY) -m pytest -q

bench: $(VENV)/.dev
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Browser tests drive Debian's Chromium; install it when it is missing and we are allowed to.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium >/dev/null; \
	  elif command -v sudo >/dev/null; then \
	    sudo apt-get install -y -q chromium >/dev/null; \
	  else \
	    echo "Chromium is missing: install Debian's chromium package (apt-get install chromium)"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .browser-test-server.log
