"""Section 3 of `rag bench`, on synthetic stores: store query latency and RSS at 1k/10k/100k chunks of random unit
vectors, written through ChunkStore/ChunkRecord and queried with random unit vectors, each in a fresh process."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.evaluation.bench.config import BENCH_COLLECTION, BenchConfig
from rag.evaluation.bench.figures import latency_summary
from rag.evaluation.bench.harness import dir_size_mb, proc_status, run_in_fresh_process

if TYPE_CHECKING:
    import numpy as np

    from rag.settings import Settings

SYNTHETIC_DIM = 768  # EmbeddingGemma-300M
SYNTHETIC_TEXT_CHARS = 520  # about one real chunk (chunk_max_chars=600)


def _unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    import numpy as np

    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def synthetic_child(args: dict[str, Any]) -> dict[str, Any]:
    """Runs in a fresh interpreter: 'build' writes a synthetic store, 'query' opens it and times queries."""
    import numpy as np

    from rag.settings import Settings
    from rag.store import open_store

    rss_start = proc_status()
    settings = Settings(index_dir=Path(args["dir"]), store_mode="persistent", collection=BENCH_COLLECTION)
    rng = np.random.default_rng(args.get("seed", 0))
    if args["mode"] == "build":
        return _build_store(settings, rng, int(args["size"]), int(args["dim"]))
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


def _build_store(settings: Settings, rng: np.random.Generator, size: int, dim: int) -> dict[str, Any]:
    """Write `size` chunks of random unit vectors (ten to a document) into a new generation and commit it."""
    from rag.store import ChunkRecord, Signature, chunk_metadata, open_store
    from rag.types import Document

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
