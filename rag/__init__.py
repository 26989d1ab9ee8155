"""newsrag: offline, cited question answering over German and English news articles.

    from rag import NewsRAG

    rag = NewsRAG(index_dir="my-index", llm_backend="none")
    rag.index("articles/")
    print(rag.ask("Wer ist der Generalsekretär der NATO?").text)

The names below are the public API; everything else is reached through the sub-packages that show the pipeline
(`rag.ingest`, `rag.store`, `rag.models`, `rag.question`, `rag.answering`). They are imported lazily, so that
`rag --help` does not pay for torch and chromadb; the TYPE_CHECKING block gives type checkers and IDEs their types.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.api import NewsRAG
    from rag.errors import NewsragError
    from rag.ingest import IndexPreview, IndexReport
    from rag.settings import Settings, get_settings
    from rag.store import DocumentInfo
    from rag.types import Answer, Citation, Delta, Final, Preview, StreamEvent

_EXPORTS = {
    "NewsRAG": "rag.api",
    "NewsragError": "rag.errors",
    "IndexReport": "rag.ingest.pipeline",
    "IndexPreview": "rag.ingest.preview",
    "Settings": "rag.settings",
    "get_settings": "rag.settings",
    "DocumentInfo": "rag.store.records",
    "Answer": "rag.types",
    "Citation": "rag.types",
    "Delta": "rag.types",
    "Final": "rag.types",
    "Preview": "rag.types",
    "StreamEvent": "rag.types",
}
__all__ = [
    "Answer",
    "Citation",
    "Delta",
    "DocumentInfo",
    "Final",
    "IndexPreview",
    "IndexReport",
    "NewsRAG",
    "NewsragError",
    "Preview",
    "Settings",
    "StreamEvent",
    "get_settings",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
