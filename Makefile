# make run  : start Layer Lab on http://localhost:8501
# make test : run every test (explorer math, pages under AppTest, the browser in Chromium)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench system-packages clean

run: $(VENV)/.runtime
	$(PY) -m streamlit run app.py

test: $(VENV)/.dev system-packages
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

# Browser tests drive Debian's Chromium; the deployment test puts nginx in front of two replicas.
# Install them when missing and we are allowed to.
SYSTEM_PACKAGES := /usr/bin/chromium:chromium /usr/sbin/nginx:nginx
system-packages:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  [ -x "$${pair%%:*}" ] || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q $$missing >/dev/null; \
	  elif command -v sudo >/dev/null; then \
	    sudo apt-get install -y -q $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages:$$missing (apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .browser-test-server.log
