"""The repository holds code, question sets and small summaries; runs write to the ignored eval/runs/."""

from __future__ import annotations

import inspect
import shutil
import subprocess
from pathlib import Path

import pytest

from rag.cli.bench_command import bench_command

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)


def _in_a_git_checkout() -> bool:
    return shutil.which("git") is not None and _git("rev-parse", "--is-inside-work-tree").stdout.strip() == "true"


def test_rag_bench_writes_under_eval_runs_by_default():
    assert inspect.signature(bench_command).parameters["out"].default == Path("eval/runs/bench")


def test_rag_eval_writes_under_eval_runs_by_default():
    source = (ROOT / "rag" / "cli" / "eval_command.py").read_text(encoding="utf-8")
    assert 'out or Path("eval/runs")' in source


@pytest.mark.skipif(not _in_a_git_checkout(), reason="not a git checkout")
def test_run_outputs_are_ignored_by_git():
    for path in ("eval/runs/20261201-120000/summary.json", "eval/runs/bench/latest.json", "eval/runs/chunking.json"):
        assert _git("check-ignore", "-q", path).returncode == 0, f"{path} is not ignored"


@pytest.mark.skipif(not _in_a_git_checkout(), reason="not a git checkout")
def test_eval_holds_under_ten_megabytes_of_tracked_files():
    tracked = [ROOT / p for p in _git("ls-files", "eval").stdout.split()]
    size = sum(p.stat().st_size for p in tracked if p.is_file())
    assert size < 10 * 1024 * 1024, f"eval/ tracks {size / 1e6:.1f} MB"
