# Two entry points: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
TEST_EXTRAS ?= test,viz,service,workers,dwave,ibm

.PHONY: demo test lint format clean bench-samplers bench-planner bench-service

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	touch $@

$(VENV)/.demo: $(VENV)/.created pyproject.toml
	$(PIP) install -q -e '.[viz]'
	touch $@

$(VENV)/.test: $(VENV)/.created pyproject.toml
	$(PIP) install -q -e '.[$(TEST_EXTRAS)]'
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	$(VENV)/bin/quantum-planner warmup
	$(VENV)/bin/quantum-planner solve examples/team.json

lint: $(VENV)/.test
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/ruff check src tests benchmarks

format: $(VENV)/.test
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

test: lint
	$(PY) -m pytest

# Benchmarks print ratios against anchors measured side by side (minutes; see benchmarks/README.md)
bench-samplers: $(VENV)/.test
	$(PIP) install -q -e '.[bench]'
	$(PY) benchmarks/samplers.py --quick

bench-planner: $(VENV)/.test
	$(PY) benchmarks/planner.py --quick

bench-service: $(VENV)/.test
	$(PY) benchmarks/service.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info src/*.egg-info
