# Jingwu (警务) — the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
VENDOR := src/jingwu/web/static/vendor
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: help install assets system-deps services broker demo serve test lint bench bench-deps clean

help:
	@echo "make demo   - install everything, load the Chengdu demo city, serve http://127.0.0.1:8000"
	@echo "make test   - install everything, start local services, run lint, types, contracts and the whole suite"
	@echo "make bench  - run the benchmarks under bench/ (figures printed with their baselines)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) assets

# Front-end libraries come from npm and are served locally (no CDN).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch node_modules/.package-lock.json

$(VENDOR)/.stamp: node_modules/.package-lock.json
	mkdir -p $(VENDOR)/leaflet $(VENDOR)/chartjs $(VENDOR)/leaflet-textpath $(VENDOR)/swagger-ui
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css node_modules/leaflet/dist/images $(VENDOR)/leaflet/
	cp node_modules/leaflet/LICENSE $(VENDOR)/leaflet/LICENSE
	cp node_modules/leaflet-textpath/leaflet.textpath.js node_modules/leaflet-textpath/LICENSE $(VENDOR)/leaflet-textpath/
	cp node_modules/chart.js/dist/chart.umd.js $(VENDOR)/chartjs/ && cp node_modules/chart.js/LICENSE.md $(VENDOR)/chartjs/LICENSE.md
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   node_modules/swagger-ui-dist/favicon-32x32.png node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/
	touch $(VENDOR)/.stamp

assets: $(VENDOR)/.stamp

# Debian packages the browser tests need (headless Chromium for Playwright).
system-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list :lang=zh | grep -q . || \
	  { apt-get update && apt-get install -y chromium chromium-driver fonts-noto-cjk; }

# Local services the integration tests talk to; each start is idempotent.
services:
	@pg_lsclusters -h 2>/dev/null | grep -q online || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; pg_isready -h 127.0.0.1 -p 5432
	@psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 || createdb -h 127.0.0.1 -U postgres test
	@start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
	@pgrep -x mosquitto >/dev/null || mosquitto -d -c /etc/mosquitto/mosquitto.conf
	@for i in $$(seq 1 30); do (echo > /dev/tcp/127.0.0.1/4222) 2>/dev/null && break; sleep 1; done
	@(echo > /dev/tcp/127.0.0.1/4222) 2>/dev/null && echo "nats: up" || { echo "nats: DOWN"; exit 1; }
	@for i in $$(seq 1 30); do (echo > /dev/tcp/127.0.0.1/1883) 2>/dev/null && break; sleep 1; done
	@(echo > /dev/tcp/127.0.0.1/1883) 2>/dev/null && echo "mosquitto: up" || { echo "mosquitto: DOWN"; exit 1; }
	@$(MAKE) --no-print-directory broker

# The project's own Mosquitto (deploy/mosquitto/jingwu.conf, ADR 0025) on 127.0.0.1:1884: accounts and ACLs,
# no anonymous clients, persistence in var/mosquitto. The app's password is generated once into
# var/mosquitto/app.secret; device accounts are added by `jingwu mqtt passwd`. The system broker is untouched.
broker:
	@mkdir -p var/mosquitto && chmod 700 var/mosquitto
	@test -s var/mosquitto/app.secret || { umask 077; python3 -c "import secrets;print(secrets.token_urlsafe(24))" > var/mosquitto/app.secret; }
	@test -s var/mosquitto/passwd || { umask 077; echo "jingwu-app:$$(cat var/mosquitto/app.secret)" > var/mosquitto/passwd && mosquitto_passwd -U var/mosquitto/passwd; }
	@{ test -s var/mosquitto/mosquitto.pid && kill -0 $$(cat var/mosquitto/mosquitto.pid) 2>/dev/null; } || mosquitto -d -c deploy/mosquitto/jingwu.conf
	@for i in $$(seq 1 30); do (echo > /dev/tcp/127.0.0.1/1884) 2>/dev/null && break; sleep 1; done
	@(echo > /dev/tcp/127.0.0.1/1884) 2>/dev/null && echo "jingwu mosquitto (1884): up" || { echo "jingwu mosquitto (1884): DOWN"; exit 1; }

demo: install broker
	JINGWU_MQTT_BROKER_PASSWD_FILE=var/mosquitto/passwd $(VENV)/bin/jingwu demo

serve: install
	$(VENV)/bin/jingwu serve

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: install system-deps services lint
	JINGWU_TEST_PG_URL=$(PG_URL) $(VENV)/bin/pytest --timeout 600 -p no:cacheprovider

# wrk drives the HTTP load of the dispatch benchmark.
bench-deps:
	@command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }

bench: install bench-deps services
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf var $(VENDOR) node_modules .pytest_cache .mypy_cache .ruff_cache
