"""Small deterministic stand-ins for unit tests of logic. Integration tests use the real models."""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from llama_index.core.llms import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
)

from rag.answering.textsim import content_words
from rag.models.llama_model import messages_to_chatml
from rag.models.llm import LLMBackend
from rag.settings import Settings
from rag.types import Answer, Citation, Delta, Final, Preview, QuestionKind, StoredChunk, StreamEvent, Timings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


class HashEmbedder:
    """Bag of hashed content words: texts that share words get similar vectors."""

    backend = "local"
    batches_at_once = 1

    def __init__(self, dimension: int = 64, model_id: str = "hash-embedder"):
        self.dimension = dimension
        self.model_id = model_id
        self.calls = 0

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for word in content_words(text):
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        self.calls += 1
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class ScriptedLLM(CustomLLM):
    """Answers with the next scripted reply and records the prompts it was given."""

    replies: list[str] = []
    prompts: list[str] = []
    fail_with: str | None = None

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True)

    def _next(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if self.fail_with:
            raise ConnectionError(self.fail_with)
        return self.replies.pop(0) if self.replies else ""

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._next(prompt))

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        text = self._next(prompt)

        def gen() -> CompletionResponseGen:
            for i in range(0, len(text), 7):
                yield CompletionResponse(text=text[: i + 7], delta=text[i : i + 7])

        return gen()

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        prompt = "\n".join(str(m.content) for m in messages)
        text = self._next(prompt)

        def gen() -> ChatResponseGen:
            for i in range(0, len(text), 7):
                yield ChatResponse(message=ChatMessage(role="assistant", content=text[: i + 7]), delta=text[i : i + 7])

        return gen()


def make_chunk(
    text: str,
    *,
    chunk_id: str = "c0",
    doc_id: str = "d0",
    title: str = "Titel",
    date: str | None = None,
    chunk_index: int = 0,
    start: int = 0,
    sentences: tuple[tuple[int, int], ...] = (),
    score: float = 0.0,
) -> StoredChunk:
    """A stored chunk for unit tests: only what a test cares about is named, the rest is consistent."""
    return StoredChunk(
        chunk_id=chunk_id,
        doc_id=doc_id,
        title=title,
        date=date,
        source=f"{doc_id}.txt",
        chunk_index=chunk_index,
        start=start,
        end=start + len(text),
        text=text,
        sentences=sentences,
        score=score,
    )


def scripted_backend() -> LLMBackend:
    """A ScriptedLLM behind the plain backend: no lock, no verdict, no in-process model."""
    llm = ScriptedLLM()
    llm.replies, llm.prompts, llm.fail_with = [], [], None
    return LLMBackend(llm, "scripted", "scripted")


def full_answer() -> Answer:
    """An answer with every field set to something other than its default."""
    chunk = make_chunk("Schoigu telefonierte mit Ben Wallace.", chunk_id="c7", doc_id="d3", date="2022-10-23")
    cited = replace(chunk, author="Greta Sommer", url="https://example.org/a", site="Tagesblatt", score=0.61234567)
    citation = Citation.of(1, cited, "Schoigu telefonierte mit Ben Wallace.", 0, 37)
    return Answer(
        question="Mit wem telefonierte Schoigu?",
        claim="Ben Wallace [1].",
        citations={1: citation},
        refused=False,
        question_lang="de",
        answer_lang="de",
        retrieved=(cited, make_chunk("Anderer Text.", chunk_id="c8", score=0.2)),
        timings=Timings(retrieval_ms=12.5, ttft_ms=80.0, total_ms=300.25),
        mode="llm",
        kind=QuestionKind.YESNO,
        verdict="yes",
        items=("Ben Wallace", "Hulusi Akar"),
        condensed_question="Mit wem telefonierte Schoigu im Oktober?",
        markers_total=2,
        markers_invalid=1,
        markers_added=1,
        markers_moved=1,
        unsupported_sentences=("Er rief auch Paris an.",),
        language_retry=True,
        warning="The LLM was slow.",
        searched=("Titel",),
        no_answer_probability=0.003,
        parts=("Mit wem telefonierte Schoigu?", "Wann?"),
        quote="Schoigu telefonierte mit Ben Wallace.“ [1]",
        question_terms=("Schoigu", "Mai"),
        unheld_terms=("Mai",),
        question_similarity=0.5123,
        agreement=0.25,
        doubt="Die Artikel sagen das womöglich nicht: die zitierten Stellen nennen “Mai” nicht.",
    )


def answer_events() -> list[StreamEvent]:
    """A streamed answer: the extractive preview, two deltas, the full answer."""
    answer = full_answer()
    return [Preview(replace(answer, mode="extractive")), Delta("Ben "), Delta("Wallace [1]."), Final(answer)]


class ScriptedSource:
    """An answer source that streams the given events (or raises `fails`) and records what it was asked."""

    def __init__(self, settings: Settings, events: list[StreamEvent], fails: Exception | None = None):
        self.settings, self.events, self.fails = settings, events, fails
        self.asked: list[tuple[str, list[dict[str, str]] | None]] = []

    def stream(self, question: str, history: list[dict[str, str]] | None = None) -> Iterator[StreamEvent]:
        self.asked.append((question, history))
        yield from self.events
        if self.fails is not None:
            raise self.fails


# The chat's login in the tests of its JSON route and of `rag ask` through it.
USER, PASSWORD = "redaktion", "korrekt-pferd-batterie"


def api_settings(tmp_path: Path) -> Settings:
    """Settings of a chat without models, its index and cache under tmp_path."""
    return Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", llm_backend="none")


def api_client(settings: Settings, source: ScriptedSource) -> TestClient:
    """The chat's JSON route (ui/api.py) over `source`, in a FastAPI TestClient: no server process."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from ui.api import api_routes

    return TestClient(FastAPI(routes=api_routes(settings, source)))


class CharModel:
    """LlamaModel's interface over one token per character: what it evaluated, in which pieces."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.context_size = 4096
        self.kv_cache_types = "f16"
        self.ids: list[int] = []
        self.evaluated: list[int] = []  # sizes of the evaluation calls
        self.loaded = 0

    @property
    def evaluated_tokens(self) -> int:
        return len(self.ids)

    def chat_tokens(self, messages: Sequence[ChatMessage], open_reply: bool = True) -> list[int]:
        text = messages_to_chatml(messages)
        return [ord(c) for c in (text if open_reply else text.removesuffix("<|im_start|>assistant\n"))]

    def open_message_tokens(self, messages: Sequence[ChatMessage], chars: int, suffix: str = "") -> list[int]:
        *earlier, last = messages
        text = messages_to_chatml(earlier).removesuffix("<|im_start|>assistant\n")
        return [ord(c) for c in f"{text}<|im_start|>{last.role.value}\n{(last.content or '')[:chars]}{suffix}"]

    def holds(self, tokens: Sequence[int]) -> bool:
        return self.ids[: len(tokens)] == list(tokens)

    def keep_first(self, n: int) -> None:
        del self.ids[n:]

    def evaluate(self, tokens: Sequence[int]) -> int:
        kept = next((i for i, (a, b) in enumerate(zip(self.ids, tokens[:-1], strict=False)) if a != b), None)
        kept = min(len(self.ids), len(tokens) - 1) if kept is None else kept
        self.ids = list(tokens)
        self.evaluated.append(len(tokens) - kept)
        return len(tokens) - kept

    def evaluate_afresh(self, tokens: Sequence[int]) -> None:
        self.ids = list(tokens)
        self.evaluated.append(len(tokens))

    def state_bytes(self) -> bytes:
        return bytes(str(self.ids), "utf-8")

    def load_state(self, tokens: Sequence[int], state: bytes) -> bool:
        self.ids = list(tokens)
        self.loaded += 1
        return True

    def cells_after(self, start: int) -> bytes:
        return bytes(str(self.ids[start:]), "utf-8")

    def load_cells(self, tokens: Sequence[int], start: int, cells: bytes) -> bool:
        if not self.holds(tokens[:start]) or cells != bytes(str(list(tokens[start:])), "utf-8"):
            return False
        self.ids = list(tokens)
        self.loaded += 1
        return True


def char_backend(tmp_path: Path) -> SimpleNamespace:
    """A backend whose in-process model is a CharModel, with the lock rag.models.chunk_states takes."""
    gguf = tmp_path / "model.gguf"
    if not gguf.exists():  # its size and time are part of the key
        gguf.write_bytes(b"gguf")
    return SimpleNamespace(llama=CharModel(gguf), lock=threading.Lock())
