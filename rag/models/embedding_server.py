"""Embeddings from a server: an OpenAI-compatible `/embeddings` (Text Embeddings Inference, vLLM, Infinity,
llama.cpp's server) or Ollama's `/api/embed`.

The texts are sent as SentenceTransformers encodes them in this process with `prompt=`: the prompt string, then
the text. They go in batches of `embedding_batch_size`, several batches at once, and failed requests are retried;
the vectors are L2-normalised here, whatever the server does. Logs carry counts and timings, never a text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from rag.errors import NewsragError
from rag.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_URLS = {"openai": "http://127.0.0.1:8080/v1", "ollama": "http://127.0.0.1:11434"}
PATHS = {"openai": "/embeddings", "ollama": "/api/embed"}
PROBE_TEXT = "newsrag"  # embedded once when the embedder is made, to learn the dimension and reach the server


class EmbeddingServerError(NewsragError, RuntimeError):
    """The embedding server cannot be reached, or it answered with something other than the vectors asked for."""


@dataclass(frozen=True)
class Retries:
    """How often a request is sent again after a connection error, a 5xx or a 429, and how long to wait first."""

    attempts: int = 3
    first_wait_s: float = 0.5  # doubled after each failed attempt


def _request_body(backend: str, model: str, texts: Sequence[str]) -> dict[str, Any]:
    if backend == "openai":
        return {"model": model, "input": list(texts), "encoding_format": "float"}
    return {"model": model, "input": list(texts)}


def _vectors_of(backend: str, payload: Any) -> list[Any]:
    """The vectors in a server's JSON reply, in the order of the texts; KeyError or TypeError when it has none."""
    if backend == "openai":
        return [item["embedding"] for item in sorted(payload["data"], key=lambda item: item["index"])]
    return list(payload["embeddings"])


def _normalised(vectors: list[Any], dimension: int | None) -> list[list[float]]:
    """Unit-length vectors; ValueError when they are not all lists of `dimension` (or one same) numbers."""
    if not all(isinstance(v, list) for v in vectors):
        raise ValueError("a vector is not a list of numbers")
    sizes = {len(v) for v in vectors}
    if len(sizes) > 1 or (dimension is not None and sizes != {dimension}):
        expected = f", expected {dimension}" if dimension is not None else ""
        raise ValueError(f"vectors of {', '.join(map(str, sorted(sizes)))} dimensions{expected}")
    array = np.asarray(vectors, dtype=np.float64)  # ValueError on anything but numbers
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError("empty vectors")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.where(norms > 0, norms, 1.0)).tolist()


class ServerEmbedder:
    """The Embedder protocol over HTTP; `dimension` is learnt from one probe request when it is made."""

    def __init__(
        self,
        backend: str,
        base_url: str,
        model: str,
        prompts: tuple[str, str],
        batch_size: int,
        concurrency: int = 4,
        timeout_s: float = 60.0,
        api_key: str | None = None,
        retries: Retries = Retries(),
    ) -> None:
        self.backend = backend
        self.model_id = model
        self.url = (base_url or DEFAULT_URLS[backend]).rstrip("/") + PATHS[backend]
        self.batches_at_once = concurrency
        self._query_prompt, self._document_prompt = prompts
        self._batch_size = batch_size
        self._timeout_s = timeout_s
        self._retries = retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), headers=headers, limits=limits)
        self.dimension = 0  # until the probe has answered: any size is taken
        self.dimension = len(self._post([self._document_prompt + PROBE_TEXT])[0])

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        started = time.perf_counter()
        prompted = [self._document_prompt + text for text in texts]
        batches = [prompted[i : i + self._batch_size] for i in range(0, len(prompted), self._batch_size)]
        if len(batches) <= 1:
            results = [self._post(batch) for batch in batches]
        else:
            with ThreadPoolExecutor(min(self.batches_at_once, len(batches)), "embed") as pool:
                results = list(pool.map(self._post, batches))
        log.debug("embedded %d texts in %d batches in %.2f s", len(texts), len(batches), time.perf_counter() - started)
        return [vector for result in results for vector in result]

    def embed_query(self, text: str) -> list[float]:
        return self._post([self._query_prompt + text])[0]

    def _post(self, texts: list[str]) -> list[list[float]]:
        """The vectors of `texts`, asked again after a failure that may pass (connection, 5xx, 429)."""
        body = _request_body(self.backend, self.model_id, texts)
        wait, failure = self._retries.first_wait_s, ""
        for attempt in range(1, self._retries.attempts + 1):
            try:
                response = self._client.post(self.url, json=body)
            except httpx.TimeoutException as exc:  # not retried: the user has already waited the timeout
                raise self._error(
                    f"did not answer within {self._timeout_s:g} s ({type(exc).__name__}); raise "
                    "embedding_timeout_s, or lower embedding_batch_size or embedding_concurrency"
                ) from exc
            except httpx.TransportError as exc:
                failure = f"cannot be reached ({exc or type(exc).__name__})"
            else:
                if response.status_code != httpx.codes.TOO_MANY_REQUESTS and response.status_code < 500:
                    return self._read(response, len(texts))
                failure = f"answered HTTP {response.status_code}"
            if attempt < self._retries.attempts:
                log.warning("embedding server at %s %s; retrying in %.1f s", self.url, failure, wait)
                time.sleep(wait)
                wait *= 2
        raise self._error(
            f"{failure} after {self._retries.attempts} attempts. Start it, check embedding_base_url, "
            "or set embedding_backend = local"
        )

    def _read(self, response: httpx.Response, count: int) -> list[list[float]]:
        if response.status_code != httpx.codes.OK:
            detail = response.text[:200].strip()
            hint = (
                "check embedding_api_key"
                if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN)
                else f"check embedding_base_url, and that embedding_model {self.model_id!r} is a model it serves"
            )
            raise self._error(f"answered HTTP {response.status_code}: {detail} ({hint})")
        try:
            vectors = _vectors_of(self.backend, response.json())
        except ValueError as exc:
            raise self._error("answered with something other than JSON") from exc
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._error(f"answered JSON without the vectors ({type(exc).__name__}: {exc})") from exc
        if len(vectors) != count:
            raise self._error(f"returned {len(vectors)} vectors for {count} texts")
        try:
            return _normalised(vectors, self.dimension or None)
        except (ValueError, TypeError) as exc:
            raise self._error(f"returned unusable vectors: {exc}") from exc

    def _error(self, what: str) -> EmbeddingServerError:
        return EmbeddingServerError(f"The embedding server at {self.url} {what}.")


def server_embedder(settings: Settings, retries: Retries = Retries()) -> ServerEmbedder:
    """The configured server's embedder (settings.embedding_backend is openai or ollama)."""
    key = settings.embedding_api_key
    return ServerEmbedder(
        settings.embedding_backend,
        settings.embedding_base_url,
        settings.embedding_model,
        (settings.query_prompt, settings.document_prompt),
        settings.embedding_batch_size,
        concurrency=settings.embedding_concurrency,
        timeout_s=settings.embedding_timeout_s,
        api_key=key.get_secret_value() if key else None,
        retries=retries,
    )
