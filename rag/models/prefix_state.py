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
from typing import Literal

from llama_index.core.llms import ChatMessage

from rag.models.llama_model import LlamaModel, llama_build_info
from rag.models.llm import LLMBackend

log = logging.getLogger("newsrag.prefix_state")
_HEADER = struct.Struct("<Q")  # length of the JSON header that follows


@dataclass(frozen=True)
class PrefixWarmup:
    """What warming the prefix did: loaded from disk, evaluated (and saved), or nothing to do."""

    outcome: Literal["loaded", "evaluated", "unsupported"]
    tokens: int
    seconds: float
    path: Path | None = None


def state_key(model: LlamaModel, tokens: Sequence[int], cells_from: int = 0) -> str:
    """The key of the state of `tokens`, or of their KV cells from position `cells_from` on."""
    import llama_cpp

    stat = model.path.stat()
    parts = [
        str(model.path.resolve()),
        str(stat.st_size),
        str(stat.st_mtime_ns),
        llama_cpp.__version__,
        llama_build_info(),
        str(model.context_size),
        model.kv_cache_types,
        ",".join(map(str, tokens)),
        f"cells from {cells_from}",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def read_state(path: Path, key: str) -> bytes | None:
    """The saved state bytes, if the file holds the state for `key`."""
    try:
        data = path.read_bytes()
        (size,) = _HEADER.unpack_from(data)
        header = json.loads(data[_HEADER.size : _HEADER.size + size])
        if not isinstance(header, dict) or header.get("key") != key:
            return None
        return data[_HEADER.size + size :]
    except (OSError, ValueError, struct.error) as exc:
        log.warning("ignoring unreadable prompt state %s: %s", path, exc)
        return None


def write_state(path: Path, key: str, tokens: Sequence[int], state: bytes) -> None:
    header = json.dumps({"key": key, "tokens": list(tokens)}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Atomic: a process that dies mid-write leaves no half file for the next one to load.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".prefix-", delete=False) as tmp:
        tmp.write(_HEADER.pack(len(header)) + header + state)
    os.replace(tmp.name, path)


def warm_prefix(backend: LLMBackend | None, messages: Sequence[ChatMessage], cache_dir: Path) -> PrefixWarmup:
    """Put the prefix's evaluated state into the in-process model: from `cache_dir` if a matching file is
    there, else by evaluating it and saving the state for the next process. Other backends: nothing to do."""
    model = backend.llama if backend is not None else None
    if backend is None or model is None:
        return PrefixWarmup("unsupported", 0, 0.0)
    with backend.lock:
        return restore_prefix(model, model.chat_tokens(messages, open_reply=False), cache_dir)


def restore_prefix(model: LlamaModel, tokens: list[int], cache_dir: Path) -> PrefixWarmup:
    """warm_prefix for a caller that holds the model's lock: the prefix evaluated from an empty context,
    or its saved copy, so that what follows it is computed the same way in every process."""
    started = time.perf_counter()
    key = state_key(model, tokens)
    path = cache_dir / f"prefix-{key}.bin"
    saved = read_state(path, key) if path.exists() else None
    if saved is not None and model.load_state(tokens, saved):
        return PrefixWarmup("loaded", len(tokens), time.perf_counter() - started, path)
    model.evaluate_afresh(tokens)
    try:
        write_state(path, key, tokens, model.state_bytes())
    except OSError as exc:  # a read-only cache costs the next start 10 s, not the answer
        log.warning("could not save the prefix state to %s: %s", path, exc)
    return PrefixWarmup("evaluated", len(tokens), time.perf_counter() - started, path)
