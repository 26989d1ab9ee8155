# The two commands: `make chat` (setup, index, chat) and `make test` (setup, then every test).
.PHONY: setup index chat test lint

setup:
	@bash scripts/setup.sh

index: setup
	.venv/bin/rag index

chat: index
	.venv/bin/rag chat

test: setup
	@bash scripts/ensure_chromium.sh
	.venv/bin/ruff check rag ui scripts tests
	.venv/bin/mypy
	.venv/bin/pytest -ra

lint:
	.venv/bin/ruff check rag ui scripts tests
	.venv/bin/ruff format --check rag ui scripts tests
	.venv/bin/mypy
