"""Wiring: build the components from settings once per process and hand out the services."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from rag.answer import Answer, AnswerService
from rag.offline import enforce_offline
from rag.settings import Settings, get_settings

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
            from rag.store import open_store

            _services[key] = AnswerService(settings, open_store(settings), get_embedder(settings), build_llm(settings))
        return _services[key]


def answer(question: str, history: list[dict[str, str]] | None = None, settings: Settings | None = None) -> Answer:
    return get_service(settings).answer(question, history)


def stream_answer(
    question: str, history: list[dict[str, str]] | None = None, settings: Settings | None = None
) -> Iterator[str | Answer]:
    return get_service(settings).stream(question, history)
