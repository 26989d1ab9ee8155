"""The vector store: Chroma on disk or behind `chroma run`, written in generations under a lock.

The names below are the public API of this stage, imported lazily (the TYPE_CHECKING block gives
type checkers their types); the modules behind them are its private detail."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rag.store' has no attribute {name!r}")
