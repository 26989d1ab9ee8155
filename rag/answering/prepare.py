"""Preparing a question: validate it, read it once, condense a follow-up, retrieve, gate weak retrieval and
focus the passages: everything known before the LLM runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from llama_index.core.llms import ChatMessage, MessageRole

from rag.answering.focus import best_chunk_and_focus, lead_by_best_sentence
from rag.answering.follow_up import earlier_turn
from rag.answering.prompt import CONDENSE_PROMPT, select_passages
from rag.answering.retrieval import retrieve
from rag.errors import NewsragError
from rag.models.embedding import Embedder
from rag.models.llm import LLMBackend, LLMUnavailableError
from rag.question.parts import search_text
from rag.question.reading import ReadQuestion, read_question
from rag.settings import Settings
from rag.store.chroma import ChunkStore
from rag.types import Passage, QuestionKind, StoredChunk


class InvalidQuestionError(NewsragError, ValueError):
    """The question is empty or too long."""


def validate_question(question: str, max_chars: int) -> str:
    question = (question or "").strip()
    if not question:
        raise InvalidQuestionError("The question is empty. Please ask something about the articles.")
    if len(question) > max_chars:
        raise InvalidQuestionError(
            f"The question has {len(question)} characters; the limit is {max_chars} (RAG_MAX_QUESTION_CHARS)."
        )
    return question


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """Everything known before the LLM runs."""

    question: str
    search_query: str
    condensed_question: str | None
    question_lang: str
    answer_lang: str
    kind: QuestionKind  # the shape of answer the question asks for
    retrieved: tuple[StoredChunk, ...]
    passages: tuple[Passage, ...]
    gate_refused: bool  # retrieval found nothing relevant enough to ask the LLM about
    started: float  # time.perf_counter() when the question arrived
    retrieval_ms: float
    parts: tuple[str, ...] = ()  # a two-part question's two questions, answered one after the other


class Preparing:
    """The answer service's first job (rag.answering.service composes the jobs)."""

    settings: Settings
    store: ChunkStore
    embedder: Embedder
    backend: LLMBackend | None

    def prepare(self, question: str, history: list[dict[str, str]] | None = None) -> Prepared:
        started = time.perf_counter()
        question = validate_question(question, self.settings.max_question_chars)
        reading = read_question(question, history)
        lang = reading.language
        answer_lang = lang if self.settings.answer_language == "auto" else self.settings.answer_language
        condensed = self._follow_up_search(question, list(reading.turns)) if reading.follow_up else None
        prepared = self._retrieve(reading, condensed or question, answer_lang, started, condensed)
        if self._splits(prepared, reading):
            prepared = replace(prepared, parts=reading.parts)
        return prepared

    def prepare_part(self, prepared: Prepared, index: int) -> Prepared:
        """Part `index` of a two-part question, read in the question's language and retrieved on its own."""
        part = prepared.parts[index]
        reading = read_question(part, language=prepared.question_lang)
        return self._retrieve(reading, search_text(prepared.parts, index), prepared.answer_lang, time.perf_counter())

    def _splits(self, prepared: Prepared, reading: ReadQuestion) -> bool:
        """Whether a two-part question is asked as two: with the LLM and shaped answers, not in a follow-up
        (the condensed question is one)."""
        return (
            self.settings.answer.split_two_part_questions
            and prepared.kind is QuestionKind.LIST
            and not reading.follow_up
            and not prepared.gate_refused
            and self.backend is not None
            and self.settings.answer.answer_format == "shaped"
        )

    def _retrieve(
        self, reading: ReadQuestion, search_query: str, answer_lang: str, started: float, condensed: str | None = None
    ) -> Prepared:
        retrieval = retrieve(search_query, self.store, self.embedder, self.settings.top_k)
        chunks = retrieval.chunks
        gate = (chunks[0].score if chunks else 0.0) < self.settings.answer.min_relevance
        kind = reading.kind
        # Only a question for several things reads sentences beyond the best chunk: they pay there, and
        # elsewhere they cost more time than they add (docs/evaluation.md, "Windows by kind"). Without an LLM
        # they cost nothing, and the extractive answer picks from them.
        wide = kind is QuestionKind.LIST or self.backend is None
        windows = self.settings.answer.list_windows if wide else self.settings.answer.focus_windows
        passages = (
            []
            if gate
            else select_passages(
                best_chunk_and_focus(
                    search_query,
                    self._led(search_query, reading.language, chunks),
                    windows,
                    self.settings.answer.focus_neighbours,
                ),
                self.settings.answer.context_budget_tokens,
            )
        )
        return Prepared(
            question=reading.text,
            search_query=search_query,
            condensed_question=condensed,
            question_lang=reading.language,
            answer_lang=answer_lang,
            kind=kind,
            retrieved=tuple(chunks),
            passages=tuple(passages),
            gate_refused=gate,
            started=started,
            retrieval_ms=retrieval.ms,
        )

    def _led(self, search_query: str, question_lang: str, chunks: list[StoredChunk]) -> list[StoredChunk]:
        if self.settings.answer.lead_chunk == "sentence":
            return lead_by_best_sentence(search_query, question_lang, chunks)
        return chunks

    def _follow_up_search(self, question: str, history: list[dict[str, str]]) -> str:
        """What a follow-up is searched with: the earlier turn joined to it, or (with an LLM) a standalone
        question the LLM writes from the last turns. `auto` joins the turn after one exchange, where the
        rewrite often leaves the question unresolved ("Was stellte er klar?"), and rewrites after more, where
        the referent may lie further back than the last exchange."""
        earlier = earlier_turn(history)
        joined = earlier.search_text(question) if earlier is not None else question
        mode = self.settings.answer.follow_up_search
        exchanges = sum(1 for turn in history if turn["role"] == "user")
        if self.backend is None or mode == "turn" or (mode == "auto" and exchanges <= 1):
            return joined
        transcript = "\n".join(f"{t['role']}: {t['content'][:500]}" for t in history[-4:])
        prompt = CONDENSE_PROMPT.format(history=transcript, question=question)
        try:
            text = self.backend.complete([ChatMessage(role=MessageRole.USER, content=prompt)])
        except LLMUnavailableError:
            return joined
        condensed = text.strip().splitlines()[0].strip() if text.strip() else ""
        return condensed if 5 < len(condensed) < 400 else joined
