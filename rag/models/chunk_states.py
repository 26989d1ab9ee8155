"""The evaluated llama.cpp state of the prompt up to the best chunk, kept per chunk on disk.

A question's prompt is the fixed prefix, the best-ranked chunk whole, then windows of the other chunks and
the question. The first two depend only on which chunk ranks first, so their state is saved under a key of
its tokens when a chunk first ranks first, and loaded (milliseconds) the next time it does: then llama.cpp
evaluates only the windows and the question. `rag index --warm` computes the states ahead.

The prefix's state is kept once (rag.models.prefix_state); a chunk's file holds only the KV cells of its
own tokens, with their positions, about 7 MB for 250 tokens instead of 50 MB for the whole head. Loading
puts them back after the prefix the model holds, where evaluating them would have put them.

Every prompt is evaluated in the same three parts, cache or not: the prefix from an empty context, the head
from the prefix's end, the rest from the head's end. llama.cpp's numbers differ in the last digits when a
prompt is cut into batches differently, so this is what makes an answer the same with the cache on and off,
and whatever was asked before.

The key covers the GGUF file, the llama.cpp build, the context size and every token of the head (the prefix
and the chunk's text), so a state is never used for another prompt, model or build. The files live in one
folder with a size cap; the least worth go first: the least used lately, of the oldest articles
(rag.models.state_ledger). A full disk or a read-only cache only logs a warning: the answer is the same,
it just costs the evaluation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from llama_index.core.llms import ChatMessage

from rag.models.llama_model import LlamaModel
from rag.models.llm import LLMBackend
from rag.models.prefix_state import read_state, restore_prefix, state_key, write_state
from rag.models.state_ledger import StateLedger, eviction_order
from rag.settings import Settings

log = logging.getLogger("newsrag.chunk_states")
ChunkStateOutcome = Literal["kept", "loaded", "evaluated", "unsupported"]
# What follows the best chunk's passages in a prompt: another passage, or the question. The head's last
# tokens can merge with it ("." and "\n" are one token), so the head stops where both agree.
_CONTINUATIONS = ("\n[", "\n\n")


@dataclass(frozen=True)
class ChunkStateUse:
    """What one prompt got: its head already in the model (kept), loaded from disk, evaluated and saved, or
    nothing (another backend, or a head that does not tokenize as the prompt's start)."""

    outcome: ChunkStateOutcome
    tokens: int  # prompt tokens the state covers
    seconds: float


@dataclass
class ChunkStateStats:
    kept: int = 0
    loaded: int = 0
    evaluated: int = 0
    load_seconds: list[float] = field(default_factory=list)  # each load from disk, the prefix's included

    @property
    def hit_rate(self) -> float | None:
        """Kept or loaded, of the prompts that had a head."""
        total = self.kept + self.loaded + self.evaluated
        return (self.kept + self.loaded) / total if total else None


class ChunkStates:
    """The cache folder and its size cap (0: nothing on disk, the same evaluation); `restore` puts a prompt's
    head state into the in-process model."""

    def __init__(self, directory: Path, max_bytes: int, prefix_dir: Path) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.prefix_dir = prefix_dir  # where rag.models.prefix_state keeps the prefix's state
        self.stats = ChunkStateStats()
        self.ledger = StateLedger(directory)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChunkStates:
        directory = settings.chunk_states_dir or settings.cache_dir / "chunk-states"
        return cls(directory, settings.chunk_states_mb * 2**20, settings.cache_dir / "prefix-state")

    def restore(
        self, backend: LLMBackend, messages: Sequence[ChatMessage], head_chars: int, published: str | None = None
    ) -> ChunkStateUse:
        """Make the model hold exactly the state of `messages` up to `head_chars` characters of the last
        message, so that evaluating the whole prompt next evaluates only what follows. `published`, the best
        chunk's article date, ranks its state in the cache (rag.models.state_ledger)."""
        model = backend.llama
        if model is None or head_chars <= 0:
            return ChunkStateUse("unsupported", 0, 0.0)
        started = time.perf_counter()
        with backend.lock:
            head = _head_tokens(model, messages, head_chars)
            prefix = model.chat_tokens(messages[:-1], open_reply=False)
            if not head or head[: len(prefix)] != prefix:
                return ChunkStateUse("unsupported", 0, 0.0)
            outcome = self._restore(model, prefix, head, published)
            model.keep_first(len(head))
        setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
        seconds = time.perf_counter() - started
        if outcome == "loaded":
            self.stats.load_seconds.append(seconds)
        return ChunkStateUse(outcome, len(head), seconds)

    def _restore(
        self, model: LlamaModel, prefix: list[int], head: list[int], published: str | None
    ) -> ChunkStateOutcome:
        key = state_key(model, head, cells_from=len(prefix))
        path = self.directory / f"chunk-{key}.bin"
        outcome = self._held_loaded_or_evaluated(model, prefix, head, key, path)
        if self.max_bytes and path.exists():  # a use of the passage, whichever way the model got it
            self.ledger.record_use(path, published)
        return outcome

    def _held_loaded_or_evaluated(
        self, model: LlamaModel, prefix: list[int], head: list[int], key: str, path: Path
    ) -> ChunkStateOutcome:
        if model.holds(head):  # the last prompt had the same best chunk: a follow-up, or the same question
            return "kept"
        if not model.holds(prefix):  # e.g. a follow-up's condensing prompt took its place
            restore_prefix(model, prefix, self.prefix_dir)
        model.keep_first(len(prefix))
        saved = read_state(path, key) if self.max_bytes and path.exists() else None
        if saved is not None and model.load_cells(head, len(prefix), saved):
            _touch(path)
            return "loaded"
        model.evaluate(head)
        if self.max_bytes:
            self._save(model, path, key, head, len(prefix))
        return "evaluated"

    def _save(self, model: LlamaModel, path: Path, key: str, head: list[int], prefix_tokens: int) -> None:
        try:
            write_state(path, key, head, model.cells_after(prefix_tokens))
            self._evict(keep=path)
        except OSError as exc:
            log.warning("could not save a chunk state to %s: %s", self.directory, exc)

    def files(self) -> list[Path]:
        try:
            return [p for p in self.directory.iterdir() if p.name.startswith("chunk-") and p.suffix == ".bin"]
        except OSError:
            return []

    def size_bytes(self) -> int:
        return sum(_size(p) for p in self.files())

    def largest_file_bytes(self) -> int:
        return max((_size(p) for p in self.files()), default=0)

    def _evict(self, keep: Path) -> None:
        """The least worth first (rag.models.state_ledger), until the folder fits the cap; the state just
        written stays."""
        files = {p.name: p for p in self.files()}
        total = sum(_size(p) for p in files.values())
        removed: list[str] = []
        for entry in eviction_order(self.ledger.entries(files.values()), time.time()):
            if total <= self.max_bytes:
                break
            if entry.name == keep.name:
                continue
            total -= _size(files[entry.name])
            files[entry.name].unlink(missing_ok=True)
            removed.append(entry.name)
        if removed:
            self.ledger.forget(removed)


def _head_tokens(model: LlamaModel, messages: Sequence[ChatMessage], head_chars: int) -> list[int]:
    """The head's tokens as they start the whole prompt; empty when they do not (then nothing is cached)."""
    a, b = (model.open_message_tokens(messages, head_chars, suffix) for suffix in _CONTINUATIONS)
    head = a[: _common_prefix(a, b)]
    prompt = model.chat_tokens(messages)
    return head if prompt[: len(head)] == head else []


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)  # its use: eviction goes by modification time


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
