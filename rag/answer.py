"""Answer service: retrieve, gate, prompt, stream, then check citations, refusal and language in code."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from llama_index.core.llms import LLM, ChatMessage, MessageRole

from rag.citations import QUOTE_SEPARATOR, SemanticScorer, repair
from rag.embedding import Embedder
from rag.extractive import best_sentence, pick_sentences
from rag.focus import best_chunk_and_focus
from rag.language import detect_language
from rag.llm import LLMUnavailableError, complete_text, endpoint, stream_text
from rag.prompting import CONDENSE_PROMPT, Passage, build_messages, select_passages
from rag.refusal import NO_ANSWER, is_refusal, refusal_text
from rag.retrieve import retrieve
from rag.settings import Settings
from rag.store import ChunkStore, StoredChunk
from rag.verdict import first_token_probability

# Logs carry sizes, modes and timings only: no question, passage or answer text.
logger = logging.getLogger("newsrag.answer")
MAX_SEARCHED_TITLES = 3


class InvalidQuestionError(ValueError):
    """The question is empty or too long."""


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    doc_id: str
    title: str
    date: str | None
    passage: str
    quote: str  # the sentence of the passage that best supports the claim
    start: int  # passage offsets into the document text
    end: int
    quote_start: int
    quote_end: int
    author: str | None = None
    url: str | None = None  # web articles: canonical URL and site name
    site: str | None = None

    @classmethod
    def of(cls, n: int, chunk: StoredChunk, quote: str, quote_start: int, quote_end: int) -> Citation:
        """Citation number n of `chunk`, quoting the sentence at document offsets quote_start:quote_end."""
        return cls(
            n,
            chunk.chunk_id,
            chunk.doc_id,
            chunk.title,
            chunk.date,
            chunk.text,
            quote,
            chunk.start,
            chunk.end,
            quote_start,
            quote_end,
            chunk.author,
            url=chunk.url,
            site=chunk.site,
        )


@dataclass
class Answer:
    question: str
    text: str
    citations: dict[int, Citation]
    refused: bool
    question_lang: str
    answer_lang: str
    retrieved: list[StoredChunk]
    timings: dict[str, float | None]
    condensed_question: str | None = None
    mode: str = "llm"  # llm | extractive | gate | verdict
    markers_total: int = 0
    markers_invalid: int = 0
    markers_added: int = 0
    markers_moved: int = 0
    unsupported_sentences: list[str] = field(default_factory=list)
    language_retry: bool = False
    warning: str | None = None
    searched: list[str] = field(default_factory=list)  # on a refusal: titles of the best passages looked at
    no_answer_probability: float | None = None  # local LLM: P(first token is the no-answer word)

    def to_dict(self) -> dict[str, Any]:
        """The one JSON projection of an answer: the CLI's --json, the chat, the /ask API and eval records."""
        return {
            "question": self.question,
            "condensed_question": self.condensed_question,
            "answer": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "warning": self.warning,
            "question_lang": self.question_lang,
            "answer_lang": self.answer_lang,
            "citations": [asdict(c) for _, c in sorted(self.citations.items())],
            "retrieved": [
                {
                    "rank": rank,
                    "doc_id": c.doc_id,
                    "chunk_id": c.chunk_id,
                    "chunk_index": c.chunk_index,
                    "title": c.title,
                    "date": c.date,
                    "score": round(float(c.score), 4),
                    "text": c.text,
                }
                for rank, c in enumerate(self.retrieved, start=1)
            ],
            "timings": dict(self.timings),
            "markers_total": self.markers_total,
            "markers_invalid": self.markers_invalid,
            "markers_added": self.markers_added,
            "markers_moved": self.markers_moved,
            "unsupported_sentences": list(self.unsupported_sentences),
            "language_retry": self.language_retry,
            "searched": list(self.searched),
            "no_answer_probability": self.no_answer_probability,
        }


@dataclass
class Prepared:
    """Everything known before the LLM runs; enough for an instant extractive preview."""

    question: str
    search_query: str
    condensed_question: str | None
    question_lang: str
    answer_lang: str
    retrieved: list[StoredChunk]
    passages: list[Passage]
    gate_refused: bool
    started: float
    retrieval_ms: float
    preview: Answer = field(init=False)  # needs the rest of Prepared, so prepare() sets it right after


def validate_question(question: str, max_chars: int) -> str:
    question = (question or "").strip()
    if not question:
        raise InvalidQuestionError("The question is empty. Please ask something about the articles.")
    if len(question) > max_chars:
        raise InvalidQuestionError(
            f"The question has {len(question)} characters; the limit is {max_chars} (RAG_MAX_QUESTION_CHARS)."
        )
    return question


def _cite(n: int, chunk: StoredChunk, claim: str, question: str = "") -> Citation:
    start, end, quote = best_sentence(claim, chunk, question)
    return Citation.of(n, chunk, quote, start, end)


def _history_messages(history: list[dict[str, str]] | None) -> list[dict[str, str]]:
    return [t for t in (history or []) if t.get("role") in ("user", "assistant") and t.get("content")]


class AnswerService:
    """Holds the loaded components; one per process, shared by the CLI, the chat and eval."""

    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder, llm: LLM | None):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.llm = llm

    # -- steps -----------------------------------------------------------
    def validate(self, question: str) -> str:
        return validate_question(question, self.settings.max_question_chars)

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        """A standalone question for retrieval; without an LLM, the last user turn gives the context."""
        last_user = next((t["content"] for t in reversed(history) if t["role"] == "user"), "")
        if self.llm is None:
            return f"{last_user} {question}".strip()
        transcript = "\n".join(f"{t['role']}: {t['content'][:500]}" for t in history[-4:])
        prompt = CONDENSE_PROMPT.format(history=transcript, question=question)
        try:
            text = complete_text(self.llm, [ChatMessage(role=MessageRole.USER, content=prompt)], self._where())
        except LLMUnavailableError:
            return f"{last_user} {question}".strip()
        condensed = text.strip().splitlines()[0].strip() if text.strip() else ""
        return condensed if 5 < len(condensed) < 400 else f"{last_user} {question}".strip()

    def _where(self) -> str:
        return endpoint(self.settings)

    def prepare(self, question: str, history: list[dict[str, str]] | None = None) -> Prepared:
        started = time.perf_counter()
        question = self.validate(question)
        turns = _history_messages(history)
        question_lang = detect_language(question)
        answer_lang = question_lang if self.settings.answer_language == "auto" else self.settings.answer_language
        condensed = self.condense(question, turns) if turns else None
        search_query = condensed or question
        retrieval = retrieve(search_query, self.store, self.embedder, self.settings.top_k)
        chunks = retrieval.chunks
        top = chunks[0].score if chunks else 0.0
        gate = top < self.settings.min_relevance
        passages = (
            []
            if gate
            else select_passages(best_chunk_and_focus(search_query, chunks), self.settings.context_budget_tokens)
        )
        prepared = Prepared(
            question,
            search_query,
            condensed,
            question_lang,
            answer_lang,
            chunks,
            passages,
            gate,
            started=started,
            retrieval_ms=retrieval.ms,
        )
        prepared.preview = self._refusal(prepared, "gate") if gate else self._extractive(prepared)
        return prepared

    def _timings(self, prepared: Prepared, ttft: float | None) -> dict[str, float | None]:
        total = (time.perf_counter() - prepared.started) * 1000
        return {"retrieval_ms": round(prepared.retrieval_ms, 1), "ttft_ms": ttft, "total_ms": round(total, 1)}

    def _refusal(self, prepared: Prepared, mode: str, warning: str | None = None) -> Answer:
        # Say what was searched, so a reader can judge the refusal: the distinct titles, best first.
        searched = list(dict.fromkeys(c.title or c.doc_id for c in prepared.retrieved))[:MAX_SEARCHED_TITLES]
        return Answer(
            prepared.question,
            refusal_text(prepared.answer_lang),
            {},
            True,
            prepared.question_lang,
            prepared.answer_lang,
            prepared.retrieved,
            self._timings(prepared, None),
            prepared.condensed_question,
            mode=mode,
            warning=warning,
            searched=searched,
        )

    def _extractive(self, prepared: Prepared, warning: str | None = None) -> Answer:
        chunks = [p.chunk for p in prepared.passages] or prepared.retrieved[:1]
        picked = pick_sentences(prepared.search_query, chunks)
        if not picked:
            return self._refusal(prepared, "extractive", warning)
        citations: dict[int, Citation] = {}
        parts = []
        for sentence in picked:
            n = next((k for k, c in citations.items() if c.chunk_id == sentence.chunk.chunk_id), len(citations) + 1)
            citations.setdefault(n, Citation.of(n, sentence.chunk, sentence.text, sentence.start, sentence.end))
            parts.append(f"{sentence.text} [{n}]")
        return Answer(
            prepared.question,
            " ".join(parts),
            citations,
            False,
            prepared.question_lang,
            detect_language(" ".join(parts)),
            prepared.retrieved,
            self._timings(prepared, None),
            prepared.condensed_question,
            mode="extractive",
            warning=warning,
        )

    def _finish(self, prepared: Prepared, raw: str, ttft: float | None, retried: bool) -> Answer:
        if is_refusal(raw):
            answer = self._refusal(prepared, "llm")
            answer.timings = self._timings(prepared, ttft)
            return answer
        passages = prepared.passages
        fixed = repair(raw, [p.text for p in passages], self._semantic_scorer(passages))
        citations = {
            new: _cite(new, passages[old - 1].chunk, _claims_for(fixed.text, new), prepared.question)
            for new, old in enumerate(fixed.used, 1)
        }
        return Answer(
            prepared.question,
            _with_quote(fixed.text, citations),
            citations,
            False,
            prepared.question_lang,
            # The quote keeps the source's language; the answer's language is that of the model's words.
            detect_language(fixed.text, default=prepared.answer_lang),
            prepared.retrieved,
            self._timings(prepared, ttft),
            prepared.condensed_question,
            mode="llm",
            markers_total=fixed.markers_total,
            markers_invalid=fixed.markers_invalid,
            markers_added=fixed.markers_added,
            markers_moved=fixed.markers_moved,
            unsupported_sentences=fixed.unsupported,
            language_retry=retried,
        )

    def _no_answer_threshold(self, prepared: Prepared) -> float:
        # Asked across languages, the model leans to the no-answer word on answerable questions too.
        sources = detect_language(" ".join(p.text for p in prepared.passages), default=prepared.question_lang)
        if sources != prepared.question_lang:
            return self.settings.no_answer_threshold_cross_lingual
        if prepared.question_lang == "de":
            return self.settings.no_answer_threshold_de
        return self.settings.no_answer_threshold

    def _semantic_scorer(self, passages: list[Passage]) -> SemanticScorer:
        """Embedding similarity, computed only if a claim has no lexical support (e.g. English vs German)."""
        vectors: list[list[float]] = []

        def scores(claim: str) -> list[float]:
            if not vectors:
                vectors.extend(self.embedder.embed_documents([p.text for p in passages]))
            query = self.embedder.embed_query(claim)
            return [sum(a * b for a, b in zip(query, v, strict=True)) for v in vectors]

        return scores

    # -- public ----------------------------------------------------------
    def generate(self, prepared: Prepared) -> Iterator[str | Answer]:
        """Yield text deltas as the LLM writes them, then the checked Answer."""
        if prepared.gate_refused or self.llm is None:
            self._log(prepared.preview)
            yield prepared.preview.text
            yield prepared.preview
            return
        messages = build_messages(prepared.question, prepared.passages, prepared.answer_lang)
        raw, ttft, shown = "", None, 0
        try:
            no_answer = first_token_probability(self.llm, messages, NO_ANSWER)
            if no_answer is not None and no_answer >= self._no_answer_threshold(prepared):
                answer = self._refusal(prepared, "verdict")
                answer.no_answer_probability = no_answer
                self._log(answer)
                yield answer.text
                yield answer
                return
            for delta in stream_text(self.llm, messages, self._where()):
                if ttft is None:
                    ttft = round((time.perf_counter() - prepared.started) * 1000, 1)
                raw += delta
                # Hold back what may still become the no-answer word: the reader sees the refusal instead.
                if not NO_ANSWER.startswith(raw.strip()[: len(NO_ANSWER)]):
                    yield raw[shown:]
                    shown = len(raw)
            answer = self._finish(prepared, raw, ttft, retried=False)
            if not answer.refused and answer.answer_lang != prepared.answer_lang:
                firmer = build_messages(prepared.question, prepared.passages, prepared.answer_lang, firmer=True)
                retry = self._finish(prepared, complete_text(self.llm, firmer, self._where()), ttft, retried=True)
                answer = retry if retry.answer_lang == prepared.answer_lang and not retry.refused else answer
                answer.language_retry = True
            answer.no_answer_probability = no_answer
        except LLMUnavailableError as exc:
            if not self.settings.llm_fallback_extractive:
                raise
            logger.warning("LLM unavailable, answering extractively: %s", type(exc.__cause__ or exc).__name__)
            answer = self._extractive(prepared, warning=f"{exc} Showing the extractive answer instead.")
        self._log(answer)
        yield answer

    @staticmethod
    def _log(answer: Answer) -> None:
        logger.info(
            "answer mode=%s refused=%s question_chars=%d citations=%d invalid_markers=%d ttft_ms=%s total_ms=%s",
            answer.mode,
            answer.refused,
            len(answer.question),
            len(answer.citations),
            answer.markers_invalid,
            answer.timings.get("ttft_ms"),
            answer.timings.get("total_ms"),
        )

    def stream(self, question: str, history: list[dict[str, str]] | None = None) -> Iterator[str | Answer]:
        yield from self.generate(self.prepare(question, history))

    def answer(self, question: str, history: list[dict[str, str]] | None = None) -> Answer:
        result = None
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result


def _with_quote(short: str, citations: dict[int, Citation]) -> str:
    """The short answer, then the source sentence that supports it, quoted verbatim with its number."""
    if 1 not in citations or citations[1].quote.strip() in short:
        return short
    return f"{short}{QUOTE_SEPARATOR}{citations[1].quote.strip()}“ [1]"


def _claims_for(text: str, n: int) -> str:
    """The sentences of the answer that carry marker n, to find the best quote in its passage."""
    marker = f"[{n}]"
    return " ".join(s for s in text.split(". ") if marker in s) or text
