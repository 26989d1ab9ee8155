"""LLM component: one llama-index LLM per backend, built from settings and loaded once per process."""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from llama_index.core.llms import LLM, ChatMessage

from rag.settings import Settings
from rag.weights import resolve_gguf_path

# One llama.cpp context cannot serve two generations at once; servers queue requests themselves.
LOCAL_LOCK = threading.Lock()
_LOADED_MODELS: weakref.WeakSet = weakref.WeakSet()  # weak: models evicted from the cache are still freed


@atexit.register
def _close_local_models() -> None:
    # Freed during interpreter shutdown, llama.cpp's finaliser prints a TypeError traceback; close first.
    for model in list(_LOADED_MODELS):
        model.close()


class LLMUnavailableError(RuntimeError):
    """The configured LLM cannot be reached or failed mid-answer."""


def messages_to_chatml(messages: Sequence[ChatMessage]) -> str:
    """Qwen2.5's chat template; llama-index's LlamaCPP is a completion model and needs it spelled out."""
    parts = [f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n"


def completion_to_chatml(prompt: str) -> str:
    return f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"


def llama_build_info() -> str:
    """The CPU features the installed llama.cpp was compiled with, e.g. "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | …".

    Recorded by `rag bench`: the AVX-512 build processes prompts about 1.6x faster than the portable one.
    """
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    return text.strip().removesuffix("|").strip()


@lru_cache(maxsize=2)
def _local_llm(path: str, threads: int, context_window: int, max_new_tokens: int, temperature: float) -> LLM:
    from llama_index.llms.llama_cpp import LlamaCPP

    llm = LlamaCPP(
        model_path=path,  # always a local file: without it LlamaCPP downloads a default model
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        context_window=context_window,
        messages_to_prompt=messages_to_chatml,
        completion_to_prompt=completion_to_chatml,
        model_kwargs={"n_threads": threads, "n_batch": 512, "n_ctx": context_window},
        generate_kwargs={"stop": ["<|im_end|>", "<|endoftext|>"]},
        verbose=False,
    )
    _LOADED_MODELS.add(llm._model)
    return llm


def local_llama(llm: object) -> Any | None:
    """The llama-cpp-python model inside llama-index's LlamaCPP, or None for any other backend."""
    model = getattr(llm, "_model", None)
    return model if model is not None and hasattr(model, "eval") and hasattr(model, "_ctx") else None


def evaluate_after_kept_prefix(model: Any, tokens: Sequence[int]) -> None:
    """Evaluate `tokens`, keeping the longest prefix the model has already evaluated, as llama-cpp-python's own
    generate() does (at least the last token is evaluated, so its logits are fresh)."""
    kept = 0
    for old, new in zip(model._input_ids, tokens[:-1], strict=False):
        if old != new:
            break
        kept += 1
    model.n_tokens = kept
    model.eval(tokens[kept:])


def endpoint(settings: Settings) -> str:
    if settings.llm_backend == "ollama":
        return settings.llm_base_url or "http://127.0.0.1:11434"
    if settings.llm_backend == "openai":
        return settings.llm_base_url or "http://127.0.0.1:8080/v1"
    return "local"


def build_llm(settings: Settings) -> LLM | None:
    """None for the extractive backend."""
    backend = settings.llm_backend
    if backend == "none":
        return None
    if backend in ("local", "fast"):
        path = resolve_gguf_path(backend, settings.llm_model, settings.models_dir)
        return _local_llm(
            str(path),
            settings.llm_threads,
            settings.llm_context_window,
            settings.max_new_tokens,
            settings.temperature,
        )
    if backend == "ollama":
        from llama_index.llms.ollama import Ollama

        return Ollama(
            model=settings.llm_model or "qwen2.5:1.5b",
            base_url=endpoint(settings),
            request_timeout=settings.llm_timeout_s,
            temperature=settings.temperature,
            context_window=settings.llm_context_window,
        )
    from llama_index.llms.openai_like import OpenAILike

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return OpenAILike(
        model=settings.llm_model or "default",
        api_base=endpoint(settings),
        api_key=key,
        is_chat_model=True,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=settings.temperature,
        max_tokens=settings.max_new_tokens,
        context_window=settings.llm_context_window,
    )


def _stream_finished(raw: object) -> bool:
    """Did the server say the answer is complete? A cut connection can end a stream without error."""
    if isinstance(raw, dict) and "done" in raw:  # Ollama
        return bool(raw["done"])
    choices = getattr(raw, "choices", None)  # OpenAI-compatible
    if choices:
        return getattr(choices[0], "finish_reason", None) is not None
    return True  # local llama.cpp: no connection to lose


def stream_text(llm: LLM, messages: list[ChatMessage], where: str) -> Iterator[str]:
    """Yield text deltas; any failure of the backend becomes LLMUnavailableError naming the endpoint."""
    last = None
    lock = LOCAL_LOCK if where == "local" else contextlib.nullcontext()
    try:
        with lock:
            for response in llm.stream_chat(messages):
                last = response
                if response.delta:
                    yield response.delta
    except LLMUnavailableError:
        raise
    except Exception as exc:  # httpx, openai, ollama and llama.cpp raise unrelated types
        raise LLMUnavailableError(f"The LLM at {where} failed: {type(exc).__name__}: {exc}") from exc
    if last is not None and not _stream_finished(last.raw):
        raise LLMUnavailableError(f"The LLM at {where} failed: the stream ended before the answer was complete.")


def complete_text(llm: LLM, messages: list[ChatMessage], where: str) -> str:
    return "".join(stream_text(llm, messages, where))
