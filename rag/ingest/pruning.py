"""Which stored documents a pruning run may remove: only those whose source this run checked and found gone.

- A file's document goes when its file lies within a folder (or is a file) named in this run and no longer exists.
  A file that exists but could not be read, and a file in a folder that was not named, are kept.
- A web article goes when the feed or sitemap that listed it was read in this run and no longer lists it.
  An article whose feed could not be read, or that the feed still lists but could not be fetched, is kept;
  so is a page that was named itself, and an article stored before origins were recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from rag.ingest.web.sources import SourceReading
from rag.store.records import DocumentInfo


def within(path: Path, roots: Sequence[Path]) -> bool:
    """Whether a resolved path is one of `roots` or lies inside one: the files a named source covers."""
    return any(path == root or root in path.parents for root in roots)


def prunable(stored: Iterable[DocumentInfo], paths: Sequence[Path], readings: Sequence[SourceReading]) -> list[str]:
    """The ids of the stored documents that a pruning run over `paths` and the read URL sources removes."""
    roots = [p.resolve() for p in paths if p.exists()]
    listed = {r.url: set(r.listed) for r in readings if r.lists_articles}
    gone: list[str] = []
    for info in stored:
        if info.origin is not None:
            feed = info.origin.listed_by
            if feed in listed and info.origin.fetched_from not in listed[feed]:
                gone.append(info.doc_id)
        elif not info.url and info.source:
            source = Path(info.source)
            if within(source.resolve(), roots) and not source.exists():
                gone.append(info.doc_id)
    return sorted(gone)
