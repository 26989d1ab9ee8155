"""Many people at once: simultaneous chat sessions through the chat server's Gradio API, and their figures.

Used by `rag bench` (the 16-user figure against the in-process model and against llama.cpp's own server with
parallel slots) and by tests/test_load.py, which asserts on the same sessions.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.evaluation.bench.config import ROOT, BenchConfig
from rag.evaluation.bench.harness import ASK_ENDPOINT, ChatServer, ServerProcess, free_port
from rag.evaluation.summary import percentile, rounded

if TYPE_CHECKING:
    from rag.settings import Settings

POLL_S = 0.2  # how often a waiting session asks its place in the queue; often enough to see it, cheap on 2 cores


def _session(url: str, question: str, start: threading.Barrier, timeout: float) -> dict[str, Any]:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        start.wait(300)
        started = time.perf_counter()
        job = client.submit(question, "[]", api_name=ASK_ENDPOINT)
        max_rank = 0
        while not job.done():
            rank = job.status().rank
            max_rank = max(max_rank, rank or 0)
            time.sleep(POLL_S)
        payload = job.result(timeout=timeout)
        return {"payload": payload, "seconds": time.perf_counter() - started, "max_rank": max_rank}
    except Exception as exc:  # recorded per session; the caller counts and reports errors
        return {"error": f"{type(exc).__name__}: {exc}"}


def ask_simultaneously(
    url: str, questions: Sequence[str], sessions: int, timeout: float = 1800
) -> tuple[list[dict[str, Any]], float]:
    """`sessions` clients, each with its own connection, ask at the same moment (question i mod len(questions));
    each session's payload or error, and the wall time until the last one finished."""
    results: list[dict[str, Any]] = [{} for _ in range(sessions)]
    start = threading.Barrier(sessions)

    def run(i: int) -> None:
        results[i] = _session(url, questions[i % len(questions)], start, timeout)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results, time.perf_counter() - began


def load_figures(results: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """Latency p50/p95 over the sessions that were answered, errors, throughput and queue places."""
    answered = [r for r in results if "payload" in r]
    latencies = [r["seconds"] for r in answered]
    return {
        "sessions": len(results),
        "errors": len(results) - len(answered),
        "error_messages": sorted({r.get("error", "no result") for r in results if "payload" not in r}),
        "wall_s": round(wall_s, 2),
        "throughput_answers_per_s": round(len(answered) / wall_s, 3) if wall_s else None,
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": rounded(percentile(latencies, 95), 2),
        "refused": sum(bool(r["payload"]["refused"]) for r in answered),
        "sessions_told_their_queue_place": sum(r["max_rank"] >= 1 for r in answered),
    }


def llama_server_binary() -> tuple[Path | None, str]:
    """The cached llama-server (scripts/llama_server.py builds it), or None and why not."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "llama_server.py"), "path"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return None, (result.stderr or result.stdout).strip() or "scripts/llama_server.py path failed"
    return Path(result.stdout.strip()), ""


class LlamaServer(ServerProcess):
    """llama.cpp's llama-server on 127.0.0.1 with `slots` parallel slots, ready when /health answers 200."""

    name = "llama-server"
    grace_s = 10.0

    def __init__(self, binary: Path, gguf: Path, slots: int, threads: int, context_per_slot: int, log: Path) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}/v1"
        command = [
            str(binary),
            "--model", str(gguf),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--parallel", str(slots),
            "--ctx-size", str(slots * context_per_slot),  # split evenly between the slots
            "--threads", str(threads),
            "--cont-batching",
        ]  # fmt: skip
        super().__init__(command, log, f"http://127.0.0.1:{port}/health")


def _sessions_against(cfg: BenchConfig, server: ChatServer, questions: Sequence[str]) -> dict[str, Any]:
    try:
        ready = server.wait_ready()
        results, wall = ask_simultaneously(server.url, questions, cfg.load_sessions)
        figures = load_figures(results, wall)
        cfg.report(
            f"  {figures['sessions']} sessions: p50 {figures['latency_p50_s']} s, p95 {figures['latency_p95_s']} s, "
            f"{figures['errors']} errors, wall {figures['wall_s']} s"
        )
        return {"available": True, "chat_ready_s": round(ready, 2), **figures}
    finally:
        server.stop()


def bench_load(
    cfg: BenchConfig, settings: Settings, index_dir: Path, work: Path, questions: Sequence[str]
) -> dict[str, Any]:
    """cfg.load_sessions people ask at once: the chat server with the in-process model (one answer at a time),
    then the same chat server on llama-server with cfg.server_slots parallel slots (the `openai` backend)."""
    from rag.models import resolve_gguf_path

    out: dict[str, Any] = {"sessions": cfg.load_sessions, "slots": cfg.server_slots}
    cfg.report("  in-process model (local backend)")
    out["local"] = _sessions_against(cfg, ChatServer(settings, index_dir, "local", work / "load-local.log"), questions)
    binary, why = llama_server_binary()
    if binary is None:
        out["llama_server"] = {"available": False, "reason": why}
        return out
    gguf = resolve_gguf_path("local", "", settings.models_dir)
    cfg.report(f"  llama-server, {cfg.server_slots} slots (openai backend)")
    server = LlamaServer(binary, gguf, cfg.server_slots, settings.llm_threads, settings.llm_context_window,
                         work / "llama-server.log")  # fmt: skip
    try:
        server_ready = server.wait_ready(timeout=300)
        chat = ChatServer(
            settings,
            index_dir,
            "openai",
            work / "load-openai.log",
            RAG_LLM_BASE_URL=server.base_url,
            RAG_LLM_MODEL=gguf.name,
            RAG_CONCURRENCY_LIMIT=str(cfg.server_slots),  # the chat queue lets as many answers run as there are slots
        )
        out["llama_server"] = {"server_ready_s": round(server_ready, 2), **_sessions_against(cfg, chat, questions)}
    finally:
        server.stop()
    return out
