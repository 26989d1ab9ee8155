"""Embedding speed through a server (`rag bench --embedding-server URL`, or the configured openai/ollama backend)
beside the in-process model: the same seed chunks embedded both ways in the same run, alternately, with each
way's chunks/s, their ratio, the lowest cosine between the two vectors of a chunk, and the hours each would take
for 100,000 articles at the seeds' chunks per article."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.evaluation.bench.config import BenchConfig
from rag.evaluation.bench.figures import chunk_texts, projected_hours
from rag.evaluation.bench.harness import timed

if TYPE_CHECKING:
    from rag.models import Embedder
    from rag.settings import Settings

SERVER_BACKENDS = ("openai", "ollama")


def server_settings(settings: Settings, url: str | None) -> Settings | None:
    """The settings of the embedding server to measure: `url` as an OpenAI-compatible server (Infinity, TEI, vLLM,
    llama.cpp's server), else the configured backend when it is a server; None when there is none to measure."""
    if url:
        return settings.model_copy(update={"embedding_backend": "openai", "embedding_base_url": url})
    if settings.embedding_backend in SERVER_BACKENDS:
        return settings
    return None


def in_process(settings: Settings, embedder: Embedder) -> Embedder:
    """The in-process embedder: the bench's own when it is local, else the local model loaded here."""
    if embedder.backend == "local":
        return embedder
    from rag.models import get_embedder

    return get_embedder(settings.model_copy(update={"embedding_backend": "local"}))


def _min_cosine(a: list[list[float]], b: list[list[float]]) -> float:
    """The lowest cosine of a chunk's two vectors (both embedders return unit vectors)."""
    return min(sum(x * y for x, y in zip(u, v, strict=True)) for u, v in zip(a, b, strict=True))


def bench_embedding_server(
    cfg: BenchConfig, settings: Settings, local: Embedder, server: Embedder, seeds: Path
) -> dict[str, Any]:
    """embed_documents of every seed chunk, in process and through the server, alternately cfg.repeat times."""
    documents, texts = chunk_texts(settings, seeds)
    for embedder in (local, server):  # warm-up: the first batch through a server may load or compile its model
        embedder.embed_documents(texts[:4])
    local_runs: list[float] = []
    server_runs: list[float] = []
    min_cosine = 1.0
    for i in range(cfg.repeat):
        local_s, here = timed(lambda: local.embed_documents(texts))
        server_s, there = timed(lambda: server.embed_documents(texts))
        local_runs.append(local_s)
        server_runs.append(server_s)
        min_cosine = min(min_cosine, _min_cosine(here, there))
        cfg.report(
            f"  run {i + 1}/{cfg.repeat}: {len(texts)} chunks in process in {local_s:.1f} s, "
            f"through the server in {server_s:.1f} s"
        )
    local_rate = len(texts) / statistics.median(local_runs)
    server_rate = len(texts) / statistics.median(server_runs)
    return {
        "url": getattr(server, "url", None),
        "backend": server.backend,
        "model": server.model_id,
        "documents": documents,
        "chunks": len(texts),
        "batch_size": settings.embedding_batch_size,
        "batches_at_once": server.batches_at_once,
        "in_process_chunks_per_s": round(local_rate, 2),
        "server_chunks_per_s": round(server_rate, 2),
        "ratio_server_in_process": round(server_rate / local_rate, 3),
        "hours_for_100k_articles_in_process": projected_hours(len(texts), documents, local_rate),
        "hours_for_100k_articles_server": projected_hours(len(texts), documents, server_rate),
        "min_cosine": round(min_cosine, 6),
        "runs": {"in_process_s": [round(x, 2) for x in local_runs], "server_s": [round(x, 2) for x in server_runs]},
        "note": "embed_documents of the same texts with the document prompt, alternately; the median of the runs. "
        "A server on this machine shares its cores with the bench; the vectors are compared chunk by chunk.",
    }
