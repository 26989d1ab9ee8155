"""`rag ask` answered by a running `rag chat` for real: the shared chat server (backend none, seeds indexed with
the real embedding model), `rag ask` in subprocesses with its settings or others, and a second server with a
login. The in-process comparison loads the embedding model too."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import PASSWORD, USER
from tests.servers import ROOT, UIServer, chat_server, copy_index, rag_env

pytestmark = pytest.mark.model

QUESTION = "Mit welchen Verteidigungsministern telefonierte Schoigu?"


def rag_ask(server: UIServer, *args: str, **env_overrides: str) -> subprocess.CompletedProcess[str]:
    """`rag ask QUESTION ARGS` with the settings `server` runs (plus env_overrides)."""
    env = rag_env(Path(server.tmp), server.port, **env_overrides)
    command = [sys.executable, "-m", "rag.cli.main", "ask", QUESTION, "--llm", "none", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def served_by(server: UIServer) -> str:
    return f"answered by the chat at http://127.0.0.1:{server.port}"


def without_timings(stdout: str) -> dict:
    answer = json.loads(stdout)
    answer.pop("timings")
    return answer


def test_the_running_chat_answers_and_the_output_is_that_of_an_answer_made_here(ui_server):
    served = rag_ask(ui_server, "--json")
    assert served.returncode == 0, served.stderr
    assert served_by(ui_server) in served.stderr
    local = rag_ask(ui_server, "--json", "--local")
    assert local.returncode == 0, local.stderr
    assert "answered by the chat" not in local.stderr
    assert without_timings(served.stdout) == without_timings(local.stdout)
    assert json.loads(served.stdout)["citations"]

    text = rag_ask(ui_server)
    assert text.returncode == 0, text.stderr
    assert served_by(ui_server) in text.stderr and "[1] " in text.stdout and "retrieval" in text.stdout


def test_a_chat_with_other_settings_is_not_asked(ui_server):
    other = rag_ask(ui_server, "--top-k", "7")
    assert other.returncode == 0, other.stderr
    assert "has other settings; answering here" in other.stderr
    assert "answered by the chat" not in other.stderr and "[1] " in other.stdout


@pytest.fixture(scope="module")
def auth_server(ui_server, tmp_path_factory) -> Iterator[UIServer]:
    tmp = copy_index(ui_server, tmp_path_factory.mktemp("ask-auth-server"))
    with chat_server(tmp, RAG_AUTH_USER=USER, RAG_AUTH_PASSWORD=PASSWORD) as server:
        yield server


def test_a_chat_behind_a_login_answers_the_configured_login_only(auth_server):
    logged_in = rag_ask(auth_server, RAG_AUTH_USER=USER, RAG_AUTH_PASSWORD=PASSWORD)
    assert logged_in.returncode == 0, logged_in.stderr
    assert served_by(auth_server) in logged_in.stderr
    refused = rag_ask(auth_server, RAG_AUTH_USER=USER, RAG_AUTH_PASSWORD="falsch")
    assert refused.returncode == 0, refused.stderr
    assert "refused the login" in refused.stderr and "answered by the chat" not in refused.stderr
    assert PASSWORD not in auth_server.log.read_text(errors="replace")
