"""Composing an answer from its parts: one builder for every Answer the service makes (the model's, an
extractive one, a refusal), the citations with their quotes, and the timings."""

from __future__ import annotations

import time
from typing import Any

from rag.answering.citations import Repaired
from rag.answering.extractive import SentenceSimilarity, best_sentence, pick_sentences
from rag.answering.numbers import name_numbers, number_value, unsupported_numbers
from rag.answering.prepare import Prepared
from rag.answering.refusal import refusal_text
from rag.answering.shape import items_of, verdict_of
from rag.models.embedding import Embedder, sentence_similarities
from rag.question.language import detect_language
from rag.sentences import split_sentences
from rag.settings import Settings
from rag.types import Answer, AnswerMode, Citation, Passage, QuestionKind, StoredChunk, Timings

MAX_SEARCHED_TITLES = 3


class Composing:
    """The answer service's last job (rag.answering.service composes the jobs)."""

    settings: Settings
    embedder: Embedder

    @staticmethod
    def _answer(
        prepared: Prepared,
        *,
        claim: str,
        mode: AnswerMode,
        answer_lang: str | None = None,
        first_delta_at: float | None = None,
        **details: Any,
    ) -> Answer:
        """The one builder: what every answer takes from the prepared question, with its own claim and details."""
        return Answer(
            question=prepared.question,
            claim=claim,
            question_lang=prepared.question_lang,
            answer_lang=prepared.answer_lang if answer_lang is None else answer_lang,
            retrieved=prepared.retrieved,
            timings=timings(prepared, first_delta_at),
            mode=mode,
            kind=prepared.kind,
            condensed_question=prepared.condensed_question,
            **details,
        )

    def _llm_answer(
        self,
        prepared: Prepared,
        repaired: Repaired,
        lang: str,
        first_delta_at: float | None,
        no_answer: float | None,
        retried: bool,
    ) -> Answer:
        """The model's checked words, cited, with the source sentence quoted under them."""
        citations = {
            new: self._cite(new, prepared.passages[old - 1], prepared, repaired.text)
            for new, old in enumerate(repaired.used, 1)
        }
        return self._answer(
            prepared,
            claim=repaired.text,
            quote=quote_under(repaired.text, citations),
            citations=citations,
            refused=False,
            answer_lang=lang,
            first_delta_at=first_delta_at,
            mode="llm",
            verdict=verdict_of(prepared.kind, repaired.text),
            items=items_of(prepared.kind, repaired.text),
            markers_total=repaired.markers_total,
            markers_invalid=repaired.markers_invalid,
            markers_added=repaired.markers_added,
            markers_moved=repaired.markers_moved,
            unsupported_sentences=tuple(repaired.unsupported),
            language_retry=retried,
            no_answer_probability=no_answer,
        )

    # -- answers made without the model's words ---------------------------------------------------
    def _refusal(
        self,
        prepared: Prepared,
        mode: AnswerMode,
        warning: str | None = None,
        first_delta_at: float | None = None,
        no_answer_probability: float | None = None,
    ) -> Answer:
        # Say what was searched, so a reader can judge the refusal: the distinct titles, best first.
        searched = list(dict.fromkeys(c.title or c.doc_id for c in prepared.retrieved))[:MAX_SEARCHED_TITLES]
        return self._answer(
            prepared,
            claim=refusal_text(prepared.answer_lang),
            citations={},
            refused=True,
            first_delta_at=first_delta_at,
            mode=mode,
            warning=warning,
            searched=tuple(searched),
            no_answer_probability=no_answer_probability,
        )

    def _extractive(self, prepared: Prepared, warning: str | None = None) -> Answer:
        chunks = [p.chunk for p in prepared.passages] or list(prepared.retrieved[:1])
        picked = pick_sentences(prepared.search_query, chunks)
        if not picked:
            return self._refusal(prepared, "extractive", warning)
        citations: dict[int, Citation] = {}
        parts = []
        for sentence in picked:
            n = next((k for k, c in citations.items() if c.chunk_id == sentence.chunk.chunk_id), len(citations) + 1)
            citations.setdefault(n, Citation.of(n, sentence.chunk, sentence.text, sentence.start, sentence.end))
            parts.append(f"{sentence.text} [{n}]")
        text = " ".join(parts)
        return self._answer(
            prepared,
            claim=text,
            citations=citations,
            refused=False,
            answer_lang=detect_language(text),
            mode="extractive",
            warning=warning,
        )

    # -- citations --------------------------------------------------------------------------------
    def _cite(self, n: int, passage: Passage, prepared: Prepared, text: str) -> Citation:
        """Citation n with its passage's sentence that best supports the answer's claims. The quote under a
        yes/no answer (citation 1) is the sentence that best matches the question instead: the one that
        decides it, which the model's sentence after its verdict often misses."""
        if n == 1 and self.settings.answer.quote_by_question and prepared.kind is QuestionKind.YESNO:
            claim, lang = prepared.question, prepared.question_lang
        else:
            claim, lang = claims_for(text, n), prepared.answer_lang
        start, end, quote = best_sentence(claim, passage.chunk, prepared.question, self._similarity(passage, lang))
        return Citation.of(n, passage.chunk, quote, start, end)

    def _similarity(self, passage: Passage, lang: str) -> SentenceSimilarity | None:
        """For a claim in another language than its passage, the embedding's similarity, to quote the
        sentence that says what the claim says (shared words pick nearly at random across languages)."""
        if self.settings.answer.quote_across_languages != "meaning":
            return None
        return None if written_in(passage.text, lang) else self._sentence_similarity

    def _sentence_similarity(self, claim: str, sentences: list[str]) -> list[float]:
        return sentence_similarities(self.embedder, claim, sentences)


def written_in(text: str, lang: str) -> bool:
    """Whether text is in lang; text too short to tell counts as lang. Which text is judged is the caller's:
    all passages for the no-answer threshold, the lead passage for the verbatim hint, a cited one for its quote."""
    return detect_language(text, default=lang) == lang


def labelled(chunk: StoredChunk, text: str) -> str:
    """Text with its article's title and date, which hold numbers too ("2022-11", "G7-Gipfel")."""
    return f"{chunk.title} {chunk.date or ''} {text}"


def unsupported_in_answer(prepared: Prepared, text: str) -> list[str]:
    """Numbers of the model's words that neither the passages (with their labels) nor the question hold."""
    sources = [prepared.question, prepared.search_query]
    sources += [labelled(p.chunk, p.text) for p in prepared.passages]
    return unsupported_numbers(text, sources)


def unheld_question_numbers(prepared: Prepared) -> list[str]:
    """Numbers of the question that none of the retrieved chunks (with their titles and dates) holds.
    All retrieved chunks, not only the passages the model reads: the premise may sit in any of them."""
    named = name_numbers(prepared.question)  # "Super Bowl 50" names a thing: no premise to hold
    unheld = unsupported_numbers(prepared.question, [labelled(c, c.text) for c in prepared.retrieved])
    return [written for written in unheld if number_value(written) not in named]


def timings(prepared: Prepared, first_delta_at: float | None) -> Timings:
    """The one place timings are taken. Without a streamed delta, the reader's first words are the answer."""
    now = time.perf_counter()
    first = first_delta_at or now
    return Timings(
        retrieval_ms=round(prepared.retrieval_ms, 1),
        ttft_ms=round((first - prepared.started) * 1000, 1),
        total_ms=round((now - prepared.started) * 1000, 1),
    )


def quote_under(short: str, citations: dict[int, Citation]) -> str:
    """The source sentence that supports the short answer, quoted verbatim with its number, to show under
    it; "" when the answer holds that sentence already."""
    if 1 not in citations or citations[1].quote.strip() in short:
        return ""
    return f"{citations[1].quote.strip()}“ [1]"


def claims_for(text: str, n: int) -> str:
    """The sentences of the answer that carry marker n, to find the best quote in its passage."""
    marker = f"[{n}]"
    return " ".join(s.text for s in split_sentences(text) if marker in s.text) or text
