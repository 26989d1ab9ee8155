"""rag.ingest.overlap, and index runs that read beside the embedder: the same index as reading everything first,
and either side's failure stops the other with the error a sequential run gave."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.errors import NewsragError
from rag.ingest.chunking import chunk_document
from rag.ingest.documents import load_document
from rag.ingest.overlap import ahead
from rag.ingest.pipeline import (
    _records,
    chunker_id,
    collect_files,
    document_fingerprint,
    index_paths,
    load_documents,
)
from rag.ingest.web.articles import fetch_articles
from rag.ingest.web.fetcher import Fetcher
from rag.settings import Settings
from rag.store.chroma import StoreError, open_store
from rag.store.records import Signature
from tests.fakes import HashEmbedder

# -- ahead() -------------------------------------------------------------------------------------------------


def test_items_come_in_order_and_the_producer_runs_at_most_maxsize_ahead():
    made: list[int] = []

    def produce() -> Iterator[int]:
        for n in range(20):
            made.append(n)
            yield n

    got = []
    with ahead(produce, maxsize=3) as items:
        for item in items:
            time.sleep(0.02)
            assert len(made) <= item + 1 + 3 + 1  # the queue, plus the one the producer holds while it waits
            got.append(item)
    assert got == list(range(20))


def test_producer_and_consumer_overlap():
    def produce() -> Iterator[int]:
        for n in range(10):
            time.sleep(0.05)  # a fetch
            yield n

    started = time.perf_counter()
    with ahead(produce, maxsize=4) as items:
        for _ in items:
            time.sleep(0.05)  # an embedding
    assert time.perf_counter() - started < 0.85  # 1.0 s one after the other


def test_the_producer_s_error_is_raised_where_its_next_item_would_have_been():
    class Broken(NewsragError):
        pass

    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise Broken("feed unreadable")

    got = []
    with pytest.raises(Broken, match="feed unreadable"), ahead(produce) as items:
        got.extend(items)
    assert got == [1, 2]


def test_an_error_making_the_producer_is_raised_too():
    def produce() -> Iterator[int]:
        raise ValueError("no such folder")

    with pytest.raises(ValueError, match="no such folder"), ahead(produce) as items:
        list(items)


@pytest.mark.parametrize("leave", [RuntimeError, KeyboardInterrupt, None])
def test_leaving_the_block_stops_the_producer_and_runs_its_cleanup(leave):
    cleaned = threading.Event()
    made: list[int] = []

    def produce() -> Iterator[int]:
        try:
            for n in range(1000):
                made.append(n)
                yield n
        finally:
            cleaned.set()

    with pytest.raises(leave) if leave else _nothing(), ahead(produce, maxsize=2, name="t-leave") as items:
        for item in items:
            if item == 3:
                if leave:
                    raise leave
                break
    assert cleaned.wait(2)
    assert len(made) < 10
    assert not [t for t in threading.enumerate() if t.name == "t-leave"]


def test_a_producer_blocked_on_a_full_queue_stops_when_the_consumer_fails():
    def produce() -> Iterator[int]:
        yield from range(10_000)

    with pytest.raises(OSError), ahead(produce, maxsize=1, name="t-full") as items:
        next(items)
        raise OSError("disk full")
    time.sleep(0.3)
    assert not [t for t in threading.enumerate() if t.name == "t-full"]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# -- index runs: the same index as a sequential run ------------------------------------------------------------


class WindowEmbedder(HashEmbedder):
    """Vectors that depend on the window a text is embedded in, as EmbeddingGemma's do in this process (the
    padding of a length-sorted batch), so that a run embedding other windows gives other vectors."""

    def __init__(self) -> None:
        super().__init__()
        self.windows: list[list[str]] = []

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        self.windows.append(list(texts))
        salt = int(hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:6], 16) / 16**6
        return [[*v[:-1], v[-1] + salt] for v in super().embed_documents(texts)]


def stored(settings: Settings) -> dict[str, tuple[str, dict[str, Any], list[float]]]:
    """Every chunk of the active generation: id -> (text, metadata, vector)."""
    page: Any = open_store(settings)._require_active().get(include=["documents", "metadatas", "embeddings"])
    return {
        i: (t, dict(m), [float(x) for x in e])
        for i, t, m, e in zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"], strict=True)
    }


def sequential(
    settings: Settings, paths: list[Path], urls: list[str], embedder: WindowEmbedder, stored_shas: dict[str, str]
) -> dict[str, tuple[str, dict[str, Any], list[float]]]:
    """What indexing wrote before it overlapped (as of cd22591): every document read and fetched first, then the
    chunks of those new or changed, in that order, embedded in windows of embedding_batch_size x batches_at_once,
    then written to a generation (here of a scratch store, read back as the real one is)."""
    files, skipped = collect_files(paths)
    documents = load_documents(files, skipped)
    if urls:
        documents += fetch_articles(urls, Fetcher(settings)).documents
    chunker = chunker_id(settings)
    records = [
        r
        for d in documents
        if stored_shas.get(d.doc_id) != document_fingerprint(d, chunker)
        for r in _records(
            d,
            chunk_document(d, settings.chunk_max_chars, settings.chunk_overlap_sentences),
            document_fingerprint(d, chunker),
        )
    ]
    step = settings.embedding_batch_size * embedder.batches_at_once
    for i in range(0, len(records), step):
        part = records[i : i + step]
        for record, vector in zip(part, embedder.embed_documents([r.text for r in part]), strict=True):
            record.vector = vector
    name = f"sequential-{len(list(Path(settings.index_dir).parent.glob('sequential-*')))}"
    scratch = settings.model_copy(update={"index_dir": Path(settings.index_dir).with_name(name)})
    with open_store(scratch).writing(Signature(embedder.model_id, embedder.dimension, chunker)) as generation:
        generation.add(records)
    return stored(scratch)


def test_the_seeds_are_indexed_as_a_sequential_run_indexes_them(tmp_settings, seeds_copy, monkeypatch):
    monkeypatch.setattr("rag.ingest.writer.WRITE_BATCH", 8)  # many writes
    settings = tmp_settings.model_copy(update={"embedding_batch_size": 3})  # windows across documents
    overlapped, reference = WindowEmbedder(), WindowEmbedder()
    report = index_paths([seeds_copy], settings, open_store(settings), lambda: overlapped)
    expected = sequential(settings, [seeds_copy], [], reference, {})
    assert overlapped.windows == reference.windows
    assert stored(settings) == expected
    assert report.chunks_embedded == report.chunks_total == len(expected)

    # A second run: one seed changed, one new, the others unchanged (carried over with their vectors).
    before = stored(settings)
    changed = sorted(seeds_copy.glob("*.txt"))[1]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nEin neuer Absatz.\n", encoding="utf-8")
    (seeds_copy / "new.txt").write_text("Neu\n\nEin ganz neuer Artikel über Brücken.\n", encoding="utf-8")
    shas = {i.doc_id: i.doc_sha for i in open_store(settings).documents()}
    overlapped.windows, reference.windows = [], []
    again = index_paths([seeds_copy], settings, open_store(settings), lambda: overlapped)
    fresh = sequential(settings, [seeds_copy], [], reference, shas)
    kept = {k: v for k, v in before.items() if v[1]["doc_id"] not in again.updated}
    after = stored(settings)
    assert overlapped.windows == reference.windows
    assert sorted(after) == sorted({**kept, **fresh})
    assert {k: after[k] for k in fresh} == fresh
    # The unchanged documents' chunks are copied from the previous generation, as before; Chroma gives their
    # vectors back within float32 rounding (a copy moves them by up to about 6e-8).
    assert {k: after[k][:2] for k in kept} == {k: v[:2] for k, v in kept.items()}
    assert max(abs(a - b) for k in kept for a, b in zip(after[k][2], kept[k][2], strict=True)) < 1e-6
    assert len(again.updated) == 1 and len(again.added) == 1 and len(again.unchanged) == 4


def test_a_feed_is_indexed_as_a_sequential_run_indexes_it(web_settings, news_site, seeds_copy):
    news_site.delay_s = 0.05
    settings = web_settings.model_copy(update={"embedding_batch_size": 2})
    urls = [news_site.at("/feed.xml"), news_site.at("/de/preise.html")]
    overlapped, reference = WindowEmbedder(), WindowEmbedder()
    report = index_paths([seeds_copy], settings, open_store(settings), lambda: overlapped, urls=urls)
    expected = sequential(settings, [seeds_copy], urls, reference, {})
    assert overlapped.windows == reference.windows
    assert stored(settings) == expected
    assert report.duplicates and report.skipped and len(report.added) == 5 + 4


# -- index runs: failures --------------------------------------------------------------------------------------


def collections(settings: Settings) -> list[str]:
    return sorted(c if isinstance(c, str) else c.name for c in open_store(settings)._client.list_collections())


def test_a_reader_failing_mid_run_raises_its_own_error_and_leaves_the_index_as_it_was(
    tmp_settings, seeds_copy, tmp_path, monkeypatch
):
    index_paths([seeds_copy], tmp_settings, open_store(tmp_settings), HashEmbedder)
    before, names = open_store(tmp_settings).chunk_ids(), collections(tmp_settings)
    more = tmp_path / "more"
    more.mkdir()
    for n in range(12):
        (more / f"a{n:02}.txt").write_text(f"Artikel {n}\n\n" + "Ein Satz über Häfen und Brücken. " * 40)

    class Unreadable(NewsragError):
        pass

    def load(file: Path):
        if file.name == "a09.txt":
            raise Unreadable(f"{file}: the disk went away")
        return load_document(file)

    monkeypatch.setattr("rag.ingest.reading.load_document", load)
    monkeypatch.setattr("rag.ingest.writer.WRITE_BATCH", 4)
    embedder = WindowEmbedder()
    with pytest.raises(Unreadable, match="the disk went away"):
        index_paths([more], tmp_settings, open_store(tmp_settings), lambda: embedder)
    assert embedder.windows, "chunks were embedded and written before the reader failed"
    assert open_store(tmp_settings).chunk_ids() == before
    assert collections(tmp_settings) == names  # the half-written generation is gone
    assert not [t for t in threading.enumerate() if t.name == "index-reader"]


def test_an_embedder_failing_stops_the_reader_and_says_the_index_is_intact(tmp_settings, seeds_copy, tmp_path):
    index_paths([seeds_copy], tmp_settings, open_store(tmp_settings), HashEmbedder)
    before = open_store(tmp_settings).chunk_ids()
    more = tmp_path / "more"
    more.mkdir()
    for n in range(200):
        (more / f"a{n:03}.txt").write_text(f"Artikel {n}\n\nEin Satz über Häfen und Brücken Nummer {n}.\n")

    class Exploding(HashEmbedder):
        def embed_documents(self, texts, progress=False):
            raise OSError(28, "No space left on device")

    with pytest.raises(StoreError, match="No space left on device.*previous index is intact"):
        index_paths([more], tmp_settings, open_store(tmp_settings), Exploding)
    assert open_store(tmp_settings).chunk_ids() == before
    time.sleep(0.3)
    assert not [t for t in threading.enumerate() if t.name == "index-reader"]


def test_ctrl_c_while_embedding_stops_both_sides_and_keeps_the_index(tmp_settings, seeds_copy, tmp_path):
    index_paths([seeds_copy], tmp_settings, open_store(tmp_settings), HashEmbedder)
    before, names = open_store(tmp_settings).chunk_ids(), collections(tmp_settings)

    class Interrupted(HashEmbedder):
        def embed_documents(self, texts, progress=False):
            raise KeyboardInterrupt

    (seeds_copy / "new.txt").write_text("Neu\n\nEin ganz neuer Artikel über Brücken.\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        index_paths([seeds_copy], tmp_settings, open_store(tmp_settings), Interrupted)
    assert open_store(tmp_settings).chunk_ids() == before and collections(tmp_settings) == names
    time.sleep(0.3)
    assert not [t for t in threading.enumerate() if t.name == "index-reader"]


# -- index runs: the overlap itself ----------------------------------------------------------------------------


def test_embedding_starts_before_a_slow_feed_is_fetched(web_settings, news_site):
    news_site.delay_s = 0.2
    first_embedding: list[float] = []

    class Timed(HashEmbedder):
        def embed_documents(self, texts, progress=False):
            first_embedding.append(time.monotonic())
            return super().embed_documents(texts, progress)

    settings = web_settings.model_copy(update={"embedding_batch_size": 1})
    report = index_paths([], settings, open_store(settings), Timed, urls=[news_site.at("/feed.xml")])
    last_request = max(t for t, path, _agent in news_site.log)
    assert first_embedding and first_embedding[0] < last_request
    assert report.added and report.chunks_embedded == report.chunks_total


INTERRUPTED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from rag.ingest.pipeline import index_paths
    from rag.settings import Settings
    from rag.store.chroma import open_store
    from tests.fakes import HashEmbedder

    class Announcing(HashEmbedder):
        def embed_documents(self, texts, progress=False):
            print("embedding", flush=True)
            time.sleep(float(sys.argv[2]))
            return super().embed_documents(texts, progress)

    settings = Settings(
        index_dir=Path(sys.argv[1]), embedding_batch_size=1, fetch_allow_private=True, fetch_host_delay_s=0,
        fetch_timeout_s=5,
    )
    try:
        index_paths([], settings, open_store(settings), Announcing, urls=sys.argv[3:])
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    """
)


@pytest.mark.parametrize("embedding_s", [5.0, 0.0], ids=["while-embedding", "while-waiting-for-the-reader"])
def test_ctrl_c_stops_a_real_run_at_once_and_keeps_the_index(tmp_path, web_settings, news_site, embedding_s):
    settings = web_settings.model_copy(update={"index_dir": tmp_path / "index"})
    index_paths([], settings, open_store(settings), HashEmbedder, urls=[news_site.at("/de/wahl.html")])
    before = open_store(settings).chunk_ids()
    news_site.delay_s = 1.0  # the reader is always waiting for the site
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    args = [str(settings.index_dir), str(embedding_s), news_site.at("/feed.xml")]
    writer = subprocess.Popen([sys.executable, "-c", INTERRUPTED, *args], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "embedding"
        time.sleep(0.3)
        writer.send_signal(signal.SIGINT)
        started = time.monotonic()
        out, _ = writer.communicate(timeout=10)
    finally:
        writer.kill()
    assert "interrupted" in out and writer.returncode == 130
    # The reader, waiting on the site, does not hold the run up: finishing the feed (13 articles, 1 s each) or the
    # embedding (4.7 s left) would take longer. 4 s, not 2: on two busy cores a good run took 3.4 s.
    assert time.monotonic() - started < 4.0
    assert open_store(settings).chunk_ids() == before
