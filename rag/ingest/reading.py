"""What an index run reads, one document at a time: the files named, then the articles of the URLs named.

A file that cannot be read, or that repeats the id of a file read before, is skipped with its reason; the web
articles are fetched as rag.ingest.web.articles fetches them. Only the documents' ids and sources are kept, so that
reading a large archive beside the embedder (rag.ingest.overlap) keeps memory flat.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from rag.ingest.documents import DocumentError, load_document
from rag.ingest.web.articles import KnownArticle, WebArticles, iter_articles
from rag.ingest.web.fetcher import Fetcher
from rag.ingest.web.sources import Notify
from rag.settings import Settings
from rag.types import Document


def read_files(files: Sequence[Path], skipped: list[tuple[str, str]]) -> Iterator[Document]:
    """The documents of `files` in order, each id once; the others are added to `skipped` with the reason."""
    sources: dict[str, str] = {}
    for file in files:
        try:
            doc = load_document(file)
        except DocumentError as exc:
            skipped.append((str(file), str(exc)))
            continue
        if doc.doc_id in sources:
            skipped.append((str(file), f"duplicate document id {doc.doc_id!r} (also {sources[doc.doc_id]})"))
            continue
        sources[doc.doc_id] = doc.source
        yield doc


class DocumentReader:
    """Reads the files, then fetches the URLs' articles; what it skipped and what the web gave are its fields,
    complete once `documents()` is exhausted."""

    def __init__(
        self,
        files: Sequence[Path],
        skipped: list[tuple[str, str]],
        urls: Sequence[str],
        settings: Settings,
        fetcher: Fetcher | None = None,
        notify: Notify | None = None,
        known: Mapping[str, KnownArticle] | None = None,
    ) -> None:
        self._files = files
        self._urls = urls
        self._settings = settings
        self._fetcher = fetcher
        self._notify = notify
        self._known = known
        self.skipped = skipped  # the files' first, as they are found
        self.file_sources: list[str] = []  # the source of every file document read
        self.file_skips = 0  # how many of `skipped` are files' (the rest are the web's, added by the caller)
        self.web = WebArticles()

    @property
    def reads_web(self) -> bool:
        return bool(self._urls)

    def documents(self) -> Iterator[Document]:
        for doc in read_files(self._files, self.skipped):
            self.file_sources.append(doc.source)
            yield doc
        self.file_skips = len(self.skipped)
        if self._urls:
            fetcher = self._fetcher or Fetcher(self._settings)
            yield from iter_articles(self.web, self._urls, fetcher, self._notify, self._known)
