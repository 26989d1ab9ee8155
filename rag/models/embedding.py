"""Embedding component: turns passages and queries into vectors, with the model loaded once per process."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Protocol

from rag.models.files import resolve_embedding_path
from rag.settings import Settings


class Embedder(Protocol):
    model_id: str
    dimension: int
    backend: str  # settings.embedding_backend: recorded with the index beside model_id
    # Batches of embedding_batch_size that one embed_documents call embeds at once, so indexing hands it that many:
    # 1 in this process, where a call's texts are sorted by length into batches and the batches change the vectors.
    batches_at_once: int

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class SentenceTransformerEmbedder:
    """SentenceTransformers with the retrieval prompts that EmbeddingGemma was trained with."""

    backend = "local"
    batches_at_once = 1

    def __init__(self, model_id: str, path: str, query_prompt: str, document_prompt: str, batch_size: int):
        from sentence_transformers import SentenceTransformer

        self.model_id = model_id
        self._model = SentenceTransformer(path, device="cpu")
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ValueError(f"{path} does not declare its embedding dimension")
        self.dimension = int(dimension)
        self._query_prompt = query_prompt
        self._document_prompt = document_prompt
        self._batch_size = batch_size
        # torch modules are not re-entrant across Gradio worker threads.
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        with self._lock:
            vectors = self._model.encode(
                texts,
                prompt=self._document_prompt,
                batch_size=self._batch_size,
                show_progress_bar=progress,
                normalize_embeddings=True,
            )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vector = self._model.encode([text], prompt=self._query_prompt, normalize_embeddings=True)
        return vector[0].tolist()


def cosines(query: list[float], vectors: list[list[float]]) -> list[float]:
    """Cosine of the query and each vector; the embedder normalises them, so it is their dot product."""
    return [sum(a * b for a, b in zip(query, v, strict=True)) for v in vectors]


def sentence_similarities(embedder: Embedder, claim: str, sentences: list[str]) -> list[float]:
    """Cosine of the claim (as a query) and each sentence (as a document)."""
    return cosines(embedder.embed_query(claim), embedder.embed_documents(sentences))


@lru_cache(maxsize=2)
def _load(model_id: str, path: str, query_prompt: str, document_prompt: str, batch: int) -> Embedder:
    return SentenceTransformerEmbedder(model_id, path, query_prompt, document_prompt, batch)


def get_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend != "local":
        from rag.models.embedding_server import server_embedder

        return server_embedder(settings)
    path = resolve_embedding_path(settings.embedding_model, settings.models_dir)
    return _load(
        settings.embedding_model,
        path,
        settings.query_prompt,
        settings.document_prompt,
        settings.embedding_batch_size,
    )
