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
