# The two commands: `make chat` (setup, index, chat) and `make test` (setup, Chromium and the Infinity embedding
# server's own venv for the real-server tests, then every test).
# `make test-fast`: lint, types and the tests that need no model, browser or long run (about two minutes).
.PHONY: setup setup-packages index chat test test-fast lint format

SRC = rag ui scripts tests
FAST = not model and not browser and not slow

setup:
	@bash scripts/setup.sh

setup-packages:
	@RAG_SETUP_MODELS=0 bash scripts/setup.sh

index: setup
	.venv/bin/rag index

chat: index
	.venv/bin/rag chat

test: setup
	@bash scripts/ensure_chromium.sh
	@bash scripts/setup_infinity.sh
	.venv/bin/ruff format --check $(SRC)
	.venv/bin/ruff check $(SRC)
	.venv/bin/mypy
	.venv/bin/pytest -ra

test-fast: setup-packages
	.venv/bin/ruff format --check $(SRC)
	.venv/bin/ruff check $(SRC)
	.venv/bin/mypy
	.venv/bin/pytest -ra -m "$(FAST)"

lint:
	.venv/bin/ruff check $(SRC)
	.venv/bin/ruff format --check $(SRC)
	.venv/bin/mypy

format:
	.venv/bin/ruff format $(SRC)
	.venv/bin/ruff check --fix $(SRC)
