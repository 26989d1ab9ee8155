"""Generating an answer with the LLM: the no-answer verdict, a yes/no answer's first word decided in code,
the streamed reply, and the reply read in code (markers, refusal, numbers), asked once more in firmer words
when it slips out of the answer's language."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from llama_index.core.llms import ChatMessage

from rag.answering.citations import Repaired, SemanticScorer, repair
from rag.answering.compose import unsupported_in_answer, written_in
from rag.answering.doubts import Doubting, Sampler
from rag.answering.prepare import Prepared
from rag.answering.prompt import build_messages, restore_best_chunk
from rag.answering.refusal import is_refusal
from rag.answering.shape import calibrated_verdict, verdict_words
from rag.models.chunk_states import ChunkStates
from rag.models.embedding import cosines
from rag.models.llm import NO_ANSWER, LLMBackend, LLMUnavailableError
from rag.question.language import detect_language, untranslated_words
from rag.types import Answer, Delta, Final, Passage, QuestionKind

# Logs carry sizes, modes and timings only: no question, passage or answer text.
logger = logging.getLogger("newsrag.answer")

_NO_SLIPS = (False, 0)  # in the answer's language, no source word left untranslated


@dataclass(frozen=True)
class _Reply:
    """The model's reply read in code: a refusal, or its text with repaired markers, in a language."""

    repaired: Repaired | None  # None: the model refused
    lang: str


class Generating(Doubting):
    """The answer service's LLM job (rag.answering.service composes the jobs)."""

    chunk_states: ChunkStates

    def _generate(self, prepared: Prepared, backend: LLMBackend) -> Iterator[Delta | Final]:
        messages = self._messages(prepared)
        try:
            # The prompt up to the best chunk: kept, or from disk when that chunk ranked first before.
            restore_best_chunk(self.chunk_states, backend, messages, list(prepared.passages))
            no_answer = backend.no_answer_probability(messages)
            if no_answer is not None and no_answer >= self._no_answer_threshold(prepared):
                yield Final(self._refusal(prepared, "verdict", no_answer_probability=no_answer))
                return
            # A yes/no answer's first word decided in code; the model continues it with the fact.
            verdict_word = self._verdict_word(prepared, backend, messages) or ""
            raw, shown, first_delta_at = "", 0, None
            for piece in backend.stream(messages, reply_start=verdict_word):
                raw += piece
                # Hold back what may still become the no-answer word: the reader sees the refusal instead.
                if not NO_ANSWER.startswith(raw.strip()[: len(NO_ANSWER)]):
                    first_delta_at = first_delta_at or time.perf_counter()
                    yield Delta(raw[shown:])
                    shown = len(raw)
            reply, retried = self._in_its_language(prepared, backend, self._read_reply(prepared, raw), verdict_word)
            answer = self._checked_answer(
                prepared, reply, first_delta_at, no_answer, retried, self._sampler(prepared, backend, messages)
            )
        except LLMUnavailableError as exc:
            answer = self._without_llm(prepared, exc)
        yield Final(answer)

    def _sampler(self, prepared: Prepared, backend: LLMBackend, messages: list[ChatMessage]) -> Sampler | None:
        """Short answers sampled again from the prompt just answered, for self-consistency; only for a name or a
        number (longer answers vary in their words alone), and only when the policy asks for samples."""
        policy = self.settings.answer
        if policy.consistency_samples == 0 or prepared.kind not in (QuestionKind.ENTITY, QuestionKind.NUMBER):
            return None
        return lambda: backend.sample(messages, policy.consistency_samples, policy.consistency_temperature, 24)

    def _without_llm(self, prepared: Prepared, exc: LLMUnavailableError) -> Answer:
        """The extractive answer, with a warning, when the LLM failed and the settings allow it; else raises."""
        if not self.settings.llm_fallback_extractive:
            raise exc
        logger.warning("LLM unavailable, answering extractively: %s", type(exc.__cause__ or exc).__name__)
        return self._extractive(prepared, warning=f"{exc} Showing the extractive answer instead.")

    def _in_its_language(
        self, prepared: Prepared, backend: LLMBackend, reply: _Reply, verdict_word: str
    ) -> tuple[_Reply, bool]:
        """The reply, or the reply to the firmer prompt when the first slipped out of the answer's language
        and the second slips less; and whether the firmer prompt was sent."""
        slips = self._language_slips(prepared, reply)
        retried = slips is not None and slips > _NO_SLIPS
        if retried:
            firmer = self._messages(prepared, firmer=True)
            retry = self._read_reply(prepared, backend.complete(firmer, reply_start=verdict_word))
            retry_slips = self._language_slips(prepared, retry)
            if retry_slips is not None and slips is not None and retry_slips < slips:
                reply = retry
        return reply, retried

    def _checked_answer(
        self,
        prepared: Prepared,
        reply: _Reply,
        first_delta_at: float | None,
        no_answer: float | None,
        retried: bool,
        sampler: Sampler | None,
    ) -> Answer:
        repaired = reply.repaired
        if repaired is None:
            return self._refusal(prepared, "llm", first_delta_at=first_delta_at, no_answer_probability=no_answer)
        if self.settings.answer.refuse_unsupported_numbers and unsupported_in_answer(prepared, repaired.text):
            return self._refusal(
                prepared, "unsupported", first_delta_at=first_delta_at, no_answer_probability=no_answer
            )
        answer = self._llm_answer(prepared, repaired, reply.lang, first_delta_at, no_answer, retried)
        return self._judged(prepared, answer, sampler)

    def _messages(self, prepared: Prepared, firmer: bool = False) -> list[ChatMessage]:
        return build_messages(
            prepared.question,
            list(prepared.passages),
            prepared.answer_lang,
            self.settings.answer.answer_format,
            prepared.kind,
            firmer=firmer,
            verbatim=self.settings.answer.statement_hint == "verbatim" and _sources_speak_the_question(prepared),
        )

    def _verdict_word(self, prepared: Prepared, backend: LLMBackend, messages: list[ChatMessage]) -> str | None:
        """A yes/no answer's first word, decided in code from the first word's calibrated log-odds (the
        prompt was just evaluated for the no-answer verdict, so this costs one token); None: the model decides."""
        if (
            prepared.kind is not QuestionKind.YESNO
            or self.settings.answer.answer_format != "shaped"
            or self.settings.answer.yesno_verdict != "calibrated"
        ):
            return None
        words = verdict_words(prepared.answer_lang)
        logprobs = backend.first_word_logprobs(messages, list(words.values()))
        if logprobs is None:
            return None
        return words[calibrated_verdict(logprobs, words, self.settings.answer.yesno_threshold)]

    def _read_reply(self, prepared: Prepared, raw: str) -> _Reply:
        if is_refusal(raw):
            return _Reply(None, prepared.answer_lang)
        texts = [p.text for p in prepared.passages]
        repaired = repair(raw, texts, self._semantic_scorer(prepared.passages))
        # The language of the model's words; the quote added under them keeps the source's.
        return _Reply(repaired, detect_language(repaired.text, default=prepared.answer_lang))

    @staticmethod
    def _language_slips(prepared: Prepared, reply: _Reply) -> tuple[bool, int] | None:
        """How the model's words miss the answer's language, worst first: written in another language, and
        how many German source words an English answer kept ("unverantwortliches nukleares Säbelrasseln");
        None for a refusal. An answer with slips is asked for once more, in firmer words."""
        if reply.repaired is None:
            return None
        kept = (
            untranslated_words(reply.repaired.text, prepared.question, [p.text for p in prepared.passages])
            if prepared.answer_lang == "en"
            else []
        )
        return reply.lang != prepared.answer_lang, len(kept)

    def _no_answer_threshold(self, prepared: Prepared) -> float:
        # Asked across languages, the model leans to the no-answer word on answerable questions too.
        if not written_in(" ".join(p.text for p in prepared.passages), prepared.question_lang):
            return self.settings.answer.no_answer_threshold_cross_lingual
        if prepared.question_lang == "de":
            return self.settings.answer.no_answer_threshold_de
        return self.settings.answer.no_answer_threshold

    def _semantic_scorer(self, passages: tuple[Passage, ...]) -> SemanticScorer:
        """Embedding similarity, computed only if a claim has no lexical support (e.g. English vs German)."""
        vectors: list[list[float]] = []

        def scores(claim: str) -> list[float]:
            if not vectors:
                vectors.extend(self.embedder.embed_documents([p.text for p in passages]))
            return cosines(self.embedder.embed_query(claim), vectors)

        return scores


def _sources_speak_the_question(prepared: Prepared) -> bool:
    """Whether the passage the model reads whole is in the question's language: only then can an answer
    take the source's sentence as it stands."""
    if not prepared.passages:
        return False
    return written_in(prepared.passages[0].text, prepared.question_lang)
