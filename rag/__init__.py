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

from typing import TYPE_CHECKING

from rag.lazy import lazy_exports

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

__getattr__ = lazy_exports(__name__, _EXPORTS)
