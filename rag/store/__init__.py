"""The vector store: Chroma on disk or behind `chroma run`, written in generations under a lock.

The names below are the public API of this stage, imported lazily (the TYPE_CHECKING block gives
type checkers their types); the modules behind them are its private detail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.lazy import lazy_exports

if TYPE_CHECKING:
    from rag.store.chroma import ChunkStore, StoreError, open_store
    from rag.store.records import ChunkRecord, DocumentInfo, Signature, chunk_metadata

_EXPORTS = {
    "ChunkRecord": "rag.store.records",
    "ChunkStore": "rag.store.chroma",
    "DocumentInfo": "rag.store.records",
    "Signature": "rag.store.records",
    "StoreError": "rag.store.chroma",
    "chunk_metadata": "rag.store.records",
    "open_store": "rag.store.chroma",
}
__all__ = [
    "ChunkRecord",
    "ChunkStore",
    "DocumentInfo",
    "Signature",
    "StoreError",
    "chunk_metadata",
    "open_store",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
