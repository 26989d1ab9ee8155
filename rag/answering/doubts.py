"""Judging the model's answer by its answerability signals (rag.answering.answerability): kept, marked
uncertain, or refused, by the answer policy's thresholds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rag.answering.answerability import agreement, language_neutral, question_terms, unheld_terms
from rag.answering.compose import Composing, labelled, written_in
from rag.answering.prepare import Prepared
from rag.models.embedding import sentence_similarities
from rag.types import Answer, StoredChunk

_NAMES_MISSING = {
    "de": "Die Artikel sagen das womöglich nicht: die zitierten Stellen nennen {terms} nicht.",
    "en": "The articles may not say this: the passages cited do not mention {terms}.",
}
_FAR_FROM_QUESTION = {
    "de": "Die Artikel sagen das womöglich nicht: keine zitierte Stelle spricht die Frage genau an.",
    "en": "The articles may not say this: no passage cited addresses the question closely.",
}

_SAMPLES_DISAGREE = {
    "de": "Die Artikel sagen das womöglich nicht: das Modell antwortet beim erneuten Fragen anders.",
    "en": "The articles may not say this: asked again, the model answers differently.",
}

# Short answers sampled again from the prompt just answered (None: the backend cannot sample).
Sampler = Callable[[], list[str] | None]


class Doubting(Composing):
    """The answer service's check of the model's answer (rag.answering.service composes the jobs)."""

    def _judged(self, prepared: Prepared, answer: Answer, sampler: Sampler | None = None) -> Answer:
        """The answer with its signals, marked uncertain or refused when the policy's thresholds say so; the
        samples for self-consistency are drawn only for an answer that is not refused."""
        cited = _cited_chunks(prepared, answer)
        terms = question_terms(prepared.question)
        sources = [labelled(c, c.text) for c in cited]
        same_language = written_in(" ".join(c.text for c in cited), prepared.question_lang)
        unheld = unheld_terms(terms if same_language else language_neutral(terms), sources)
        similarity = self._question_similarity(prepared, cited)
        policy = self.settings.answer
        if policy.refuse_unheld_terms and len(unheld) >= policy.refuse_unheld_terms:
            refusal = self._refusal(prepared, "unheld_terms", no_answer_probability=answer.no_answer_probability)
            return replace(refusal, timings=answer.timings, question_terms=terms, unheld_terms=unheld)
        doubt = None
        lang = "de" if answer.answer_lang == "de" else "en"
        if policy.doubt_unheld_terms and len(unheld) >= policy.doubt_unheld_terms:
            doubt = _NAMES_MISSING[lang].format(terms=", ".join(f"“{t}”" for t in unheld))
        elif similarity is not None and similarity < policy.doubt_similarity:
            doubt = _FAR_FROM_QUESTION[lang]
        share = agreement(answer.claim, (sampler() if sampler else None) or [])
        if doubt is None and share is not None and share < policy.doubt_agreement:
            doubt = _SAMPLES_DISAGREE[lang]
        return replace(
            answer,
            question_terms=terms,
            unheld_terms=unheld,
            question_similarity=similarity,
            agreement=share,
            doubt=doubt,
        )

    def _question_similarity(self, prepared: Prepared, cited: list[StoredChunk]) -> float | None:
        sentences = [c.slice(s, e) for c in cited for s, e in c.spans()]
        if not sentences:
            return None
        return round(max(sentence_similarities(self.embedder, prepared.question, sentences)), 4)


def _cited_chunks(prepared: Prepared, answer: Answer) -> list[StoredChunk]:
    """The whole chunks the answer cites (the passages the model read may be cut from them)."""
    ids = {c.chunk_id for c in answer.citations.values()}
    return [c for c in prepared.retrieved if c.chunk_id in ids]
