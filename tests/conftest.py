from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer import AnswerService
from rag.ingest import index_paths
from rag.offline import enforce_offline
from rag.settings import Settings
from rag.store import open_store
from tests.fakes import HashEmbedder, scripted_backend
from tests.servers import UIServer, shared_server

enforce_offline()

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "articles"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", cache_dir=Path.home() / ".cache" / "newsrag", llm_backend="none")


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory) -> Iterator[UIServer]:
    with shared_server(tmp_path_factory) as server:
        yield server


@pytest.fixture
def service(tmp_settings: Settings, seeds_copy: Path) -> AnswerService:
    """The seeds in a real Chroma store, a hashing embedder and a scripted LLM: answering without models."""
    embedder = HashEmbedder()
    store = open_store(tmp_settings)
    index_paths([seeds_copy], tmp_settings, store, lambda: embedder)
    settings = tmp_settings.model_copy(update={"min_relevance": 0.05, "llm_backend": "local"})
    return AnswerService(settings, store, embedder, scripted_backend())
