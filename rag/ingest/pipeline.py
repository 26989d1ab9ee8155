"""Ingestion service: files and web URLs -> documents -> chunks -> vectors -> a new store generation.

The files are read and the URLs (pages, feeds, sitemaps) fetched by rag.ingest.reading in a background thread,
while the embedder works on the chunks of the documents before them (rag.ingest.overlap); the chunks are written to
the new generation in batches (rag.ingest.writer), and the run switches to it only when it is complete. Only named
URLs use the network. Pruning removes only what this run checked (rag.ingest.pruning). Each named source is
reported with what it gave, so that a caller can tell a run that did what it could from one whose every source
failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rag.ingest.chunking import CHUNKER_VERSION, Chunk, chunk_document
from rag.ingest.documents import SUPPORTED_SUFFIXES
from rag.ingest.overlap import ahead
from rag.ingest.pruning import prunable, within
from rag.ingest.reading import DocumentReader, read_files
from rag.ingest.web.articles import KnownArticle, WebArticles
from rag.ingest.web.fetcher import Fetcher
from rag.ingest.web.sources import Notify
from rag.ingest.writer import ChunkWriter, Progress
from rag.models.embedding import Embedder
from rag.settings import Settings
from rag.store.chroma import ChunkStore, Generation, StoreError
from rag.store.locking import write_lock
from rag.store.records import ChunkRecord, DocumentInfo, Signature, chunk_metadata
from rag.types import Document, WebOrigin

READ_AHEAD = 32  # documents read, fetched and chunked ahead of the embedder: enough to ride out a slow fetch


@dataclass
class SourceStatus:
    """One source named to an index run: what it was read as and how many of its documents could be used."""

    name: str  # the path or URL as named
    kind: str  # "folder", "file", "page", "feed", "sitemap", or "unreadable"
    used: int = 0  # documents it gave that are now in the index (new, changed, unchanged or a copy of another)
    failed: int = 0  # its files or articles that could not be read
    reason: str | None = None  # why it could not be read at all

    @property
    def failed_entirely(self) -> bool:
        return self.reason is not None or (self.used == 0 and self.failed > 0)


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    removed_lines: dict[str, int] = field(default_factory=dict)  # doc id -> lines the cleaning dropped
    rechunk_reason: str | None = None  # why every document was re-chunked, when it was
    web_sources: list[tuple[str, str, int]] = field(default_factory=list)  # (named URL, kind, articles it gave)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (URL, id of the article it repeats)
    notes: list[str] = field(default_factory=list)
    sources: list[SourceStatus] = field(default_factory=list)
    not_modified: list[str] = field(default_factory=list)  # web articles the server said were unchanged (304)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    @property
    def every_source_failed(self) -> bool:
        return bool(self.sources) and all(s.failed_entirely for s in self.sources)


def chunker_id(settings: Settings) -> str:
    return f"v{CHUNKER_VERSION}-{settings.chunk_max_chars}c-{settings.chunk_overlap_sentences}o"


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                supported = ", ".join(SUPPORTED_SUFFIXES)
                skipped.append((str(path), f"unsupported type {path.suffix or '(none)'}; supported are {supported}"))
        else:
            skipped.append((str(path), "no such file or folder"))
    return files, skipped


def load_documents(files: list[Path], skipped: list[tuple[str, str]]) -> list[Document]:
    return list(read_files(files, skipped))


def document_fingerprint(doc: Document, chunker: str) -> str:
    parts = [chunker, doc.title, doc.date or "", doc.author or "", doc.text, *doc.removed_lines]
    if doc.url:  # the URL is the article's id; its site name is shown with it
        parts.append(f"site:{doc.site or ''}")
    payload = "\x00".join(parts)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _records(doc: Document, chunks: list[Chunk], doc_sha: str) -> list[ChunkRecord]:
    return [
        ChunkRecord(
            chunk_id=c.chunk_id,
            text=c.text,
            vector=[],
            metadata=chunk_metadata(
                doc,
                doc_sha,
                c.chunk_index,
                c.start,
                c.end,
                ((s.start, s.end) for s in c.sentences),
            ),
        )
        for c in chunks
    ]


def lock_path(settings: Settings) -> Path:
    if settings.store_mode == "http":
        name = f"{settings.chroma_host}_{settings.chroma_port}_{settings.collection}.lock"
        return settings.cache_dir / "locks" / name
    return Path(settings.index_dir) / f".{settings.collection}.lock"


def _file_statuses(paths: list[Path], sources: list[str], skipped: list[tuple[str, str]]) -> list[SourceStatus]:
    statuses = []
    for path in paths:
        if not path.exists():
            statuses.append(SourceStatus(str(path), "unreadable", reason="no such file or folder"))
            continue
        roots = [path.resolve()]
        used = sum(1 for source in sources if within(Path(source).resolve(), roots))
        failed = sum(1 for name, _reason in skipped if within(Path(name).resolve(), roots))
        statuses.append(SourceStatus(str(path), "folder" if path.is_dir() else "file", used, failed))
    return statuses


def _web_statuses(web: WebArticles) -> list[SourceStatus]:
    statuses = []
    for reading in web.plan.sources:
        if reading.kind is None:
            statuses.append(SourceStatus(reading.url, "unreadable", reason=reading.reason))
            continue
        outcomes = [web.outcome.get(link) for link in reading.listed[: reading.taken]]
        used, failed = outcomes.count(True), outcomes.count(False)
        statuses.append(SourceStatus(reading.url, reading.kind, used, failed))
    return statuses


def known_articles(infos: list[DocumentInfo]) -> dict[str, KnownArticle]:
    """The stored web articles by the address they were fetched from, with the validators of that fetch."""
    return {i.origin.fetched_from: KnownArticle(i.doc_id, i.origin) for i in infos if i.origin is not None}


def index_paths(
    paths: list[Path],
    settings: Settings,
    store: ChunkStore,
    embedder_factory: Callable[[], Embedder],
    rebuild: bool = False,
    prune: bool = False,
    wait: bool = False,
    progress: Progress | None = None,
    urls: Sequence[str] = (),
    fetcher: Fetcher | None = None,
    notify: Notify | None = None,
) -> IndexReport:
    """Bring the store in line with `paths` and `urls`; the embedder is only loaded if something must be embedded.

    An article fetched again replaces its stored version only when it changed; one the server says is unchanged
    (304) is kept as stored; one whose site and text an article under another URL already has is not stored again
    (`report.duplicates`). Pruning removes only documents whose source this run checked (rag.ingest.pruning).
    The documents are read, fetched and chunked in a background thread while the embedder works on those before
    them (rag.ingest.overlap); `progress(done, total)` counts the chunks embedded of those read so far.
    """
    started = time.perf_counter()
    report = IndexReport()
    files, report.skipped = collect_files(paths)
    chunker = chunker_id(settings)
    with write_lock(lock_path(settings), wait=wait):
        infos = [] if rebuild else store.documents()
        current = store.signature()
        run = _Run(report, infos, current, chunker)
        # Validators are sent only when a 304 can keep the stored chunks: not on a rebuild or a re-chunking.
        same_chunks = not rebuild and (current is None or current.chunker == chunker)
        known = known_articles(infos) if same_chunks else {}
        reader = DocumentReader(files, report.skipped, urls, settings, fetcher, notify, known)
        try:
            report.chunks_embedded = _index_run(
                reader, run, _Writing(store, settings, embedder_factory, chunker, rebuild, progress), paths, prune
            )
        except _ReadingFailed as failed:  # the reader's own error, as when reading came before writing
            raise failed.error from None
        report.chunks_total = store.count()
    report.seconds = time.perf_counter() - started
    return report


_Read = tuple[Document, str, list[ChunkRecord] | None]  # a document, its fingerprint, its chunks if to embed


class _ReadingFailed(StoreError):
    """Carries the reader's error through the generation being written: the generation is dropped, and the run
    raises the reader's error itself rather than "Writing the index failed"."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _carried(items: Iterator[_Read]) -> Iterator[_Read]:
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except Exception as exc:
            raise _ReadingFailed(exc) from exc
        yield item


def _read(reader: DocumentReader, run: _Run, settings: Settings) -> Iterator[_Read]:
    """The documents with their fingerprints, chunked when they must be embedded (in the reader's thread)."""
    for doc in reader.documents():
        fingerprint = document_fingerprint(doc, run.chunker)
        records = None
        if run.embeds(doc, fingerprint):
            chunks = chunk_document(doc, settings.chunk_max_chars, settings.chunk_overlap_sentences)
            records = _records(doc, chunks, fingerprint)
        yield doc, fingerprint, records


@dataclass
class _Writing:
    """How to open the run's new generation: loading the embedder, checking the index, beginning the generation."""

    store: ChunkStore
    settings: Settings
    embedder_factory: Callable[[], Embedder]
    chunker: str
    rebuild: bool
    progress: Progress | None

    @contextlib.contextmanager
    def open(self) -> Iterator[tuple[Generation, ChunkWriter]]:
        """A new generation and a writer into it, switched to when the block ends; on any failure it is dropped and
        the previous one stays (rag.store.chroma.ChunkStore.writing)."""
        embedder = self.embedder_factory()
        signature = Signature(embedder.model_id, embedder.dimension, self.chunker, embedder.backend)
        if not self.rebuild:
            self.store.check_compatible(signature)
        with self.store.writing(signature) as generation:
            yield generation, ChunkWriter(generation, embedder, self.settings.embedding_batch_size, self.progress)


def _index_run(reader: DocumentReader, run: _Run, writing: _Writing, paths: list[Path], prune: bool) -> int:
    """Read beside writing; the number of chunks embedded. The generation is begun at the first document that must
    be embedded (the embedder is loaded then, while the reader goes on), or at the end when documents were only
    removed or on a rebuild; the stored documents kept are copied into it last, then it is switched to."""
    with contextlib.ExitStack() as stack:
        items = stack.enter_context(ahead(partial(_read, reader, run, writing.settings), READ_AHEAD, "index-reader"))
        opened: tuple[Generation, ChunkWriter] | None = None
        for doc, fingerprint, records in _carried(items):
            run.take(doc, fingerprint)
            if records is not None:
                opened = opened or stack.enter_context(writing.open())
                opened[1].add(records)
        run.finish(reader, paths, prune)
        if run.refresh:
            writing.store.update_origins(run.refresh)
        if opened is None and (run.report.changed or writing.rebuild):
            opened = stack.enter_context(writing.open())
        if opened is None:
            return 0
        generation, writer = opened
        generation.copy_documents(run.keep)
        return writer.finish()


class _Run:
    """Each document read sorted against the stored ones as it comes (added, updated, unchanged, a copy of a
    stored article), and at the end what pruning removes and which stored documents are carried over."""

    def __init__(self, report: IndexReport, infos: list[DocumentInfo], current: Signature | None, chunker: str):
        self.report = report
        self.chunker = chunker
        self._infos = infos
        self._stored = {i.doc_id: i for i in infos}
        self._by_sha = {i.doc_sha: i.doc_id for i in infos}
        if current is not None and current.chunker != chunker and infos:
            # Other chunk boundaries: every document must be re-chunked (the fingerprints all differ).
            report.rechunk_reason = f"the index was chunked with {current.chunker}, this version chunks with {chunker}"
        self._copies: list[tuple[str, str]] = []  # (URL, id of the stored article it repeats)
        self._seen: set[str] = set()
        self._embedded: set[str] = set()
        self.refresh: dict[str, WebOrigin] = {}  # unchanged web articles whose fetch origin is newer than stored
        self.keep: set[str] = set()

    def _stored_copy(self, doc: Document, fingerprint: str) -> str | None:
        """The stored article this web article repeats under another URL (the same fingerprint), if any."""
        other = self._by_sha.get(fingerprint)
        return other if doc.url and doc.doc_id not in self._stored else None

    def embeds(self, doc: Document, fingerprint: str) -> bool:
        """Whether the document must be chunked and embedded (the reader's thread asks; it reads what __init__
        built and nothing else)."""
        stored = self._stored.get(doc.doc_id)
        return self._stored_copy(doc, fingerprint) is None and (stored is None or stored.doc_sha != fingerprint)

    def take(self, doc: Document, fingerprint: str) -> None:
        if doc.removed_lines:
            self.report.removed_lines[doc.doc_id] = len(doc.removed_lines)
        other = self._stored_copy(doc, fingerprint)
        if other is not None:
            self._copies.append((doc.source, other))
            return
        self._seen.add(doc.doc_id)
        stored = self._stored.get(doc.doc_id)
        if stored is not None and stored.doc_sha == fingerprint:
            self.report.unchanged.append(doc.doc_id)
            if doc.origin is not None and stored.origin != doc.origin:
                self.refresh[doc.doc_id] = doc.origin
            return
        self._embedded.add(doc.doc_id)
        (self.report.added if stored is None else self.report.updated).append(doc.doc_id)

    def finish(self, reader: DocumentReader, paths: list[Path], prune: bool) -> None:
        """What the reader found beside the documents, then what pruning removes and what is carried over."""
        report, web = self.report, reader.web
        report.sources = _file_statuses(paths, reader.file_sources, report.skipped[: reader.file_skips])
        if reader.reads_web:
            _report_web(report, web)
        report.duplicates += self._copies
        report.unchanged += [doc_id for doc_id in report.not_modified if doc_id in self._stored]
        seen = self._seen | {doc_id for _url, doc_id in report.duplicates} | set(report.not_modified)
        report.removed = sorted(set(prunable(self._infos, paths, web.plan.sources)) - seen) if prune else []
        self.keep = (set(self._stored) - self._embedded) - set(report.removed)


def _report_web(report: IndexReport, web: WebArticles) -> None:
    """What the URLs skipped, repeated, noted and gave."""
    report.skipped += [(r.url, r.reason) for r in web.plan.sources if r.reason is not None]
    report.skipped += web.skipped + [s for r in web.plan.sources for s in r.skipped]
    report.duplicates += web.duplicates
    report.not_modified = [doc_id for _url, doc_id in web.not_modified]
    report.notes = [note for r in web.plan.sources for note in r.notes]
    report.web_sources = [(r.url, r.kind, len(r.listed)) for r in web.plan.sources if r.kind]
    report.sources += _web_statuses(web)
