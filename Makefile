# OpenRUM — the README's two commands:
#   make run    install what is missing, load demo data, serve the dashboard on http://127.0.0.1:8080
#   make test   install what is missing, then lint, type-check and run every test tier
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= data
PORT ?= 8080
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup python agent web geo bundlers foreign-agents chromium wrk lint typecheck unit-js pytest fuzz bench clean

run: setup
	@$(PY) -m openrum demo --data $(DATA) --if-empty
	@$(PY) -m openrum serve --data $(DATA) --port $(PORT)

test: setup bundlers foreign-agents chromium
	$(MAKE) lint typecheck unit-js fuzz pytest

setup: python agent web geo

python: $(STAMP)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev,clickhouse]'
	touch $(STAMP)

# The browser agent: bundled and minified with esbuild, served at /openrum.js.
agent: agent/node_modules/.package-lock.json
	npm --prefix agent run --silent build
agent/node_modules/.package-lock.json: agent/package.json agent/package-lock.json
	npm --prefix agent ci --no-audit --no-fund --loglevel=error

# The dashboard: built from npm packages into openrum/web/static.
web: web/node_modules/.package-lock.json
	npm --prefix web run --silent build
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	npm --prefix web ci --no-audit --no-fund --loglevel=error

# The CC0 country-level geo database (ip-location-db, from npm) read by openrum/enrich/geo.py.
geo: geoip/node_modules/.package-lock.json
geoip/node_modules/.package-lock.json: geoip/package.json geoip/package-lock.json
	npm --prefix geoip ci --no-audit --no-fund --loglevel=error

# A second bundler (Rollup + terser) for the source map tests; the first is the agent's esbuild.
bundlers: tests/sourcemaps/node_modules/.package-lock.json
tests/sourcemaps/node_modules/.package-lock.json: tests/sourcemaps/package.json tests/sourcemaps/package-lock.json
	npm --prefix tests/sourcemaps ci --no-audit --no-fund --loglevel=error

# The RUM agents OpenRUM ingests from (docs/ingest.md), run in Chromium by the browser tests.
foreign-agents: tests/foreign/node_modules/.package-lock.json
tests/foreign/node_modules/.package-lock.json: tests/foreign/package.json tests/foreign/package-lock.json
	npm --prefix tests/foreign ci --no-audit --no-fund --loglevel=error

# Debian's Chromium for the browser tiers (Playwright cannot download its own browsers here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

lint: python
	$(VENV)/bin/ruff format --check openrum tests bench
	$(VENV)/bin/ruff check openrum tests bench

typecheck: python
	$(VENV)/bin/mypy

unit-js: agent
	npm --prefix agent run --silent test

# Three tiers, each in its own process (Playwright's browser loop and the async tests do not share
# one): unit and in-process tests, then load and durability, then real Chromium.
pytest: python
	$(PY) -m pytest -q -m "not browser and not load" -n 2 --dist loadfile --durations=15
	$(PY) -m pytest -q -m load --durations=5
	$(PY) -m pytest -q -m browser --durations=10

# A bounded fuzz run of the whole ingest path (a new seed each run; a failure prints it).
fuzz: python
	$(PY) -m tests.fuzz --seconds 20

# Every benchmark, each writing its section of docs/benchmarks.md (the 100M ClickHouse and DuckDB runs take
# about half an hour on 2 cores). The load benchmarks drive the server with Debian's wrk.
bench: setup chromium wrk
	$(PY) -m bench.ingest
	$(PY) -m bench.store_growth
	$(PY) -m bench.store_memory
	$(PY) -m bench.durability
	$(PY) -m bench.enrich
	$(PY) -m bench.query --sizes 10000000 100000000 --older-rate 0.2
	$(PY) -m bench.query_clickhouse --duckdb 10000000 --chdb 10000000
	$(PY) -m bench.query_clickhouse --duckdb --chdb 100000000 --section query_clickhouse_100m
	$(PY) -m bench.store_bytes
	$(PY) -m bench.ingest_clickhouse
	$(PY) -m bench.agent_size
	$(PY) -m bench.agent_cost
	$(PY) -m bench.dashboard_load
	$(PY) -m bench.regressions
	$(PY) -m bench.alerts

wrk:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }

clean:
	rm -rf $(VENV) agent/node_modules web/node_modules geoip/node_modules tests/sourcemaps/node_modules tests/foreign/node_modules openrum/web/static openrum/collect/static
