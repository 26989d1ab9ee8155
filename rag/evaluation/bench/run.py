"""The driver of `rag bench`: runs its sections (figures, synthetic, answers, llm_speed, load) in order, checks them
and writes the JSON."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rag.evaluation.bench.answers import (
    bench_baseline,
    bench_context_budget,
    bench_extractive,
    bench_follow_ups,
    bench_local_answers,
    bench_quote_by_meaning,
    bench_warm,
    follow_up_questions,
    llm_settings,
    pick_questions,
)
from rag.evaluation.bench.checks import build_checks
from rag.evaluation.bench.config import BENCH_COLLECTION, ROOT, BenchConfig
from rag.evaluation.bench.embedding_speed import bench_embedding_server, in_process, server_settings
from rag.evaluation.bench.figures import (
    bench_batch_sizes,
    bench_chat,
    bench_cold_start,
    bench_indexing,
    bench_reindex,
    bench_seed_retrieval,
)
from rag.evaluation.bench.harness import dir_size_mb, load_average, proc_status, timed, workspace
from rag.evaluation.bench.llm_speed import bench_llm_speed, bench_portable_speed, llama_build
from rag.evaluation.bench.load import bench_load
from rag.evaluation.bench.synthetic import bench_synthetic

if TYPE_CHECKING:
    from rag.evaluation.questionset import Question
    from rag.models import Embedder, LLMBackend
    from rag.settings import Settings

T = TypeVar("T")


def _section(results: dict[str, Any], name: str, cfg: BenchConfig, fn: Callable[[], T]) -> T | None:
    """fn's value, timed; a failure is recorded in results["errors"] (None) so the other sections still run."""
    cfg.report(f"[bench] {name} …")
    started = time.perf_counter()
    try:
        value = fn()
    except Exception as exc:
        if cfg.debug:
            raise
        results["errors"][name] = f"{type(exc).__name__}: {exc}"
        cfg.report(f"[bench] {name} FAILED: {exc}")
        value = None
    results["section_seconds"][name] = round(time.perf_counter() - started, 1)
    return value


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    """Every section, offline, in a temporary workspace; the results with their checks."""
    from rag.offline import enforce_offline

    enforce_offline()  # before the model libraries are imported; subprocesses inherit it
    from rag.settings import Settings

    base = Settings()
    settings = base.model_copy(update={"store_mode": "persistent", "collection": BENCH_COLLECTION})
    seeds = Path(cfg.seeds_dir or settings.seeds_dir)
    if not seeds.is_absolute() and not seeds.exists():
        seeds = ROOT / seeds
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": _meta(cfg, settings), "errors": {}, "section_seconds": {}}
    with workspace(cfg.work_dir) as work:
        from rag.models import get_embedder

        server = _embedding_server(cfg, settings)  # reached first: an unreachable one stops the run at once
        load_s, embedder = timed(lambda: get_embedder(settings))
        results["meta"]["embedding_load_s"] = round(load_s, 2)
        questions = pick_questions(cfg, cfg.n_questions)
        results["meta"]["questions"] = [q.id for q in questions]
        index_dir = _index_and_retrieval(results, cfg, settings, embedder, seeds, work)
        _embedding_speed(results, cfg, settings, embedder, server, seeds)
        _extractive_answers(results, cfg, settings, embedder, index_dir, questions)
        if cfg.skip_llm:
            results["answers"]["local"] = results["answers"]["baseline"] = {"skipped": "--skip-llm"}
            results["llm_speed"] = {"skipped": "--skip-llm"}
        else:
            _llm_answers(results, cfg, settings, embedder, index_dir, seeds, work, questions)
        _start_up_and_load(results, cfg, settings, index_dir, work, questions)
    me = proc_status()
    results["bench_process"] = {
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": me.get("VmHWM"),
        "load_average_end": load_average(),
    }
    results["checks"] = build_checks(results)
    return results


def _meta(cfg: BenchConfig, settings: Settings) -> dict[str, Any]:
    """What the run was: when, where, with which options and settings, and how its figures are made."""
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "llama_cpp": llama_build(),  # the build's CPU features: prompt speed depends on them
        "load_average_start": load_average(),
        "quick": cfg.quick,
        "embedding_server": cfg.embedding_server,
        "skip_llm": cfg.skip_llm,
        "repeat": cfg.repeat,
        "llm_repeat": cfg.llm_repeat,
        "settings": {
            "embedding_model": settings.embedding_model,
            "embedding_backend": settings.embedding_backend,
            "embedding_batch_size": settings.embedding_batch_size,
            "chunk_max_chars": settings.chunk_max_chars,
            "top_k": settings.top_k,
            "context_budget_tokens": settings.answer.context_budget_tokens,
            "llm_threads": settings.llm_threads,
            "llm_context_window": settings.llm_context_window,
            "max_new_tokens": settings.max_new_tokens,
        },
        "notes": [
            "Latency p50/p95: computed per run, then the median over --repeat runs.",
            "LLM answers: p50/p95 over the questions, each asked llm_repeat times (CPU generation is slow).",
            "Synthetic retrieval: random unit vectors (dim 768) stored and queried with random unit vectors; "
            "the '@ Nk' retrieval estimate adds the real query-embedding p50 measured on the seed index.",
            "LLM tokens/s: a fixed prompt evaluated from an empty context, then greedy tokens one at a time; "
            "the median over --repeat runs.",
        ],
    }


def _index_and_retrieval(
    results: dict[str, Any], cfg: BenchConfig, settings: Settings, embedder: Embedder, seeds: Path, work: Path
) -> Path:
    """Sections 1-3: indexing the seeds (the index the later sections read; its folder is returned), the batch
    size lever, re-indexing with nothing changed, and retrieval on the seeds and on synthetic stores."""
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
        results, "re-index unchanged", cfg, lambda: bench_reindex(cfg, settings, seeds, index_dir)
    )
    retrieval: dict[str, Any] = {}
    results["retrieval"] = retrieval
    retrieval["seeds"] = _section(
        results,
        "retrieval (seeds)",
        cfg,
        lambda: bench_seed_retrieval(cfg, settings, embedder, index_dir, pick_questions(cfg, cfg.retrieval_questions)),
    )
    retrieval["synthetic"] = _section(
        results, "retrieval (synthetic)", cfg, lambda: bench_synthetic(cfg, settings, work)
    )
    return index_dir


def _embedding_server(cfg: BenchConfig, settings: Settings) -> Embedder | None:
    """The embedding server to measure beside the in-process model (its probe request is sent here), or None."""
    chosen = server_settings(settings, cfg.embedding_server)
    if chosen is None:
        return None
    from rag.models import get_embedder

    return get_embedder(chosen)


def _embedding_speed(
    results: dict[str, Any],
    cfg: BenchConfig,
    settings: Settings,
    embedder: Embedder,
    server: Embedder | None,
    seeds: Path,
) -> None:
    """Section 1b: the seed chunks embedded through the server and in process, in the same run."""
    if server is None:
        reason = "no embedding server: rag bench --embedding-server URL"
        results["embedding_server"] = {"available": False, "reason": reason}
        return
    results["embedding_server"] = _section(
        results,
        "embedding server vs in process",
        cfg,
        lambda: bench_embedding_server(cfg, settings, in_process(settings, embedder), server, seeds),
    )


def _extractive_answers(
    results: dict[str, Any],
    cfg: BenchConfig,
    settings: Settings,
    embedder: Embedder,
    index_dir: Path,
    questions: Sequence[Question],
) -> None:
    """Section 4 without the LLM: extractive answers and the quote found by meaning."""
    answers: dict[str, Any] = {"questions": [q.id for q in questions]}
    results["answers"] = answers
    answers["extractive"] = _section(
        results,
        "answers (extractive)",
        cfg,
        lambda: bench_extractive(cfg, settings, embedder, index_dir, questions),
    )
    answers["quote_by_meaning"] = _section(
        results,
        "quote by meaning",
        cfg,
        lambda: bench_quote_by_meaning(cfg, settings, embedder, index_dir, questions),
    )


def _llm_answers(
    results: dict[str, Any],
    cfg: BenchConfig,
    settings: Settings,
    embedder: Embedder,
    index_dir: Path,
    seeds: Path,
    work: Path,
    questions: Sequence[Question],
) -> None:
    """Section 4 with the local LLM: its tokens/s (this build and the portable one), answers with the chunk cache
    off, `rag index --warm` and answers with it on, follow-ups, the llama-index baseline, the context budget."""
    from rag.models import build_backend

    answers, levers = results["answers"], results["levers"]
    local_settings = llm_settings(settings, index_dir)
    llm_load_s, backend = timed(lambda: build_backend(local_settings))
    assert backend is not None  # the local backend
    results["meta"]["llm_load_s"] = round(llm_load_s, 2)
    _llm_speed(results, cfg, local_settings, backend, questions)
    states, states_mb = work / "chunk-states", settings.chunk_states_mb or 4000
    answers["local_cache_off"] = _section(
        results,
        "answers (local LLM, chunk cache off)",
        cfg,
        lambda: bench_local_answers(cfg, settings, embedder, backend, index_dir, questions, states, 0),
    )
    answers["warm"] = _section(
        results,
        "rag index --warm",
        cfg,
        lambda: bench_warm(cfg, settings, embedder, backend, index_dir, states),
    )
    answers["local"] = _section(
        results,
        "answers (local LLM, chunk cache on)",
        cfg,
        lambda: bench_local_answers(cfg, settings, embedder, backend, index_dir, questions, states, states_mb),
    )
    follow_ups = follow_up_questions(cfg)
    for mb, key in ((0, "follow_ups_cache_off"), (states_mb, "follow_ups")):
        answers[key] = _section(
            results,
            key.replace("_", " "),
            cfg,
            partial(bench_follow_ups, cfg, settings, embedder, backend, index_dir, follow_ups, states, mb),
        )
    answers["baseline"] = _section(
        results,
        "answers (llama-index baseline)",
        cfg,
        lambda: bench_baseline(cfg, local_settings, backend, seeds, questions),
    )
    if cfg.context_budgets:
        levers["context_budget"] = _section(
            results,
            "lever: context budget vs ttft",
            cfg,
            lambda: bench_context_budget(cfg, settings, embedder, backend, index_dir, questions[: cfg.lever_questions]),
        )


def _llm_speed(
    results: dict[str, Any],
    cfg: BenchConfig,
    local_settings: Settings,
    backend: LLMBackend,
    questions: Sequence[Question],
) -> None:
    """The local LLM's tokens/s, and this build's answers against the portable build's."""
    results["llm_speed"] = _section(results, "LLM tokens/s (local)", cfg, lambda: bench_llm_speed(cfg, backend))
    texts = [q.question for q in questions]
    # Compared with the cache-off answers: the child process keeps no chunk states.
    portable_settings = local_settings.model_copy(update={"chunk_states_mb": 0})
    results["llm_speed_portable"] = _section(
        results, "portable build", cfg, lambda: bench_portable_speed(cfg, portable_settings, texts)
    )


def _start_up_and_load(
    results: dict[str, Any],
    cfg: BenchConfig,
    settings: Settings,
    index_dir: Path,
    work: Path,
    questions: Sequence[Question],
) -> None:
    """Sections 5-6: cold start, the chat server's start-up and memory, and simultaneous users."""
    results["cold_start"] = _section(
        results, "cold start", cfg, lambda: bench_cold_start(cfg, settings, index_dir, questions[0].question)
    )
    if cfg.chat:
        results["chat"] = _section(
            results, "chat server", cfg, lambda: bench_chat(cfg, settings, index_dir, work, questions[0].question)
        )
    else:
        results["chat"] = {"available": False, "reason": "skipped"}
    if cfg.load_sessions and not cfg.skip_llm:
        load_questions = [q.question for q in pick_questions(cfg, cfg.load_sessions)]
        results["load"] = _section(
            results,
            f"{cfg.load_sessions} simultaneous users",
            cfg,
            lambda: bench_load(cfg, settings, index_dir, work, load_questions),
        )
    else:
        results["load"] = {"available": False, "reason": "skipped", "slots": cfg.server_slots}
