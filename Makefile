# The two commands a fresh clone needs: `make run` and `make test`. Both do the whole set-up first
# (fast the second time) and work offline with no API key.
SHELL := /bin/bash
PORT ?= 8501
ADDRESS ?= 127.0.0.1
PYTEST_ARGS ?=
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY := False
export PIP_CACHE_DIR := $(CURDIR)/.cache/pip
export HF_HOME := $(CURDIR)/.cache/huggingface

.PHONY: run workshop test setup lint bench eval

run:
	bash scripts/setup.sh
	.venv/bin/streamlit run app.py --server.headless true --server.address $(ADDRESS) --server.port $(PORT) \
		--browser.gatherUsageStats false

# The app for a room of people, behind an access code (ROOM_CODE, FACILITATOR_CODE, or made up and printed).
# Only this computer can reach it unless asked: `make workshop ADDRESS=0.0.0.0` opens it to the network.
workshop:
	bash scripts/setup.sh
	.venv/bin/python -m ui.workshop_app --address $(ADDRESS) --port $(PORT)

# The static checks run before the tests: a broken layer or a type error fails fast, before minutes of models.
test:
	bash scripts/setup.sh --browser
	$(MAKE) --no-print-directory lint
	.venv/bin/python -m pytest $(PYTEST_ARGS)

setup:
	bash scripts/setup.sh

# ruff (style, bugs and formatting), mypy (types, config in pyproject.toml) and import-linter (the library's
# layers and "playground never imports streamlit", contracts in pyproject.toml [tool.importlinter]).
LINTED = playground tests app.py pages ui bench scripts
lint:
	.venv/bin/ruff check $(LINTED)
	.venv/bin/ruff format --check $(LINTED)
	.venv/bin/mypy
	.venv/bin/lint-imports

eval:
	.venv/bin/playground eval --variants sample_corpus/variants/ladder.yaml --out .data/results/ladder.json

bench:
	.venv/bin/python -m bench
