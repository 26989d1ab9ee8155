from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answering.service import AnswerService
from rag.ingest.pipeline import index_paths
from rag.offline import enforce_offline
from rag.settings import Settings
from rag.store.chroma import open_store
from tests.fakes import HashEmbedder, scripted_backend
from tests.newsserver import NewsSite, serve_news
from tests.servers import UIServer, shared_server

enforce_offline()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`integration` and `model` name the same tests: a test marked with the older `integration` (still used in
    tests/test_ingest.py) also gets `model`, and every `model` or `browser` test also gets `integration`, so both
    `-m "not model and not browser and not slow"` and `-m "not integration"` select the tests that need no model."""
    for item in items:
        if item.get_closest_marker("integration") and not item.get_closest_marker("model"):
            item.add_marker(pytest.mark.model)
        if (item.get_closest_marker("model") or item.get_closest_marker("browser")) and not item.get_closest_marker(
            "integration"
        ):
            item.add_marker(pytest.mark.integration)


ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
WEB = ROOT / "tests" / "data" / "web"


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "articles"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", cache_dir=Path.home() / ".cache" / "newsrag", llm_backend="none")


@pytest.fixture
def news_site(tmp_path: Path) -> Iterator[NewsSite]:
    """The saved news pages, feeds and sitemaps of tests/data/web on a local server (a copy tests may edit)."""
    root = tmp_path / "web"
    shutil.copytree(WEB, root)
    with serve_news(root) as site:
        yield site


@pytest.fixture
def web_settings(tmp_settings: Settings) -> Settings:
    """Settings for fetching from the local news site: loopback allowed, short timeout, no pause, 50 kB limit."""
    return tmp_settings.model_copy(
        update={
            "fetch_allow_private": True,
            "fetch_timeout_s": 1.0,
            "fetch_host_delay_s": 0.0,
            "fetch_max_bytes": 50_000,
        }
    )


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
    # One scripted reply per question: a list question asks one prompt here (tests/test_lists.py asks several).
    settings = tmp_settings.with_answer(min_relevance=0.05, list_passages=1).model_copy(update={"llm_backend": "local"})
    return AnswerService(settings, store, embedder, scripted_backend())
