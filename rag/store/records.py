"""What the store keeps about a chunk: the metadata written with it and read back, and the signature of what a
generation's vectors depend on. Plain data, no chromadb."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rag.types import Document, StoredChunk, WebOrigin


@dataclass(frozen=True)
class Signature:
    """What the vectors in a generation depend on."""

    embedding_model: str
    dimension: int
    chunker: str
    # Where the vectors were computed (settings.embedding_backend): a server runs its own build of a model.
    embedding_backend: str = "local"

    def as_metadata(self) -> dict[str, Any]:
        return {
            "embedding_model": self.embedding_model,
            "embedding_dim": self.dimension,
            "chunker": self.chunker,
            "embedding_backend": self.embedding_backend,
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> Signature:
        return cls(
            str(meta.get("embedding_model", "?")),
            int(meta.get("embedding_dim", 0)),
            str(meta.get("chunker", "?")),
            str(meta.get("embedding_backend", "local")),  # indexes from before servers were all embedded here
        )

    def embeds_like(self, other: Signature) -> bool:
        """Are the two generations' vectors comparable: the same model, computed the same way, of one size?"""
        mine = (self.embedding_backend, self.embedding_model, self.dimension)
        return mine == (other.embedding_backend, other.embedding_model, other.dimension)

    def describe_embedding(self) -> str:
        where = "in-process" if self.embedding_backend == "local" else f"via {self.embedding_backend}"
        return f"embedding model {self.embedding_model!r} ({where}, {self.dimension} dimensions)"


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    title: str
    date: str | None
    source: str
    chunks: int
    doc_sha: str
    url: str | None = None
    site: str | None = None
    origin: WebOrigin | None = None  # web articles fetched since fetch origins are stored


@dataclass
class ChunkRecord:
    """One chunk ready to write: text, vector and metadata."""

    chunk_id: str
    text: str
    vector: list[float]
    metadata: dict[str, Any] = field(default_factory=dict)


def chunk_metadata(
    doc: Document,
    doc_sha: str,
    chunk_index: int,
    start: int,
    end: int,
    sentences: Iterable[tuple[int, int]],
) -> dict[str, Any]:
    """Chroma metadata of one chunk; the document's removed lines ride on its first chunk only."""
    meta = {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "date": doc.date or "",
        "author": doc.author or "",
        "format": doc.format,
        "source": doc.source,
        "doc_sha": doc_sha,
        "chunk_index": chunk_index,
        "start": start,
        "end": end,
        "sentences": json.dumps([list(s) for s in sentences]),
    }
    if doc.url:  # web articles only, so that the metadata of files stays as it was
        meta.update(url=doc.url, site=doc.site or "")
    if doc.origin:
        meta.update(origin_metadata(doc.origin))
    if chunk_index == 0:
        meta["removed"] = json.dumps(list(doc.removed_lines), ensure_ascii=False)
    return meta


def origin_metadata(origin: WebOrigin) -> dict[str, str]:
    """The chunk metadata of a web article's origin (Chroma takes no None: "" stands for none)."""
    return {
        "fetched_from": origin.fetched_from,
        "listed_by": origin.listed_by or "",
        "etag": origin.etag or "",
        "last_modified": origin.last_modified or "",
    }


def origin_from_metadata(meta: dict[str, Any]) -> WebOrigin | None:
    """The fetch origin a chunk's metadata records; None for documents read from files."""
    if not meta.get("fetched_from"):
        return None
    return WebOrigin(
        str(meta["fetched_from"]),
        str(meta.get("listed_by") or "") or None,
        str(meta.get("etag") or "") or None,
        str(meta.get("last_modified") or "") or None,
    )


def web_source(meta: dict[str, Any]) -> dict[str, str | None]:
    """The web source fields (url, site) of a chunk's metadata; None for documents read from files."""
    return {"url": str(meta.get("url") or "") or None, "site": str(meta.get("site") or "") or None}


def to_chunk(chunk_id: str, text: str, meta: dict[str, Any], score: float = 0.0) -> StoredChunk:
    """A chunk read back from the store (score: its similarity to a query)."""
    return StoredChunk(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        title=str(meta.get("title", "")),
        date=str(meta.get("date") or "") or None,
        author=str(meta.get("author") or "") or None,
        source=str(meta.get("source", "")),
        chunk_index=int(meta.get("chunk_index", 0)),
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        text=text,
        sentences=tuple(tuple(s) for s in json.loads(meta.get("sentences") or "[]")),
        score=score,
        **web_source(meta),
    )
