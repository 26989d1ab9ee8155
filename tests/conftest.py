from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.offline import enforce_offline
from rag.settings import Settings
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
