"""The document library: checking, saving, listing and deleting uploaded articles, then re-indexing.

The chat's Documents tab is a thin client of this module; it imports no Gradio.

Uploaded files live in an `uploads` folder next to the index folder. Seed articles (settings.seeds_dir)
and documents indexed from elsewhere with `rag index` are listed but cannot be deleted here.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rag.errors import NewsragError
from rag.ingest.documents import SUPPORTED_SUFFIXES, DocumentError, parse_bytes
from rag.ingest.pipeline import IndexReport, index_paths
from rag.ingest.pruning import prunable
from rag.models.embedding import Embedder
from rag.settings import Settings
from rag.store.chroma import ChunkStore, StoreError
from rag.store.locking import IndexLockedError
from rag.store.records import DocumentInfo

log = logging.getLogger("newsrag.library")

UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES
DOC_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_MAX_CONTROL_RATIO = 0.01


class IndexHolder(Protocol):
    """What the library uses of a running service: its store, and its embedder (loaded when first used)."""

    @property
    def store(self) -> ChunkStore: ...

    @property
    def embedder(self) -> Embedder: ...


class UploadError(NewsragError, ValueError):
    """An upload was rejected; the message says why in words a user understands."""


@dataclass(frozen=True)
class CheckedUpload:
    stem: str  # becomes the document id
    suffix: str  # one of SUPPORTED_SUFFIXES; the file is saved as uploaded and re-read on every index run
    data: bytes
    title: str


def uploads_dir(settings: Settings) -> Path:
    return Path(settings.index_dir).parent / "uploads"


def safe_stem(name: str, limit: int = 80) -> str:
    """A file stem of ASCII letters, digits, _ and - only, taken from an untrusted file name."""
    base = re.split(r"[\\/]", name or "")[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem or f".{suffix.lower()}" not in UPLOAD_SUFFIXES:
        stem = base
    stem = unicodedata.normalize("NFKD", stem.translate(_TRANSLIT))
    stem = "".join(c for c in stem if not unicodedata.combining(c))
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem)
    stem = re.sub(r"_{2,}", "_", stem).strip("_-")[:limit].strip("_-")
    return stem or "upload"


def _suffix(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    return os.path.splitext(base)[1].lower()


def _user_message(exc: DocumentError, name: str) -> str:
    message = str(exc).removeprefix(f"{name}: ")
    return message[:1].upper() + message[1:]


def check_upload(name: str, data: bytes, max_bytes: int) -> CheckedUpload:
    """Check an uploaded file by its content (not only its name) and return what to save."""
    suffix = _suffix(name)
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadError(f"Unsupported file type {suffix or '(none)'}; upload {', '.join(UPLOAD_SUFFIXES)}.")
    if len(data) > max_bytes:
        raise UploadError(f"The file has {len(data):,} bytes; the limit is {max_bytes:,} (RAG_UPLOAD_MAX_BYTES).")
    if not data.strip():
        raise UploadError("The file is empty.")
    if suffix == ".pdf" and not data.startswith(b"%PDF-"):
        raise UploadError("The file is named .pdf but is not a PDF.")
    stem = safe_stem(name)
    try:
        doc = parse_bytes(data, name, stem)
    except DocumentError as exc:
        raise UploadError(_user_message(exc, name)) from exc
    controls = sum(1 for c in doc.text if unicodedata.category(c) == "Cc" and c not in "\n\r\t\f")
    if controls > max(2, len(doc.text) * _MAX_CONTROL_RATIO):
        raise UploadError("The file contains many control characters; it does not look like a text article.")
    return CheckedUpload(stem, suffix, data, doc.title)


def uploaded_file(settings: Settings, doc_id: str) -> Path | None:
    """The uploaded file that holds `doc_id`, if it is an upload."""
    if not DOC_ID_RE.match(doc_id or ""):
        return None
    folder = uploads_dir(settings)
    for suffix in SUPPORTED_SUFFIXES:
        path = folder / f"{doc_id}{suffix}"
        if path.is_file():
            return path
    return None


def seed_file(settings: Settings, doc_id: str) -> Path | None:
    for suffix in SUPPORTED_SUFFIXES:
        path = Path(settings.seeds_dir) / f"{doc_id}{suffix}"
        if path.is_file():
            return path
    return None


def kind_of(settings: Settings, doc_id: str) -> str:
    if uploaded_file(settings, doc_id):
        return "upload"
    if seed_file(settings, doc_id):
        return "seed"
    return "indexed elsewhere"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_upload(settings: Settings, checked: CheckedUpload) -> tuple[Path, dict[Path, bytes]]:
    """Write the upload into the uploads folder; returns its path and the files it replaced (to restore)."""
    folder = uploads_dir(settings).resolve()
    target = (folder / f"{checked.stem}{checked.suffix}").resolve()
    if target.parent != folder:  # safe_stem makes this impossible; keep the guard anyway
        raise UploadError("Refusing a file name outside the uploads folder.")
    replaced: dict[Path, bytes] = {}
    for suffix in SUPPORTED_SUFFIXES:
        old = folder / f"{checked.stem}{suffix}"
        if old.is_file():
            replaced[old] = old.read_bytes()
            if old != target:
                old.unlink()
    _write_atomic(target, checked.data)
    return target, replaced


def index_sources(settings: Settings) -> list[Path]:
    """What the library keeps indexed: the seeds folder and the uploads folder (when they exist)."""
    return [p for p in (Path(settings.seeds_dir), uploads_dir(settings)) if p.is_dir()]


def reindex(
    settings: Settings,
    service: IndexHolder,
    prune: bool,
    progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Index seeds + uploads. With prune, only documents whose files are gone from those folders are removed."""
    return index_paths(
        index_sources(settings), settings, service.store, lambda: service.embedder, prune=prune, progress=progress
    )


def would_also_remove(settings: Settings, documents: list[DocumentInfo], doc_id: str) -> list[str]:
    """Documents (besides doc_id) that a pruning re-index would drop because their files are gone."""
    return [d for d in prunable(documents, index_sources(settings), []) if d != doc_id]


def _restore(target: Path, replaced: dict[Path, bytes]) -> None:
    target.unlink(missing_ok=True)
    for path, data in replaced.items():
        path.write_bytes(data)


def _failure(exc: Exception, what: str) -> str:
    if isinstance(exc, StoreError | IndexLockedError):
        return str(exc)
    log.exception("%s failed", what)
    return "an unexpected error; the details are in the server log"


def document_rows(settings: Settings, service: IndexHolder) -> list[dict]:
    """The indexed documents with their kind: seed, upload or indexed elsewhere."""
    return [
        {
            "doc_id": d.doc_id,
            "title": d.title,
            "date": d.date,
            "chunks": d.chunks,
            "kind": f"web: {d.site or d.url}" if d.url else kind_of(settings, d.doc_id),
        }
        for d in service.store.documents()
    ]


def add_upload(
    settings: Settings,
    service: IndexHolder,
    path: str | Path | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[bool, str]:
    """Check, save and index one uploaded file; on any failure nothing changes. Returns (ok, message)."""
    if not path:
        return False, f"Choose a file first ({', '.join(UPLOAD_SUFFIXES)})."
    path = Path(path)
    name = path.name  # the browser's file name: untrusted, only used after safe_stem
    try:
        if path.stat().st_size > settings.upload_max_bytes:
            raise UploadError(
                f"The file is larger than the limit of {settings.upload_max_bytes:,} bytes (RAG_UPLOAD_MAX_BYTES)."
            )
        checked = check_upload(name, path.read_bytes(), settings.upload_max_bytes)
    except UploadError as exc:
        return False, f"Rejected {name}: {exc}"
    except OSError as exc:
        return False, f"Cannot read the uploaded file ({exc.strerror or exc})."
    stem = checked.stem
    try:
        indexed = {d.doc_id for d in service.store.documents()}
    except StoreError as exc:
        return False, str(exc)
    if seed_file(settings, stem) or (stem in indexed and not uploaded_file(settings, stem)):
        return False, f"A document with the id {stem} already exists and is not an upload; rename the file."
    target, replaced = save_upload(settings, checked)
    try:
        report = reindex(settings, service, prune=False, progress=progress)
    except Exception as exc:
        _restore(target, replaced)
        return False, f"Indexing failed, the upload was not added: {_failure(exc, 'indexing an upload')}."
    problem = next((why for file, why in report.skipped if Path(file).resolve() == target), None)
    if problem:
        _restore(target, replaced)
        return False, f"Rejected {name}: {problem}"
    verb = "Updated" if stem in report.updated else ("Added" if stem in report.added else "Unchanged:")
    chunks = next((d.chunks for d in service.store.documents() if d.doc_id == stem), 0)
    return True, f"{verb} {stem} “{checked.title}” ({chunks} chunks). Ask about it in the Chat tab."


def delete_upload(
    settings: Settings,
    service: IndexHolder,
    doc_id: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[bool, str]:
    """Remove an uploaded document's file and re-index with pruning. Seeds cannot be deleted here."""
    doc_id = (doc_id or "").strip()
    if not doc_id:
        return False, "Select a document first."
    path = uploaded_file(settings, doc_id)
    if path is None:
        if DOC_ID_RE.match(doc_id) and seed_file(settings, doc_id):
            return False, f"{doc_id} is a seed article; only uploaded documents can be deleted here."
        return False, f"{doc_id} is not an uploaded document; only uploads can be deleted here."
    try:
        docs = service.store.documents()
        collateral = would_also_remove(settings, docs, doc_id)
    except Exception as exc:
        return False, f"Cannot check the index: {_failure(exc, 'checking a delete')}."
    if collateral:
        return False, (
            "Deleting would also drop documents whose files are gone from the seeds or uploads folder "
            f"({', '.join(collateral[:5])}); restore those files first."
        )
    content = path.read_bytes()
    path.unlink()
    try:
        reindex(settings, service, prune=True, progress=progress)
    except Exception as exc:
        path.write_bytes(content)
        return False, f"Re-indexing failed, nothing was deleted: {_failure(exc, 're-indexing after a delete')}."
    return True, f"Deleted {doc_id} and removed it from the index."


def ensure_index(settings: Settings, service: IndexHolder, say: Callable[[str], None] = print) -> None:
    """Index the seeds (and any earlier uploads) when the index is empty, so the chat has something to read."""
    if service.store.count() > 0:
        return
    sources = index_sources(settings)
    if not sources:
        say(f"The index is empty and {settings.seeds_dir} does not exist; upload articles in the Documents tab.")
        return
    say(f"The index is empty: indexing {', '.join(str(s) for s in sources)} …")
    report = index_paths(sources, settings, service.store, lambda: service.embedder, wait=True)
    say(f"{len(report.added)} documents, {report.chunks_total} chunks indexed ({report.seconds:.1f} s).")
