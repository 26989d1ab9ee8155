"""The Chroma chunk store used directly: generations behind a pointer, reads, signatures and metadata.

Indexing whole folders, crash safety and the embedding-model mismatch on re-index are in test_ingest.py
and test_crash_safety.py; these tests write hand-made records so each contract is checked on its own.
"""

from __future__ import annotations

import json

import pytest

import rag.store.chroma
from rag.store.chroma import ChunkStore, StoreError, StoreMismatchError, make_client, open_store
from rag.store.records import ChunkRecord, Signature, chunk_metadata
from rag.types import Document
from tests.fakes import HashEmbedder

EMBEDDER = HashEmbedder()
SIGNATURE = Signature(EMBEDDER.model_id, EMBEDDER.dimension, "v2-600c-1o")


def document(doc_id: str, removed: tuple[str, ...] = (), date: str | None = None) -> Document:
    return Document(doc_id, f"Titel {doc_id}", date, f"/in/{doc_id}.txt", "unused", removed, author=None)


def records(doc: Document, texts: list[str], order: list[int] | None = None) -> list[ChunkRecord]:
    """One record per text, chunk i covering text i; `order` shuffles the write order."""
    out, start = [], 0
    for i, text in enumerate(texts):
        meta = chunk_metadata(doc, f"sha-{doc.doc_id}", i, start, start + len(text), [(start, start + len(text))])
        out.append(ChunkRecord(f"{doc.doc_id}#{i}", text, EMBEDDER.embed_query(text), meta))
        start += len(text) + 1
    return [out[i] for i in order] if order else out


def write(store: ChunkStore, *batches: list[ChunkRecord], signature: Signature = SIGNATURE) -> None:
    generation = store.begin(signature)
    for batch in batches:
        generation.add(batch)
    generation.commit()


def collections(store: ChunkStore) -> set[str]:
    return {c if isinstance(c, str) else c.name for c in store._client.list_collections()}


@pytest.fixture
def store(tmp_settings) -> ChunkStore:
    return open_store(tmp_settings)


# --- metadata and signatures ------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "has_removed"), [(0, True), (1, False), (7, False)])
def test_removed_lines_ride_on_the_first_chunk_only(index, has_removed):
    meta = chunk_metadata(document("d", ("Teilen", "Foto: Ärger")), "sha", index, 0, 5, [(0, 5)])
    assert ("removed" in meta) is has_removed
    if has_removed:
        assert meta["removed"] == '["Teilen", "Foto: Ärger"]'  # readable, not \u escapes


def test_chunk_metadata_holds_only_chroma_scalars():
    meta = chunk_metadata(document("d"), "sha", 0, 3, 9, iter([(3, 5), (6, 9)]))
    assert meta["date"] == "" and meta["author"] == ""  # Chroma rejects None
    assert json.loads(meta["sentences"]) == [[3, 5], [6, 9]]
    assert all(isinstance(v, str | int | float | bool) for v in meta.values())


def test_signature_round_trips_through_collection_metadata():
    assert Signature.from_metadata(SIGNATURE.as_metadata()) == SIGNATURE
    assert Signature.from_metadata({}) == Signature("?", 0, "?")
    served = Signature("gemma", 768, "v2", "openai")
    assert Signature.from_metadata(served.as_metadata()) == served


def test_an_index_from_before_embedding_servers_reads_as_embedded_in_process():
    older = {"embedding_model": "embeddinggemma-300m", "embedding_dim": 768, "chunker": "v2-600c-1o"}
    assert Signature.from_metadata(older).embedding_backend == "local"
    assert Signature.from_metadata(older).embeds_like(Signature("embeddinggemma-300m", 768, "v3"))


# --- an empty store ---------------------------------------------------------------------------------


def test_empty_store_reads_as_empty(store):
    assert store.active_name() is None and store.signature() is None
    assert store.count() == 0 and store.documents() == [] and store.chunk_ids() == []
    store.check_compatible(Signature("any-model", 3, "any"))  # nothing to be incompatible with


@pytest.mark.parametrize(
    "call",
    [lambda s: s.query([0.0] * 64, 3), lambda s: s.chunks_of("d"), lambda s: s.removed_lines("d")],
    ids=["query", "chunks_of", "removed_lines"],
)
def test_empty_store_tells_to_index_first(store, call):
    with pytest.raises(StoreError, match="Run `rag index` first"):
        call(store)


# --- generations and the pointer --------------------------------------------------------------------


def test_generation_is_invisible_until_commit(store):
    generation = store.begin(SIGNATURE)
    generation.add(records(document("a"), ["Eins.", "Zwei."]))
    assert store.count() == 0 and store.active_name() is None
    generation.commit()
    assert store.count() == 2 and store.signature() == SIGNATURE


def test_commit_switches_over_and_drops_the_old_generation(store):
    write(store, records(document("a"), ["Alt."]))
    old = store.active_name()
    write(store, records(document("b"), ["Neu."]))
    assert store.active_name() != old
    assert collections(store) == {store.active_name(), f"{store.name}-pointer"}
    assert store.chunk_ids() == ["b#0"]


def test_abort_keeps_the_previous_generation(store):
    write(store, records(document("a"), ["Alt."]))
    active = store.active_name()
    generation = store.begin(SIGNATURE)
    generation.add(records(document("b"), ["Neu."]))
    generation.abort()
    assert store.active_name() == active and store.chunk_ids() == ["a#0"]
    assert collections(store) == {active, f"{store.name}-pointer"}


def test_begin_drops_generations_of_killed_runs(store):
    write(store, records(document("a"), ["Alt."]))
    orphan = store.begin(SIGNATURE)  # never committed nor aborted, as after SIGKILL
    orphan.add(records(document("x"), ["Halb."]))
    store.begin(SIGNATURE)
    assert len(collections(store)) == 3  # pointer, active, the new generation; the orphan is gone
    assert store.chunk_ids() == ["a#0"]


def test_copy_documents_carries_chosen_documents_with_their_vectors(store):
    assert store.begin(SIGNATURE).copy_documents({"a"}) == 0  # no previous generation yet
    write(store, records(document("a"), ["Akar kam nach Brüssel."]), records(document("b"), ["Wallace blieb."]))
    generation = store.begin(SIGNATURE)
    assert generation.copy_documents({"a", "gone"}) == 1
    assert generation.copy_documents(set()) == 0
    generation.commit()
    assert store.chunk_ids() == ["a#0"]
    (hit,) = store.query(EMBEDDER.embed_query("Akar kam nach Brüssel."), 5)
    assert hit.chunk_id == "a#0" and hit.score == pytest.approx(1.0, abs=1e-5)


def test_pointer_to_a_deleted_generation_gives_a_rebuild_hint(store, tmp_settings):
    write(store, records(document("a"), ["Eins."]))
    make_client(tmp_settings).delete_collection(store.active_name())
    with pytest.raises(StoreError, match="missing collection.*rag index --rebuild"):
        store.count()


# --- reading ------------------------------------------------------------------------------------------


def test_documents_count_chunks_and_sort_by_id(store):
    write(store, records(document("b", date="2022-11"), ["B1.", "B2.", "B3."]), records(document("a"), ["A."]))
    docs = store.documents()
    assert [(d.doc_id, d.chunks) for d in docs] == [("a", 1), ("b", 3)]
    assert docs[1].title == "Titel b" and docs[1].date == "2022-11" and docs[1].source == "/in/b.txt"
    assert docs[0].date is None and docs[1].doc_sha == "sha-b"


def test_reads_page_through_large_collections(store, monkeypatch):
    monkeypatch.setattr(rag.store.chroma, "BATCH", 2)  # pages of 8 when reading, batches of 2 when writing
    write(store, records(document("a"), [f"Satz {i}." for i in range(13)]), records(document("b"), ["B."] * 8))
    assert [(d.doc_id, d.chunks) for d in store.documents()] == [("a", 13), ("b", 8)]
    assert store.chunk_ids() == sorted({f"a#{i}" for i in range(13)} | {f"b#{i}" for i in range(8)})


def test_chunks_of_is_in_chunk_order_with_offsets(store):
    texts = ["Erster Satz.", "Zweiter Satz.", "Dritter Satz."]
    write(store, records(document("a"), texts, order=[2, 0, 1]), records(document("b"), ["Anderes."]))
    chunks = store.chunks_of("a")
    assert [c.chunk_index for c in chunks] == [0, 1, 2] and [c.text for c in chunks] == texts
    assert chunks[1].start == 13 and chunks[1].sentences == ((13, 26),)
    assert chunks[0].title == "Titel a" and chunks[0].date is None and chunks[0].author is None
    assert store.chunks_of("nope") == []


def test_removed_lines_come_from_chunk_zero(store):
    write(store, records(document("a", ("Teilen", "Foto: dpa")), ["Eins.", "Zwei."]), records(document("b"), ["B."]))
    assert store.removed_lines("a") == ["Teilen", "Foto: dpa"]
    assert store.removed_lines("b") == []


def test_compatible_only_with_the_same_model_and_dimension(store):
    write(store, records(document("a"), ["Eins."]))
    store.check_compatible(Signature(SIGNATURE.embedding_model, SIGNATURE.dimension, "v9-other-chunker"))
    with pytest.raises(StoreMismatchError, match="'hash-embedder'.*'other-model'"):
        store.check_compatible(Signature("other-model", SIGNATURE.dimension, SIGNATURE.chunker))
    with pytest.raises(StoreMismatchError, match="64 dimensions.*32 dimensions"):
        store.check_compatible(Signature(SIGNATURE.embedding_model, 32, SIGNATURE.chunker))
    through_a_server = Signature(SIGNATURE.embedding_model, SIGNATURE.dimension, SIGNATURE.chunker, "ollama")
    with pytest.raises(StoreMismatchError, match=r"\(in-process, 64 dimensions\).*\(via ollama, 64 dimensions\)"):
        store.check_compatible(through_a_server)


# --- query --------------------------------------------------------------------------------------------


def test_query_with_k_over_the_count_returns_everything_best_first(store):
    write(store, records(document("a"), ["Akar in Brüssel.", "Wallace in London.", "Austin in Washington."]))
    hits = store.query(EMBEDDER.embed_query("Wallace London"), 50)
    assert len(hits) == 3 and hits[0].chunk_id == "a#1"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert store.query(EMBEDDER.embed_query("Wallace"), 0) == []


def test_query_vector_of_another_dimension_is_refused(store):
    write(store, records(document("a"), ["Eins."]))
    with pytest.raises(StoreMismatchError, match="3 dimensions.*holds 64"):
        store.query([1.0, 0.0, 0.0], 1)


def test_query_retries_once_then_explains(store, monkeypatch):
    """A concurrent `rag index` may drop the generation mid-query: one retry, then a clear StoreError."""
    write(store, records(document("a"), ["Eins."]))
    real, calls = store._query, []

    def flaky(vector, k):
        calls.append(k)
        if len(calls) == 1:
            raise ValueError("collection gone")
        return real(vector, k)

    monkeypatch.setattr(store, "_query", flaky)
    assert [c.chunk_id for c in store.query(EMBEDDER.embed_query("Eins"), 1)] == ["a#0"]

    def broken(vector, k):
        raise ValueError("still gone")

    monkeypatch.setattr(store, "_query", broken)
    with pytest.raises(StoreError, match="Searching the index .* failed \\(still gone\\)"):
        store.query(EMBEDDER.embed_query("Eins"), 1)


# --- opening --------------------------------------------------------------------------------------------


def test_unopenable_index_folder_gives_a_rebuild_hint(tmp_settings):
    tmp_settings.index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_settings.index_dir.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot be opened.*rag index --rebuild"):
        open_store(tmp_settings)
