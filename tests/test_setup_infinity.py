"""scripts/setup_infinity.sh and tests/infinity.py without building or starting anything: a built venv is skipped
at once, a failed install says so and exits non-zero, and a missing venv skips the real-server tests, except in CI."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.infinity import infinity_binary, server_command

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "setup_infinity.sh"
PINS = ROOT / "scripts" / "infinity-constraints.txt"


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)], cwd=ROOT, env=dict(os.environ, **env), capture_output=True, text=True, timeout=300
    )


def _fake_venv(venv: Path) -> None:
    (venv / "bin").mkdir(parents=True)
    binary = venv / "bin" / "infinity_emb"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)


def test_the_pins_keep_infinitys_own_versions_and_the_cpu_torch_out_of_our_venv():
    pins = dict(line.split("==") for line in PINS.read_text().splitlines() if line and not line.startswith("#"))
    assert pins["infinity_emb"] == "0.0.78" and pins["numpy"].startswith("1.26") and pins["typer"].startswith("0.12")
    assert pins["torch"] == "2.13.0" and not [name for name in pins if name.lower().startswith("nvidia")]
    assert "TORCH_VERSION=2.13.0" in (ROOT / "scripts" / "setup.sh").read_text()  # the same torch as .venv's


def test_a_venv_whose_stamp_matches_the_pins_is_not_touched(tmp_path):
    venv = tmp_path / "venv"
    _fake_venv(venv)
    python = subprocess.run(["python3", "--version"], capture_output=True, text=True, check=True).stdout
    version = next(line for line in SCRIPT.read_text().splitlines() if line.startswith("INFINITY_VERSION="))
    wanted = PINS.read_text() + f"infinity-emb=={version.split('=', 1)[1]}\n" + python
    (venv / ".installed").write_text(hashlib.sha256(wanted.encode()).hexdigest()[:16] + "\n")
    result = _run({"INFINITY_VENV": str(venv)})
    assert result.returncode == 0, result.stderr
    assert "(pins unchanged)" in result.stdout and not (venv / "lib").exists()


@pytest.mark.slow
def test_a_failed_install_says_so_and_exits_non_zero(tmp_path):
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    venv = tmp_path / "venv"
    result = _run({"INFINITY_VENV": str(venv), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty)})
    assert result.returncode == 1
    assert "INFINITY SETUP FAILED: torch==2.13.0 could not be installed" in result.stderr
    assert not (venv / ".installed").exists()  # the next run tries again


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_venv_skips_the_real_server_tests_but_fails_them_in_ci(tmp_path, monkeypatch, ci, outcome):
    monkeypatch.setenv("INFINITY_VENV", str(tmp_path / "absent"))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="scripts/setup_infinity.sh"):
        infinity_binary()


def test_a_venv_without_its_stamp_counts_as_missing(tmp_path, monkeypatch):
    _fake_venv(tmp_path / "venv")  # a half-built venv: the binary is there, the stamp is not
    monkeypatch.setenv("INFINITY_VENV", str(tmp_path / "venv"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="is not built"):
        infinity_binary()
    (tmp_path / "venv" / ".installed").write_text("stamp\n")
    assert infinity_binary() == tmp_path / "venv" / "bin" / "infinity_emb"


def test_the_server_listens_on_loopback_with_the_cpu_torch_engine():
    command = server_command(Path("/venv/bin/infinity_emb"), "/models/gemma", "embeddinggemma-300m", 7997)
    joined = " ".join(command)
    assert "--host 127.0.0.1 --port 7997" in joined and "--engine torch --device cpu" in joined
    assert "--model-id /models/gemma --served-model-name embeddinggemma-300m" in joined
