"""The models: verified model files, the embedding model (in this process or on a server), LLM backends and their
saved prompt states.

The names below are the public API of this stage, imported lazily (the TYPE_CHECKING block gives
type checkers their types); the modules behind them are its private detail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.lazy import lazy_exports

if TYPE_CHECKING:
    from rag.models.embedding import Embedder, get_embedder, sentence_similarities
    from rag.models.embedding_server import EmbeddingServerError
    from rag.models.files import MODELS, fetch, resolve_embedding_path, resolve_gguf_path, status
    from rag.models.llama_model import llama_build_info
    from rag.models.llm import LLMBackend, LLMUnavailableError, build_backend
    from rag.models.prefix_state import warm_prefix
    from rag.models.state_ledger import StateEntry, eviction_order, used

_EXPORTS = {
    "Embedder": "rag.models.embedding",
    "EmbeddingServerError": "rag.models.embedding_server",
    "LLMBackend": "rag.models.llm",
    "LLMUnavailableError": "rag.models.llm",
    "MODELS": "rag.models.files",
    "StateEntry": "rag.models.state_ledger",
    "build_backend": "rag.models.llm",
    "fetch": "rag.models.files",
    "get_embedder": "rag.models.embedding",
    "llama_build_info": "rag.models.llama_model",
    "resolve_embedding_path": "rag.models.files",
    "resolve_gguf_path": "rag.models.files",
    "sentence_similarities": "rag.models.embedding",
    "status": "rag.models.files",
    "used": "rag.models.state_ledger",
    "eviction_order": "rag.models.state_ledger",
    "warm_prefix": "rag.models.prefix_state",
}
__all__ = [
    "Embedder",
    "EmbeddingServerError",
    "LLMBackend",
    "LLMUnavailableError",
    "MODELS",
    "StateEntry",
    "build_backend",
    "eviction_order",
    "fetch",
    "get_embedder",
    "llama_build_info",
    "resolve_embedding_path",
    "resolve_gguf_path",
    "sentence_similarities",
    "status",
    "used",
    "warm_prefix",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
