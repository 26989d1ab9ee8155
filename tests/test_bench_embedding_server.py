"""`rag bench --embedding-server URL` without a model: the seed chunks through a fake server on 127.0.0.1
(tests/embedserver.py) beside a hashing embedder, the figures, the table's rows, and which server is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.evaluation.bench import BenchConfig
from rag.evaluation.bench.checks import build_checks
from rag.evaluation.bench.embedding_speed import bench_embedding_server, in_process, server_settings
from rag.evaluation.bench.figures import chunk_texts
from rag.models.embedding_server import ServerEmbedder
from tests.embedserver import DIMENSION, serve_embeddings
from tests.fakes import HashEmbedder

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_the_same_chunks_go_through_the_server_and_in_process_in_each_run(tmp_settings):
    lines: list[str] = []
    cfg = BenchConfig.make(quick=True, repeat=2, report=lines.append)
    local = HashEmbedder(DIMENSION)
    with serve_embeddings() as server:
        settings = server_settings(tmp_settings, server.url + "/v1")
        assert settings is not None
        remote = ServerEmbedder("openai", server.url + "/v1", "gemma", ("q: ", "d: "), 8)
        figures = bench_embedding_server(cfg, settings, local, remote, SEEDS)
    documents, texts = chunk_texts(settings, SEEDS)
    assert (figures["documents"], figures["chunks"]) == (documents, len(texts))
    sent = [text for inputs in server.inputs()[1:] for text in inputs]  # after the probe: warm-up, then 2 runs
    assert len(sent) == 4 + 2 * len(texts) and set(sent[4:]) == {"d: " + t for t in texts}
    assert len(lines) == 2 and "through the server" in lines[0]
    local_rate, server_rate = figures["in_process_chunks_per_s"], figures["server_chunks_per_s"]
    assert figures["ratio_server_in_process"] == pytest.approx(server_rate / local_rate, rel=0.01)
    hours = figures["hours_for_100k_articles_server"]
    assert hours == pytest.approx(100_000 * len(texts) / documents / server_rate / 3600, abs=0.06)
    assert -1 <= figures["min_cosine"] < 0.99  # a fake server's vectors are not the hashing embedder's
    assert figures["url"] == f"{server.url}/v1/embeddings" and figures["batches_at_once"] == 4


def test_the_table_shows_the_server_beside_in_process_or_says_how_to_ask_for_it():
    figures = {
        "url": "http://127.0.0.1:7997/embeddings",
        "backend": "openai",
        "server_chunks_per_s": 6.0,
        "in_process_chunks_per_s": 8.0,
        "ratio_server_in_process": 0.75,
        "hours_for_100k_articles_server": 30.1,
        "hours_for_100k_articles_in_process": 22.6,
        "min_cosine": 0.999999,
    }
    checks = {c["name"]: c for c in build_checks({"embedding_server": figures})}
    assert checks["server_embed_chunks_per_s"]["value"] == 6.0
    assert checks["server_embed_chunks_per_s"]["note"] == "openai at http://127.0.0.1:7997/embeddings"
    assert checks["server_embed_ratio"]["value"] == 0.75 and checks["server_embed_ratio"]["status"] == "INFO"
    assert checks["server_hours_for_100k_articles"]["value"] == 30.1
    assert checks["in_process_hours_for_100k_articles"]["value"] == 22.6
    missing = {"available": False, "reason": "no embedding server: rag bench --embedding-server URL"}
    row = {c["name"]: c for c in build_checks({"embedding_server": missing})}["server_embed_chunks_per_s"]
    assert row["status"] == "N/A" and "--embedding-server" in row["note"]


def test_the_option_chooses_the_server_else_the_configured_one(tmp_settings):
    assert server_settings(tmp_settings, None) is None  # local backend, no option: nothing to measure
    chosen = server_settings(tmp_settings, "http://127.0.0.1:7997")
    assert chosen is not None and (chosen.embedding_backend, chosen.embedding_base_url) == (
        "openai",
        "http://127.0.0.1:7997",
    )
    configured = tmp_settings.model_copy(update={"embedding_backend": "ollama", "embedding_base_url": "http://h:1"})
    assert server_settings(configured, None) is configured
    local = HashEmbedder()
    assert in_process(tmp_settings, local) is local
