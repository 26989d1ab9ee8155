"""newsrag: offline, cited question answering over news articles.

The public API is imported lazily so that `rag --help` does not pay for torch and chromadb.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Settings": "rag.settings",
    "get_settings": "rag.settings",
    "Answer": "rag.types",
    "Delta": "rag.types",
    "Final": "rag.types",
    "Preview": "rag.types",
    "StreamEvent": "rag.types",
    "Citation": "rag.types",
    "AnswerService": "rag.answering.service",
    "InvalidQuestionError": "rag.answering.service",
    "answer": "rag.wiring",
    "stream_answer": "rag.wiring",
    "get_service": "rag.wiring",
    "index_paths": "rag.ingest.pipeline",
    "IndexReport": "rag.ingest.pipeline",
    "open_store": "rag.store.chroma",
    "StoreError": "rag.store.chroma",
    "StoreMismatchError": "rag.store.chroma",
    "LLMUnavailableError": "rag.models.llm",
    "ModelError": "rag.models.files",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
