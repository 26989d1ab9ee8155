"""rag.NewsRAG, the façade: index, ask, stream, list and remove, by keyword settings; the README's example runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

import rag
from rag import IndexPreview, IndexReport, NewsRAG, NewsragError, Settings
from rag.models.embedding import Embedder
from rag.types import Final
from tests.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
NATO = "001_0bda7b3f5836d6c8"  # the seed article that names NATO's secretary general


@pytest.fixture
def one_article(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(ROOT / "seeds" / f"{NATO}.txt", folder)
    return folder


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rag.models.embedding.get_embedder", lambda settings: cast(Embedder, HashEmbedder()))


def test_every_public_name_is_exported_and_typed():
    assert sorted(rag.__all__) == rag.__all__ and all(getattr(rag, name) for name in rag.__all__)
    assert (ROOT / "rag" / "py.typed").is_file()
    source = (ROOT / "rag" / "__init__.py").read_text(encoding="utf-8")
    for name in rag.__all__:  # each one also under TYPE_CHECKING, so mypy and IDEs see its real type
        assert re.search(rf"^    from rag\.[\w.]+ import .*\b{name}\b", source, re.M), name
    with pytest.raises(AttributeError):
        _ = rag.no_such_name


def test_index_ask_stream_documents_and_remove_by_keyword_settings(tmp_path, one_article, fake_embedder):
    news = NewsRAG(index_dir=tmp_path / "index", llm_backend="none")
    assert news.settings.llm_backend == "none"
    report = news.index(one_article)
    assert isinstance(report, IndexReport) and report.added == [NATO]
    assert news.index(str(one_article)).unchanged == [NATO]  # str or Path
    answer = news.ask("Wer ist der Generalsekretär der NATO?")
    assert answer.citations and not answer.refused
    assert {c.doc_id for c in answer.citations.values()} == {NATO}
    *_, final = news.stream("Wer ist der Generalsekretär der NATO?")
    assert isinstance(final, Final) and final.answer.text == answer.text
    assert [d.doc_id for d in news.documents()] == [NATO]
    preview = news.index(one_article, dry_run=True)
    assert isinstance(preview, IndexPreview) and preview.sources[0].items[0].status == "unchanged"
    assert news.remove(NATO) == [NATO] and news.documents() == []
    with pytest.raises(NewsragError, match="no document 'nope'"):
        news.remove("nope")


def test_settings_are_given_one_way_only(tmp_path):
    with pytest.raises(TypeError, match="not both"):
        NewsRAG(Settings(index_dir=tmp_path), llm_backend="none")
    assert NewsRAG(Settings(index_dir=tmp_path, top_k=3)).settings.top_k == 3


def readme_python_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### From Python") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_uses_the_facade():
    code = readme_python_example()
    assert code.startswith("from rag import NewsRAG") and len(code.splitlines()) <= 10


@pytest.mark.model
def test_the_readme_python_example_runs_with_the_real_embedding_model(tmp_path):
    """The README's example as a user runs it, from the project folder, with the real EmbeddingGemma."""
    code = readme_python_example().replace('index_dir="my-index"', f"index_dir={str(tmp_path / 'index')!r}")
    env = {**os.environ, "RAG_CONFIG": str(tmp_path / "rag.toml")}
    (tmp_path / "rag.toml").write_text("")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0].startswith("5 added")
    assert "Stoltenberg" in run.stdout and any(re.match(r"\[\d+\] 00\d_", line) for line in lines[2:])
