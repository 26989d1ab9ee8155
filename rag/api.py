"""`NewsRAG`: the product in one object. Index articles, ask questions, list and remove documents.

    from rag import NewsRAG

    rag = NewsRAG(index_dir="my-index", llm_backend="none")
    rag.index("articles/", "https://example.org/feed.xml")
    answer = rag.ask("Wer ist der Generalsekretär der NATO?")
    print(answer.text, answer.citations)

Keyword arguments are the fields of `rag.Settings` (defaults < rag.toml < RAG_* environment < keywords). The
models load on first use: indexing loads only the embedding model, and only when something must be embedded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from rag.ingest import IndexPreview, IndexReport, index_paths, is_url, preview_index, remove_documents
from rag.settings import Settings
from rag.store import ChunkStore, DocumentInfo, open_store
from rag.types import Answer, StreamEvent

if TYPE_CHECKING:
    from rag.answering import AnswerService

History = Sequence[Mapping[str, str]]  # earlier turns: {"role": "user" | "assistant", "content": …}
Progress = Callable[[int, int], None]


class NewsRAG:
    """Index news articles and answer questions about them with checked citations."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        if settings is not None and overrides:
            raise TypeError("give either settings=Settings(...) or keyword settings, not both")
        self.settings = settings if settings is not None else Settings(**overrides)
        self._store: ChunkStore | None = None

    @property
    def store(self) -> ChunkStore:
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    @overload
    def index(
        self, *sources: str | Path, prune: bool = ..., dry_run: Literal[False] = ..., progress: Progress | None = ...
    ) -> IndexReport: ...

    @overload
    def index(
        self, *sources: str | Path, prune: bool = ..., dry_run: Literal[True], progress: Progress | None = ...
    ) -> IndexPreview: ...

    def index(
        self, *sources: str | Path, prune: bool = False, dry_run: bool = False, progress: Progress | None = None
    ) -> IndexReport | IndexPreview:
        """Index files, folders and http(s) URLs of pages, feeds and sitemaps (default: the seeds folder).

        Unchanged documents are skipped. With `prune`, documents whose source this run checked and found gone
        are removed. With `dry_run`, nothing changes and an `IndexPreview` says what a run would do.
        """
        named = [str(s) for s in sources] or [str(self.settings.seeds_dir)]
        urls = [s for s in named if is_url(s)]
        paths = [Path(s) for s in named if not is_url(s)]
        if dry_run:
            return preview_index(paths, urls, self.settings, self.store, prune)
        from rag.models import get_embedder

        return index_paths(
            paths,
            self.settings,
            self.store,
            lambda: get_embedder(self.settings),
            prune=prune,
            progress=progress,
            urls=urls,
        )

    def ask(self, question: str, history: History = ()) -> Answer:
        """The answer, with its citations checked against the indexed passages (or a refusal)."""
        return self._service().answer(question, [dict(turn) for turn in history])

    def stream(self, question: str, history: History = ()) -> Iterator[StreamEvent]:
        """The same answer as it is written: `Preview`, then `Delta`s, then one `Final` with the `Answer`."""
        return self._service().stream(question, [dict(turn) for turn in history])

    def documents(self) -> list[DocumentInfo]:
        """The indexed documents, with title, date, source and chunk count."""
        return self.store.documents()

    def remove(self, *doc_ids: str) -> list[str]:
        """Take documents out of the index (a StoreError names an unknown id). A file or feed named in a later
        `index` run brings its document back."""
        return remove_documents(doc_ids, self.settings, self.store)

    def _service(self) -> AnswerService:
        from rag.wiring import get_service

        return get_service(self.settings)
