"""Ingestion: files and web pages -> clean documents -> sentence-aligned chunks -> vectors in the store.

The names below are the public API of this stage, imported lazily (the TYPE_CHECKING block gives
type checkers their types); the modules behind them are its private detail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.lazy import lazy_exports

if TYPE_CHECKING:
    from rag.ingest.chunking import CHUNKER_VERSION, chunk_document
    from rag.ingest.documents import load_document
    from rag.ingest.formats import SUPPORTED_SUFFIXES
    from rag.ingest.library import (
        UPLOAD_SUFFIXES,
        add_upload,
        delete_upload,
        document_rows,
        ensure_index,
        kind_of,
        safe_stem,
    )
    from rag.ingest.pipeline import IndexReport, collect_files, index_paths, load_documents
    from rag.ingest.preview import IndexPreview, preview_index
    from rag.ingest.removal import remove_documents
    from rag.ingest.web.fetcher import is_url

_EXPORTS = {
    "CHUNKER_VERSION": "rag.ingest.chunking",
    "IndexPreview": "rag.ingest.preview",
    "IndexReport": "rag.ingest.pipeline",
    "SUPPORTED_SUFFIXES": "rag.ingest.formats",
    "UPLOAD_SUFFIXES": "rag.ingest.library",
    "add_upload": "rag.ingest.library",
    "chunk_document": "rag.ingest.chunking",
    "collect_files": "rag.ingest.pipeline",
    "delete_upload": "rag.ingest.library",
    "document_rows": "rag.ingest.library",
    "ensure_index": "rag.ingest.library",
    "index_paths": "rag.ingest.pipeline",
    "is_url": "rag.ingest.web.fetcher",
    "kind_of": "rag.ingest.library",
    "load_document": "rag.ingest.documents",
    "load_documents": "rag.ingest.pipeline",
    "preview_index": "rag.ingest.preview",
    "remove_documents": "rag.ingest.removal",
    "safe_stem": "rag.ingest.library",
}
__all__ = [
    "CHUNKER_VERSION",
    "IndexPreview",
    "IndexReport",
    "SUPPORTED_SUFFIXES",
    "UPLOAD_SUFFIXES",
    "add_upload",
    "chunk_document",
    "collect_files",
    "delete_upload",
    "document_rows",
    "ensure_index",
    "index_paths",
    "is_url",
    "kind_of",
    "load_document",
    "load_documents",
    "preview_index",
    "remove_documents",
    "safe_stem",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
