"""Question sets that bring their own documents: `rag eval SET --corpus DIR`.

DIR is indexed into a scratch store under the cache, keyed by the content of DIR and by the settings
that shape an index, so a second run with the same corpus reuses the store without loading a model.
The scratch corpora keep their chunk states apart from the index's (`CORPUS_CHUNK_STATES`, same size cap),
so an evaluation on other documents does not push the chat's saved prompt states out of the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import NewsragError
from rag.ingest import CHUNKER_VERSION, IndexReport, collect_files
from rag.settings import Settings

CORPUS_CHUNK_STATES = "chunk-states-corpora"  # under cache_dir, shared by all scratch corpora


class CorpusError(NewsragError, ValueError):
    """The corpus folder cannot be used."""


@dataclass(frozen=True)
class Corpus:
    folder: Path
    key: str  # content hash of the files plus the index-shaping settings
    files: int


def corpus_key(folder: Path, settings: Settings) -> Corpus:
    """Hash every supported file (path relative to DIR and content) with the settings that shape an index."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"--corpus {folder} is not a folder")
    files, _ = collect_files([folder])
    if not files:
        raise CorpusError(f"--corpus {folder} holds no supported article files")
    digest = hashlib.sha256()
    shape: tuple[object, ...] = (
        settings.embedding_model,
        CHUNKER_VERSION,
        settings.chunk_max_chars,
        settings.chunk_overlap_sentences,
    )
    if settings.embedding_backend != "local":  # a server's vectors get their own store; local keys stay as they were
        shape += (settings.embedding_backend,)
    digest.update(repr(shape).encode())
    for file in files:
        digest.update(str(file.relative_to(folder)).encode() + b"\x00")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return Corpus(folder, digest.hexdigest()[:16], len(files))


def corpus_settings(settings: Settings, corpus: Corpus) -> Settings:
    """The same settings, pointed at the corpus and its scratch store (always a local folder)."""
    return settings.model_copy(
        update={
            "seeds_dir": corpus.folder,
            "store_mode": "persistent",
            "index_dir": settings.cache_dir / "corpora" / corpus.key,
            "collection": "corpus",
            "chunk_states_dir": settings.cache_dir / CORPUS_CHUNK_STATES,
        }
    )


def index_corpus(settings: Settings, say: Callable[[str], None] = print) -> IndexReport:
    """Bring the scratch store in line with the corpus (a no-op without models when it already is)."""
    from rag.ingest import index_paths
    from rag.models import get_embedder
    from rag.store import open_store

    report = index_paths(
        [Path(settings.seeds_dir)],
        settings,
        open_store(settings),
        lambda: get_embedder(settings),
        prune=True,
        wait=True,
    )
    for file, reason in report.skipped:
        say(f"skipped {file}: {reason}")
    verb = "reused" if not report.changed else f"built ({report.chunks_embedded} chunks embedded)"
    say(f"Corpus {settings.seeds_dir}: store {settings.index_dir} {verb}, {report.chunks_total} chunks.")
    return report
