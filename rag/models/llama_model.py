"""llama.cpp in this process: Qwen2.5's chat template, the build's CPU features, and the model's tokens,
evaluation, logits and state, for the local backend (rag.models.llm) and the cached prompt states."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.llms import ChatMessage

ASSISTANT_TURN = "<|im_start|>assistant\n"  # Qwen2.5's ChatML: where the model's reply begins


def messages_to_chatml(messages: Sequence[ChatMessage]) -> str:
    """Qwen2.5's chat template; llama-index's LlamaCPP is a completion model and needs it spelled out."""
    parts = [f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages]
    return "".join(parts) + ASSISTANT_TURN


def completion_to_chatml(prompt: str) -> str:
    return f"<|im_start|>user\n{prompt}<|im_end|>\n{ASSISTANT_TURN}"


def llama_build_info() -> str:
    """The CPU features the installed llama.cpp was compiled with, e.g. "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | …".

    Recorded by `rag bench`: the AVX-512 build processes prompts about 1.6x faster than the portable one.
    """
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    return text.strip().removesuffix("|").strip()


PROMPT, SCRATCH = 0, 1  # llama.cpp sequence ids: the prompt, and a passage's cells on their way in or out


def _with_scratch_sequence(model: Any) -> None:
    """Give the llama_cpp.Llama's context a second sequence, which llama-cpp-python does not offer. Unified,
    the KV cache keeps the whole window for the prompt and computes the same numbers as with one sequence."""
    from llama_cpp import _internals

    params = model.context_params
    if params.n_seq_max >= 2 and params.kv_unified:
        return
    params.n_seq_max, params.kv_unified = 2, True
    model._ctx.close()  # first, so that two KV caches are never held at once
    model._ctx = _internals.LlamaContext(model=model._model, params=params, verbose=model.verbose)


class LlamaModel:
    """The in-process llama.cpp model: tokens, evaluation that keeps the longest evaluated prefix, the last
    position's logits, the raw KV state (saved to disk by rag.models.prefix_state) and the KV cells of a part
    of the prompt (rag.models.chunk_states)."""

    def __init__(self, model: Any) -> None:
        _with_scratch_sequence(model)
        self._model = model  # llama_cpp.Llama

    @property
    def llama_cpp(self) -> Any:
        """The llama_cpp.Llama itself, for benchmarks that drive it token by token."""
        return self._model

    @property
    def path(self) -> Path:
        return Path(self._model.model_path)

    @property
    def context_size(self) -> int:
        return int(self._model.n_ctx())

    @property
    def kv_cache_types(self) -> str:
        """The KV cache's ggml types (K, V) and flash attention: a saved state fits only the same ones."""
        params = self._model.context_params
        return f"type_k={params.type_k},type_v={params.type_v},flash_attn={params.flash_attn_type}"

    @property
    def evaluated_tokens(self) -> int:
        """How many prompt tokens the model holds evaluated (the next prompt keeps as many as match)."""
        return int(self._model.n_tokens)

    def chat_tokens(self, messages: Sequence[ChatMessage], open_reply: bool = True) -> list[int]:
        """The messages as llama-cpp-python tokenizes the prompt it is given; without `open_reply` the
        assistant turn is left off (chat turns end in special tokens, so a prefix's tokens are the same
        whether or not more turns follow)."""
        text = messages_to_chatml(messages)
        if not open_reply:
            text = text.removesuffix(ASSISTANT_TURN)
        return list(self._model.tokenize(text.encode("utf-8"), special=True))

    def open_message_tokens(self, messages: Sequence[ChatMessage], chars: int, suffix: str = "") -> list[int]:
        """The tokens of the messages up to the first `chars` characters of the last one's content (then
        `suffix`): a prompt's head, as it is tokenized at the start of the whole prompt."""
        *earlier, last = messages
        text = messages_to_chatml(earlier).removesuffix(ASSISTANT_TURN)
        text += f"<|im_start|>{last.role.value}\n{(last.content or '')[:chars]}{suffix}"
        return list(self._model.tokenize(text.encode("utf-8"), special=True))

    def holds(self, tokens: Sequence[int]) -> bool:
        """Does the model hold these tokens evaluated, at the start of its context?"""
        n = len(tokens)
        return self.evaluated_tokens >= n and list(self._model._input_ids[:n]) == list(tokens)

    def keep_first(self, n: int) -> None:
        """Forget all but the first n evaluated tokens: what follows is evaluated afresh from there."""
        self._model.n_tokens = min(n, self.evaluated_tokens)

    def word_token(self, word: str) -> int:
        """The first token of `word` as the start of a reply."""
        return int(self._model.tokenize(word.encode("utf-8"), add_bos=False, special=False)[0])

    def evaluate(self, tokens: Sequence[int]) -> int:
        """Evaluate `tokens`, keeping the longest prefix already evaluated, as llama-cpp-python's generate()
        does (at least the last token is evaluated, so its logits are fresh). Returns how many were evaluated."""
        kept = 0
        for old, new in zip(self._model._input_ids, tokens[:-1], strict=False):
            if old != new:
                break
            kept += 1
        self._model.n_tokens = kept
        self._model.eval(tokens[kept:])
        return len(tokens) - kept

    def evaluate_afresh(self, tokens: Sequence[int]) -> None:
        self._model.reset()
        self._model.eval(tokens)

    def last_logits(self) -> np.ndarray:
        return np.ctypeslib.as_array(self._model._ctx.get_logits(), shape=(self._model.n_vocab(),)).copy()

    def state_bytes(self) -> bytes:
        import llama_cpp

        ctx = self._model._ctx.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(ctx, buffer, size)
        return bytes(buffer)[:written]

    def load_state(self, tokens: Sequence[int], state: bytes) -> bool:
        """Put a saved KV state back; the next prompt that starts with `tokens` evaluates only what follows."""
        import llama_cpp

        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if llama_cpp.llama_state_set_data(self._model._ctx.ctx, buffer, len(state)) != len(state):
            return False
        self._model.input_ids[: len(tokens)] = tokens
        self._model.n_tokens = len(tokens)
        return True

    def cells_after(self, start: int) -> bytes:
        """The KV cells of the held tokens from position `start` on, with their positions: a passage's part of
        the prompt without the prefix before it, about a tenth of the whole state."""
        import llama_cpp

        ctx = self._model._ctx.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        llama_cpp.llama_memory_seq_rm(memory, PROMPT, self.evaluated_tokens, -1)  # nothing past what is held
        llama_cpp.llama_memory_seq_cp(memory, PROMPT, SCRATCH, -1, -1)  # shares the cells, copies nothing
        llama_cpp.llama_memory_seq_rm(memory, SCRATCH, 0, start)
        try:
            size = llama_cpp.llama_state_seq_get_size(ctx, SCRATCH)
            buffer = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, SCRATCH)
            return bytes(buffer)[:written]
        finally:
            llama_cpp.llama_memory_seq_rm(memory, SCRATCH, -1, -1)

    def load_cells(self, tokens: Sequence[int], start: int, cells: bytes) -> bool:
        """Put saved cells (`cells_after(start)`) back after the first `start` of `tokens`, which the model
        must hold: the next prompt that starts with `tokens` evaluates only what follows."""
        import llama_cpp

        if not self.holds(tokens[:start]):
            return False
        ctx = self._model._ctx.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        llama_cpp.llama_memory_seq_rm(memory, PROMPT, start, -1)
        self.keep_first(start)
        buffer = (ctypes.c_uint8 * len(cells)).from_buffer_copy(cells)
        # A sequence's state is read into a cleared sequence, so into the scratch one, then shared.
        read = llama_cpp.llama_state_seq_set_data(ctx, buffer, len(cells), SCRATCH)
        if read == len(cells) and llama_cpp.llama_memory_seq_pos_max(memory, SCRATCH) == len(tokens) - 1:
            llama_cpp.llama_memory_seq_cp(memory, SCRATCH, PROMPT, -1, -1)
        llama_cpp.llama_memory_seq_rm(memory, SCRATCH, -1, -1)
        if llama_cpp.llama_memory_seq_pos_max(memory, PROMPT) != len(tokens) - 1:
            return False  # cells of another prompt's length: the model holds the first `start` tokens
        self._model.input_ids[: len(tokens)] = tokens
        self._model.n_tokens = len(tokens)
        return True

    def close(self) -> None:
        self._model.close()
