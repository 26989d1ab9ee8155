"""The fixed prompt prefix's evaluated llama.cpp state, kept on disk so a new process does not pay for it.

The system prompt and its worked examples are about 500 tokens, 10 s of prompt processing on two cores.
llama.cpp reuses them within a process (the longest common prefix of the last prompt); this module
carries them across processes: the first process evaluates the prefix and writes its KV state, later
ones read it back in a fraction of a second.

The file holds a JSON header (the key and the prefix's token ids) and llama.cpp's raw state bytes.
It is read only when its key matches: the GGUF file, the llama.cpp build, the context size and the
prefix tokens themselves, so a changed prompt, model or build evaluates afresh instead of loading a
state that belongs to another one.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from llama_index.core.llms import LLM, ChatMessage

from rag.llm import LOCAL_LOCK, llama_build_info, local_llama, messages_to_chatml

log = logging.getLogger("newsrag.prefix_state")
_HEADER = struct.Struct("<Q")  # length of the JSON header that follows
_ASSISTANT_TURN = "<|im_start|>assistant\n"


@dataclass(frozen=True)
class PrefixWarmup:
    """What warming the prefix did: loaded from disk, evaluated (and saved), or nothing to do."""

    outcome: Literal["loaded", "evaluated", "unsupported"]
    tokens: int
    seconds: float
    path: Path | None = None


def prefix_tokens(model: Any, messages: Sequence[ChatMessage]) -> list[int]:
    """The prefix as llama-cpp-python tokenizes the whole prompt: chat turns end in special tokens, so the
    tokens of the prefix are the same whether or not a question follows."""
    text = messages_to_chatml(messages).removesuffix(_ASSISTANT_TURN)
    return list(model.tokenize(text.encode("utf-8"), special=True))


def state_key(model: Any, tokens: Sequence[int]) -> str:
    import llama_cpp

    gguf = Path(model.model_path)
    stat = gguf.stat()
    parts = [
        str(gguf.resolve()),
        str(stat.st_size),
        str(stat.st_mtime_ns),
        llama_cpp.__version__,
        llama_build_info(),
        str(model.n_ctx()),
        ",".join(map(str, tokens)),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _read(path: Path, key: str) -> bytes | None:
    """The saved state bytes, if the file holds the state for `key`."""
    try:
        data = path.read_bytes()
        (size,) = _HEADER.unpack_from(data)
        header = json.loads(data[_HEADER.size : _HEADER.size + size])
        if not isinstance(header, dict) or header.get("key") != key:
            return None
        return data[_HEADER.size + size :]
    except (OSError, ValueError, struct.error) as exc:
        log.warning("ignoring unreadable prefix state %s: %s", path, exc)
        return None


def _write(path: Path, key: str, tokens: Sequence[int], state: bytes) -> None:
    header = json.dumps({"key": key, "tokens": list(tokens)}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Atomic: a process that dies mid-write leaves no half file for the next one to load.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".prefix-", delete=False) as tmp:
        tmp.write(_HEADER.pack(len(header)) + header + state)
    os.replace(tmp.name, path)


def _load_into(model: Any, tokens: Sequence[int], state: bytes) -> bool:
    import llama_cpp

    buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    if llama_cpp.llama_state_set_data(model._ctx.ctx, buffer, len(state)) != len(state):
        return False
    model.input_ids[: len(tokens)] = tokens
    model.n_tokens = len(tokens)  # generate() keeps this prefix and evaluates only what follows it
    return True


def _state_bytes(model: Any) -> bytes:
    import llama_cpp

    size = llama_cpp.llama_state_get_size(model._ctx.ctx)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_get_data(model._ctx.ctx, buffer, size)
    return bytes(buffer)[:written]


def warm_prefix(llm: LLM | None, messages: Sequence[ChatMessage], cache_dir: Path) -> PrefixWarmup:
    """Put the prefix's evaluated state into the local model: from `cache_dir` if a matching file is there,
    else by evaluating it and saving the state for the next process. Other backends: nothing to do."""
    model = local_llama(llm)
    if model is None:
        return PrefixWarmup("unsupported", 0, 0.0)
    started = time.perf_counter()
    with LOCAL_LOCK:
        tokens = prefix_tokens(model, messages)
        key = state_key(model, tokens)
        path = cache_dir / f"prefix-{key}.bin"
        saved = _read(path, key) if path.exists() else None
        if saved is not None and _load_into(model, tokens, saved):
            return PrefixWarmup("loaded", len(tokens), time.perf_counter() - started, path)
        model.reset()
        model.eval(tokens)
        try:
            _write(path, key, tokens, _state_bytes(model))
        except OSError as exc:  # a read-only cache costs the next start 10 s, not the answer
            log.warning("could not save the prefix state to %s: %s", path, exc)
    return PrefixWarmup("evaluated", len(tokens), time.perf_counter() - started, path)
