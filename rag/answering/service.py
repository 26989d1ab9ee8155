"""Answer service: the pipeline's steps in order, from a question to a stream of typed events.

prepare  (rag.answering.prepare): validate → read the question once → condense a follow-up → retrieve → gate
         weak retrieval → focused passages
generate (rag.answering.generate): gate refusal or extractive answer when no LLM runs; else a Preview, the
         no-answer verdict, the streamed Deltas, then the model's reply checked in code (markers, quote,
         refusal, language); a list question asks each top passage for its items (rag.answering.lists)
doubts   (rag.answering.doubts): the answer's signals, and a refusal or a mark of doubt where they say so
compose  (rag.answering.compose): the Final answer, built once from its parts
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator
from dataclasses import replace

from rag.answering.compose import timings, unheld_question_numbers
from rag.answering.joined import PART_BREAK, join_answers
from rag.answering.lists import Listing
from rag.answering.prepare import InvalidQuestionError, Prepared, Preparing, validate_question
from rag.answering.refusal import refusal_text
from rag.models.chunk_states import ChunkStates
from rag.models.embedding import Embedder
from rag.models.llm import LLMBackend
from rag.settings import Settings
from rag.store.chroma import ChunkStore
from rag.types import Answer, Delta, Final, Preview, StreamEvent, final_answer

__all__ = ["AnswerService", "InvalidQuestionError", "Prepared", "validate_question"]

# Logs carry sizes, modes and timings only: no question, passage or answer text.
logger = logging.getLogger("newsrag.answer")


class AnswerService(Preparing, Listing):
    """Holds the loaded components; one per process and settings, shared by the CLI, the chat and eval.
    Its jobs live in their modules (prepare, generate, compose); this class runs them in order."""

    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder, backend: LLMBackend | None):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.backend = backend
        self.chunk_states = ChunkStates.from_settings(settings)

    def stream(self, question: str, history: list[dict[str, str]] | None = None) -> Generator[StreamEvent, None, None]:
        """At most one Preview, any Deltas, then always one Final; an invalid question raises at once."""
        prepared = self.prepare(question, history)
        events = self._in_parts(prepared) if prepared.parts else self._asked(prepared, self.backend)
        for event in events:
            if isinstance(event, Final):
                self._log(event.answer)
            yield event

    def answer(self, question: str, history: list[dict[str, str]] | None = None) -> Answer:
        return final_answer(self.stream(question, history))

    def _in_parts(self, prepared: Prepared) -> Iterator[StreamEvent]:
        """A two-part question answered part by part, each from its own retrieval and best chunk; the
        reader sees both answers stream one after the other, then one answer that joins them."""
        yield Preview(self._extractive(prepared))
        answers: list[Answer] = []
        first_delta_at: float | None = None
        for index in range(len(prepared.parts)):
            part = self.prepare_part(prepared, index)
            if index:
                yield Delta(PART_BREAK)
            for event in self._asked(part, self.backend, preview=False):
                if isinstance(event, Final):
                    answers.append(event.answer)
                elif isinstance(event, Delta):
                    first_delta_at = first_delta_at or time.perf_counter()
                    yield event
        if all(a.refused for a in answers):
            yield Final(self._refusal(prepared, answers[0].mode, first_delta_at=first_delta_at))
            return
        joined = join_answers(answers, refusal_text(prepared.answer_lang))
        yield Final(
            replace(
                joined,
                question=prepared.question,
                question_lang=prepared.question_lang,
                answer_lang=prepared.answer_lang,
                kind=prepared.kind,
                timings=timings(prepared, first_delta_at),
            )
        )

    def _asked(self, prepared: Prepared, backend: LLMBackend | None, preview: bool = True) -> Iterator[StreamEvent]:
        """One question's events: a refusal or extractive answer when no LLM runs, else the model's answer
        (a list question's from each of its top passages)."""
        if prepared.gate_refused:
            yield Final(self._refusal(prepared, "gate"))
        elif backend is None:
            yield Final(self._extractive(prepared))
        elif self.settings.answer.refuse_unheld_question_numbers and unheld_question_numbers(prepared):
            yield Final(self._refusal(prepared, "question_number"))
        else:
            if preview:
                yield Preview(self._extractive(prepared))
            if self._lists_every_passage(prepared):
                yield from self._list_from_passages(prepared, backend)
            else:
                yield from self._generate(prepared, backend)

    @staticmethod
    def _log(answer: Answer) -> None:
        logger.info(
            "answer mode=%s refused=%s question_chars=%d citations=%d invalid_markers=%d ttft_ms=%s total_ms=%s",
            answer.mode,
            answer.refused,
            len(answer.question),
            len(answer.citations),
            answer.markers_invalid,
            answer.timings.ttft_ms,
            answer.timings.total_ms,
        )
