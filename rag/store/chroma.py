"""Vector-store component: Chroma, embedded on disk or behind `chroma run`, with atomic switch-over.

Every index run writes a fresh *generation* collection and then flips a pointer to it, so a run that
dies midway leaves the previous generation untouched and queryable.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rag.errors import NewsragError
from rag.settings import Settings
from rag.store.records import (
    ChunkRecord,
    DocumentInfo,
    Signature,
    origin_from_metadata,
    origin_metadata,
    to_chunk,
    web_source,
)
from rag.types import StoredChunk, WebOrigin

if TYPE_CHECKING:  # chromadb is imported when a store is opened, not when this module is
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

BATCH = 500


class StoreError(NewsragError, RuntimeError):
    """The store cannot be opened or used; the message says how to fix it."""


class StoreMismatchError(StoreError):
    """The index was built with another embedding model or chunker."""


# chromadb types its results as TypedDicts of optional columns and its inputs as numpy-or-list unions;
# the columns asked for are always present, so results are read as plain dicts at this one boundary.
def _get(collection: Collection, **query: Any) -> dict[str, Any]:
    return cast(dict[str, Any], collection.get(**query))


def _add(collection: Collection, **columns: Any) -> None:
    collection.add(**columns)


def _update(collection: Collection, **columns: Any) -> None:
    collection.update(**columns)


def make_client(settings: Settings) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.store_mode == "http":
        headers = {}
        if settings.chroma_token:
            headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                headers=headers,
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError variants
            scheme = "https" if settings.chroma_ssl else "http"
            raise StoreError(
                f"Cannot reach the Chroma server at {scheme}://{settings.chroma_host}:{settings.chroma_port} "
                f"({exc}). Start it with `chroma run --path DIR --host 127.0.0.1 --port {settings.chroma_port}` "
                "or set RAG_STORE_MODE=persistent."
            ) from exc
    path = Path(settings.index_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(
            f"The index at {path} cannot be opened ({exc}). It may be corrupted: "
            "delete the folder and run `rag index --rebuild`."
        ) from exc


class ChunkStore:
    """The chunks of one logical collection, spread over generations behind a pointer."""

    def __init__(self, client: ClientAPI, name: str, location: str):
        self._client = client
        self.name = name
        self.location = location

    # -- pointer ---------------------------------------------------------
    @property
    def _pointer_name(self) -> str:
        return f"{self.name}-pointer"

    def _pointer(self) -> Collection:
        return self._client.get_or_create_collection(self._pointer_name, embedding_function=None)

    def active_name(self) -> str | None:
        try:
            meta = self._pointer().metadata or {}
        except Exception as exc:
            raise StoreError(
                f"The index at {self.location} is unreadable ({exc}). Delete it and run `rag index --rebuild`."
            ) from exc
        return meta.get("active")

    def _active(self) -> Collection | None:
        name = self.active_name()
        if name is None:
            return None
        try:
            return self._client.get_collection(name, embedding_function=None)
        except Exception as exc:
            raise StoreError(
                f"The index at {self.location} points at a missing collection {name!r}. Run `rag index --rebuild`."
            ) from exc

    def _require_active(self) -> Collection:
        collection = self._active()
        if collection is None:
            raise StoreError(f"No index at {self.location} yet. Run `rag index` first.")
        return collection

    # -- reading ---------------------------------------------------------
    def signature(self) -> Signature | None:
        collection = self._active()
        return None if collection is None else Signature.from_metadata(collection.metadata or {})

    def check_compatible(self, expected: Signature) -> None:
        found = self.signature()
        if found is None:
            return
        if not found.embeds_like(expected):
            raise StoreMismatchError(
                f"The index at {self.location} was built with {found.describe_embedding()}, but the settings use "
                f"{expected.describe_embedding()}. Run `rag index --rebuild` to re-embed the articles."
            )

    def count(self) -> int:
        collection = self._active()
        return 0 if collection is None else collection.count()

    def query(self, vector: list[float], k: int) -> list[StoredChunk]:
        for attempt in (1, 2):
            try:
                return self._query(vector, k)
            except StoreError:
                raise
            except Exception as exc:  # a concurrent `rag index` may have just dropped the generation we held
                if attempt == 2:
                    raise StoreError(
                        f"Searching the index at {self.location} failed ({exc}). "
                        "If it persists, run `rag index --rebuild`."
                    ) from exc
        raise AssertionError("unreachable")

    def _query(self, vector: list[float], k: int) -> list[StoredChunk]:
        collection = self._require_active()
        if len(vector) != int((collection.metadata or {}).get("embedding_dim", len(vector))):
            raise StoreMismatchError(
                f"The query vector has {len(vector)} dimensions but the index at {self.location} holds "
                f"{(collection.metadata or {}).get('embedding_dim')}. Run `rag index --rebuild`."
            )
        n = min(k, collection.count())
        if n == 0:
            return []
        query: dict[str, Any] = {"query_embeddings": [vector], "n_results": n}
        result = cast(dict[str, Any], collection.query(**query, include=["documents", "metadatas", "distances"]))
        return [
            to_chunk(cid, text, meta, score=1.0 - float(dist))
            for cid, text, meta, dist in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
        ]

    def _iter_all(self, collection: Collection, include: list[str]) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = _get(collection, include=include, limit=BATCH * 4, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def documents(self) -> list[DocumentInfo]:
        collection = self._active()
        if collection is None:
            return []
        counts: dict[str, int] = defaultdict(int)
        first: dict[str, dict[str, Any]] = {}
        for page in self._iter_all(collection, ["metadatas"]):
            for meta in page["metadatas"]:
                counts[meta["doc_id"]] += 1
                first.setdefault(meta["doc_id"], meta)
        return sorted(
            (
                DocumentInfo(
                    doc_id,
                    str(m.get("title", "")),
                    str(m.get("date") or "") or None,
                    str(m.get("source", "")),
                    counts[doc_id],
                    str(m.get("doc_sha", "")),
                    **web_source(m),
                    origin=origin_from_metadata(m),
                )
                for doc_id, m in first.items()
            ),
            key=lambda d: d.doc_id,
        )

    def update_origins(self, origins: dict[str, WebOrigin]) -> None:
        """Record newer fetch origins (validators, listing feed) of documents whose text is unchanged, in place:
        they are hints for the next fetch, and the text they describe is the stored one."""
        collection = self._require_active()
        for doc_id, origin in origins.items():
            page = _get(collection, where={"doc_id": doc_id}, include=["metadatas"])
            if page["ids"]:
                metadatas = [{**meta, **origin_metadata(origin)} for meta in page["metadatas"]]
                _update(collection, ids=page["ids"], metadatas=metadatas)

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        collection = self._require_active()
        page = _get(collection, where={"doc_id": doc_id}, include=["documents", "metadatas"])
        chunks = [to_chunk(i, t, m) for i, t, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)]
        return sorted(chunks, key=lambda c: c.chunk_index)

    def removed_lines(self, doc_id: str) -> list[str]:
        """The lines cleaning dropped from a document when it was indexed."""
        where = {"$and": [{"doc_id": doc_id}, {"chunk_index": 0}]}
        page = _get(self._require_active(), where=where, include=["metadatas"])
        if not page["ids"]:
            raise StoreError(f"no document {doc_id!r} in the index; `rag docs` lists them")
        return [str(line) for line in json.loads(page["metadatas"][0].get("removed") or "[]")]

    def chunk_ids(self) -> list[str]:
        collection = self._active()
        if collection is None:
            return []
        return sorted(i for page in self._iter_all(collection, []) for i in page["ids"])

    # -- writing ---------------------------------------------------------
    def begin(self, signature: Signature) -> Generation:
        self._drop_orphans()
        name = f"{self.name}-g{time.time_ns()}"
        metadata = {**signature.as_metadata(), "created": time.time()}
        collection = self._client.create_collection(
            name, metadata=metadata, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        return Generation(self, collection, self._active())

    @contextlib.contextmanager
    def writing(self, signature: Signature) -> Iterator[Generation]:
        """A new generation to fill, switched to when the block ends; on any failure it is dropped and the
        previous one stays (the error says so)."""
        generation = self.begin(signature)
        try:
            yield generation
            generation.commit()
        except (KeyboardInterrupt, StoreError):
            generation.abort()
            raise
        except Exception as exc:  # disk full, server gone, ...: chromadb has no common error base
            generation.abort()
            raise StoreError(f"Writing the index failed ({exc}); the previous index is intact.") from exc

    def _drop_orphans(self) -> None:
        """Remove generations left behind by runs that were killed before switching over."""
        active = self.active_name()
        prefix = f"{self.name}-g"
        for collection in self._client.list_collections():
            name = collection if isinstance(collection, str) else collection.name
            if name.startswith(prefix) and name != active:
                self._client.delete_collection(name)

    def _switch(self, new_name: str, old_name: str | None) -> None:
        self._pointer().modify(metadata={"active": new_name})
        if old_name:
            self._client.delete_collection(old_name)


class Generation:
    """A collection being built; it becomes visible only on commit()."""

    def __init__(self, store: ChunkStore, collection: Collection, previous: Collection | None):
        self._store = store
        self._collection = collection
        self._previous = previous

    def copy_documents(self, doc_ids: set[str]) -> int:
        """Carry unchanged documents over from the previous generation without re-embedding them."""
        if self._previous is None or not doc_ids:
            return 0
        copied = 0
        ids = sorted(doc_ids)
        for i in range(0, len(ids), 50):
            page = _get(
                self._previous,
                where={"doc_id": {"$in": ids[i : i + 50]}},
                include=["embeddings", "documents", "metadatas"],
            )
            for j in range(0, len(page["ids"]), BATCH):
                _add(
                    self._collection,
                    ids=page["ids"][j : j + BATCH],
                    embeddings=page["embeddings"][j : j + BATCH],
                    documents=page["documents"][j : j + BATCH],
                    metadatas=page["metadatas"][j : j + BATCH],
                )
            copied += len(page["ids"])
        return copied

    def add(self, records: list[ChunkRecord]) -> None:
        for j in range(0, len(records), BATCH):
            batch = records[j : j + BATCH]
            _add(
                self._collection,
                ids=[r.chunk_id for r in batch],
                embeddings=[r.vector for r in batch],
                documents=[r.text for r in batch],
                metadatas=[r.metadata for r in batch],
            )

    def commit(self) -> None:
        old = self._previous.name if self._previous is not None else None
        self._store._switch(self._collection.name, old)

    def abort(self) -> None:
        # Best effort: the next run's _drop_orphans removes it anyway.
        with contextlib.suppress(Exception):
            self._store._client.delete_collection(self._collection.name)


def open_store(settings: Settings) -> ChunkStore:
    location = (
        f"{'https' if settings.chroma_ssl else 'http'}://{settings.chroma_host}:{settings.chroma_port}"
        if settings.store_mode == "http"
        else str(settings.index_dir)
    )
    return ChunkStore(make_client(settings), settings.collection, location)
