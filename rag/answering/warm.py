"""`rag index --warm`: the chunk states of every indexed chunk computed ahead, so that no reader pays for them.

Each chunk is put where a question would put it, first among the passages, and its head (the prefix and the
chunk) evaluated and saved by rag.models.chunk_states: the same tokens and the same key as when a question ranks it
first. At about 7 MB a state (the chunk's own KV cells), the default cap of 4,000 MB holds about 570; on an
archive, `--newest N` warms only the latest articles.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rag.answering.focus import best_chunk_and_focus
from rag.answering.prompt import build_messages, restore_best_chunk, select_passages
from rag.answering.service import AnswerService
from rag.errors import NewsragError
from rag.store import DocumentInfo

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Warmup:
    """What warming did: states evaluated and saved, states already on disk, chunks left out for lack of space."""

    evaluated: int
    cached: int
    left_out: int
    seconds: float
    size_bytes: int


class NothingToWarmError(NewsragError, RuntimeError):
    """The configured LLM is not the in-process one, or the chunk cache is off."""


def newest_first(documents: list[DocumentInfo]) -> list[DocumentInfo]:
    """By date, newest first (a month's date after the days of that month); undated articles last."""
    dated = sorted((d for d in documents if d.date), key=lambda d: d.date or "", reverse=True)
    return dated + [d for d in documents if not d.date]


def warm_chunk_states(service: AnswerService, progress: Progress | None = None, newest: int | None = None) -> Warmup:
    """Every chunk's state, the newest articles first; only those of the `newest` N articles when given (after
    a feed refresh: today's news warm, the archive computed when a question first ranks it first)."""
    backend, cache = service.backend, service.chunk_states
    if backend is None or backend.llama is None:
        raise NothingToWarmError(
            "Nothing to warm: the chunk states are for the in-process LLM (llm_backend local or fast)."
        )
    if cache.max_bytes <= 0:
        raise NothingToWarmError("Nothing to warm: the chunk cache is off (chunk_states_mb = 0).")
    started = time.perf_counter()
    documents = newest_first(service.store.documents())[:newest]
    chunks = [chunk for doc in documents for chunk in service.store.chunks_of(doc.doc_id)]
    evaluated = cached = left_out = 0
    for done, chunk in enumerate(chunks, 1):
        passages = select_passages(
            best_chunk_and_focus("", [chunk], best=0, neighbours=0), service.settings.answer.context_budget_tokens
        )
        messages = build_messages("", passages, "en", service.settings.answer.answer_format)
        use = restore_best_chunk(cache, backend, messages, passages)
        evaluated += use.outcome == "evaluated"
        cached += use.outcome in ("loaded", "kept")
        if progress is not None:
            progress(done, len(chunks))
        if use.outcome == "evaluated" and cache.size_bytes() + cache.largest_file_bytes() > cache.max_bytes:
            left_out = len(chunks) - done  # the next state would push out one just computed
            break
    return Warmup(evaluated, cached, left_out, time.perf_counter() - started, cache.size_bytes())
