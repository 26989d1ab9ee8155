"""Fresh instances of the real local LLM, for the tests of its saved prompt states (build_backend shares one
model per process; these tests need a second process's view: a model that has evaluated nothing yet)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from rag.models.files import ModelError, resolve_gguf_path
from rag.models.llama_model import LlamaModel
from rag.settings import Settings


def fresh_local_model() -> SimpleNamespace:
    """A new llama.cpp instance as the state caches see a backend: its in-process model and its lock.
    Skips the test when the local LLM is not built."""
    import llama_cpp

    try:
        path = resolve_gguf_path("local", None, Settings().models_dir)
    except ModelError as exc:
        pytest.skip(f"local LLM not built: {exc}")
    model = llama_cpp.Llama(model_path=str(path), n_ctx=4096, n_batch=512, n_threads=2, verbose=False)
    return SimpleNamespace(llama=LlamaModel(model), lock=threading.Lock())
