# Gatehouse. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint format migrate worker bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install Gatehouse with its test tools

migrate: install ## Apply database migrations
	$(PY) manage.py migrate --noinput

run: migrate ## Serve registry and portal on http://127.0.0.1:8000 (embedded mode unless configured)
	@echo ""
	@echo "Gatehouse is starting on http://localhost:$(PORT)/"
	@echo "  Point npm at it:       npm config set registry http://localhost:$(PORT)/"
	@echo "  Create the first admin: DJANGO_SUPERUSER_PASSWORD=... $(PY) manage.py createsuperuser --noinput --username admin --email admin@example.com"
	@echo "  or sign up in the portal, then: npm login"
	@echo ""
	@# No beat in the embedded mode: run the periodic jobs every five minutes beside the server.
	@if [ -z "$$CELERY_BROKER_URL" ]; then \
		(while sleep 300; do $(PY) manage.py periodic_tasks >/dev/null; done) & ticker=$$!; \
		trap "kill $$ticker 2>/dev/null" EXIT INT TERM; \
	fi; \
	$(VENV)/bin/gunicorn portal.wsgi --bind $(HOST):$(PORT) --workers 1 --threads 8 \
		--access-logfile - --logger-class portal.gunicorn_logging.RedactingLogger

test: install ## Run the whole test suite (npm CLI end-to-end tests included)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install ## Run the suite without the npm CLI end-to-end tests
	$(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: install ## ruff check and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install ## Format the code with ruff
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

worker: install ## Run a Celery worker with beat (needs CELERY_BROKER_URL)
	$(VENV)/bin/celery -A portal worker --beat --loglevel INFO

bench: install ## Benchmark against a registry (see bench/README.md)
	$(PY) bench/bench.py $(BENCH_ARGS)

clean: ## Remove the embedded database, tarballs and caches (not .venv)
	rm -rf var .pytest_cache .ruff_cache .hypothesis
