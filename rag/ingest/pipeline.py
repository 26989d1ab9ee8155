"""Ingestion service: files and web URLs -> documents -> chunks -> vectors -> a new store generation.

URLs (pages, feeds, sitemaps) are fetched by rag.ingest.web before the write lock is taken; nothing else uses the
network. Pruning removes only what this run checked (rag.ingest.pruning). Each named source is reported with what
it gave, so that a caller can tell a run that did what it could from one whose every source failed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.chunking import CHUNKER_VERSION, Chunk, chunk_document
from rag.ingest.documents import SUPPORTED_SUFFIXES, DocumentError, load_document
from rag.ingest.pruning import prunable, within
from rag.ingest.web.articles import KnownArticle, WebArticles, fetch_articles
from rag.ingest.web.fetcher import Fetcher
from rag.ingest.web.sources import Notify, SourceReading
from rag.models.embedding import Embedder
from rag.settings import Settings
from rag.store.chroma import ChunkStore
from rag.store.locking import write_lock
from rag.store.records import ChunkRecord, DocumentInfo, Signature, chunk_metadata
from rag.types import Document, WebOrigin

Progress = Callable[[int, int], None]


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
    documents: dict[str, Document] = {}
    for file in files:
        try:
            doc = load_document(file)
        except DocumentError as exc:
            skipped.append((str(file), str(exc)))
            continue
        if doc.doc_id in documents:
            skipped.append((str(file), f"duplicate document id {doc.doc_id!r} (also {documents[doc.doc_id].source})"))
            continue
        documents[doc.doc_id] = doc
    return list(documents.values())


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


def _embed(records: list[ChunkRecord], embedder: Embedder, batch: int, progress: Progress | None) -> None:
    step = batch * embedder.batches_at_once
    for i in range(0, len(records), step):
        part = records[i : i + step]
        for record, vector in zip(part, embedder.embed_documents([r.text for r in part]), strict=True):
            record.vector = vector
        if progress:
            progress(min(i + step, len(records)), len(records))


def _drop_stored_copies(
    documents: list[Document], fingerprints: dict[str, str], stored: dict[str, str], report: IndexReport
) -> list[Document]:
    """Web articles that are stored already under another URL (the same fingerprint) are not added again."""
    by_sha = {sha: doc_id for doc_id, sha in stored.items()}
    kept = []
    for doc in documents:
        other = by_sha.get(fingerprints[doc.doc_id])
        if doc.url and doc.doc_id not in stored and other is not None:
            report.duplicates.append((doc.source, other))
        else:
            kept.append(doc)
    return kept


def lock_path(settings: Settings) -> Path:
    if settings.store_mode == "http":
        name = f"{settings.chroma_host}_{settings.chroma_port}_{settings.collection}.lock"
        return settings.cache_dir / "locks" / name
    return Path(settings.index_dir) / f".{settings.collection}.lock"


def _file_statuses(paths: list[Path], documents: list[Document], skipped: list[tuple[str, str]]) -> list[SourceStatus]:
    statuses = []
    for path in paths:
        if not path.exists():
            statuses.append(SourceStatus(str(path), "unreadable", reason="no such file or folder"))
            continue
        roots = [path.resolve()]
        used = sum(1 for d in documents if within(Path(d.source).resolve(), roots))
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


def _origins_to_refresh(
    documents: list[Document], fingerprints: dict[str, str], infos: list[DocumentInfo]
) -> dict[str, WebOrigin]:
    """Unchanged web articles whose fetch origin (validators, listing feed) is newer than the stored one."""
    stored = {i.doc_id: i for i in infos}
    return {
        d.doc_id: d.origin
        for d in documents
        if d.origin is not None
        and d.doc_id in stored
        and stored[d.doc_id].doc_sha == fingerprints[d.doc_id]
        and stored[d.doc_id].origin != d.origin
    }


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
    """
    started = time.perf_counter()
    report = IndexReport()
    files, report.skipped = collect_files(paths)
    documents = load_documents(files, report.skipped)
    report.sources = _file_statuses(paths, documents, report.skipped)
    chunker = chunker_id(settings)
    readings = []
    if urls:
        web = _read_web(report, urls, settings, store, chunker, rebuild, fetcher, notify)
        documents += web.documents
        readings = web.plan.sources
    report.removed_lines = {d.doc_id: len(d.removed_lines) for d in documents if d.removed_lines}
    with write_lock(lock_path(settings), wait=wait):
        infos = [] if rebuild else store.documents()
        plan = _plan_run(report, documents, infos, store.signature(), chunker, paths, readings, prune)
        refresh = _origins_to_refresh(plan.documents, plan.fingerprints, infos)
        if refresh:
            store.update_origins(refresh)
        if not report.changed and not rebuild:
            report.chunks_total = store.count()
            report.seconds = time.perf_counter() - started
            return report
        embedder = embedder_factory()
        report.chunks_embedded = _write_generation(store, settings, embedder, chunker, plan, rebuild, progress)
        report.chunks_total = store.count()
    report.seconds = time.perf_counter() - started
    return report


def _read_web(
    report: IndexReport,
    urls: Sequence[str],
    settings: Settings,
    store: ChunkStore,
    chunker: str,
    rebuild: bool,
    fetcher: Fetcher | None,
    notify: Notify | None,
) -> WebArticles:
    """Fetch the named URLs' articles (before the write lock); what they skipped, repeated and noted is reported."""
    current = store.signature()
    # Validators are sent only when a 304 can keep the stored chunks: not on a rebuild or a re-chunking.
    same_chunks = not rebuild and (current is None or current.chunker == chunker)
    known = known_articles(store.documents()) if same_chunks else {}
    web = fetch_articles(urls, fetcher or Fetcher(settings), notify, known)
    report.skipped += [(r.url, r.reason) for r in web.plan.sources if r.reason is not None]
    report.skipped += web.skipped + [s for r in web.plan.sources for s in r.skipped]
    report.duplicates += web.duplicates
    report.not_modified = [doc_id for _url, doc_id in web.not_modified]
    report.notes = [note for r in web.plan.sources for note in r.notes]
    report.web_sources = [(r.url, r.kind, len(r.listed)) for r in web.plan.sources if r.kind]
    report.sources += _web_statuses(web)
    return web


@dataclass
class _Plan:
    """What an index run writes: the documents it read (stored copies dropped), their fingerprints, those to embed
    and the stored ones carried over unchanged."""

    documents: list[Document]
    fingerprints: dict[str, str]
    to_embed: list[Document]
    keep: set[str]


def _plan_run(
    report: IndexReport,
    documents: list[Document],
    infos: list[DocumentInfo],
    current: Signature | None,
    chunker: str,
    paths: list[Path],
    readings: Sequence[SourceReading],
    prune: bool,
) -> _Plan:
    """Sort the documents read against those stored into added, updated, unchanged and removed (in the report)."""
    stored = {d.doc_id: d.doc_sha for d in infos}
    if current is not None and current.chunker != chunker and stored:
        # Other chunk boundaries: every document must be re-chunked (the fingerprints all differ).
        report.rechunk_reason = f"the index was chunked with {current.chunker}, this version chunks with {chunker}"
    fingerprints = {d.doc_id: document_fingerprint(d, chunker) for d in documents}
    documents = _drop_stored_copies(documents, fingerprints, stored, report)
    to_embed = [d for d in documents if stored.get(d.doc_id) != fingerprints[d.doc_id]]
    report.added = [d.doc_id for d in to_embed if d.doc_id not in stored]
    report.updated = [d.doc_id for d in to_embed if d.doc_id in stored]
    report.unchanged = [d.doc_id for d in documents if stored.get(d.doc_id) == fingerprints[d.doc_id]]
    report.unchanged += [doc_id for doc_id in report.not_modified if doc_id in stored]
    seen = {d.doc_id for d in documents} | {doc_id for _url, doc_id in report.duplicates} | set(report.not_modified)
    report.removed = sorted(set(prunable(infos, paths, readings)) - seen) if prune else []
    keep = (set(stored) - {d.doc_id for d in to_embed}) - set(report.removed)
    return _Plan(documents, fingerprints, to_embed, keep)


def _write_generation(
    store: ChunkStore,
    settings: Settings,
    embedder: Embedder,
    chunker: str,
    plan: _Plan,
    rebuild: bool,
    progress: Progress | None,
) -> int:
    """Write a new generation (the unchanged documents copied, the others chunked and embedded) and switch to it;
    on any failure the previous one stays. Returns the number of chunks embedded."""
    signature = Signature(embedder.model_id, embedder.dimension, chunker, embedder.backend)
    if not rebuild:
        store.check_compatible(signature)
    records = [
        r
        for d in plan.to_embed
        for r in _records(
            d,
            chunk_document(d, settings.chunk_max_chars, settings.chunk_overlap_sentences),
            plan.fingerprints[d.doc_id],
        )
    ]
    with store.writing(signature) as generation:
        generation.copy_documents(plan.keep)
        _embed(records, embedder, settings.embedding_batch_size, progress)
        generation.add(records)
    return len(records)
