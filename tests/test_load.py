"""16 simultaneous chat sessions through gradio_client against the real app.

The queue admits one answer at a time (concurrency_limit 1). Each session checks that its answer
completes with valid citations and no error, and records the place in the queue the server reported to
it while it waited. Two runs: the extractive backend on the shared UI server, and the embedded local
LLM on a second server. Figures go to tests/artifacts/load.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.evaluation.bench.load import ask_simultaneously, load_figures
from rag.evaluation.questionset import parse_question_set
from tests.servers import UIServer, chat_server, copy_index

pytestmark = pytest.mark.model
SESSIONS = 16
ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = ROOT / "tests" / "artifacts" / "load.json"


@pytest.fixture(scope="module")
def local_llm_server(ui_server, tmp_path_factory) -> Iterator[UIServer]:  # noqa: F811
    from rag.models.files import ModelError, resolve_gguf_path
    from rag.settings import Settings

    try:
        resolve_gguf_path("local", None, Settings().models_dir)
    except ModelError as exc:
        pytest.skip(f"local LLM not built: {exc}")
    tmp = copy_index(ui_server, tmp_path_factory.mktemp("load-llm-server"))
    with chat_server(tmp, RAG_LLM_BACKEND="local") as server:
        yield server


def _simultaneous_sessions(url: str, timeout: float) -> tuple[list[dict], float]:
    """SESSIONS clients ask the dev set's answerable questions at the same moment."""
    questions = [q.question for q in parse_question_set(ROOT / "eval" / "dev.jsonl") if q.answerable]
    return ask_simultaneously(url, questions, SESSIONS, timeout)


def run_sessions(url: str, backend: str) -> dict:
    results, wall = _simultaneous_sessions(url, 1800)
    errors = [r.get("error", "no result") for r in results if "payload" not in r]
    assert not errors, errors
    for r in results:
        payload = r["payload"]
        numbers = {int(n) for n in re.findall(r"\[(\d+)\]", payload["answer"])}
        cited = {c["n"] for c in payload["citations"]}
        assert numbers == cited, payload
        # Every answer is refused, cited, or shows the reader which sentences no passage supports.
        assert payload["refused"] or cited or payload["unsupported_sentences"], payload
    # With one answer at a time, sessions that wait are told their place rather than timing out.
    ranks = [r["max_rank"] for r in results]
    assert max(ranks) >= 1, f"no session was ever told its place in the queue: {ranks}"
    figures = {**load_figures(results, wall), "backend": backend}
    print(figures)
    ARTIFACT.parent.mkdir(exist_ok=True)
    saved = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    saved[backend] = figures
    ARTIFACT.write_text(json.dumps(saved, indent=2))
    return figures


def test_sixteen_sessions_extractive_all_complete_with_valid_citations(ui_server):  # noqa: F811
    figures = run_sessions(ui_server.url, "none (extractive)")
    assert figures["refused"] < SESSIONS


def test_sixteen_sessions_share_the_local_llm_through_the_queue(local_llm_server):
    figures = run_sessions(local_llm_server.url, "local (Qwen2.5-Coder-1.5B, llama.cpp)")
    assert figures["refused"] < SESSIONS // 2, figures


@pytest.fixture(scope="module")
def small_queue_server(ui_server, tmp_path_factory) -> Iterator[UIServer]:  # noqa: F811
    tmp = copy_index(ui_server, tmp_path_factory.mktemp("small-queue-server"))
    with chat_server(tmp, RAG_MAX_QUEUE="2") as server:
        yield server


def test_a_full_queue_turns_requests_away_with_a_clear_message(small_queue_server):
    results, _wall = _simultaneous_sessions(small_queue_server.url, 600)
    answered = [r for r in results if "payload" in r]
    turned_away = [r["error"] for r in results if "error" in r]
    assert answered, "the server must keep answering the requests it admitted"
    assert turned_away, "16 simultaneous requests must overflow a queue of 2"
    assert all("queue is full" in error.lower() for error in turned_away), turned_away
    assert all(r["payload"]["citations"] for r in answered)
