"""The consumer side of an index run: chunks embedded as they arrive and written to the new generation in batches.

The chunks are embedded in the same consecutive windows of the run's chunk sequence as when every chunk was known
before the first was embedded (`embedding_batch_size` x the embedder's `batches_at_once`), so the vectors are the
same: in this process a window is one `encode` call, and its batches change the vectors. They are written every
WRITE_BATCH chunks, so that memory stays flat on a large archive. The generation becomes visible only when the run
switches to it (rag.store.chroma), so a write that fails or a run that dies leaves the previous index as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rag.models.embedding import Embedder
from rag.store.records import ChunkRecord

Progress = Callable[[int, int], None]

WRITE_BATCH = 256  # chunks per write: a few seconds of embedding on two cores, one Chroma add of a sensible size


class Sink(Protocol):
    """Where embedded chunks go: a store generation (rag.store.chroma.Generation)."""

    def add(self, records: list[ChunkRecord]) -> None: ...


class ChunkWriter:
    """Embeds the records handed to `add` window by window and writes them to `sink` in batches of `write_batch`;
    `finish` embeds and writes what is left. `progress(done, total)` follows each window, total being the chunks
    handed over so far."""

    def __init__(
        self,
        sink: Sink,
        embedder: Embedder,
        batch_size: int,
        progress: Progress | None = None,
        write_batch: int = WRITE_BATCH,
    ) -> None:
        self._sink = sink
        self._embedder = embedder
        self._window = batch_size * embedder.batches_at_once
        self._progress = progress
        self._write_batch = write_batch
        self._waiting: list[ChunkRecord] = []  # handed over, not embedded yet (less than one window)
        self._ready: list[ChunkRecord] = []  # embedded, not written yet (less than one write batch)
        self.embedded = 0
        self.total = 0
        self.written = 0

    def add(self, records: list[ChunkRecord]) -> None:
        self._waiting += records
        self.total += len(records)
        while len(self._waiting) >= self._window:
            self._embed(self._window)

    def finish(self) -> int:
        """Embed and write the rest; the number of chunks embedded."""
        if self._waiting:
            self._embed(len(self._waiting))
        self._write()
        return self.embedded

    def _embed(self, count: int) -> None:
        part, self._waiting = self._waiting[:count], self._waiting[count:]
        vectors = self._embedder.embed_documents([r.text for r in part])
        for record, vector in zip(part, vectors, strict=True):
            record.vector = vector
        self._ready += part
        self.embedded += len(part)
        if len(self._ready) >= self._write_batch:
            self._write()
        if self._progress:
            self._progress(self.embedded, self.total)

    def _write(self) -> None:
        if self._ready:
            self._sink.add(self._ready)
            self.written += len(self._ready)
            self._ready = []
