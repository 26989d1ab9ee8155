"""LLM component: one backend object per configured LLM, declaring what it can do.

`build_backend(settings)` returns an `LLMBackend` (None for the extractive `none` backend). Callers use only
what a backend declares: its lock, its endpoint for display, `stream()` (which raises LLMUnavailableError
when the answer does not arrive whole), `no_answer_probability()` (None where the backend cannot tell it),
whether it reuses an evaluated prompt prefix, and `llama`, the in-process llama.cpp model where there is one.
This is the one module that knows llama-cpp-python's, llama-index's and the servers' internals.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from llama_index.core.llms import LLM, ChatMessage, MessageRole

from rag.errors import NewsragError
from rag.models.files import resolve_gguf_path
from rag.models.llama_model import LlamaModel, completion_to_chatml, messages_to_chatml
from rag.settings import Settings

NO_ANSWER = "NONE"  # what the prompt tells the model to write when the sources hold no answer

if TYPE_CHECKING:
    from llama_index.llms.llama_cpp import LlamaCPP

GGML_TYPE_Q8_0 = 8  # ggml's type id, for llama.cpp's quantized KV cache
STOP = ["<|im_end|>", "<|endoftext|>"]  # where Qwen2.5's reply ends
TOP_LOGPROBS = 20  # the most OpenAI's API returns; below the 20th token a word counts as probability 0


class LLMUnavailableError(NewsragError, RuntimeError):
    """The configured LLM cannot be reached or failed mid-answer."""


class LLMBackend:
    """Any llama-index LLM, streamed under the backend's lock, with failures as LLMUnavailableError.

    Subclasses declare more: a verdict, a clean end of stream, an in-process model."""

    reuses_prompt_prefix = False  # does a prompt that starts like the last one skip the common part?

    def __init__(self, llm: LLM, name: str, endpoint: str) -> None:
        self.llm = llm  # the llama-index LLM, for llama-index callers (the baseline)
        self.name = name
        self.endpoint = endpoint  # for display in messages: "local" or the server's URL
        self.lock: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()  # servers queue themselves

    @property
    def llama(self) -> LlamaModel | None:
        """The in-process llama.cpp model, or None when the LLM runs elsewhere."""
        return None

    def no_answer_probability(self, messages: Sequence[ChatMessage]) -> float | None:
        """P(the reply starts with the no-answer word); None where the backend exposes no probabilities."""
        return None

    def first_word_logprobs(self, messages: Sequence[ChatMessage], words: Sequence[str]) -> dict[str, float] | None:
        """log P(the reply starts with each word's first token); None where the backend exposes no logits."""
        return None

    def sample(self, messages: Sequence[ChatMessage], n: int, temperature: float, max_tokens: int) -> list[str] | None:
        """n short replies sampled at `temperature`, for self-consistency; None where sampling would cost a
        request each (servers): the answer goes without that signal."""
        return None

    def _finished(self, raw: object) -> bool:
        """Did the last raw chunk say the answer is complete? A cut connection can end a stream without error."""
        return True

    def stream(self, messages: Sequence[ChatMessage], reply_start: str = "") -> Iterator[str]:
        """Yield text deltas; any failure of the backend becomes LLMUnavailableError naming the endpoint.
        `reply_start` is the reply's first words, decided in code: yielded first, and the model continues them."""
        last = None
        try:
            if reply_start:
                yield reply_start
            with self.lock:
                for response in self._raw_stream(messages, reply_start):
                    last = response
                    if response.delta:
                        yield response.delta
        except LLMUnavailableError:
            raise
        except Exception as exc:  # httpx, openai, ollama and llama.cpp raise unrelated types
            raise LLMUnavailableError(f"The LLM at {self.endpoint} failed: {type(exc).__name__}: {exc}") from exc
        if last is not None and not self._finished(last.raw):
            raise LLMUnavailableError(
                f"The LLM at {self.endpoint} failed: the stream ended before the answer was complete."
            )

    def _raw_stream(self, messages: Sequence[ChatMessage], reply_start: str) -> Iterator[Any]:
        """llama-index's responses. A started reply goes as a last assistant message, which llama.cpp's
        server, vLLM and Ollama continue."""
        if reply_start:
            messages = [*messages, ChatMessage(role=MessageRole.ASSISTANT, content=reply_start)]
        return iter(self.llm.stream_chat(messages))

    def complete(self, messages: Sequence[ChatMessage], reply_start: str = "") -> str:
        return "".join(self.stream(messages, reply_start))


class LocalBackend(LLMBackend):
    """llama.cpp in this process. One context serves one generation at a time, hence the lock."""

    reuses_prompt_prefix = True

    def __init__(self, llm: LlamaCPP, name: str) -> None:
        super().__init__(llm, name, "local")
        self.lock = threading.Lock()
        self._llama = LlamaModel(llm._model)

    @property
    def llama(self) -> LlamaModel:
        return self._llama

    def _raw_stream(self, messages: Sequence[ChatMessage], reply_start: str) -> Iterator[Any]:
        # The open assistant turn, then the started reply: the model continues it in the same turn.
        return iter(self.llm.stream_complete(messages_to_chatml(messages) + reply_start, formatted=True))

    def sample(self, messages: Sequence[ChatMessage], n: int, temperature: float, max_tokens: int) -> list[str]:
        """From the prompt just answered: llama.cpp keeps its evaluated tokens, so each sample costs only its
        own tokens. Seeded, so the samples are the same each run."""
        prompt = messages_to_chatml(messages)
        with self.lock:
            return [
                self._llama.llama_cpp.create_completion(
                    prompt, max_tokens=max_tokens, temperature=temperature, top_p=0.95, seed=seed, stop=STOP
                )["choices"][0]["text"]
                for seed in range(n)
            ]

    def no_answer_probability(self, messages: Sequence[ChatMessage]) -> float:
        """From the logits of the answer's own prompt; the answer that follows re-evaluates one token."""
        return math.exp(self.first_word_logprobs(messages, [NO_ANSWER])[NO_ANSWER])

    def first_word_logprobs(self, messages: Sequence[ChatMessage], words: Sequence[str]) -> dict[str, float]:
        """A second call with the same messages evaluates one token: the state keeps the prompt."""
        tokens = self._llama.chat_tokens(messages)
        with self.lock:
            self._llama.evaluate(tokens)
            logits = self._llama.last_logits().astype(np.float64)
        shifted = logits - logits.max()
        log_total = math.log(float(np.exp(shifted).sum()))
        return {word: float(shifted[self._llama.word_token(word)]) - log_total for word in words}


class OllamaBackend(LLMBackend):
    def _finished(self, raw: object) -> bool:
        return bool(raw["done"]) if isinstance(raw, dict) and "done" in raw else True


class OpenAIBackend(LLMBackend):
    """Any OpenAI-compatible server: llama.cpp's, vLLM, OpenAI. llama.cpp's server caches the prompt, so the
    answer request after the verdict's one-token request reuses it."""

    def __init__(self, llm: LLM, endpoint: str, model: str, api_key: str, timeout_s: float) -> None:
        import openai

        super().__init__(llm, "openai", endpoint)
        self._model = model
        # The verdict's own client, made once: its connections are reused from question to question.
        self._client = openai.OpenAI(base_url=endpoint, api_key=api_key, timeout=timeout_s, max_retries=0)

    def _finished(self, raw: object) -> bool:
        choices = getattr(raw, "choices", None)
        return getattr(choices[0], "finish_reason", None) is not None if choices else True

    def no_answer_probability(self, messages: Sequence[ChatMessage]) -> float | None:
        """From the server's top log-probabilities of one greedy token: the summed probability of the tokens
        that begin the no-answer word (at least two characters: the server's tokenizer is not known here)."""
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self._model,
                messages=[{"role": m.role.value, "content": m.content or ""} for m in messages],  # type: ignore[misc]
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=TOP_LOGPROBS,
            )
        except openai.APIConnectionError as exc:  # down or timed out: the answer would fail the same way
            raise LLMUnavailableError(f"The LLM at {self.endpoint} failed: {type(exc).__name__}: {exc}") from exc
        except openai.APIError:  # e.g. a server that rejects logprobs: answer without a verdict
            return None
        choice = response.choices[0] if response.choices else None
        content = choice.logprobs.content if choice is not None and choice.logprobs is not None else None
        if not content or not content[0].top_logprobs:
            return None
        beginnings = {NO_ANSWER[:n] for n in range(2, len(NO_ANSWER) + 1)}
        return sum(math.exp(t.logprob) for t in content[0].top_logprobs if t.token.strip() in beginnings)


_loaded: list[LocalBackend] = []  # closed before interpreter shutdown, see _close_local_models


@atexit.register
def _close_local_models() -> None:
    # Freed during interpreter shutdown, llama.cpp's finaliser prints a TypeError traceback; close first.
    for backend in _loaded:
        backend.llama.close()


@lru_cache(maxsize=2)  # one model per file and parameters, shared by every service in the process
def _local_backend(
    name: str, path: str, threads: int, context_window: int, max_new_tokens: int, temperature: float, kv_cache: str
) -> LocalBackend:
    from llama_index.llms.llama_cpp import LlamaCPP

    kv: dict[str, Any] = {}
    if kv_cache == "q8_0":  # llama.cpp quantizes the V cache only with flash attention
        kv = {"type_k": GGML_TYPE_Q8_0, "type_v": GGML_TYPE_Q8_0, "flash_attn": True}

    llm = LlamaCPP(
        model_path=path,  # always a local file: without it LlamaCPP downloads a default model
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        context_window=context_window,
        messages_to_prompt=messages_to_chatml,
        completion_to_prompt=completion_to_chatml,
        model_kwargs={"n_threads": threads, "n_batch": 512, "n_ctx": context_window, **kv},
        generate_kwargs={"stop": STOP},
        verbose=False,
    )
    backend = LocalBackend(llm, name)
    _loaded.append(backend)
    return backend


def endpoint(settings: Settings) -> str:
    """Where the configured LLM runs, for display: "local", "none" or the server's URL."""
    if settings.llm_backend == "ollama":
        return settings.llm_base_url or "http://127.0.0.1:11434"
    if settings.llm_backend == "openai":
        return settings.llm_base_url or "http://127.0.0.1:8080/v1"
    return "none" if settings.llm_backend == "none" else "local"


def build_backend(settings: Settings) -> LLMBackend | None:
    """The configured LLM; None for the extractive backend (`none`)."""
    backend = settings.llm_backend
    if backend == "none":
        return None
    if backend in ("local", "fast"):
        path = resolve_gguf_path(backend, settings.llm_model, settings.models_dir)
        return _local_backend(
            backend,
            str(path),
            settings.llm_threads,
            settings.llm_context_window,
            settings.max_new_tokens,
            settings.temperature,
            settings.llm_kv_cache,
        )
    url = endpoint(settings)
    if backend == "ollama":
        from llama_index.llms.ollama import Ollama

        ollama = Ollama(
            model=settings.llm_model or "qwen2.5:1.5b",
            base_url=url,
            request_timeout=settings.llm_timeout_s,
            temperature=settings.temperature,
            context_window=settings.llm_context_window,
        )
        return OllamaBackend(ollama, "ollama", url)
    from llama_index.llms.openai_like import OpenAILike

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    model = settings.llm_model or "default"
    openai_like = OpenAILike(
        model=model,
        api_base=url,
        api_key=key,
        is_chat_model=True,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=settings.temperature,
        max_tokens=settings.max_new_tokens,
        context_window=settings.llm_context_window,
    )
    return OpenAIBackend(openai_like, url, model, key, settings.llm_timeout_s)
