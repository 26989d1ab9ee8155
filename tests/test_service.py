"""The service wiring: models checked before a server starts, and loaded in the background while it serves."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import rag.wiring as service_module
from rag.models.files import ModelError
from rag.settings import Settings
from rag.wiring import BackgroundService, check_models


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", store_mode="persistent", cache_dir=tmp_path / "cache")


def test_missing_models_stop_a_server_before_it_loads_anything(settings: Settings) -> None:
    with pytest.raises(ModelError, match="missing"):
        check_models(settings)


def test_an_embedding_server_needs_no_embedding_model_here(settings: Settings) -> None:
    check_models(settings.model_copy(update={"embedding_backend": "openai", "llm_backend": "none"}))
    with pytest.raises(ModelError, match="missing"):
        check_models(settings.model_copy(update={"llm_backend": "none"}))


def test_the_store_answers_while_the_models_load_and_everything_else_waits(monkeypatch, settings: Settings) -> None:
    release = threading.Event()
    loaded = SimpleNamespace(answer=lambda q, history=None: f"answer to {q}", store="the loaded service's store")

    def slow_get_service(s: Settings) -> SimpleNamespace:
        release.wait(10)
        return loaded

    monkeypatch.setattr(service_module, "get_service", slow_get_service)
    background = BackgroundService(settings)
    assert not background.ready
    assert background.store.count() == 0  # an empty index, listed while the models load
    with pytest.raises(TimeoutError):
        background.wait(timeout=0.05)
    release.set()
    assert background.answer("q") == "answer to q"  # waited for the load
    assert background.ready and background.wait() is loaded
    assert background.store == "the loaded service's store"


def test_loading_waits_for_start_and_a_failed_load_is_raised_to_every_caller(monkeypatch, settings: Settings) -> None:
    def broken(s: Settings) -> None:
        raise ModelError("Model qwen is missing")

    monkeypatch.setattr(service_module, "get_service", broken)
    background = BackgroundService(settings, start=False)
    with pytest.raises(TimeoutError):
        background.wait(timeout=0.05)  # not started: a server starts it once it serves
    background.start()
    for _ in range(2):
        with pytest.raises(ModelError, match="qwen is missing"):
            background.answer("q")


@pytest.fixture
def fake_loaders(monkeypatch, settings: Settings) -> SimpleNamespace:
    """get_service's components replaced: each loader records that it started and waits for a signal."""
    import rag.models.embedding
    import rag.models.llm
    import rag.models.prefix_state
    import rag.store.chroma

    state = SimpleNamespace(
        embedder_started=threading.Event(), backend_started=threading.Event(), release=threading.Event(), error=None
    )

    def get_embedder(s: Settings) -> str:
        state.embedder_started.set()
        state.release.wait(10)
        return "embedder"

    def build_backend(s: Settings) -> None:
        state.backend_started.set()
        if state.error:
            raise state.error
        state.embedder_started.wait(10)  # returns at once only when the embedder loads beside the LLM

    monkeypatch.setattr(rag.models.embedding, "get_embedder", get_embedder)
    monkeypatch.setattr(rag.models.llm, "build_backend", build_backend)
    monkeypatch.setattr(rag.store.chroma, "open_store", lambda s: "store")
    monkeypatch.setattr(rag.models.prefix_state, "warm_prefix", lambda *a: SimpleNamespace(outcome="unsupported"))
    monkeypatch.setattr(service_module, "AnswerService", lambda *args: SimpleNamespace(args=args))
    monkeypatch.setattr(service_module, "_services", {})
    return state


def test_the_embedding_model_loads_beside_the_llm(fake_loaders: SimpleNamespace, settings: Settings) -> None:
    threading.Timer(0.2, fake_loaders.release.set).start()
    started = time.perf_counter()
    service = service_module.get_service(settings)
    assert service.args[1:3] == ("store", "embedder")
    assert time.perf_counter() - started < 5  # sequential loading would wait 10 s for the embedder to start


def test_an_llm_that_fails_to_load_is_reported_without_waiting_for_the_embedder(
    fake_loaders: SimpleNamespace, settings: Settings
) -> None:
    fake_loaders.error = ModelError("Model qwen is missing")
    started = time.perf_counter()
    with pytest.raises(ModelError, match="qwen"):
        service_module.get_service(settings)
    assert time.perf_counter() - started < 5 and not fake_loaders.release.is_set()
    fake_loaders.release.set()
