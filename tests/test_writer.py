"""rag.ingest.writer: chunks embedded in the run's windows whatever way they arrive, written in batches."""

from __future__ import annotations

import pytest

from rag.ingest.writer import ChunkWriter
from rag.store.records import ChunkRecord
from tests.fakes import HashEmbedder


class WindowEmbedder(HashEmbedder):
    """Records each call's texts (a window)."""

    def __init__(self, batches_at_once: int = 1) -> None:
        super().__init__()
        self.batches_at_once = batches_at_once
        self.windows: list[list[str]] = []

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        self.windows.append(list(texts))
        return super().embed_documents(texts, progress)


class ListSink:
    def __init__(self) -> None:
        self.writes: list[list[str]] = []

    def add(self, records: list[ChunkRecord]) -> None:
        assert all(r.vector for r in records), "only embedded chunks are written"
        self.writes.append([r.chunk_id for r in records])


def records(start: int, count: int) -> list[ChunkRecord]:
    return [ChunkRecord(f"c{i}", f"text {i}", [], {"doc_id": "d"}) for i in range(start, start + count)]


@pytest.mark.parametrize("sizes", [[3, 1, 7, 2, 9, 4, 1], [26], [1] * 26, [8, 8, 8, 2]])
@pytest.mark.parametrize("batches_at_once", [1, 4])
def test_the_windows_are_those_of_the_whole_sequence_however_the_chunks_arrive(sizes, batches_at_once):
    embedder = WindowEmbedder(batches_at_once)
    writer = ChunkWriter(ListSink(), embedder, batch_size=2)
    start = 0
    for size in sizes:
        writer.add(records(start, size))
        start += size
    assert writer.finish() == start
    texts = [f"text {i}" for i in range(start)]
    step = 2 * batches_at_once  # what indexing embedded at once when every chunk was known first
    assert embedder.windows == [texts[i : i + step] for i in range(0, start, step)]


def test_chunks_are_written_every_write_batch_and_the_rest_at_the_end():
    sink = ListSink()
    writer = ChunkWriter(sink, WindowEmbedder(), batch_size=4, write_batch=8)
    written = []
    for n in range(5):
        writer.add(records(n * 5, 5))
        written.append(writer.written)
    assert written == [0, 8, 8, 16, 24]  # after 5, 10, 15, 20, 25 chunks handed over (embedded: 4, 8, 12, 20, 24)
    writer.finish()
    assert [len(w) for w in sink.writes] == [8, 8, 8, 1]
    assert [c for w in sink.writes for c in w] == [f"c{i}" for i in range(25)]
    assert writer.written == 25


def test_nothing_is_written_before_it_is_embedded_and_a_failed_window_writes_nothing_more():
    class Failing(WindowEmbedder):
        def embed_documents(self, texts, progress=False):
            if len(self.windows) == 2:
                raise OSError(28, "No space left on device")
            return super().embed_documents(texts, progress)

    sink = ListSink()
    writer = ChunkWriter(sink, Failing(), batch_size=2, write_batch=2)
    with pytest.raises(OSError):
        writer.add(records(0, 10))
    assert sink.writes == [["c0", "c1"], ["c2", "c3"]]


def test_progress_counts_the_chunks_embedded_of_those_handed_over():
    seen: list[tuple[int, int]] = []
    writer = ChunkWriter(ListSink(), WindowEmbedder(), batch_size=4, progress=lambda d, t: seen.append((d, t)))
    writer.add(records(0, 6))
    writer.add(records(6, 5))
    writer.finish()
    assert seen == [(4, 6), (8, 11), (11, 11)]


def test_finish_with_nothing_handed_over_embeds_and_writes_nothing():
    sink, embedder = ListSink(), WindowEmbedder()
    assert ChunkWriter(sink, embedder, batch_size=4).finish() == 0
    assert sink.writes == [] and embedder.windows == []
