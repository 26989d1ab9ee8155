"""The measurements of `rag bench`; each returns the JSON-ready figures of one section of the results.

Latency percentiles are rag.evaluation.summary.percentile: linear interpolation between the closest ranks (numpy's
default method), so a p95 over few samples lies between the two largest, not on a sample (nearest rank).
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rag.evaluation.bench.config import BENCH_COLLECTION, BenchConfig
from rag.evaluation.bench.harness import (
    ASK_ENDPOINT,
    ChatServer,
    ask_through_gradio,
    dir_size_mb,
    proc_status,
    run_cli,
    run_in_fresh_process,
    sub_env,
    timed,
)
from rag.evaluation.summary import percentile

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from rag.evaluation.questionset import Question
    from rag.models.embedding import Embedder
    from rag.settings import Settings

SYNTHETIC_DIM = 768  # EmbeddingGemma-300M
SYNTHETIC_TEXT_CHARS = 520  # about one real chunk (chunk_max_chars=600)


def latency_summary(runs: list[list[float]]) -> dict[str, Any]:
    """p50/p95 of each run, then the median of those over the runs (one slow run does not move the figure)."""
    runs = [r for r in runs if r]
    if not runs:
        return {"p50": None, "p95": None, "runs": 0, "samples_per_run": 0}
    return {
        "p50": round(statistics.median(p for r in runs if (p := percentile(r, 50)) is not None), 2),
        "p95": round(statistics.median(p for r in runs if (p := percentile(r, 95)) is not None), 2),
        "runs": len(runs),
        "samples_per_run": len(runs[0]),
    }


# -- 1. indexing throughput vs plain encode -------------------------------------
def chunk_texts(settings: Settings, seeds: Path) -> tuple[int, list[str]]:
    """The number of seed documents and the texts of their chunks, as index_paths would embed them."""
    from rag.ingest.chunking import chunk_document
    from rag.ingest.pipeline import collect_files, load_documents

    files, skipped = collect_files([seeds])
    documents = load_documents(files, skipped)
    texts = [
        c.text for d in documents for c in chunk_document(d, settings.chunk_max_chars, settings.chunk_overlap_sentences)
    ]
    return len(documents), texts


def _sentence_transformer(embedder: Embedder, settings: Settings) -> SentenceTransformer:
    """The embedder's own SentenceTransformer (same weights and threads), or a fresh one."""
    model = getattr(embedder, "_model", None)
    if model is not None and hasattr(model, "encode"):
        return model
    from sentence_transformers import SentenceTransformer

    from rag.models.files import resolve_embedding_path

    return SentenceTransformer(resolve_embedding_path(settings.embedding_model, settings.models_dir), device="cpu")


def _plain_encode(model: SentenceTransformer, texts: list[str], settings: Settings, batch_size: int) -> float:
    seconds, _ = timed(
        lambda: model.encode(
            texts,
            prompt=settings.document_prompt,
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    )
    return seconds


def bench_indexing(
    cfg: BenchConfig, settings: Settings, embedder: Embedder, seeds: Path, work: Path
) -> tuple[dict[str, Any], Path]:
    """Alternate index_paths runs and plain encodes of the same texts; returns the figures and an index dir."""
    from rag.ingest.pipeline import index_paths
    from rag.store.chroma import open_store

    n_docs, texts = chunk_texts(settings, seeds)
    model = _sentence_transformer(embedder, settings)
    _plain_encode(model, texts[:4], settings, settings.embedding_batch_size)  # warm-up
    index_runs: list[float] = []
    plain_runs: list[float] = []
    index_dir = work / "seed-index-0"
    for i in range(cfg.repeat):
        index_dir = work / f"seed-index-{i}"
        run_settings = settings.model_copy(update={"index_dir": index_dir})
        report = index_paths([seeds], run_settings, open_store(run_settings), lambda: embedder, rebuild=True)
        index_runs.append(report.seconds)
        plain_runs.append(_plain_encode(model, texts, settings, settings.embedding_batch_size))
        cfg.report(
            f"  run {i + 1}/{cfg.repeat}: index_paths {report.chunks_embedded} chunks in {report.seconds:.1f} s, "
            f"plain encode {len(texts)} in {plain_runs[-1]:.1f} s"
        )
        if report.chunks_embedded != len(texts):
            raise RuntimeError(f"index_paths embedded {report.chunks_embedded} chunks, expected {len(texts)}")
    for stale in work.glob("seed-index-*"):
        if stale != index_dir:
            shutil.rmtree(stale, ignore_errors=True)
    index_s, plain_s = statistics.median(index_runs), statistics.median(plain_runs)
    return (
        {
            "documents": n_docs,
            "chunks": len(texts),
            "batch_size": settings.embedding_batch_size,
            "index_s": round(index_s, 2),
            "plain_encode_s": round(plain_s, 2),
            "index_chunks_per_s": round(len(texts) / index_s, 2),
            "plain_encode_chunks_per_s": round(len(texts) / plain_s, 2),
            "overhead_ratio": round(index_s / plain_s, 3),
            "runs": {"index_s": [round(x, 2) for x in index_runs], "plain_encode_s": [round(x, 2) for x in plain_runs]},
            "note": "overhead_ratio = index_paths seconds / plain SentenceTransformer.encode seconds (1.0 = none)",
        },
        index_dir,
    )


def bench_batch_sizes(cfg: BenchConfig, settings: Settings, embedder: Embedder, seeds: Path) -> list[dict[str, Any]]:
    _, texts = chunk_texts(settings, seeds)
    model = _sentence_transformer(embedder, settings)
    rows = []
    for batch in cfg.batch_sizes:
        runs = [_plain_encode(model, texts, settings, batch) for _ in range(cfg.lever_repeat)]
        seconds = statistics.median(runs)
        rows.append(
            {
                "batch_size": batch,
                "seconds": round(seconds, 2),
                "chunks_per_s": round(len(texts) / seconds, 2),
                "runs": len(runs),
            }
        )
        cfg.report(f"  batch {batch}: {len(texts) / seconds:.2f} chunks/s")
    return rows


# -- 2. re-index with nothing changed -----------------------------------------
def bench_reindex(cfg: BenchConfig, settings: Settings, seeds: Path, index_dir: Path) -> dict[str, Any]:
    from rag.ingest.pipeline import index_paths
    from rag.store.chroma import open_store

    run_settings = settings.model_copy(update={"index_dir": index_dir})

    def must_not_load() -> NoReturn:
        raise RuntimeError("re-index with nothing changed loaded the embedding model")

    runs, cli_runs = [], []
    for _ in range(cfg.repeat):
        report = index_paths([seeds], run_settings, open_store(run_settings), must_not_load)
        if report.changed:
            raise RuntimeError("re-index of unchanged seeds reported changes")
        runs.append(report.seconds)
    for _ in range(cfg.repeat):
        seconds, result = run_cli(["index", str(seeds)], sub_env(settings, index_dir))
        if "0 chunks embedded" not in result.stdout:
            raise RuntimeError(f"`rag index` re-embedded unchanged seeds: {result.stdout.strip()}")
        cli_runs.append(seconds)
    return {
        "seconds": round(statistics.median(runs), 3),
        "cli_seconds": round(statistics.median(cli_runs), 2),
        "runs": [round(x, 3) for x in runs],
        "cli_runs": [round(x, 2) for x in cli_runs],
        "note": "seconds: index_paths in this process; cli_seconds: `rag index` subprocess incl. start-up",
    }


# -- 3. retrieval -------------------------------------------------------------
def _unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    import numpy as np

    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def synthetic_child(args: dict[str, Any]) -> dict[str, Any]:
    """Runs in a fresh interpreter: 'build' writes a synthetic store, 'query' opens it and times queries."""
    import numpy as np

    from rag.settings import Settings
    from rag.store.chroma import open_store
    from rag.store.records import ChunkRecord, Signature, chunk_metadata
    from rag.types import Document

    rss_start = proc_status()
    settings = Settings(index_dir=Path(args["dir"]), store_mode="persistent", collection=BENCH_COLLECTION)
    rng = np.random.default_rng(args.get("seed", 0))
    if args["mode"] == "build":
        size, dim = int(args["size"]), int(args["dim"])
        words = ["lorem", "ipsum", "dolor", "sit", "amet", "elit", "sed", "do", "eiusmod", "tempor", "Bericht"]
        started = time.perf_counter()
        store = open_store(settings)
        generation = store.begin(Signature("synthetic-unit-vectors", dim, "synthetic"))
        step = 2_000
        for start in range(0, size, step):
            n = min(step, size - start)
            vectors = _unit_vectors(rng, n, dim)
            picks = rng.integers(0, len(words), size=(n, SYNTHETIC_TEXT_CHARS // 6))
            records = []
            for j in range(n):
                i = start + j
                text = " ".join(words[w] for w in picks[j])[:SYNTHETIC_TEXT_CHARS]
                doc = Document(f"doc{i // 10:06d}", f"Synthetic {i // 10}", None, "synthetic", text, ())  # 10 chunks
                meta = chunk_metadata(doc, "0", i % 10, 0, len(text), [(0, len(text))])
                records.append(ChunkRecord(f"c{i:07d}", text, vectors[j].tolist(), meta))
            generation.add(records)
        generation.commit()
        seconds = time.perf_counter() - started
        return {"write_s": round(seconds, 2), "write_chunks_per_s": round(size / seconds, 1), "count": store.count()}
    # query
    dim, k = int(args["dim"]), int(args["k"])
    queries = _unit_vectors(rng, max(1, int(args["queries"])), dim)
    started = time.perf_counter()
    store = open_store(settings)
    first = store.query(queries[0].tolist(), k)
    first_ms = (time.perf_counter() - started) * 1000
    if len(first) != min(k, store.count()):
        raise RuntimeError(f"synthetic query returned {len(first)} results")
    for q in queries[1:4]:  # warm-up
        store.query(q.tolist(), k)
    runs = []
    for _ in range(int(args["repeat"])):
        times = []
        for q in queries:
            t0 = time.perf_counter()
            store.query(q.tolist(), k)
            times.append((time.perf_counter() - t0) * 1000)
        runs.append(times)
    rss_end = proc_status()
    return {
        "first_query_ms": round(first_ms, 1),
        "latency_ms": latency_summary(runs),
        "rss_mb": rss_end.get("VmRSS"),
        "rss_delta_mb": round(rss_end.get("VmRSS", 0) - rss_start.get("VmRSS", 0), 1),
        "peak_rss_mb": rss_end.get("VmHWM"),
    }


def bench_synthetic(cfg: BenchConfig, settings: Settings, work: Path) -> list[dict[str, Any]]:
    """Store query latency and RSS at each size; build and query run in fresh processes of their own."""
    rows = []
    for size in cfg.sizes:
        folder = work / f"synthetic-{size}"
        build = run_in_fresh_process(
            synthetic_child, {"mode": "build", "dir": str(folder), "size": size, "dim": SYNTHETIC_DIM}
        )
        query = run_in_fresh_process(
            synthetic_child,
            {
                "mode": "query",
                "dir": str(folder),
                "dim": SYNTHETIC_DIM,
                "k": settings.top_k,
                "queries": cfg.queries_per_run,
                "repeat": cfg.repeat,
                "seed": 1,
            },
        )
        row = {
            "size": size,
            "dim": SYNTHETIC_DIM,
            "count": build["count"],
            "p50_ms": query["latency_ms"]["p50"],
            "p95_ms": query["latency_ms"]["p95"],
            "first_query_ms": query["first_query_ms"],
            "write_s": build["write_s"],
            "write_chunks_per_s": build["write_chunks_per_s"],
            "rss_mb": query["rss_mb"],
            "rss_delta_mb": query["rss_delta_mb"],
            "peak_rss_mb": query["peak_rss_mb"],
            "store_mb": dir_size_mb(folder),
            "queries": "random unit vectors (store query only, k=top_k, fresh process)",
            "runs": query["latency_ms"]["runs"],
            "queries_per_run": query["latency_ms"]["samples_per_run"],
        }
        rows.append(row)
        cfg.report(
            f"  {size:>7} chunks: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, first {row['first_query_ms']} ms, "
            f"RSS {row['rss_mb']} MB, store {row['store_mb']} MB (written in {row['write_s']} s)"
        )
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def bench_seed_retrieval(
    cfg: BenchConfig, settings: Settings, embedder: Embedder, index_dir: Path, questions: Sequence[Question]
) -> dict[str, Any]:
    """Full retrieval on the seed index, and its two parts (query embedding, store query) timed apart."""
    from rag.answering.retrieve import retrieve
    from rag.store.chroma import open_store

    store = open_store(settings.model_copy(update={"index_dir": index_dir}))
    texts = [q.question for q in questions]
    retrieve(texts[0], store, embedder, settings.top_k)  # warm-up
    full, embed, query = [], [], []
    for _ in range(cfg.repeat):
        f, e, s = [], [], []
        for text in texts:
            f.append(retrieve(text, store, embedder, settings.top_k).ms)
            seconds, vector = timed(partial(embedder.embed_query, text))
            e.append(seconds * 1000)
            seconds, _ = timed(partial(store.query, vector, settings.top_k))
            s.append(seconds * 1000)
        full.append(f)
        embed.append(e)
        query.append(s)
    summary, e_summary, s_summary = latency_summary(full), latency_summary(embed), latency_summary(query)
    return {
        "chunks": store.count(),
        "p50_ms": summary["p50"],
        "p95_ms": summary["p95"],
        "embed_query_p50_ms": e_summary["p50"],
        "embed_query_p95_ms": e_summary["p95"],
        "store_query_p50_ms": s_summary["p50"],
        "store_query_p95_ms": s_summary["p95"],
        "store_mb": dir_size_mb(index_dir),
        "queries": f"real query embeddings of {len(texts)} questions from {cfg.questions_file.name}",
        "runs": summary["runs"],
    }


# -- 5/6. cold start and the chat server ---------------------------------------
def bench_cold_start(cfg: BenchConfig, settings: Settings, index_dir: Path, question: str) -> dict[str, Any]:
    env = sub_env(settings, index_dir)
    help_runs = [run_cli(["--help"], env)[0] for _ in range(max(cfg.repeat, 3))]
    ask_runs = [run_cli(["ask", question, "--llm", "none"], env)[0] for _ in range(cfg.repeat)]
    out: dict[str, Any] = {
        "help_s": round(statistics.median(help_runs), 3),
        "help_runs": [round(x, 3) for x in help_runs],
        "first_ask_none_s": round(statistics.median(ask_runs), 2),
        "first_ask_none_runs": [round(x, 2) for x in ask_runs],
        "note": "fresh `rag` processes; model files are in the OS page cache (warm disk), as after any earlier use",
    }
    if not cfg.skip_llm:
        # Without a saved prompt-prefix state (the first start after setup or a prompt change), then with it.
        for saved in (settings.cache_dir / "prefix-state").glob("prefix-*.bin"):
            saved.unlink()
        seconds, _ = run_cli(["ask", question, "--llm", "local"], env)
        out["first_ask_local_prefix_evaluated_s"] = round(seconds, 2)
        seconds, _ = run_cli(["ask", question, "--llm", "local"], env)
        out["first_ask_local_s"] = round(seconds, 2)
    return out


def bench_chat(cfg: BenchConfig, settings: Settings, index_dir: Path, work: Path, question: str) -> dict[str, Any]:
    """Time until `rag chat` serves its page (backend none), then its peak RSS after one local LLM answer."""
    out: dict[str, Any] = {"available": True}
    server = ChatServer(settings, index_dir, "none", work / "chat-none.log")
    try:
        out["ready_s"] = round(server.wait_ready(), 2)
        out["ready_backend"] = "none"
    except Exception as exc:
        out["ready_error"] = str(exc)
    finally:
        server.stop()
    if cfg.skip_llm:
        out["peak_rss"] = {"available": False, "reason": "skipped (--skip-llm)"}
        return out
    server = ChatServer(settings, index_dir, "local", work / "chat-local.log")
    try:
        ready = server.wait_ready()
        before = proc_status(server.proc.pid)
        seconds, _ = timed(lambda: ask_through_gradio(server.url, question))
        after = proc_status(server.proc.pid)
        out["peak_rss"] = {
            "available": True,
            "backend": "local",
            "ready_s": round(ready, 2),
            "endpoint": ASK_ENDPOINT,
            "answer_s": round(seconds, 2),
            "rss_ready_mb": before.get("VmRSS"),
            "rss_after_mb": after.get("VmRSS"),
            "peak_rss_mb": after.get("VmHWM"),
        }
        # A fresh `rag ask` with the same settings sends the question to the running chat.
        env = sub_env(settings, index_dir, RAG_LLM_BACKEND="local", RAG_HOST="127.0.0.1", RAG_PORT=str(server.port))
        seconds, asked = run_cli(["ask", question], env)
        out["peak_rss"]["ask_served_s"] = round(seconds, 2)
        out["peak_rss"]["ask_served_by_chat"] = "answered by the chat" in asked.stderr
    except Exception as exc:
        out["peak_rss"] = {"available": False, "reason": f"error: {exc}"}
    finally:
        server.stop()
    return out
