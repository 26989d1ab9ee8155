"""Benchmarks behind `rag bench`: indexing, re-indexing, retrieval, answering, cold start and memory.

Every figure is a median over several runs, and each one that has a baseline is measured against that
baseline in the same process and reported as a ratio:

1. indexing throughput through `index_paths` vs a plain `SentenceTransformer.encode` of the same texts;
2. re-indexing with nothing changed (in process and through the `rag index` command);
3. retrieval latency on synthetic stores of 1k/10k/100k chunks (random unit vectors, written through
   `ChunkStore`/`ChunkRecord`, queried with random unit vectors in a fresh process that reports its RSS),
   and on the real seed index with real query embeddings;
4. answer latency (time to first token and total) with the embedded LLM vs the llama-index default
   baseline, and extractive answers;
5. cold start: `rag --help`, a first `rag ask`, and the chat server until it answers HTTP;
6. peak RSS of the chat server after one answered question.

Figures with a target are checked (PASS/MISS, and by how much a MISS misses). The results go to
`<out>/<timestamp>.json` and `<out>/latest.json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC_DIM = 768  # EmbeddingGemma-300M
SYNTHETIC_TEXT_CHARS = 520  # about one real chunk (chunk_max_chars=600)
BENCH_COLLECTION = "bench"

Report = Callable[[str], None]


# -- configuration ------------------------------------------------------------
@dataclass
class BenchConfig:
    out_dir: Path = Path("eval/bench")
    repeat: int = 3
    quick: bool = False
    skip_llm: bool = False
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    queries_per_run: int = 50
    n_questions: int = 8
    retrieval_questions: int = 24  # single-turn answerable questions for retrieval latency on the seeds
    seeds_dir: Path | None = None
    questions_file: Path = ROOT / "eval" / "dev.jsonl"
    batch_sizes: tuple[int, ...] = (1, 8, 16, 32)  # embedding_batch_size lever; empty: skip
    context_budgets: tuple[int, ...] = (350, 700, 1400)  # context_budget_tokens lever; empty: skip
    lever_questions: int = 2
    lever_repeat: int = 1  # the levers are for direction, not for the table
    llm_repeat: int = 1  # the LLM answers each question this many times (they are slow on CPU)
    chat: bool = True
    work_dir: Path | None = None
    report: Report = field(default=print)

    @classmethod
    def make(cls, quick: bool = False, **overrides: Any) -> BenchConfig:
        if quick:
            base = cls(
                repeat=1,
                quick=True,
                sizes=(1_000,),
                queries_per_run=20,
                n_questions=4,
                retrieval_questions=4,
                batch_sizes=(),
                context_budgets=(),
            )
        else:
            base = cls()
        for key, value in overrides.items():
            if value is not None:
                setattr(base, key, value)
        return base


# Targets: (operator, value, unit). Figures without one are reported as INFO.
TARGETS: dict[str, tuple[str, float]] = {
    "reindex_unchanged_s": ("<", 3.0),
    "reindex_unchanged_cli_s": ("<", 3.0),
    "retrieval_seeds_p50_ms": ("<=", 100.0),
    "retrieval_100k_p50_ms": ("<=", 250.0),
    "extractive_total_p50_s": ("<=", 0.5),
    "local_ttft_p50_s": ("<=", 4.0),
    "local_total_p50_s": ("<=", 10.0),
    "help_s": ("<", 1.0),
    "chat_peak_rss_gb": ("<=", 3.5),
}


# -- small helpers ------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def latency_summary(runs: list[list[float]]) -> dict[str, Any]:
    """p50/p95 of each run, then the median of those over the runs."""
    runs = [r for r in runs if r]
    if not runs:
        return {"p50": None, "p95": None, "runs": 0, "samples_per_run": 0}
    return {
        "p50": round(statistics.median(percentile(r, 50) for r in runs), 2),
        "p95": round(statistics.median(percentile(r, 95) for r in runs), 2),
        "runs": len(runs),
        "samples_per_run": len(runs[0]),
    }


def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak) in MB from /proc; getrusage's peak when /proc is missing."""
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = round(int(rest.split()[0]) / 1024, 1)
    except (OSError, ValueError):
        if pid == "self":
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
            out = {"VmRSS": round(peak, 1), "VmHWM": round(peak, 1)}
    return out


def dir_size_mb(path: Path) -> float:
    total = sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
    return round(total / 1e6, 2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rag_command() -> list[str]:
    """The installed `rag` script next to this interpreter, else `python -m rag.cli`."""
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "rag.cli"]


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


@contextmanager
def _workspace(cfg: BenchConfig) -> Iterator[Path]:
    if cfg.work_dir is not None:
        cfg.work_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="ragbench-", dir=cfg.work_dir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- 1. indexing throughput vs plain encode -------------------------------------
def chunk_texts(settings, seeds: Path) -> tuple[int, list[str]]:
    from rag.chunking import chunk_document
    from rag.ingest import collect_files, load_documents

    files, skipped = collect_files([seeds])
    documents = load_documents(files, skipped)
    texts = [
        c.text for d in documents for c in chunk_document(d, settings.chunk_max_chars, settings.chunk_overlap_sentences)
    ]
    return len(documents), texts


def _sentence_transformer(embedder, settings):
    """The embedder's own SentenceTransformer (same weights and threads), or a fresh one."""
    model = getattr(embedder, "_model", None)
    if model is not None and hasattr(model, "encode"):
        return model
    from sentence_transformers import SentenceTransformer

    from rag.models import resolve_embedding_path

    return SentenceTransformer(resolve_embedding_path(settings.embedding_model, settings.models_dir), device="cpu")


def _plain_encode(model, texts: list[str], settings, batch_size: int) -> float:
    seconds, _ = _timed(
        lambda: model.encode(
            texts,
            prompt=settings.document_prompt,
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    )
    return seconds


def bench_indexing(cfg: BenchConfig, settings, embedder, seeds: Path, work: Path) -> tuple[dict[str, Any], Path]:
    """Alternate index_paths runs and plain encodes of the same texts; returns the figures and an index dir."""
    from rag.ingest import index_paths
    from rag.store import open_store

    n_docs, texts = chunk_texts(settings, seeds)
    model = _sentence_transformer(embedder, settings)
    _plain_encode(model, texts[:4], settings, settings.embedding_batch_size)  # warm-up
    index_runs, plain_runs, index_dir = [], [], work / "seed-index-0"
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


def bench_batch_sizes(cfg: BenchConfig, settings, embedder, seeds: Path) -> list[dict[str, Any]]:
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
def _sub_env(settings, index_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RAG_STORE_MODE": "persistent",
            "RAG_INDEX_DIR": str(index_dir),
            "RAG_COLLECTION": settings.collection,
            "RAG_CACHE_DIR": str(settings.cache_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def _run_cli(args: list[str], env: dict[str, str], timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = subprocess.run(
        rag_command() + args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"`rag {' '.join(args)}` failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return seconds, result


def bench_reindex(cfg: BenchConfig, settings, embedder, seeds: Path, index_dir: Path) -> dict[str, Any]:
    from rag.ingest import index_paths
    from rag.store import open_store

    run_settings = settings.model_copy(update={"index_dir": index_dir})

    def must_not_load():
        raise RuntimeError("re-index with nothing changed loaded the embedding model")

    runs, cli_runs = [], []
    for _ in range(cfg.repeat):
        report = index_paths([seeds], run_settings, open_store(run_settings), must_not_load)
        if report.changed:
            raise RuntimeError("re-index of unchanged seeds reported changes")
        runs.append(report.seconds)
    for _ in range(cfg.repeat):
        seconds, result = _run_cli(["index", str(seeds)], _sub_env(settings, index_dir))
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
def _unit_vectors(rng, n: int, dim: int):
    import numpy as np

    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def synthetic_child(args: dict[str, Any]) -> dict[str, Any]:
    """Runs in a fresh interpreter: 'build' writes a synthetic store, 'query' opens it and times queries."""
    import numpy as np

    from rag.settings import Settings
    from rag.store import ChunkRecord, Signature, chunk_metadata, open_store

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
        for first in range(0, size, step):
            n = min(step, size - first)
            vectors = _unit_vectors(rng, n, dim)
            picks = rng.integers(0, len(words), size=(n, SYNTHETIC_TEXT_CHARS // 6))
            records = []
            for j in range(n):
                i = first + j
                text = " ".join(words[w] for w in picks[j])[:SYNTHETIC_TEXT_CHARS]
                meta = chunk_metadata(f"doc{i // 10:06d}", f"Synthetic {i // 10}", None, "synthetic", "0", i % 10,
                                      0, len(text), [(0, len(text))])  # fmt: skip
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


def _child(args: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    code = (
        "import json, sys; from rag.bench import synthetic_child; "
        "print(json.dumps(synthetic_child(json.loads(sys.argv[1]))))"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"synthetic benchmark child failed: {result.stderr.strip()[-1500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_synthetic(cfg: BenchConfig, settings, work: Path) -> list[dict[str, Any]]:
    rows = []
    for size in cfg.sizes:
        folder = work / f"synthetic-{size}"
        build = _child({"mode": "build", "dir": str(folder), "size": size, "dim": SYNTHETIC_DIM})
        query = _child(
            {
                "mode": "query",
                "dir": str(folder),
                "dim": SYNTHETIC_DIM,
                "k": settings.top_k,
                "queries": cfg.queries_per_run,
                "repeat": cfg.repeat,
                "seed": 1,
            }
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


def bench_seed_retrieval(cfg: BenchConfig, settings, embedder, index_dir: Path, questions) -> dict[str, Any]:
    from rag.retrieve import retrieve
    from rag.store import open_store

    store = open_store(settings.model_copy(update={"index_dir": index_dir}))
    texts = [q.question for q in questions]
    retrieve(texts[0], store, embedder, settings.top_k)  # warm-up
    full, embed, query = [], [], []
    for _ in range(cfg.repeat):
        f, e, s = [], [], []
        for text in texts:
            f.append(retrieve(text, store, embedder, settings.top_k).ms)
            seconds, vector = _timed(lambda t=text: embedder.embed_query(t))
            e.append(seconds * 1000)
            seconds, _ = _timed(lambda v=vector: store.query(v, settings.top_k))
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


# -- 4. answers ---------------------------------------------------------------
def pick_questions(cfg: BenchConfig, n: int):
    from rag.questionset import parse_question_set

    questions = [q for q in parse_question_set(cfg.questions_file) if q.answerable and not q.history]
    if not questions:
        raise RuntimeError(f"no answerable single-turn questions in {cfg.questions_file}")
    return questions[:n]


def bench_extractive(cfg: BenchConfig, settings, embedder, index_dir: Path, questions) -> dict[str, Any]:
    from rag.answer import AnswerService
    from rag.store import open_store

    s = settings.model_copy(update={"index_dir": index_dir, "llm_backend": "none"})
    service = AnswerService(s, open_store(s), embedder, None)
    service.answer(questions[0].question)  # warm-up
    runs, cited = [], 0
    for _ in range(cfg.repeat):
        times = []
        for q in questions:
            seconds, answer = _timed(lambda q=q: service.answer(q.question))
            times.append(seconds * 1000)
            cited += bool(answer.citations)
        runs.append(times)
    summary = latency_summary(runs)
    return {
        "total_p50_ms": summary["p50"],
        "total_p95_ms": summary["p95"],
        "cited_fraction": round(cited / (len(questions) * cfg.repeat), 2),
        "questions": len(questions),
        "runs": summary["runs"],
    }


def _llm_settings(settings, index_dir: Path, **update: Any):
    return settings.model_copy(update={"index_dir": index_dir, "llm_backend": "local", **update})


def bench_local_answers(cfg: BenchConfig, settings, embedder, llm, index_dir: Path, questions) -> dict[str, Any]:
    from rag.answer import AnswerService
    from rag.store import open_store

    s = _llm_settings(settings, index_dir)
    service = AnswerService(s, open_store(s), embedder, llm)
    ttft, total, records = [], [], []
    for _ in range(cfg.llm_repeat):
        for q in questions:
            seconds, answer = _timed(lambda q=q: service.answer(q.question))
            if answer.timings.get("ttft_ms") is not None:
                ttft.append(float(answer.timings["ttft_ms"]))
            total.append(seconds * 1000)
            records.append(
                {
                    "id": q.id,
                    "ttft_ms": answer.timings.get("ttft_ms"),
                    "total_ms": round(seconds * 1000, 1),
                    "mode": answer.mode,
                    "refused": answer.refused,
                    "citations": len(answer.citations),
                    "language_retry": answer.language_retry,
                    "text": answer.text[:300],
                }
            )
            cfg.report(f"  ours {q.id}: ttft {answer.timings.get('ttft_ms')} ms, total {seconds:.1f} s ({answer.mode})")
    return _answer_summary(ttft, total, records)


def _answer_summary(ttft: list[float], total: list[float], records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ttft_p50_ms": round(percentile(ttft, 50), 1) if ttft else None,
        "ttft_p95_ms": round(percentile(ttft, 95), 1) if ttft else None,
        "total_p50_ms": round(percentile(total, 50), 1) if total else None,
        "total_p95_ms": round(percentile(total, 95), 1) if total else None,
        "answers": records,
    }


def bench_baseline(cfg: BenchConfig, settings, llm, seeds: Path, questions) -> dict[str, Any]:
    """The llama-index defaults of rag/baseline.py, asked the same questions with the same LLM."""
    from rag.baseline import BaselinePipeline

    pipeline = BaselinePipeline(settings, documents_dir=seeds, llm=llm)
    ttft, total, records = [], [], []
    for _ in range(cfg.llm_repeat):
        for q in questions:
            result = pipeline(q)
            timings = result["timings"]
            if timings.get("ttft_ms") is not None:
                ttft.append(float(timings["ttft_ms"]))
            total.append(float(timings["total_ms"]))
            records.append(
                {
                    "id": q.id,
                    "ttft_ms": timings.get("ttft_ms"),
                    "total_ms": timings["total_ms"],
                    "refused": result.get("refused"),
                    "citations": len(result.get("citations") or []),
                    "text": (result.get("answer") or "")[:300],
                }
            )
            cfg.report(f"  baseline {q.id}: ttft {timings.get('ttft_ms')} ms, total {timings['total_ms'] / 1000:.1f} s")
    return {
        "source": "rag.baseline.BaselinePipeline",
        "build_s": round(pipeline.build_s, 2),
        **_answer_summary(ttft, total, records),
    }


def bench_context_budget(cfg: BenchConfig, settings, embedder, llm, index_dir: Path, questions) -> list[dict[str, Any]]:
    """Time to first token against context_budget_tokens; generation is stopped at the first token."""
    from rag.answer import AnswerService
    from rag.prompting import estimate_tokens
    from rag.store import open_store

    rows = []
    for budget in cfg.context_budgets:
        s = _llm_settings(settings, index_dir, context_budget_tokens=budget)
        service = AnswerService(s, open_store(s), embedder, llm)
        ttft, prompt_tokens = [], []
        for q in questions:
            prepared = service.prepare(q.question)
            prompt_tokens.append(sum(estimate_tokens(p.text) for p in prepared.passages))
            stream = service.generate(prepared)
            try:
                for item in stream:
                    if isinstance(item, str) and item:
                        ttft.append((time.perf_counter() - prepared.started) * 1000)
                        break
            finally:
                stream.close()
        row = {
            "context_budget_tokens": budget,
            "passage_tokens_p50": round(percentile(prompt_tokens, 50)),
            "ttft_p50_ms": round(percentile(ttft, 50), 1) if ttft else None,
            "questions": len(questions),
        }
        rows.append(row)
        cfg.report(f"  budget {budget}: ~{row['passage_tokens_p50']} passage tokens, ttft p50 {row['ttft_p50_ms']} ms")
    return rows


# -- 5/6. cold start and the chat server ---------------------------------------
def bench_cold_start(cfg: BenchConfig, settings, index_dir: Path, question: str) -> dict[str, Any]:
    env = _sub_env(settings, index_dir)
    help_runs = [_run_cli(["--help"], env)[0] for _ in range(max(cfg.repeat, 3))]
    ask_runs = [_run_cli(["ask", question, "--llm", "none"], env)[0] for _ in range(cfg.repeat)]
    out: dict[str, Any] = {
        "help_s": round(statistics.median(help_runs), 3),
        "help_runs": [round(x, 3) for x in help_runs],
        "first_ask_none_s": round(statistics.median(ask_runs), 2),
        "first_ask_none_runs": [round(x, 2) for x in ask_runs],
        "note": "fresh `rag` processes; model files are in the OS page cache (warm disk), as after any earlier use",
    }
    if not cfg.skip_llm:
        seconds, _ = _run_cli(["ask", question, "--llm", "local"], env)
        out["first_ask_local_s"] = round(seconds, 2)
    return out


def chat_available() -> str | None:
    """None when the chat UI can be started, else why not."""
    if not (ROOT / "ui" / "app.py").is_file():
        return "not available: ui/app.py does not exist yet"
    return None


class ChatServer:
    """`rag chat --port N` as a subprocess, polled until http://127.0.0.1:N/ answers 200."""

    def __init__(self, settings, index_dir: Path, backend: str, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log
        env = _sub_env(settings, index_dir, RAG_LLM_BACKEND=backend, RAG_HOST="127.0.0.1", RAG_PORT=str(self.port))
        self._log = log.open("w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            rag_command() + ["chat", "--port", str(self.port), "--host", "127.0.0.1"],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"`rag chat` exited with {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"`rag chat` did not answer at {self.url} within {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with _suppress():
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with _suppress():
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


def _suppress():
    return contextlib.suppress(ProcessLookupError, PermissionError)


def ask_through_gradio(url: str, question: str, timeout: float = 600) -> str:
    """Send one question through gradio_client to the chat's first chat-like endpoint; returns its name."""
    from gradio_client import Client

    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    api = client.view_api(print_info=False, return_format="dict") or {}
    endpoints: dict[str, Any] = api.get("named_endpoints", {})
    preferred = ("/chat", "/respond", "/ask", "/answer", "/submit")
    names = sorted(endpoints, key=lambda n: (n not in preferred, preferred.index(n) if n in preferred else 0))
    names = [n for n in names if any(w in n for w in ("chat", "respond", "ask", "answer", "submit"))]
    if not names:
        raise RuntimeError(f"no chat endpoint among {sorted(endpoints)}")
    name = names[0]
    args = []
    for i, param in enumerate(endpoints[name].get("parameters", [])):
        if i == 0:
            args.append(question)
        elif param.get("parameter_has_default"):
            args.append(param.get("parameter_default"))
        else:
            args.append(None)
    job = client.submit(*args, api_name=name)
    job.result(timeout=timeout)
    return name


def bench_chat(cfg: BenchConfig, settings, index_dir: Path, work: Path, question: str) -> dict[str, Any]:
    reason = chat_available()
    if reason:
        return {"available": False, "reason": reason}
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
        seconds, endpoint = _timed(lambda: ask_through_gradio(server.url, question))
        after = proc_status(server.proc.pid)
        out["peak_rss"] = {
            "available": True,
            "backend": "local",
            "ready_s": round(ready, 2),
            "endpoint": endpoint,
            "answer_s": round(seconds, 2),
            "rss_ready_mb": before.get("VmRSS"),
            "rss_after_mb": after.get("VmRSS"),
            "peak_rss_mb": after.get("VmHWM"),
        }
    except Exception as exc:
        out["peak_rss"] = {"available": False, "reason": f"error: {exc}"}
    finally:
        server.stop()
    return out


# -- checks and the table ----------------------------------------------------
def _get(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _check(name: str, label: str, value: Any, unit: str, key: str | None = None, note: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "label": label, "value": value, "unit": unit, "note": note}
    target = TARGETS.get(key or name)
    if value is None or (isinstance(value, float) and value != value):
        row.update(status="N/A", target=None)
        if target:
            row["target"] = f"{target[0]} {target[1]:g} {unit}"
        return row
    if target is None:
        row.update(status="INFO", target=None)
        return row
    op, limit = target
    ok = value < limit if op == "<" else value <= limit
    row.update(status="PASS" if ok else "MISS", target=f"{op} {limit:g} {unit}")
    if not ok:
        row["miss_by"] = round(value - limit, 3)
        row["miss_by_pct"] = round((value / limit - 1) * 100, 1)
    return row


def build_checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    r = results
    seeds = _get(r, "retrieval.seeds") or {}
    rows = [
        _check("index_chunks_per_s", "Indexing throughput (index_paths)", _get(r, "indexing.index_chunks_per_s"),
               "chunks/s"),
        _check("plain_encode_chunks_per_s", "  baseline: plain ST encode, same texts",
               _get(r, "indexing.plain_encode_chunks_per_s"), "chunks/s"),
        _check("index_overhead_ratio", "  overhead ratio (index/plain time)", _get(r, "indexing.overhead_ratio"), "x"),
        _check("reindex_unchanged_s", "Re-index, nothing changed (in process)", _get(r, "reindex_unchanged.seconds"),
               "s"),
        _check("reindex_unchanged_cli_s", "Re-index, nothing changed (`rag index`)",
               _get(r, "reindex_unchanged.cli_seconds"), "s"),
        _check("retrieval_seeds_p50_ms", "Retrieval p50, seed articles (real query)", seeds.get("p50_ms"), "ms"),
        _check("retrieval_seeds_p95_ms", "Retrieval p95, seed articles", seeds.get("p95_ms"), "ms"),
        _check("embed_query_p50_ms", "  of which query embedding p50", seeds.get("embed_query_p50_ms"), "ms"),
    ]  # fmt: skip
    embed_p50 = seeds.get("embed_query_p50_ms")
    for row in _get(r, "retrieval.synthetic") or []:
        size = row["size"]
        label = f"{size // 1000}k" if size >= 1000 else str(size)
        p50 = row.get("p50_ms")
        est = round(p50 + embed_p50, 1) if embed_p50 is not None and p50 is not None else None
        rows += [
            _check(f"retrieval_{label}_store_p50_ms", f"Store query p50 @ {label} (random vectors)", p50, "ms"),
            _check(f"retrieval_{label}_store_p95_ms", f"Store query p95 @ {label}", row.get("p95_ms"), "ms"),
            _check(f"retrieval_{label}_p50_ms", f"Retrieval p50 @ {label} (store p50 + query-embed p50)", est, "ms",
                   key="retrieval_100k_p50_ms"),
            _check(f"retrieval_{label}_rss_mb", f"  RSS of a query process @ {label}", row.get("rss_mb"), "MB"),
            _check(f"retrieval_{label}_store_mb", f"  store on disk @ {label}", row.get("store_mb"), "MB"),
        ]  # fmt: skip
    p50 = _get(r, "answers.extractive.total_p50_ms")
    rows.append(_check("extractive_total_p50_s", "Extractive answer p50", _sec(p50, 3), "s"))
    ours, base = _get(r, "answers.local") or {}, _get(r, "answers.baseline") or {}
    for metric, label in (("ttft", "time to first token"), ("total", "total time")):
        for q in ("p50", "p95"):
            key = f"{metric}_{q}_ms"
            o, b = ours.get(key), base.get(key)
            rows += [
                _check(f"local_{key}", f"LLM answer {label} {q} (ours)", _sec(o), "s", key=f"local_{metric}_{q}_s"),
                _check(f"baseline_{key}", f"  llama-index default baseline {q}", _sec(b), "s"),
                _check(f"ratio_{key}", "  ratio ours/baseline", round(o / b, 3) if o and b else None, "x"),
            ]
    cs = r.get("cold_start") or {}
    chat = r.get("chat") or {}
    peak = chat.get("peak_rss") or {}
    peak_mb = peak.get("peak_rss_mb")
    rows += [
        _check("help_s", "`rag --help` wall time", cs.get("help_s"), "s"),
        _check("first_ask_none_s", "First `rag ask --llm none` wall time", cs.get("first_ask_none_s"), "s"),
        _check("first_ask_local_s", "First `rag ask --llm local` wall time", cs.get("first_ask_local_s"), "s"),
        _check("chat_ready_s", "Chat server ready (HTTP 200, backend none)", chat.get("ready_s"), "s",
               note=chat.get("reason") or chat.get("ready_error") or ""),
        _check("chat_peak_rss_gb", "Chat server peak RSS after one local answer",
               None if peak_mb is None else round(peak_mb / 1024, 2), "GB",
               note=peak.get("reason") or chat.get("reason") or ""),
    ]  # fmt: skip
    return rows


def _sec(ms: float | None, digits: int = 2) -> float | None:
    return None if ms is None else round(ms / 1000, digits)


def format_table(results: dict[str, Any], markdown: bool = False) -> str:
    rows = results.get("checks") or []

    def cells(row: dict[str, Any]) -> list[str]:
        value = "—" if row["value"] is None else f"{row['value']:g} {row['unit']}"
        status = row["status"]
        miss = ""
        if status == "MISS":
            miss = f"by {row['miss_by']:+g} {row['unit']} ({row['miss_by_pct']:+g}%)"
        elif row.get("note"):
            miss = row["note"]
        return [row["label"], value, row.get("target") or "", status, miss]

    header = ["Figure", "Value", "Target", "Status", "Miss by / note"]
    body = [cells(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return "\n".join(lines)


# -- driver -------------------------------------------------------------------
def _section(results: dict[str, Any], name: str, cfg: BenchConfig, fn: Callable[[], Any]) -> Any:
    cfg.report(f"[bench] {name} …")
    started = time.perf_counter()
    try:
        value = fn()
    except Exception as exc:
        if os.environ.get("RAG_DEBUG"):
            raise
        results["errors"][name] = f"{type(exc).__name__}: {exc}"
        cfg.report(f"[bench] {name} FAILED: {exc}")
        value = None
    results["section_seconds"][name] = round(time.perf_counter() - started, 1)
    return value


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    from rag.offline import enforce_offline

    enforce_offline()
    from rag.settings import Settings

    base = Settings()
    settings = base.model_copy(update={"store_mode": "persistent", "collection": BENCH_COLLECTION})
    seeds = Path(cfg.seeds_dir or settings.seeds_dir)
    if not seeds.is_absolute() and not seeds.exists():
        seeds = ROOT / seeds
    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_start": load_average(),
            "quick": cfg.quick,
            "skip_llm": cfg.skip_llm,
            "repeat": cfg.repeat,
            "llm_repeat": cfg.llm_repeat,
            "settings": {
                "embedding_model": settings.embedding_model,
                "embedding_batch_size": settings.embedding_batch_size,
                "chunk_max_chars": settings.chunk_max_chars,
                "top_k": settings.top_k,
                "context_budget_tokens": settings.context_budget_tokens,
                "llm_threads": settings.llm_threads,
                "llm_context_window": settings.llm_context_window,
                "max_new_tokens": settings.max_new_tokens,
            },
            "notes": [
                "Latency p50/p95: computed per run, then the median over --repeat runs.",
                "LLM answers: p50/p95 over the questions, each asked llm_repeat times (CPU generation is slow).",
                "Synthetic retrieval: random unit vectors (dim 768) stored and queried with random unit vectors; "
                "the '@ Nk' retrieval estimate adds the real query-embedding p50 measured on the seed index.",
            ],
        },
        "errors": {},
        "section_seconds": {},
    }
    with _workspace(cfg) as work:
        from rag.embedding import get_embedder

        load_s, embedder = _timed(lambda: get_embedder(settings))
        results["meta"]["embedding_load_s"] = round(load_s, 2)
        questions = pick_questions(cfg, cfg.n_questions)
        results["meta"]["questions"] = [q.id for q in questions]

        indexed = _section(results, "indexing", cfg, lambda: bench_indexing(cfg, settings, embedder, seeds, work))
        if indexed is None:
            raise RuntimeError(f"indexing the seeds failed: {results['errors'].get('indexing')}")
        results["indexing"], index_dir = indexed
        results["meta"]["seed_index"] = {"chunks": results["indexing"]["chunks"], "store_mb": dir_size_mb(index_dir)}
        levers: dict[str, Any] = {}
        results["levers"] = levers
        if cfg.batch_sizes:
            levers["embedding_batch_size"] = _section(
                results, "lever: embedding_batch_size", cfg, lambda: bench_batch_sizes(cfg, settings, embedder, seeds)
            )
        results["reindex_unchanged"] = _section(
            results, "re-index unchanged", cfg, lambda: bench_reindex(cfg, settings, embedder, seeds, index_dir)
        )
        retrieval: dict[str, Any] = {}
        results["retrieval"] = retrieval
        retrieval["seeds"] = _section(
            results,
            "retrieval (seeds)",
            cfg,
            lambda: bench_seed_retrieval(
                cfg, settings, embedder, index_dir, pick_questions(cfg, cfg.retrieval_questions)
            ),
        )
        retrieval["synthetic"] = _section(
            results, "retrieval (synthetic)", cfg, lambda: bench_synthetic(cfg, settings, work)
        )
        answers: dict[str, Any] = {"questions": [q.id for q in questions]}
        results["answers"] = answers
        answers["extractive"] = _section(
            results,
            "answers (extractive)",
            cfg,
            lambda: bench_extractive(cfg, settings, embedder, index_dir, questions),
        )
        if cfg.skip_llm:
            answers["local"] = answers["baseline"] = {"skipped": "--skip-llm"}
        else:
            from rag.llm import build_llm

            llm_settings = _llm_settings(settings, index_dir)
            llm_load_s, llm = _timed(lambda: build_llm(llm_settings))
            results["meta"]["llm_load_s"] = round(llm_load_s, 2)
            answers["local"] = _section(
                results,
                "answers (local LLM)",
                cfg,
                lambda: bench_local_answers(cfg, settings, embedder, llm, index_dir, questions),
            )
            answers["baseline"] = _section(
                results,
                "answers (llama-index baseline)",
                cfg,
                lambda: bench_baseline(cfg, llm_settings, llm, seeds, questions),
            )
            if cfg.context_budgets:
                levers["context_budget"] = _section(
                    results,
                    "lever: context budget vs ttft",
                    cfg,
                    lambda: bench_context_budget(
                        cfg, settings, embedder, llm, index_dir, questions[: cfg.lever_questions]
                    ),
                )
        results["cold_start"] = _section(
            results, "cold start", cfg, lambda: bench_cold_start(cfg, settings, index_dir, questions[0].question)
        )
        if cfg.chat:
            results["chat"] = _section(
                results, "chat server", cfg, lambda: bench_chat(cfg, settings, index_dir, work, questions[0].question)
            )
        else:
            results["chat"] = {"available": False, "reason": "skipped"}
    me = proc_status()
    results["bench_process"] = {
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": me.get("VmHWM"),
        "load_average_end": load_average(),
    }
    results["checks"] = build_checks(results)
    return results


def write_results(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = results["meta"]["timestamp"].replace("-", "").replace(":", "")
    path, latest = out_dir / f"{stamp}.json", out_dir / "latest.json"
    text = json.dumps(results, ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    latest.write_text(text, encoding="utf-8")
    return path, latest
