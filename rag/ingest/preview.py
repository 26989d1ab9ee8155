"""What `rag index --dry-run` shows: each named source, what it holds, and what a run would do with it.

Files are read and compared with the index (new, changed, unchanged). URLs are read as a run reads them, with their
feeds, sitemaps and robots.txt, but no article is fetched: an article is new, known (a run asks the site whether
it changed), or skipped with the reason a run would give. With prune, the documents a run would remove are listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rag.ingest.pipeline import chunker_id, collect_files, document_fingerprint, load_documents
from rag.ingest.pruning import prunable
from rag.ingest.web.fetcher import Fetcher, FetchError
from rag.ingest.web.sources import SourceReading, plan
from rag.settings import Settings
from rag.store.chroma import ChunkStore
from rag.store.records import DocumentInfo

Status = Literal["new", "changed", "unchanged", "known", "skipped"]


@dataclass(frozen=True)
class PreviewItem:
    name: str  # a file path or an article URL
    status: Status
    reason: str | None = None  # why it would be skipped


@dataclass
class PreviewSource:
    name: str  # as named
    kind: str  # "folder", "file", "page", "feed", "sitemap", or "unreadable"
    items: list[PreviewItem] = field(default_factory=list)
    listed: int = 0  # articles a feed or sitemap lists (items holds those a run takes)
    reason: str | None = None  # why it could not be read
    notes: list[str] = field(default_factory=list)


@dataclass
class IndexPreview:
    sources: list[PreviewSource] = field(default_factory=list)
    would_remove: list[str] = field(default_factory=list)  # with prune: the ids a run would remove


def _file_source(path: Path, settings: Settings, stored: dict[str, str]) -> PreviewSource:
    if not path.exists():
        return PreviewSource(str(path), "unreadable", reason="no such file or folder")
    files, skipped = collect_files([path])
    source = PreviewSource(str(path), "folder" if path.is_dir() else "file")
    chunker = chunker_id(settings)
    for doc in load_documents(files, skipped):
        sha = stored.get(doc.doc_id)
        fingerprint = document_fingerprint(doc, chunker)
        status: Status = "new" if sha is None else ("unchanged" if sha == fingerprint else "changed")
        source.items.append(PreviewItem(doc.source, status))
    source.items += [PreviewItem(name, "skipped", reason) for name, reason in skipped]
    return source


def _web_source(reading: SourceReading, fetcher: Fetcher, infos: list[DocumentInfo]) -> PreviewSource:
    if reading.kind is None:
        return PreviewSource(reading.url, "unreadable", reason=reading.reason)
    known = {i.origin.fetched_from for i in infos if i.origin} | {i.url for i in infos if i.url}
    source = PreviewSource(reading.url, reading.kind, listed=len(reading.listed), notes=list(reading.notes))
    source.items += [PreviewItem(url, "skipped", reason) for url, reason in reading.skipped]
    for url in reading.listed[: reading.taken]:
        try:
            fetcher.allowed(url)
        except FetchError as exc:
            source.items.append(PreviewItem(url, "skipped", str(exc)))
            continue
        source.items.append(PreviewItem(url, "known" if url in known else "new"))
    return source


def preview_index(
    paths: Sequence[Path], urls: Sequence[str], settings: Settings, store: ChunkStore | None, prune: bool = False
) -> IndexPreview:
    """What an index run over `paths` and `urls` would do, changing nothing (see the module doc); store None
    stands for an index not created yet."""
    infos = store.documents() if store is not None else []
    stored = {i.doc_id: i.doc_sha for i in infos}
    preview = IndexPreview([_file_source(path, settings, stored) for path in paths])
    readings: list[SourceReading] = []
    if urls:
        fetcher = Fetcher(settings)
        readings = plan(urls, fetcher).sources
        preview.sources += [_web_source(reading, fetcher, infos) for reading in readings]
    if prune:
        preview.would_remove = prunable(infos, paths, readings)
    return preview
