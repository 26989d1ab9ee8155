"""Wiring: build the components from settings once per process and hand out the services."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

from rag.answer import Answer, AnswerService
from rag.offline import enforce_offline
from rag.settings import Settings, get_settings

log = logging.getLogger("newsrag.service")
_services: dict[str, AnswerService] = {}
_lock = threading.Lock()


def get_service(settings: Settings | None = None) -> AnswerService:
    """Models are loaded on first use and kept: a second call with equal settings costs nothing."""
    enforce_offline()
    settings = settings or get_settings()
    key = settings.model_dump_json()
    with _lock:
        if key not in _services:
            from rag.embedding import get_embedder
            from rag.llm import build_llm
            from rag.prefix_state import warm_prefix
            from rag.prompting import prefix_messages
            from rag.store import open_store

            store = open_store(settings)  # first: a missing index is reported before 10 s of model loading
            llm = build_llm(settings)
            warmup = warm_prefix(llm, prefix_messages(), settings.cache_dir / "prefix-state")
            if warmup.outcome != "unsupported":
                log.info("prompt prefix (%d tokens) %s in %.1f s", warmup.tokens, warmup.outcome, warmup.seconds)
            _services[key] = AnswerService(settings, store, get_embedder(settings), llm)
        return _services[key]


def answer(question: str, history: list[dict[str, str]] | None = None, settings: Settings | None = None) -> Answer:
    return get_service(settings).answer(question, history)


def stream_answer(
    question: str, history: list[dict[str, str]] | None = None, settings: Settings | None = None
) -> Iterator[str | Answer]:
    return get_service(settings).stream(question, history)
