"""16 simultaneous chat sessions through gradio_client against the real app (extractive backend).

The queue admits one answer at a time (concurrency_limit 1), so this checks that every session still
completes with valid citations and no errors. Figures go to tests/artifacts/load.json.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
from pathlib import Path

import pytest

from rag.questionset import parse_question_set
from tests.test_ui_app import ui_server  # noqa: F401  (session fixture: one server for all UI tests)

pytestmark = pytest.mark.integration
SESSIONS = 16
ROOT = Path(__file__).resolve().parent.parent


def test_sixteen_simultaneous_sessions_all_complete_with_valid_citations(ui_server):  # noqa: F811
    from gradio_client import Client

    questions = [q.question for q in parse_question_set(ROOT / "eval" / "dev.jsonl") if q.answerable]
    results: list[dict] = [{} for _ in range(SESSIONS)]
    start = threading.Barrier(SESSIONS)

    def session(i: int) -> None:
        try:
            client = Client(ui_server.url, verbose=False)
            start.wait(120)
            t0 = time.perf_counter()
            payload = client.predict(questions[i % len(questions)], "[]", api_name="/ask")
            results[i] = {"payload": payload, "seconds": time.perf_counter() - t0}
        except Exception as exc:  # recorded, asserted below
            results[i] = {"error": f"{type(exc).__name__}: {exc}"}

    began = time.perf_counter()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    wall = time.perf_counter() - began

    errors = [r["error"] for r in results if "error" in r]
    assert not errors, errors
    latencies = sorted(r["seconds"] for r in results)
    for r in results:
        payload = r["payload"]
        numbers = {int(n) for n in re.findall(r"\[(\d+)\]", payload["answer"])}
        cited = {c["n"] for c in payload["citations"]}
        assert numbers == cited, payload
        assert payload["refused"] or cited
    figures = {
        "sessions": SESSIONS,
        "errors": len(errors),
        "wall_s": round(wall, 2),
        "throughput_answers_per_s": round(SESSIONS / wall, 2),
        "latency_p50_s": round(statistics.median(latencies), 2),
        "latency_p95_s": round(latencies[int(0.95 * (SESSIONS - 1))], 2),
        "backend": "none (extractive)",
    }
    print(figures)
    out = ROOT / "tests" / "artifacts"
    out.mkdir(exist_ok=True)
    (out / "load.json").write_text(json.dumps(figures, indent=2))
