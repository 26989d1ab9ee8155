"""The answer sections of `rag bench`: extractive and local LLM answers, the llama-index baseline on the same
questions, and the context-budget lever; each returns the JSON-ready figures of one section."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

from rag.evaluation.bench.config import BenchConfig
from rag.evaluation.bench.figures import latency_summary
from rag.evaluation.bench.harness import timed
from rag.evaluation.summary import percentile, rounded

if TYPE_CHECKING:
    from rag.answering import AnswerService
    from rag.evaluation.questionset import Question
    from rag.models import Embedder, LLMBackend
    from rag.settings import Settings


def pick_questions(cfg: BenchConfig, n: int) -> list[Question]:
    """The first n answerable single-turn questions of cfg.questions_file."""
    from rag.evaluation.questionset import parse_question_set

    questions = [q for q in parse_question_set(cfg.questions_file) if q.answerable and not q.history]
    if not questions:
        raise RuntimeError(f"no answerable single-turn questions in {cfg.questions_file}")
    return questions[:n]


def bench_extractive(
    cfg: BenchConfig, settings: Settings, embedder: Embedder, index_dir: Path, questions: Sequence[Question]
) -> dict[str, Any]:
    from rag.answering import AnswerService
    from rag.store import open_store

    s = settings.model_copy(update={"index_dir": index_dir, "llm_backend": "none"})
    service = AnswerService(s, open_store(s), embedder, None)
    service.answer(questions[0].question)  # warm-up
    runs, cited = [], 0
    for _ in range(cfg.repeat):
        times = []
        for q in questions:
            seconds, answer = timed(partial(service.answer, q.question))
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


def bench_quote_by_meaning(
    cfg: BenchConfig, settings: Settings, embedder: Embedder, index_dir: Path, questions: Sequence[Question]
) -> dict[str, Any]:
    """What an answer across languages pays for its quote (`quote_across_languages = meaning`): the claim and
    its passage's sentences embedded. The question stands in for the answer, the best-ranked chunk for the
    passage; no LLM is needed."""
    from rag.answering import chunk_sentences, retrieve
    from rag.models import sentence_similarities
    from rag.store import open_store

    store = open_store(settings.model_copy(update={"index_dir": index_dir}))
    cases = []
    for q in questions:
        chunk = retrieve(q.question, store, embedder, 1).chunks[0]
        cases.append((q.question, [text for _, _, text in chunk_sentences(chunk)]))
    sentence_similarities(embedder, *cases[0])  # warm-up
    runs = []
    for _ in range(cfg.repeat):
        runs.append([timed(partial(sentence_similarities, embedder, *c))[0] * 1000 for c in cases])
    summary = latency_summary(runs)
    return {
        "p50_ms": summary["p50"],
        "p95_ms": summary["p95"],
        "sentences_p50": percentile([float(len(sentences)) for _, sentences in cases], 50),
        "questions": len(questions),
        "runs": summary["runs"],
    }


def llm_settings(settings: Settings, index_dir: Path, **update: Any) -> Settings:
    """settings with the seed index and the embedded (local) LLM."""
    return settings.model_copy(update={"index_dir": index_dir, "llm_backend": "local", **update})


def _service_with_chunk_states(
    settings: Settings, embedder: Embedder, backend: LLMBackend, index_dir: Path, states: Path, states_mb: int
) -> tuple[AnswerService, str]:
    """The local answer service with its chunk states in `states` (0 MB: none kept), and a label for reports."""
    from rag.answering import AnswerService
    from rag.store import open_store

    s = llm_settings(settings, index_dir, chunk_states_mb=states_mb, chunk_states_dir=states)
    return AnswerService(s, open_store(s), embedder, backend), "cache on" if states_mb else "cache off"


def bench_local_answers(
    cfg: BenchConfig,
    settings: Settings,
    embedder: Embedder,
    backend: LLMBackend,
    index_dir: Path,
    questions: Sequence[Question],
    chunk_states_dir: Path,
    chunk_states_mb: int,
) -> dict[str, Any]:
    """Each question's answer times, and its prompt tokens against those llama.cpp evaluated: the fixed prefix
    is kept, and with the chunk cache on (chunk_states_mb > 0) the best chunk's state is kept or loaded too."""
    from rag.answering import prefix_messages
    from rag.models import warm_prefix

    service, label = _service_with_chunk_states(
        settings, embedder, backend, index_dir, chunk_states_dir, chunk_states_mb
    )
    s = service.settings
    warm_prefix(backend, prefix_messages(s.answer.answer_format), s.cache_dir / "prefix-state")  # as rag.wiring does
    counter = _PromptCounter(backend)
    ttft: list[float] = []
    total: list[float] = []
    records: list[dict[str, Any]] = []
    for _ in range(cfg.llm_repeat):
        for q in questions:
            with counter:
                seconds, answer = timed(partial(service.answer, q.question))
            ttft.append(answer.timings.ttft_ms)
            total.append(seconds * 1000)
            records.append(
                {
                    "id": q.id,
                    "ttft_ms": answer.timings.ttft_ms,
                    "total_ms": round(seconds * 1000, 1),
                    "mode": answer.mode,
                    "refused": answer.refused,
                    "citations": len(answer.citations),
                    "language_retry": answer.language_retry,
                    "prompt_tokens": counter.prompt_tokens,
                    "prompt_tokens_evaluated": counter.evaluated,
                    "text": answer.text[:300],
                }
            )
            cfg.report(
                f"  ours, {label}, {q.id}: ttft {answer.timings.ttft_ms} ms, total {seconds:.1f} s ({answer.mode}), "
                f"prompt {counter.prompt_tokens} tokens, {counter.evaluated} evaluated"
            )
    summary = _answer_summary(ttft, total, records)
    prompts = [r["prompt_tokens"] for r in records if r["prompt_tokens"]]
    evaluated = [r["prompt_tokens_evaluated"] for r in records if r["prompt_tokens"]]
    summary["prompt_tokens_p50"] = percentile(prompts, 50) if prompts else None
    summary["prompt_tokens_evaluated_p50"] = percentile(evaluated, 50) if evaluated else None
    summary["chunk_states"] = _chunk_state_figures(service, chunk_states_mb)
    return summary


def _chunk_state_figures(service: AnswerService, chunk_states_mb: int) -> dict[str, Any]:
    """How the answers used the chunk cache: states kept in memory, loaded from disk or evaluated, and its size."""
    stats = service.chunk_states.stats
    return {
        "mb": chunk_states_mb,
        "kept": stats.kept,
        "loaded": stats.loaded,
        "evaluated": stats.evaluated,
        "hit_rate": rounded(stats.hit_rate, 3),
        "size_mb": round(service.chunk_states.size_bytes() / 2**20, 1),
        "load_ms_p50": rounded(median(stats.load_seconds) * 1000, 1) if stats.load_seconds else None,
    }


def bench_warm(
    cfg: BenchConfig, settings: Settings, embedder: Embedder, backend: LLMBackend, index_dir: Path, states: Path
) -> dict[str, Any]:
    """`rag index --warm` on the bench's seed index: every chunk's state computed and saved."""
    from rag.answering import warm_chunk_states

    service, _ = _service_with_chunk_states(settings, embedder, backend, index_dir, states, settings.chunk_states_mb)
    warmup = warm_chunk_states(service)
    size_mb = warmup.size_bytes / 2**20
    per_state = size_mb / max(1, warmup.evaluated + warmup.cached)
    cfg.report(f"  warmed {warmup.evaluated} chunk states in {warmup.seconds:.1f} s, {size_mb:.0f} MB")
    return {
        "evaluated": warmup.evaluated,
        "cached": warmup.cached,
        "left_out": warmup.left_out,
        "seconds": round(warmup.seconds, 1),
        "size_mb": round(size_mb, 1),
        "mb_per_state": round(per_state, 2),
        # how many passages the cap keeps warm at this size: the figure an archive's hit rate follows
        "states_the_cap_keeps": int(settings.chunk_states_mb / per_state) if per_state else None,
    }


def follow_up_questions(cfg: BenchConfig) -> list[Question]:
    """The follow-up questions (with a history) of cfg.followups_file, at most cfg.n_followups."""
    from rag.evaluation.questionset import parse_question_set

    return [q for q in parse_question_set(cfg.followups_file) if q.history][: cfg.n_followups]


def bench_follow_ups(
    cfg: BenchConfig,
    settings: Settings,
    embedder: Embedder,
    backend: LLMBackend,
    index_dir: Path,
    questions: Sequence[Question],
    chunk_states_dir: Path,
    chunk_states_mb: int,
) -> dict[str, Any]:
    """A conversation's next question: its first question is asked, then the follow-up with the history
    (searched as `follow_up_search` says: with the earlier turn, or condensed by the model first); the
    follow-up is timed."""
    from rag.evaluation.runner import question_history

    service, label = _service_with_chunk_states(
        settings, embedder, backend, index_dir, chunk_states_dir, chunk_states_mb
    )
    counter = _PromptCounter(backend)
    ttft: list[float] = []
    total: list[float] = []
    records: list[dict[str, Any]] = []
    for q in questions:
        history = question_history(q)
        service.answer(next(t["content"] for t in history if t["role"] == "user"))  # the conversation so far
        with counter:
            seconds, answer = timed(partial(service.answer, q.question, history))
        ttft.append(answer.timings.ttft_ms)
        total.append(seconds * 1000)
        records.append(
            {
                "id": q.id,
                "ttft_ms": answer.timings.ttft_ms,
                "total_ms": round(seconds * 1000, 1),
                "condensed": answer.condensed_question,
                "prompt_tokens_evaluated": counter.evaluated,
                "text": answer.text[:300],
            }
        )
        cfg.report(f"  follow-up, {label}, {q.id}: ttft {answer.timings.ttft_ms} ms, {counter.evaluated} evaluated")
    summary = _answer_summary(ttft, total, records)
    summary["prompt_tokens_evaluated_p50"] = percentile([r["prompt_tokens_evaluated"] for r in records], 50)
    return summary


class _PromptCounter:
    """Counts, for one answer, the prompt tokens llama.cpp was asked for (the longest prompt it saw: prefix kept
    plus tokens evaluated) and the tokens it evaluated in batches of more than one (prompt processing, not the
    one-token generation steps)."""

    def __init__(self, backend: LLMBackend) -> None:
        self.model = backend.llama.llama_cpp if backend.llama is not None else None
        self.prompt_tokens = self.evaluated = 0

    def __enter__(self) -> _PromptCounter:
        self.prompt_tokens = self.evaluated = 0
        model = self.model
        if model is not None:
            original = model.eval

            def counting_eval(tokens: Sequence[int]) -> None:
                if len(tokens) > 1:
                    self.evaluated += len(tokens)
                    self.prompt_tokens = max(self.prompt_tokens, model.n_tokens + len(tokens))
                original(tokens)

            model.eval = counting_eval
        return self

    def __exit__(self, *exc: object) -> None:
        if self.model is not None:
            del self.model.eval  # the instance attribute goes; the class's method is back


def _answer_summary(ttft: list[float], total: list[float], records: list[dict[str, Any]]) -> dict[str, Any]:
    """p50/p95 over all answers (each question × llm_repeat), not per run: there is usually one LLM run."""
    return {
        "ttft_p50_ms": rounded(percentile(ttft, 50)),
        "ttft_p95_ms": rounded(percentile(ttft, 95)),
        "total_p50_ms": rounded(percentile(total, 50)),
        "total_p95_ms": rounded(percentile(total, 95)),
        "answers": records,
    }


def bench_baseline(
    cfg: BenchConfig, settings: Settings, backend: LLMBackend, seeds: Path, questions: Sequence[Question]
) -> dict[str, Any]:
    """The llama-index defaults of evaluation/baseline.py, asked the same questions with the same LLM."""
    from rag.evaluation.baseline import BaselinePipeline

    pipeline = BaselinePipeline(settings, documents_dir=seeds, llm=backend.llm)
    ttft: list[float] = []
    total: list[float] = []
    records: list[dict[str, Any]] = []
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
        "source": "rag.evaluation.baseline.BaselinePipeline",
        "build_s": round(pipeline.build_s, 2),
        **_answer_summary(ttft, total, records),
    }


def bench_context_budget(
    cfg: BenchConfig,
    settings: Settings,
    embedder: Embedder,
    backend: LLMBackend,
    index_dir: Path,
    questions: Sequence[Question],
) -> list[dict[str, Any]]:
    """Time to first token against context_budget_tokens; generation is stopped at the first token."""
    from rag.answering import AnswerService, estimate_tokens, prefix_messages
    from rag.models import warm_prefix
    from rag.store import open_store
    from rag.types import Delta

    rows = []
    for budget in cfg.context_budgets:
        s = llm_settings(settings.with_answer(context_budget_tokens=budget), index_dir)
        service = AnswerService(s, open_store(s), embedder, backend)
        # The baseline's prompts displaced it.
        warm_prefix(backend, prefix_messages(s.answer.answer_format), s.cache_dir / "prefix-state")
        ttft: list[float] = []
        prompt_tokens: list[int] = []
        for q in questions:
            prompt_tokens.append(sum(estimate_tokens(p.text) for p in service.prepare(q.question).passages))
            started = time.perf_counter()
            stream = service.stream(q.question)
            try:
                if any(isinstance(event, Delta) for event in stream):  # stops at the first Delta
                    ttft.append((time.perf_counter() - started) * 1000)
            finally:
                stream.close()
        row = {
            "context_budget_tokens": budget,
            "passage_tokens_p50": rounded(percentile(prompt_tokens, 50), None),
            "ttft_p50_ms": rounded(percentile(ttft, 50)),
            "questions": len(questions),
        }
        rows.append(row)
        cfg.report(f"  budget {budget}: ~{row['passage_tokens_p50']} passage tokens, ttft p50 {row['ttft_p50_ms']} ms")
    return rows
