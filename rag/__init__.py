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
    "AnswerService": "rag.answer",
    "InvalidQuestionError": "rag.answer",
    "answer": "rag.service",
    "stream_answer": "rag.service",
    "get_service": "rag.service",
    "index_paths": "rag.ingest",
    "IndexReport": "rag.ingest",
    "open_store": "rag.store",
    "StoreError": "rag.store",
    "StoreMismatchError": "rag.store",
    "LLMUnavailableError": "rag.llm",
    "ModelError": "rag.model_files",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
