"""The shared types of the answer path, in one place: frozen, built by keyword, built once.

A chunk comes out of the store, becomes a numbered passage of the prompt, is cited by an answer, and the
answer reaches its callers as typed stream events. Callers consume these types; none of them re-derives
what an answer or a stream is from the shape of a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, Literal


class QuestionKind(StrEnum):
    ENTITY = "entity"  # a person, organisation, place, title or named thing
    NUMBER = "number"  # a number, date, duration or amount
    STATEMENT = "statement"  # what someone said, claimed or warned; how; why
    YESNO = "yesno"
    LIST = "list"  # several items, or the parts of a two-part question


@dataclass(frozen=True)
class WebOrigin:
    """Where a web article was fetched from; pruning and the next run's conditional request rely on it."""

    fetched_from: str  # the address fetched: a feed's link or the named URL (the canonical URL is Document.url)
    listed_by: str | None = None  # the named feed or sitemap that listed it; None for a page named itself
    etag: str | None = None  # the server's validators, sent back on the next run (ETag, Last-Modified)
    last_modified: str | None = None


@dataclass(frozen=True)
class Document:
    doc_id: str  # file stem
    title: str  # for display only: derived, never cut out of the text
    date: str | None  # "2022-11" or "2022-11-20" when the file gives one
    source: str  # the source path as given
    text: str  # the body: every word of the file except removed_lines; all chunk offsets refer to it
    removed_lines: tuple[str, ...]  # boilerplate and date-only lines that were dropped, reported to the user
    author: str | None = None
    format: str = "text"
    url: str | None = None  # articles fetched from the web: the canonical URL (files have none)
    site: str | None = None  # articles fetched from the web: the site's name, else its host
    origin: WebOrigin | None = None  # articles fetched from the web: where from, and how to ask if it changed


# How an answer was made: by the LLM; extractively (no LLM, or the LLM failed); refused before the LLM ran
# because retrieval found nothing relevant ("gate") or because the question names a number that no retrieved
# source holds ("question_number"); refused by the no-answer verdict ("verdict"); refused because the model's
# answer holds a number that no source holds ("unsupported"), or because the passages it cites hold too few
# of the question's terms ("unheld_terms").
AnswerMode = Literal["llm", "extractive", "gate", "question_number", "verdict", "unsupported", "unheld_terms"]
# How the model is asked to answer: "short" (the name, number or phrase asked for, with the quoted source
# sentence added by the code) or "shaped" (the shape the question asks for: a short answer, a sentence,
# yes/no with the deciding fact, or every item).
AnswerFormat = Literal["short", "shaped"]
# Between an answer's claim (the model's words) and the source's sentence quoted under it.
QUOTE_SEPARATOR = "\n\n„"


def split_quote(text: str) -> tuple[str, str]:
    """An answer's text read back into its claim and quote: for answers kept only as text (old eval records).
    The one inverse of `Answer.text`."""
    claim, _, quote = text.partition(QUOTE_SEPARATOR)
    return claim, quote


def paired_items(parts: Sequence[str], items: Sequence[str]) -> list[tuple[str | None, str]]:
    """A list answer's items, each with the part of a two-part question it answers (None when the parts do
    not pair one to one with the items)."""
    labels: list[str | None] = list(parts) if len(parts) == len(items) else [None] * len(items)
    return list(zip(labels, items, strict=True))


# A yes/no answer's verdict; the words it is written with in each language are rag.answering.shape's.
Verdict = Literal["yes", "no"]


@dataclass(frozen=True, kw_only=True)
class StoredChunk:
    """A chunk as the store returns it: its text, where it sits in its document, and its retrieval score."""

    chunk_id: str
    doc_id: str
    title: str
    date: str | None
    source: str
    chunk_index: int
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # absolute offsets into the document text
    score: float = 0.0
    author: str | None = None
    url: str | None = None  # articles fetched from the web: canonical URL and site name
    site: str | None = None

    def spans(self) -> tuple[tuple[int, int], ...]:
        """The sentences' document offsets; a chunk stored without them counts as one sentence."""
        return self.sentences or ((self.start, self.end),)

    def slice(self, start: int, end: int) -> str:
        """The chunk's text between two document offsets."""
        return self.text[start - self.start : end - self.start]


@dataclass(frozen=True, kw_only=True)
class Passage:
    """A chunk as the prompt shows it, under its number."""

    number: int
    chunk: StoredChunk
    text: str  # possibly cut to fit the budget


@dataclass(frozen=True, kw_only=True)
class Citation:
    """Source [n] of an answer: the passage, and the sentence of it that best supports the claim."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    date: str | None
    passage: str
    quote: str
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
            n=n,
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            title=chunk.title,
            date=chunk.date,
            passage=chunk.text,
            quote=quote,
            start=chunk.start,
            end=chunk.end,
            quote_start=quote_start,
            quote_end=quote_end,
            author=chunk.author,
            url=chunk.url,
            site=chunk.site,
        )


@dataclass(frozen=True, kw_only=True)
class Timings:
    """Milliseconds since the question arrived. `ttft_ms` is when the reader saw the first words of the
    answer: the first streamed delta, or the whole answer when nothing was streamed."""

    retrieval_ms: float
    ttft_ms: float
    total_ms: float


@dataclass(frozen=True, kw_only=True)
class Answer:
    """An answer: its claim (the model's words, an extractive answer's sentences, or a refusal), the source
    sentence quoted under it, and what was found on the way. The text shown is derived: `text`."""

    question: str
    claim: str
    citations: dict[int, Citation]
    refused: bool
    question_lang: str
    answer_lang: str
    retrieved: tuple[StoredChunk, ...]
    timings: Timings
    mode: AnswerMode
    kind: QuestionKind = QuestionKind.ENTITY  # the shape of answer the question asks for
    verdict: Verdict | None = None  # a yes/no answer's verdict, when it leads with one
    items: tuple[str, ...] = ()  # a list answer's items (the model's words), when there are several
    condensed_question: str | None = None
    markers_total: int = 0
    markers_invalid: int = 0
    markers_added: int = 0
    markers_moved: int = 0
    unsupported_sentences: tuple[str, ...] = ()
    language_retry: bool = False
    warning: str | None = None
    searched: tuple[str, ...] = ()  # on a refusal: titles of the best passages looked at
    no_answer_probability: float | None = None  # P(first token is the no-answer word), where the LLM tells it
    parts: tuple[str, ...] = ()  # a two-part question's two questions, when it was answered part by part
    # The source's sentence quoted under the claim, as shown ("…“ [1]"), when the claim does not hold it;
    # a two-part answer's quotes joined by QUOTE_SEPARATOR.
    quote: str = ""
    # Answerability, read from the model's answer (rag.answering.answerability): the question's terms, those
    # the cited passages do not hold, and the question's cosine with the best sentence of those passages.
    question_terms: tuple[str, ...] = ()
    unheld_terms: tuple[str, ...] = ()
    question_similarity: float | None = None
    agreement: float | None = None  # the share of sampled short answers that agree with it (self-consistency)
    # Why the articles may not say this, in the answer's language, when the signals doubt the answer: the
    # answer is given, marked uncertain. None: no doubt (or a refusal).
    doubt: str | None = None

    @property
    def uncertain(self) -> bool:
        """Given but marked: the articles may not say this (see `doubt`)."""
        return self.doubt is not None

    @property
    def text(self) -> str:
        """The answer as shown: the claim, then the quote under it."""
        return f"{self.claim}{QUOTE_SEPARATOR}{self.quote}" if self.quote else self.claim

    @property
    def part_items(self) -> list[tuple[str | None, str]]:
        """The items, each with the part of a two-part question it answers (see `paired_items`)."""
        return paired_items(self.parts, self.items)

    def to_dict(self) -> dict[str, Any]:
        """The one JSON projection of an answer: the CLI's --json, the chat, the /ask API and eval records."""
        return {
            "question": self.question,
            "condensed_question": self.condensed_question,
            "answer": self.text,
            "claim": self.claim,
            "quote": self.quote,
            "refused": self.refused,
            "mode": self.mode,
            "kind": self.kind.value,
            "verdict": self.verdict,
            "items": list(self.items),
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
            "timings": asdict(self.timings),
            "markers_total": self.markers_total,
            "markers_invalid": self.markers_invalid,
            "markers_added": self.markers_added,
            "markers_moved": self.markers_moved,
            "unsupported_sentences": list(self.unsupported_sentences),
            "language_retry": self.language_retry,
            "searched": list(self.searched),
            "no_answer_probability": self.no_answer_probability,
            "parts": list(self.parts),
            "question_terms": list(self.question_terms),
            "unheld_terms": list(self.unheld_terms),
            "question_similarity": self.question_similarity,
            "agreement": self.agreement,
            "doubt": self.doubt,
            "uncertain": self.uncertain,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """The answer `to_dict()` projected, rebuilt (for answers sent as JSON): `from_dict(d).to_dict() == d`.
        A projection without claim and quote (written before they were fields) has them read from its text.

        The projection keeps of each retrieved chunk its ids, index, title, date, score and text; the rebuilt
        chunk spans its own text (start 0, no file name, no sentence offsets, no byline).
        """
        claim, quote = (data["claim"], data["quote"]) if "claim" in data else split_quote(data["answer"])
        converted: dict[str, Any] = {
            "claim": claim,
            "quote": quote,
            "kind": QuestionKind(data["kind"]),
            "citations": {c["n"]: Citation(**c) for c in data["citations"]},
            "retrieved": tuple(_retrieved_chunk(row) for row in data["retrieved"]),
            "timings": Timings(**data["timings"]),
        }
        # The other fields are copied as they are (lists back to tuples), so a new plain field needs no code here.
        names = {f.name for f in fields(cls)} - set(converted)
        plain: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        return cls(**plain, **converted)


def _retrieved_chunk(row: dict[str, Any]) -> StoredChunk:
    return StoredChunk(
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        title=row["title"],
        date=row["date"],
        source="",
        chunk_index=row["chunk_index"],
        start=0,
        end=len(row["text"]),
        text=row["text"],
        sentences=(),
        score=row["score"],
    )


# -- the stream of one answer: at most one Preview, any Deltas, always one Final, in that order -----------
@dataclass(frozen=True)
class Preview:
    """An instant extractive answer, shown while the LLM writes; the Final replaces it. Sent only when an
    LLM will be asked."""

    answer: Answer


@dataclass(frozen=True)
class Delta:
    """Text the LLM wrote, as it writes it; unchecked (the Final holds the checked answer)."""

    text: str


@dataclass(frozen=True)
class Final:
    """The checked answer; the last event of every stream."""

    answer: Answer


StreamEvent = Preview | Delta | Final


def final_answer(events: Iterable[StreamEvent]) -> Answer:
    """The Final's answer of a stream of events, consuming it."""
    answer = None
    for event in events:
        if isinstance(event, Final):
            answer = event.answer
    if answer is None:
        raise RuntimeError("the answer stream ended without a Final event")
    return answer


__all__ = [
    "Answer",
    "AnswerMode",
    "Citation",
    "Delta",
    "Final",
    "Passage",
    "Preview",
    "QUOTE_SEPARATOR",
    "StoredChunk",
    "StreamEvent",
    "Timings",
    "Verdict",
]
