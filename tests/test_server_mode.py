"""Server mode end to end: a real `chroma run` subprocess, RAG_STORE_MODE=http, index, answer, restart.

The server runs on 127.0.0.1 on a free port with its data in a temporary folder, and is killed in the
fixture's teardown. Answers: extractive (llm_backend none) for the main flow, plus one answer with the
embedded local LLM through the same server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag.answering.retrieval import retrieve
from rag.evaluation.bench.harness import free_port, stop_process_group
from rag.ingest.pipeline import index_paths
from rag.models.embedding import get_embedder
from rag.settings import Settings
from rag.store.chroma import StoreError, open_store
from rag.wiring import get_service

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
CHROMA = Path(sys.executable).parent / "chroma"
# dev17: German question with a one-word answer that the 1.5B model gives reliably (dev01 it sometimes refuses).
QUESTION = "Welche Art von Munition soll Nordkorea an Russland geliefert haben?"
RELEVANT_DOC = "004_8d9d5a7c66cc8664"
QUERY = "What did Admiral Rob Bauer say about General Gerasimov?"


class ChromaServer:
    """`chroma run --path DIR --host 127.0.0.1 --port N`, restartable on the same folder and port."""

    def __init__(self, path: Path, port: int, log: Path):
        self.path, self.port, self.log = path, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> None:
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"chroma run did not answer at {self.url} within {timeout:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process_group(proc, grace_s=30)

    def restart(self) -> None:
        self.stop()
        self.start()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    if not CHROMA.is_file():
        pytest.skip(f"the chroma CLI is not installed at {CHROMA}")
    folder = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServer(folder / "data", free_port(), folder / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_settings(chroma_server, monkeypatch, tmp_path) -> Settings:
    """Settings read the way a user sets them: from RAG_* environment variables."""
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("RAG_STORE_MODE", "http")
    monkeypatch.setenv("RAG_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("RAG_CHROMA_PORT", str(chroma_server.port))
    monkeypatch.setenv("RAG_LLM_BACKEND", "none")
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "must-not-be-used"))
    settings = Settings()
    assert settings.store_mode == "http" and settings.chroma_port == chroma_server.port
    return settings


def _index(settings: Settings):
    return index_paths([SEEDS], settings, open_store(settings), lambda: get_embedder(settings))


def _snapshot(settings: Settings) -> tuple[int, list[str], str]:
    store = open_store(settings)
    top = retrieve(QUERY, store, get_embedder(settings), 3).chunks[0].chunk_id
    return store.count(), store.chunk_ids(), top


def test_index_answer_restart_keeps_everything(chroma_server, http_settings, tmp_path):
    settings = http_settings
    store = open_store(settings)
    assert store.location == chroma_server.url

    # 1. Index the seeds through the server.
    report = _index(settings)
    assert not report.skipped
    assert len(report.added) + len(report.unchanged) == 5
    assert report.chunks_total > 20
    assert not (tmp_path / "must-not-be-used").exists(), "http mode must not create a local index"
    # The CLI reads the same server from the same environment.
    docs = subprocess.run(
        [sys.executable, "-m", "rag.cli.main", "docs", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert docs.returncode == 0, docs.stderr
    assert sorted(d["doc_id"] for d in json.loads(docs.stdout)) == sorted(p.stem for p in SEEDS.glob("*.txt"))

    # 2. A cited answer from the real pipeline (extractive backend).
    answer = get_service(settings).answer(QUESTION)
    assert answer.mode == "extractive" and not answer.refused
    assert answer.citations and RELEVANT_DOC in {c.doc_id for c in answer.citations.values()}
    assert all(f"[{n}]" in answer.text for n in answer.citations)
    count, ids, top = _snapshot(settings)
    assert count == report.chunks_total == len(ids) == len(set(ids))

    # 3. Restart the server on the same folder and port.
    chroma_server.restart()

    # 4. Nothing was lost: same count, same ids, same top result; unchanged files are not re-embedded.
    assert _snapshot(settings) == (count, ids, top)
    assert store.count() == count, "a store opened before the restart keeps working"

    def no_model():
        raise AssertionError("nothing changed, so the embedding model must not be needed")

    again = index_paths([SEEDS], settings, open_store(settings), no_model)
    assert len(again.unchanged) == 5 and not again.changed and again.chunks_total == count
    after = get_service(settings).answer(QUESTION)
    assert {c.chunk_id for c in after.citations.values()} == {c.chunk_id for c in answer.citations.values()}


def test_local_llm_answer_through_the_server(http_settings):
    from rag.models.files import ModelError

    settings = http_settings.model_copy(update={"llm_backend": "local"})
    try:
        service = get_service(settings)
    except ModelError as exc:
        pytest.skip(f"local LLM not built: {exc}")
    _index(settings)
    answer = service.answer(QUESTION)
    assert answer.warning is None, answer.warning
    assert answer.mode == "llm" and not answer.refused, answer.text
    assert answer.citations, answer.text
    assert RELEVANT_DOC in {c.doc_id for c in answer.citations.values()}
    assert "artillerie" in answer.text.lower(), answer.text
    assert 0 < answer.timings.ttft_ms <= answer.timings.total_ms


def test_server_that_is_down_gives_a_store_error_naming_the_url(monkeypatch, tmp_path):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "no-config.toml"))
    settings = Settings(store_mode="http", chroma_host="127.0.0.1", chroma_port=port, llm_backend="none")
    with pytest.raises(StoreError) as caught:
        open_store(settings).count()
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}" in message
    assert "chroma run" in message  # says how to start it


def test_server_going_down_mid_session_gives_a_store_error_naming_the_url(chroma_server, http_settings):
    _index(http_settings)
    store = open_store(http_settings)
    assert store.count() > 0
    chroma_server.stop()
    try:
        with pytest.raises(StoreError) as caught:
            store.count()
        assert chroma_server.url in str(caught.value)
        with pytest.raises(StoreError) as caught:
            retrieve(QUERY, store, get_embedder(http_settings), 3)
        assert chroma_server.url in str(caught.value)
    finally:
        chroma_server.start()
    assert store.count() > 0, "the same store works again once the server is back"
