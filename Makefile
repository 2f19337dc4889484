# Loa — `make run` starts everything on localhost, `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON310 ?= $(shell scripts/find-python 3.10)
PYTHON_APP ?= $(shell scripts/find-python 3.12 3.13)
VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
LOCKS := requirements
# pytest-xdist workers for make test: half of a test's time is waiting (servers, PostgreSQL,
# the browser), so two workers use both cores. Each worker that runs end-to-end tests starts its
# own stack: measured faster than keeping them all on one worker (26:51 against 30:37 for a
# fresh make test), and the memory (about 1.2 GiB per Rasa) is there.
TEST_WORKERS ?= 2

.PHONY: help setup lock run test train lint bench-nlu bench-chat bench-turn bench-abuse bench-knowledge bench-answers bench-desk bench-broadcast bench-page clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# Both environments are built anew from their locks (exact versions, checked hashes) by uv,
# which pip installs first at the version the app lock pins.
$(VENV)/.installed: $(LOCKS)/app.lock pyproject.toml
	@test -n "$(PYTHON_APP)" || { echo "Python 3.12 or newer was not found (the place data needs it). Install python3.12 with venv support, e.g. 'pyenv install 3.12' or your distribution's python3.12 and python3.12-venv, or set PYTHON_APP=/path/to/python3.12." >&2; exit 1; }
	rm -rf $(VENV) && $(PYTHON_APP) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$$(grep -m1 -o '^uv==[^ ]*' $(LOCKS)/app.lock)"
	$(UV) pip sync -q --compile-bytecode --python $(PY) --require-hashes $(LOCKS)/app.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	@touch $@

$(RASA_VENV)/.installed: $(LOCKS)/rasa.lock | $(VENV)/.installed
	@test -n "$(PYTHON310)" || { echo "Python 3.10 was not found: Rasa 3.6.21 runs only on 3.10. Install it (e.g. 'pyenv install 3.10', or 'apt-get install python3.10 python3.10-venv' where available) or set PYTHON310=/path/to/python3.10." >&2; exit 1; }
	rm -rf $(RASA_VENV) && $(PYTHON310) -m venv --without-pip $(RASA_VENV)
	$(UV) pip sync -q --compile-bytecode --python $(RASA_VENV)/bin/python --require-hashes $(LOCKS)/rasa.lock
	@touch $@

setup: $(VENV)/.installed $(RASA_VENV)/.installed ## create both environments (app: Python ≥3.12, Rasa: 3.10)

lock: $(VENV)/.installed ## re-resolve the locks (UPGRADE=name: move one package; UPGRADE=all)
	scripts/lock

run: setup ## start Rasa, the action server and the app on 127.0.0.1 (Ctrl-C stops all)
	$(PY) -m bot.cli run

train: setup ## train the model if its inputs changed (models/loa-<hash>.tar.gz)
	$(PY) -m bot.cli train

test: setup ## the whole suite: unit, rasa data validate, conversation stories, end-to-end, browser
	scripts/install-test-deps
	$(PY) -m bot.cli train
	$(PY) -m pytest -n $(TEST_WORKERS) --dist load

lint: setup ## ruff, mypy and the import-layer check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy bot connectors actions testkit
	$(PY) scripts/check_layers.py

bench-nlu: setup ## k-fold NLU accuracy (as written / diacritics stripped) and parse latency
	$(PY) -m bot.cli train
	PYTHONPATH=$(CURDIR) $(RASA_VENV)/bin/python bench/nlu_crossval.py
	$(PY) -m bench.nlu_latency

bench-chat: setup ## 50 people over Telegram and Zalo OA; capacity curve (1 and 2 Rasa); memory after 10,000 conversations
	$(PY) -m bot.cli train
	$(PY) -m bench.chat

bench-turn: setup ## one turn at a time: p50 by turns 1-20/21-40/41-60, and where a turn's time goes inside Rasa
	$(PY) -m bot.cli train
	$(PY) -m bench.turn

bench-abuse: setup ## 10-minute soak: normal chat during floods, fuzz and replays; 5xx, latency, memory
	$(PY) -m bot.cli train
	$(PY) -m bench.abuse

bench-answers: setup ## the right answer for 500 messages not trained on: right, wrongly answered, declined
	$(PY) -m bot.cli train
	$(PY) -m bench.answers

bench-knowledge: setup ## place accuracy on the test table; action latency with 10,000 zones and 1,000 schemes
	$(PY) -m bench.knowledge

bench-desk: setup ## the desk's pages with 100,000 requests on SQLite and PostgreSQL: p50/p95; a help request over the Telegram webhook: p95 per turn
	$(PY) -m bot.cli train
	$(PY) -m bench.desk

bench-broadcast: setup ## broadcasts to 100,000 subscribers on SQLite and PostgreSQL: rate, approval to first message, 30/s pacing
	$(PY) -m bench.broadcast

bench-page: setup ## the public pages with every commune and 10,000 zones, SQLite and PostgreSQL: p95 cold and warm, bytes
	$(PY) -m bench.page

clean: ## remove environments, models and local data
	rm -rf $(VENV) $(RASA_VENV) models var
