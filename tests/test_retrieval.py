"""Retrieval against a real Chroma store holding the seed articles, embedded with the fake hash embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answering.retrieval import Retrieval, retrieve
from rag.ingest.documents import load_document
from rag.ingest.pipeline import index_paths
from rag.settings import Settings
from rag.store.chroma import ChunkStore, StoreError, StoreMismatchError, open_store
from rag.store.records import ChunkRecord, Signature
from tests.fakes import HashEmbedder

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
AKAR_DOC = "003_862f45dcae2f1a19"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ChunkStore:
    """Indexed once for the module: every test here only reads."""
    settings = Settings(index_dir=tmp_path_factory.mktemp("retrieve") / "index", llm_backend="none")
    index_paths([SEEDS], settings, open_store(settings), HashEmbedder)
    return open_store(settings)


def test_returns_k_chunks_best_first(store):
    result = retrieve("Hulusi Akar Ben Wallace", store, HashEmbedder(), 4)
    assert isinstance(result, Retrieval)
    assert result.query == "Hulusi Akar Ben Wallace"
    assert len(result.chunks) == 4
    scores = [c.score for c in result.chunks]
    assert scores == sorted(scores, reverse=True)
    assert 0 < scores[-1] <= scores[0] <= 1.0 + 1e-6
    assert result.ms > 0


def test_top_chunk_is_the_article_that_matches(store):
    top = retrieve("Hulusi Akar Ben Wallace", store, HashEmbedder(), 3).chunks[0]
    assert top.doc_id == AKAR_DOC
    assert "Akar" in top.text


def test_retrieved_chunks_map_back_to_their_documents(store):
    """Citations quote documents by offset, so each stored chunk must still match its file."""
    chunks = retrieve("Nordkorea Munition Russland", store, HashEmbedder(), 6).chunks
    documents = {p.stem: load_document(p) for p in SEEDS.glob("*.txt")}
    for chunk in chunks:
        doc = documents[chunk.doc_id]
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.title == doc.title and chunk.source == doc.source
        assert chunk.sentences and all(chunk.start <= s < e <= chunk.end for s, e in chunk.sentences)


def test_same_query_gives_the_same_chunks(store):
    first = retrieve("Atomwaffen Halifax", store, HashEmbedder(), 5).chunks
    second = retrieve("Atomwaffen Halifax", store, HashEmbedder(), 5).chunks
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]


def test_k_larger_than_the_index_returns_every_chunk_once(store):
    chunks = retrieve("Ukraine", store, HashEmbedder(), 10_000).chunks
    assert len(chunks) == store.count() > 20
    assert sorted(c.chunk_id for c in chunks) == store.chunk_ids()


def test_query_without_content_words_still_returns_chunks(store):
    """Stop words only give a zero vector; retrieval must not crash, the gate refuses later."""
    chunks = retrieve("und die der", store, HashEmbedder(), 3).chunks
    assert len(chunks) == 3
    assert all(abs(c.score) < 0.05 for c in chunks)  # far below any min_relevance


@pytest.mark.parametrize(
    ("embedder", "named"),
    [
        (HashEmbedder(model_id="other-model"), "other-model"),
        (HashEmbedder(dimension=32), "32 dimensions"),
    ],
)
def test_other_embedder_is_refused_with_a_rebuild_hint(store, embedder, named):
    with pytest.raises(StoreMismatchError, match="rag index --rebuild") as error:
        retrieve("Akar", store, embedder, 3)
    assert named in str(error.value) and "hash-embedder" in str(error.value)


def test_empty_index_says_to_run_index_first(tmp_settings):
    with pytest.raises(StoreError, match="rag index"):
        retrieve("Akar", open_store(tmp_settings), HashEmbedder(), 3)


def test_another_chunker_does_not_block_retrieval(tmp_settings):
    """Only re-indexing cares how chunks were cut; questions can still be answered from the old index."""
    store = open_store(tmp_settings)
    embedder = HashEmbedder()
    generation = store.begin(Signature(embedder.model_id, embedder.dimension, "v0-some-old-chunker"))
    text = "Hulusi Akar sprach mit Ben Wallace."
    meta = {"doc_id": "d", "title": "T", "source": "d.txt", "chunk_index": 0, "start": 0, "end": len(text)}
    generation.add([ChunkRecord("c0", text, embedder.embed_query(text), meta)])
    generation.commit()
    (only,) = retrieve(text, store, embedder, 3).chunks
    assert only.chunk_id == "c0" and only.text == text
    assert only.score == pytest.approx(1.0, abs=1e-5)  # score is 1 - cosine distance
