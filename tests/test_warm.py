"""`rag index --warm`: every chunk's state computed ahead, the newest articles first, or only the newest N;
and what it refuses (another backend, the cache off, --newest without --warm)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from rag.answering.warm import NothingToWarmError, newest_first, warm_chunk_states
from rag.models.chunk_states import ChunkStates
from rag.settings import Settings
from rag.store import DocumentInfo
from tests.fakes import char_backend, make_chunk


def _doc(doc_id: str, date: str | None) -> DocumentInfo:
    return DocumentInfo(doc_id=doc_id, title=doc_id, date=date, source=f"{doc_id}.txt", chunks=2, doc_sha="x")


DOCS = [_doc("old", "2019-05-01"), _doc("undated", None), _doc("new", "2024-03-10"), _doc("march", "2024-03")]


class Store:
    """documents() and chunks_of(), what warming reads of the store: two chunks per article."""

    def documents(self) -> list[DocumentInfo]:
        return list(DOCS)

    def chunks_of(self, doc_id: str):
        return [
            make_chunk(f"{doc_id} Absatz {i}.", chunk_id=f"{doc_id}-{i}", doc_id=doc_id, chunk_index=i)
            for i in range(2)
        ]


def _service(tmp_path: Path, max_bytes: int = 10**9) -> SimpleNamespace:
    return SimpleNamespace(
        backend=char_backend(tmp_path),
        chunk_states=ChunkStates(tmp_path / "chunks", max_bytes, tmp_path / "prefix"),
        store=Store(),
        settings=Settings(),
    )


def test_articles_are_ordered_newest_first_and_undated_last() -> None:
    assert [d.doc_id for d in newest_first(DOCS)] == ["new", "march", "old", "undated"]


def test_newest_warms_only_the_chunks_of_the_newest_articles_and_again_finds_them(tmp_path: Path) -> None:
    service = _service(tmp_path)
    done: list[tuple[int, int]] = []
    first = warm_chunk_states(service, lambda d, t: done.append((d, t)), newest=2)  # type: ignore[arg-type]
    assert (first.evaluated, first.cached, first.left_out) == (4, 0, 0) and done[-1] == (4, 4)
    assert len(service.chunk_states.files()) == 4
    again = warm_chunk_states(_service(tmp_path))  # type: ignore[arg-type]
    assert (again.evaluated, again.cached) == (4, 4), "the two newest were there; the rest computed now"


def test_nothing_to_warm_without_the_local_model_or_with_the_cache_off(tmp_path: Path) -> None:
    off = _service(tmp_path, max_bytes=0)
    with pytest.raises(NothingToWarmError, match="cache is off"):
        warm_chunk_states(off)  # type: ignore[arg-type]
    server = _service(tmp_path)
    server.backend = SimpleNamespace(llama=None)
    with pytest.raises(NothingToWarmError, match="in-process LLM"):
        warm_chunk_states(server)  # type: ignore[arg-type]


def test_newest_without_warm_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.cli.main import app

    (tmp_path / "rag.toml").write_text("")
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "rag.toml"))
    result = CliRunner().invoke(app, ["index", str(tmp_path), "--newest", "3"])
    assert result.exit_code == 2 and "--newest only limits --warm" in result.output
