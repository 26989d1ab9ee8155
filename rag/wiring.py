"""Wiring: build the components from settings once per process and hand out the services."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from rag.answering.service import AnswerService
from rag.offline import enforce_offline
from rag.settings import Settings, get_settings
from rag.types import Answer, StreamEvent

if TYPE_CHECKING:
    from rag.models.embedding import Embedder
    from rag.store.chroma import ChunkStore

log = logging.getLogger("newsrag.service")
# One service per distinct settings; the models inside are shared (rag.models.llm and rag.models.embedding cache them).
_services: dict[str, AnswerService] = {}
_lock = threading.Lock()


class AnswerSource(Protocol):
    """What the chat, the CLI and the library tools use of a service, loaded or loading."""

    settings: Settings

    @property
    def store(self) -> ChunkStore: ...

    @property
    def embedder(self) -> Embedder: ...

    def stream(
        self, question: str, history: list[dict[str, str]] | None = None
    ) -> Generator[StreamEvent, None, None]: ...

    def answer(self, question: str, history: list[dict[str, str]] | None = None) -> Answer: ...


def get_service(settings: Settings | None = None) -> AnswerService:
    """Models are loaded on first use and kept: a second call with equal settings costs nothing."""
    enforce_offline()
    settings = settings or get_settings()
    key = settings.model_dump_json()
    with _lock:
        if key not in _services:
            from rag.answering.prompt import prefix_messages
            from rag.models.embedding import get_embedder
            from rag.models.llm import build_backend
            from rag.models.prefix_state import warm_prefix
            from rag.store.chroma import open_store

            store = open_store(settings)  # first: a missing index is reported before 10 s of model loading
            # The embedding model (torch's imports, 1.2 GB of weights) loads beside the LLM and its prompt
            # state: llama.cpp works outside the GIL, so a cold `rag ask` waits for the slower of the two.
            loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load-embedder")
            try:
                embedder = loader.submit(get_embedder, settings)
                backend = build_backend(settings)
                prefix = prefix_messages(settings.answer.answer_format)
                warmup = warm_prefix(backend, prefix, settings.cache_dir / "prefix-state")
                if warmup.outcome != "unsupported":
                    log.info("prompt prefix (%d tokens) %s in %.1f s", warmup.tokens, warmup.outcome, warmup.seconds)
                _services[key] = AnswerService(settings, store, embedder.result(), backend)
            finally:
                loader.shutdown(wait=False)  # an LLM that failed to load is reported without waiting
        return _services[key]


def answer(question: str, history: list[dict[str, str]] | None = None, settings: Settings | None = None) -> Answer:
    return get_service(settings).answer(question, history)


def stream_answer(
    question: str, history: list[dict[str, str]] | None = None, settings: Settings | None = None
) -> Generator[StreamEvent, None, None]:
    return get_service(settings).stream(question, history)


def check_models(settings: Settings) -> None:
    """Raise ModelError when an embedded model the settings use is missing or fails its check. Cheap (the
    checks trust a stamp of the last full hash), so a server can refuse to start before loading anything."""
    from rag.models.files import resolve_embedding_path, resolve_gguf_path

    if settings.embedding_backend == "local":
        resolve_embedding_path(settings.embedding_model, settings.models_dir)
    if settings.llm_backend in ("local", "fast"):
        resolve_gguf_path(settings.llm_backend, settings.llm_model, settings.models_dir)


class BackgroundService:
    """get_service(settings) loading in a thread. Answers wait until the models are loaded, and re-raise what
    failed there; `store` answers at once, so a server can list documents and serve its page while the
    models load (about 12 s on 2 cores)."""

    def __init__(self, settings: Settings, start: bool = True) -> None:
        from rag.store.chroma import open_store

        self.settings = settings
        self._early_store = open_store(settings)  # stores read their pointer on every call: two are consistent
        self._service: AnswerService | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._load, name="load-models", daemon=True)
        if start:
            self.start()

    def start(self) -> None:
        """Begin loading (once); a server calls it when it serves, so loading does not slow its start-up."""
        if not self._thread.is_alive() and not self._done.is_set():
            self._thread.start()

    def _load(self) -> None:
        try:
            self._service = get_service(self.settings)
        except BaseException as exc:  # kept for the first caller, who gets it instead of a hang
            self._error = exc
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> AnswerService:
        if not self._done.wait(timeout):
            raise TimeoutError(f"the models did not load within {timeout} s")
        if self._error is not None:
            raise self._error
        assert self._service is not None
        return self._service

    @property
    def store(self) -> ChunkStore:
        return self._service.store if self._service is not None else self._early_store

    @property
    def embedder(self) -> Embedder:
        return self.wait().embedder

    def stream(self, question: str, history: list[dict[str, str]] | None = None) -> Generator[StreamEvent, None, None]:
        return self.wait().stream(question, history)

    def answer(self, question: str, history: list[dict[str, str]] | None = None) -> Answer:
        return self.wait().answer(question, history)
