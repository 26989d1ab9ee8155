"""Settings sources and the CLI's behaviour on bad input (no models needed)."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from cli.main import app
from rag.settings import Settings

runner = CliRunner()


def test_environment_overrides_config_file_which_overrides_defaults(tmp_path, monkeypatch):
    config = tmp_path / "rag.toml"
    config.write_text('top_k = 7\nllm_backend = "none"\nport = 9000\n')
    monkeypatch.setenv("RAG_CONFIG", str(config))
    monkeypatch.setenv("RAG_PORT", "9100")
    settings = Settings()
    assert (settings.top_k, settings.llm_backend, settings.port) == (7, "none", 9100)
    assert settings.host == "127.0.0.1"


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("index", "search", "ask", "chat", "models", "docs"):
        assert command in result.output


def test_invalid_setting_is_a_clear_error_not_a_traceback(monkeypatch):
    monkeypatch.setenv("RAG_LLM_BACKEND", "gpt-17")
    result = runner.invoke(app, ["ask", "Wer ist Schoigu?"])
    assert result.exit_code == 2
    assert "invalid setting: llm_backend" in result.output
    assert "Traceback" not in result.output


def test_missing_config_file_is_reported(tmp_path):
    result = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "docs"])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_empty_question_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "search", "   "], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    assert "question is empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_docs_removed_shows_the_dropped_lines_and_names_a_missing_document(tmp_settings, seeds_copy, monkeypatch):
    from rag.ingest import index_paths
    from rag.store import open_store
    from tests.fakes import HashEmbedder

    index_paths([seeds_copy], tmp_settings, open_store(tmp_settings), HashEmbedder)
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_settings.index_dir))
    shown = runner.invoke(app, ["docs", "--removed", "001_0bda7b3f5836d6c8"])
    assert shown.exit_code == 0 and "Guardar" in shown.output.splitlines()
    missing = runner.invoke(app, ["docs", "--removed", "nope"])
    assert missing.exit_code == 1 and "no document 'nope'" in missing.output
