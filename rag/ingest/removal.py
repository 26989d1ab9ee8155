"""Taking documents out of the index: a new generation without them, switched to atomically under the write lock."""

from __future__ import annotations

from collections.abc import Iterable

from rag.ingest.pipeline import lock_path
from rag.settings import Settings
from rag.store.chroma import ChunkStore, StoreError
from rag.store.locking import write_lock


def remove_documents(doc_ids: Iterable[str], settings: Settings, store: ChunkStore, wait: bool = False) -> list[str]:
    """Remove the named documents; returns those that were in the index. Unknown ids are a StoreError.

    A document whose file or feed is still named in a later `rag index` run comes back then: removal is for the
    index, not for the sources.
    """
    wanted = set(doc_ids)
    with write_lock(lock_path(settings), wait=wait):
        stored = {d.doc_id for d in store.documents()}
        unknown = sorted(wanted - stored)
        if unknown:
            raise StoreError(f"no document {', '.join(repr(u) for u in unknown)} in the index (`rag docs` lists them)")
        signature = store.signature()
        if signature is None or not wanted:
            return []
        with store.writing(signature) as generation:
            generation.copy_documents(stored - wanted)
    return sorted(wanted)
