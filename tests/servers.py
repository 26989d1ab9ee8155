"""A real `rag chat` server in a subprocess on 127.0.0.1, for the tests that drive the chat from outside.

One server per test session is shared by the UI, browser, auth and load tests (`shared_server`); a test
that needs other settings starts its own with `chat_server`, on a copy of the shared index.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.evaluation.bench.harness import free_port, stop_process_group

ROOT = Path(__file__).resolve().parent.parent
SHARED_ENV = "NEWSRAG_UI_TEST_SERVER"  # lets every test module reuse the server the first one started
START_TIMEOUT_S = 600  # a fresh index of the seeds takes 1-2 minutes on two busy cores


@dataclass
class UIServer:
    url: str
    tmp: str  # holds index/, uploads/ and the server log

    @property
    def uploads(self) -> Path:
        return Path(self.tmp) / "uploads"

    @property
    def log(self) -> Path:
        return Path(self.tmp) / "server.log"

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def rag_env(tmp: Path, port: int, **env_overrides: str) -> dict[str, str]:
    """The environment of a `rag` process with the settings of the chat server kept in `tmp`, on `port`."""
    env = {
        **os.environ,
        "RAG_CONFIG": str(tmp / "rag.toml"),
        "RAG_INDEX_DIR": str(tmp / "index"),  # uploads go next to it: tmp/uploads
        "RAG_SEEDS_DIR": str(ROOT / "seeds"),
        "RAG_LLM_BACKEND": "none",
        "RAG_HOST": "127.0.0.1",
        "RAG_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    for key in ("RAG_AUTH_USER", "RAG_AUTH_PASSWORD", "RAG_STORE_MODE"):
        env.pop(key, None)
    return env | env_overrides


@contextlib.contextmanager
def chat_server(tmp: Path, **env_overrides: str) -> Iterator[UIServer]:
    """`rag chat` in a subprocess on a free 127.0.0.1 port, its index and log in `tmp`; killed on exit.

    It indexes the seeds at start-up unless tmp/index already holds an index (e.g. a copy of another's).
    """
    (tmp / "rag.toml").write_text("", encoding="utf-8")  # ignore a developer's ./rag.toml
    port = free_port()
    env = rag_env(tmp, port, **env_overrides)
    server = UIServer(f"http://127.0.0.1:{port}/", str(tmp))
    with server.log.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "rag.cli.main", "chat"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _up(server.url):  # with auth configured, / answers too: with the login form
            if process.poll() is not None or time.monotonic() > deadline:
                tail = server.log.read_text(errors="replace")[-3000:]
                pytest.fail(f"the chat server did not start (exit code {process.poll()}):\n{tail}")
            time.sleep(1)
        yield server
    finally:
        stop_process_group(process, grace_s=20)


@contextlib.contextmanager
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    """Start `rag chat` once per session; a second caller in the same session gets the running one."""
    if os.environ.get(SHARED_ENV):
        yield UIServer(**json.loads(os.environ[SHARED_ENV]))
        return
    with chat_server(tmp_path_factory.mktemp("ui-server")) as server:
        os.environ[SHARED_ENV] = json.dumps({"url": server.url, "tmp": server.tmp})
        try:
            yield server
        finally:
            os.environ.pop(SHARED_ENV, None)


def copy_index(server: UIServer, tmp: Path) -> Path:
    """A copy of a running server's index, so that a second server starts without re-embedding the seeds."""
    shutil.copytree(Path(server.tmp) / "index", tmp / "index")
    return tmp
