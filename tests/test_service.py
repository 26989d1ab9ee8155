"""The service wiring: models checked before a server starts, and loaded in the background while it serves."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

import rag.service as service_module
from rag.model_files import ModelError
from rag.service import BackgroundService, check_models
from rag.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", store_mode="persistent", cache_dir=tmp_path / "cache")


def test_missing_models_stop_a_server_before_it_loads_anything(settings: Settings) -> None:
    with pytest.raises(ModelError, match="missing"):
        check_models(settings)


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
