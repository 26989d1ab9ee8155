"""The real Infinity server (tests/infinity.py) against the in-process embedder, both serving EmbeddingGemma:
the same vectors for every seed chunk and every dev question (each with its prompt, as in-process), the same
ranked chunks on eval/dev.jsonl, `rag index` and `rag search` through it from the command line, and the bench's
chunks/s through it beside in-process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answering.retrieval import retrieve
from rag.evaluation.bench import BenchConfig
from rag.evaluation.bench.embedding_speed import bench_embedding_server
from rag.evaluation.bench.figures import chunk_texts
from rag.evaluation.questionset import parse_question_set
from rag.ingest.pipeline import index_paths
from rag.models.embedding import Embedder, cosines, get_embedder
from rag.models.embedding_server import ServerEmbedder
from rag.settings import Settings
from rag.store.chroma import open_store
from tests.infinity import InfinityServer, infinity_server

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEV = ROOT / "eval" / "dev.jsonl"
MIN_COSINE = 0.999


@pytest.fixture(scope="module")
def infinity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfinityServer]:
    with infinity_server(tmp_path_factory.mktemp("infinity")) as server:
        yield server


def local_settings(index_dir: Path) -> Settings:
    return Settings(index_dir=index_dir, cache_dir=Path.home() / ".cache" / "newsrag", llm_backend="none")


def served_settings(index_dir: Path, server: InfinityServer) -> Settings:
    return local_settings(index_dir).model_copy(
        update={"embedding_backend": "openai", "embedding_base_url": server.url, "embedding_model": server.model}
    )


def _pairwise(a: list[list[float]], b: list[list[float]]) -> list[float]:
    return [cosines(x, [y])[0] for x, y in zip(a, b, strict=True)]


def test_every_seed_chunk_and_dev_question_gets_the_in_process_vector(infinity, tmp_path):
    settings = local_settings(tmp_path / "index")
    local = get_embedder(settings)
    served = get_embedder(served_settings(tmp_path / "index", infinity))
    assert isinstance(served, ServerEmbedder) and served.dimension == local.dimension
    _, texts = chunk_texts(settings, SEEDS)
    documents = _pairwise(local.embed_documents(texts), served.embed_documents(texts))
    questions = [q.question for q in parse_question_set(DEV)]
    queries = _pairwise([local.embed_query(q) for q in questions], [served.embed_query(q) for q in questions])
    print(f"\ncosine in-process/Infinity: {len(texts)} seed chunks min {min(documents):.6f}, "
          f"{len(questions)} dev questions min {min(queries):.6f}")  # fmt: skip
    worst = min(range(len(texts)), key=documents.__getitem__)
    assert min(documents) >= MIN_COSINE, f"chunk {worst}: {documents[worst]:.6f}: {texts[worst][:120]!r}"
    worst = min(range(len(questions)), key=queries.__getitem__)
    assert min(queries) >= MIN_COSINE, f"question {questions[worst]!r}: {queries[worst]:.6f}"


def test_the_bench_measures_the_same_chunks_through_the_server_and_in_process(infinity, tmp_path):
    settings = local_settings(tmp_path / "index")
    served = get_embedder(served_settings(tmp_path / "index", infinity))
    cfg = BenchConfig.make(quick=True, repeat=1, report=print)
    figures = bench_embedding_server(cfg, settings, get_embedder(settings), served, SEEDS)
    print(f"\nbench: {figures}")
    assert figures["min_cosine"] >= MIN_COSINE and figures["chunks"] == len(chunk_texts(settings, SEEDS)[1])
    assert figures["server_chunks_per_s"] > 0 and figures["in_process_chunks_per_s"] > 0
    assert figures["hours_for_100k_articles_server"] > 0


def _index(settings: Settings, seeds: Path, embedder: Embedder) -> dict[str, list[str]]:
    """The seeds indexed with `embedder`; each dev question's ranked chunk ids (top_k) from that index."""
    store = open_store(settings)
    report = index_paths([seeds], settings, store, lambda: embedder)
    assert report.chunks_embedded > 0
    return {
        q.id: [c.chunk_id for c in retrieve(q.question, store, embedder, settings.top_k).chunks]
        for q in parse_question_set(DEV)
    }


def test_retrieval_on_dev_is_unchanged_through_the_server(infinity, tmp_path, seeds_copy):
    here_settings = local_settings(tmp_path / "in-process")
    there_settings = served_settings(tmp_path / "served", infinity)
    here = _index(here_settings, seeds_copy, get_embedder(here_settings))
    there = _index(there_settings, seeds_copy, get_embedder(there_settings))
    differ = {q: (here[q], there[q]) for q in here if here[q] != there[q]}
    print(f"\nretrieval on dev through Infinity: the same ranked chunks for {len(here) - len(differ)} of {len(here)}")
    assert len(here) == 24 and all(len(ids) == here_settings.top_k for ids in here.values())
    assert differ == {}


def _rag(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_rag_index_and_search_through_the_server_from_the_command_line(infinity, tmp_path, seeds_copy):
    (tmp_path / "rag.toml").write_text("", encoding="utf-8")  # ignore a developer's ./rag.toml
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAG_")}
    env |= {
        "RAG_CONFIG": str(tmp_path / "rag.toml"),
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_LLM_BACKEND": "none",
        "RAG_EMBEDDING_BACKEND": "openai",
        "RAG_EMBEDDING_BASE_URL": infinity.url,
        "RAG_EMBEDDING_MODEL": infinity.model,
    }
    indexed = _rag(["index", str(seeds_copy)], env)
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    _, texts = chunk_texts(local_settings(tmp_path / "index"), seeds_copy)
    embedded = re.search(r"(\d+) chunks embedded, (\d+) in the index", indexed.stdout)
    assert embedded and int(embedded[1]) == int(embedded[2]) == len(texts), indexed.stdout
    searched = _rag(["search", "Wer ist der Generalsekretär der NATO?", "-k", "3", "--json"], env)
    assert searched.returncode == 0, searched.stderr[-2000:]
    results = json.loads(searched.stdout)["results"]
    assert len(results) == 3 and results[0]["score"] > 0
    again = _rag(["index", str(seeds_copy)], env)  # nothing changed: nothing is sent to the server again
    assert again.returncode == 0 and "0 chunks embedded" in again.stdout, again.stdout + again.stderr[-2000:]
