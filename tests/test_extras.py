"""Without the `eval` extra, rag eval and rag bench stop with one line that names the install command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli.main import app
from rag.evaluation import extras

DEV = str(Path(__file__).resolve().parent.parent / "eval" / "dev.jsonl")


def test_a_missing_module_is_named_with_the_install_command():
    with pytest.raises(extras.MissingExtraError, match=r"needs no_such_module_x, .*pip install -e '\.\[eval\]'"):
        extras.require("this", ("no_such_module_x",))
    assert extras.missing(("json", "no_such_parent.child")) == ["no_such_parent.child"]


def test_installed_modules_pass():
    extras.require("this", ("json",))


@pytest.mark.parametrize("command", [["eval", DEV, "--llm", "none"], ["bench", "--quick"]])
def test_eval_and_bench_without_the_extra_fail_in_one_line(monkeypatch, command):
    monkeypatch.setattr(extras, "missing", lambda modules=(): ["matplotlib"])
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert "needs matplotlib, which is not installed" in result.output
    assert "Traceback" not in result.output
