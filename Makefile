# Entry points: `make demo`, `make serve` and `make test`. All create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
TEST_EXTRAS ?= test,viz,service,workers,dwave,ibm,mcp,langchain
# public benchmark instances (read by tests and benchmarks/*.py; never copied into the repo)
export QP_BENCHMARKS_DIR ?= $(abspath ../shared/benchmarks)
# the demo includes the service (FastAPI, uvicorn, SQLAlchemy, Alembic: small), so that
# `quantum-planner keys create` and `quantum-planner serve` work right after `make demo`
DEMO_EXTRAS ?= viz,service
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo serve test lint format clean bench-samplers bench-planner bench-service

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	touch $@

$(VENV)/.demo: $(VENV)/.created pyproject.toml
	$(PIP) install -q -e '.[$(DEMO_EXTRAS)]'
	touch $@

$(VENV)/.test: $(VENV)/.created pyproject.toml
	$(PIP) install -q -e '.[$(TEST_EXTRAS)]'
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	$(VENV)/bin/quantum-planner warmup
	$(VENV)/bin/quantum-planner solve examples/team.json

# The service on the embedded default (SQLite file quantum-planner.db, in-process jobs;
# QP_DATABASE_URL overrides). The first run creates an admin key and prints it once.
serve: $(VENV)/.demo
	@if ! $(VENV)/bin/quantum-planner keys list | grep '"role": "admin"' | grep -q '"revoked_at": null'; then \
	  echo "no admin key yet; created one (shown once, store it):"; \
	  $(VENV)/bin/quantum-planner keys create --role admin --name make-serve; \
	fi
	@echo "quantum-planner serving on http://$(HOST):$(PORT)  (try: curl http://$(HOST):$(PORT)/health; Ctrl-C stops)"
	$(VENV)/bin/quantum-planner serve --host $(HOST) --port $(PORT)

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
