"""Retrieval service: a question in, the best-matching stored chunks out."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rag.models.embedding import Embedder
from rag.store.chroma import ChunkStore, Signature
from rag.types import StoredChunk


@dataclass(frozen=True)
class Retrieval:
    query: str
    chunks: list[StoredChunk]
    ms: float


def retrieve(query: str, store: ChunkStore, embedder: Embedder, k: int) -> Retrieval:
    started = time.perf_counter()
    signature = store.signature()
    if signature is not None:
        expected = Signature(embedder.model_id, embedder.dimension, signature.chunker, embedder.backend)
        store.check_compatible(expected)
    chunks = store.query(embedder.embed_query(query), k)
    return Retrieval(query, chunks, (time.perf_counter() - started) * 1000)
