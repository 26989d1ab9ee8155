"""The measurements of `rag bench`; each returns the JSON-ready figures of one section of the results.

Latency percentiles are rag.evaluation.summary.percentile: linear interpolation between the closest ranks (numpy's
default method), so a p95 over few samples lies between the two largest, not on a sample (nearest rank).
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rag.evaluation.bench.config import BenchConfig
from rag.evaluation.bench.harness import (
    ASK_ENDPOINT,
    ChatServer,
    ask_through_gradio,
    dir_size_mb,
    proc_status,
    run_cli,
    sub_env,
    timed,
)
from rag.evaluation.summary import percentile

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from rag.evaluation.questionset import Question
    from rag.models import Embedder
    from rag.settings import Settings


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
    from rag.ingest import chunk_document, collect_files, load_documents

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

    from rag.models import resolve_embedding_path

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


ARCHIVE_ARTICLES = 100_000  # the archive the issue sizes embedding for


def projected_hours(chunks: int, documents: int, chunks_per_s: float, articles: int = ARCHIVE_ARTICLES) -> float:
    """Hours to embed `articles` articles at the measured speed, with as many chunks per article as measured."""
    return round(articles * chunks / max(1, documents) / chunks_per_s / 3600, 1)


def bench_indexing(
    cfg: BenchConfig, settings: Settings, embedder: Embedder, seeds: Path, work: Path
) -> tuple[dict[str, Any], Path]:
    """Alternate index_paths runs and plain encodes of the same texts; returns the figures and an index dir."""
    from rag.ingest import index_paths
    from rag.store import open_store

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
            "hours_for_100k_articles": projected_hours(len(texts), n_docs, len(texts) / index_s),
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
    from rag.ingest import index_paths
    from rag.store import open_store

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
def bench_seed_retrieval(
    cfg: BenchConfig, settings: Settings, embedder: Embedder, index_dir: Path, questions: Sequence[Question]
) -> dict[str, Any]:
    """Full retrieval on the seed index, and its two parts (query embedding, store query) timed apart."""
    from rag.answering import retrieve
    from rag.store import open_store

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
