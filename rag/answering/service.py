"""Answer service: the pipeline's steps in order, from a question to a stream of typed events.

prepare: validate → condense a follow-up → retrieve → gate weak retrieval → focused passages
stream:  gate refusal or extractive answer when no LLM runs; else a Preview, the no-answer verdict, the
         streamed Deltas, then the model's reply checked in code (markers, quote, refusal, language) as Final.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace

from llama_index.core.llms import ChatMessage, MessageRole

from rag.answering.citations import Repaired, SemanticScorer, repair
from rag.answering.extractive import SentenceSimilarity, best_sentence, pick_sentences
from rag.answering.focus import best_chunk_and_focus, lead_by_best_sentence
from rag.answering.follow_up import earlier_turn
from rag.answering.joined import PART_BREAK, join_answers
from rag.answering.numbers import unsupported_numbers
from rag.answering.prompt import CONDENSE_PROMPT, best_chunk_chars, build_messages, select_passages
from rag.answering.refusal import is_refusal, refusal_text
from rag.answering.retrieve import retrieve
from rag.answering.shape import calibrated_verdict, items_of, verdict_of, verdict_words
from rag.models.chunk_states import ChunkStates
from rag.models.embedding import Embedder, cosines, sentence_similarities
from rag.models.llm import NO_ANSWER, LLMBackend, LLMUnavailableError
from rag.question.kind import classify_question
from rag.question.language import detect_language, untranslated_words
from rag.question.parts import question_parts, search_text
from rag.sentences import split_sentences
from rag.settings import Settings
from rag.store.chroma import ChunkStore
from rag.types import (
    Answer,
    AnswerMode,
    Citation,
    Delta,
    Final,
    Passage,
    Preview,
    QuestionKind,
    StoredChunk,
    StreamEvent,
    Timings,
    final_answer,
)

# Logs carry sizes, modes and timings only: no question, passage or answer text.
logger = logging.getLogger("newsrag.answer")
MAX_SEARCHED_TITLES = 3


class InvalidQuestionError(ValueError):
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


_NO_SLIPS = (False, 0)  # in the answer's language, no source word left untranslated


@dataclass(frozen=True)
class _Reply:
    """The model's reply read in code: a refusal, or its text with repaired markers, in a language."""

    repaired: Repaired | None  # None: the model refused
    lang: str


class AnswerService:
    """Holds the loaded components; one per process and settings, shared by the CLI, the chat and eval."""

    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder, backend: LLMBackend | None):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.backend = backend
        self.chunk_states = ChunkStates.from_settings(settings)

    # -- public -----------------------------------------------------------------------------------
    def stream(self, question: str, history: list[dict[str, str]] | None = None) -> Generator[StreamEvent, None, None]:
        """At most one Preview, any Deltas, then always one Final; an invalid question raises at once."""
        prepared = self.prepare(question, history)
        events = self._events_in_parts(prepared) if prepared.parts else self._events(prepared)
        for event in events:
            if isinstance(event, Final):
                self._log(event.answer)
            yield event

    def answer(self, question: str, history: list[dict[str, str]] | None = None) -> Answer:
        return final_answer(self.stream(question, history))

    # -- the steps, in order ----------------------------------------------------------------------
    def prepare(self, question: str, history: list[dict[str, str]] | None = None) -> Prepared:
        started = time.perf_counter()
        question = validate_question(question, self.settings.max_question_chars)
        turns = [t for t in (history or []) if t.get("role") in ("user", "assistant") and t.get("content")]
        question_lang = detect_language(question)
        answer_lang = question_lang if self.settings.answer_language == "auto" else self.settings.answer_language
        condensed = self._follow_up_search(question, turns) if turns else None
        prepared = self._retrieve(question, condensed or question, question_lang, answer_lang, started, condensed)
        if self._splits(prepared, turns):
            prepared = replace(prepared, parts=question_parts(question, question_lang))
        return prepared

    def _splits(self, prepared: Prepared, turns: list[dict[str, str]]) -> bool:
        """Whether a two-part question is asked as two: with the LLM and shaped answers, not in a follow-up
        (the condensed question is one)."""
        return (
            self.settings.split_two_part_questions
            and prepared.kind is QuestionKind.LIST
            and not turns
            and not prepared.gate_refused
            and self.backend is not None
            and self.settings.answer_format == "shaped"
        )

    def _retrieve(
        self,
        question: str,
        search_query: str,
        question_lang: str,
        answer_lang: str,
        started: float,
        condensed: str | None = None,
    ) -> Prepared:
        retrieval = retrieve(search_query, self.store, self.embedder, self.settings.top_k)
        chunks = retrieval.chunks
        gate = (chunks[0].score if chunks else 0.0) < self.settings.min_relevance
        kind = classify_question(question, question_lang)
        # Only a question for several things reads sentences beyond the best chunk: they pay there, and
        # elsewhere they cost more time than they add (docs/evaluation.md, "Windows by kind"). Without an LLM
        # they cost nothing, and the extractive answer picks from them.
        wide = kind is QuestionKind.LIST or self.backend is None
        windows = self.settings.list_windows if wide else self.settings.focus_windows
        passages = (
            []
            if gate
            else select_passages(
                best_chunk_and_focus(
                    search_query,
                    self._led(search_query, question_lang, chunks),
                    windows,
                    self.settings.focus_neighbours,
                ),
                self.settings.context_budget_tokens,
            )
        )
        return Prepared(
            question=question,
            search_query=search_query,
            condensed_question=condensed,
            question_lang=question_lang,
            answer_lang=answer_lang,
            kind=kind,
            retrieved=tuple(chunks),
            passages=tuple(passages),
            gate_refused=gate,
            started=started,
            retrieval_ms=retrieval.ms,
        )

    def _led(self, search_query: str, question_lang: str, chunks: list[StoredChunk]) -> list[StoredChunk]:
        if self.settings.lead_chunk == "sentence":
            return lead_by_best_sentence(search_query, question_lang, chunks)
        return chunks

    def _follow_up_search(self, question: str, history: list[dict[str, str]]) -> str:
        """What a follow-up is searched with: the earlier turn joined to it, or (with an LLM) a standalone
        question the LLM writes from the last turns. `auto` joins the turn after one exchange, where the
        rewrite often leaves the question unresolved ("Was stellte er klar?"), and rewrites after more, where
        the referent may lie further back than the last exchange."""
        earlier = earlier_turn(history)
        joined = earlier.search_text(question) if earlier is not None else question
        mode = self.settings.follow_up_search
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

    def _events(self, prepared: Prepared, preview: bool = True) -> Iterator[StreamEvent]:
        if prepared.gate_refused:
            yield Final(self._refusal(prepared, "gate"))
        elif self.backend is None:
            yield Final(self._extractive(prepared))
        elif self.settings.refuse_unheld_question_numbers and self._unheld_question_numbers(prepared):
            yield Final(self._refusal(prepared, "question_number"))
        else:
            if preview:
                yield Preview(self._extractive(prepared))
            yield from self._generate(prepared, self.backend)

    def _events_in_parts(self, prepared: Prepared) -> Iterator[StreamEvent]:
        """A two-part question answered part by part, each from its own retrieval and best chunk; the
        reader sees both answers stream one after the other, then one answer that joins them."""
        yield Preview(self._extractive(prepared))
        answers: list[Answer] = []
        first_delta_at: float | None = None
        for index, part in enumerate(prepared.parts):
            sub = self._retrieve(
                part,
                search_text(prepared.parts, index),
                prepared.question_lang,
                prepared.answer_lang,
                time.perf_counter(),
            )
            if index:
                yield Delta(PART_BREAK)
            for event in self._events(sub, preview=False):
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
                timings=_timings(prepared, first_delta_at),
            )
        )

    def _generate(self, prepared: Prepared, backend: LLMBackend) -> Iterator[Delta | Final]:
        messages = self._messages(prepared)
        try:
            # The prompt up to the best chunk: kept, or from disk when that chunk ranked first before.
            self.chunk_states.restore(backend, messages, best_chunk_chars(list(prepared.passages)))
            no_answer = backend.no_answer_probability(messages)
            if no_answer is not None and no_answer >= self._no_answer_threshold(prepared):
                yield Final(self._refusal(prepared, "verdict", no_answer_probability=no_answer))
                return
            # A yes/no answer's first word decided in code; the model continues it with the fact.
            verdict_word = self._verdict_word(prepared, backend, messages)
            raw, shown, first_delta_at = "", 0, None
            for piece in backend.stream(messages, reply_start=verdict_word or ""):
                raw += piece
                # Hold back what may still become the no-answer word: the reader sees the refusal instead.
                if not NO_ANSWER.startswith(raw.strip()[: len(NO_ANSWER)]):
                    first_delta_at = first_delta_at or time.perf_counter()
                    yield Delta(raw[shown:])
                    shown = len(raw)
            reply = self._read_reply(prepared, raw)
            slips = self._language_slips(prepared, reply)
            retried = slips is not None and slips > _NO_SLIPS
            if retried:
                firmer = self._messages(prepared, firmer=True)
                retry = self._read_reply(prepared, backend.complete(firmer, reply_start=verdict_word or ""))
                retry_slips = self._language_slips(prepared, retry)
                if retry_slips is not None and slips is not None and retry_slips < slips:
                    reply = retry
            answer = self._llm_answer(prepared, reply, first_delta_at, no_answer, retried)
        except LLMUnavailableError as exc:
            if not self.settings.llm_fallback_extractive:
                raise
            logger.warning("LLM unavailable, answering extractively: %s", type(exc.__cause__ or exc).__name__)
            answer = self._extractive(prepared, warning=f"{exc} Showing the extractive answer instead.")
        yield Final(answer)

    def _messages(self, prepared: Prepared, firmer: bool = False) -> list[ChatMessage]:
        return build_messages(
            prepared.question,
            list(prepared.passages),
            prepared.answer_lang,
            self.settings.answer_format,
            prepared.kind,
            firmer=firmer,
            verbatim=self.settings.statement_hint == "verbatim" and self._sources_speak_the_question(prepared),
        )

    @staticmethod
    def _sources_speak_the_question(prepared: Prepared) -> bool:
        """Whether the passage the model reads whole is in the question's language: only then can an answer
        take the source's sentence as it stands."""
        if not prepared.passages:
            return False
        return _written_in(prepared.passages[0].text, prepared.question_lang)

    def _verdict_word(self, prepared: Prepared, backend: LLMBackend, messages: list[ChatMessage]) -> str | None:
        """A yes/no answer's first word, decided in code from the first word's calibrated log-odds (the
        prompt was just evaluated for the no-answer verdict, so this costs one token); None: the model decides."""
        if (
            prepared.kind is not QuestionKind.YESNO
            or self.settings.answer_format != "shaped"
            or self.settings.yesno_verdict != "calibrated"
        ):
            return None
        words = verdict_words(prepared.answer_lang)
        logprobs = backend.first_word_logprobs(messages, list(words.values()))
        if logprobs is None:
            return None
        return words[calibrated_verdict(logprobs, words, self.settings.yesno_threshold)]

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

    def _llm_answer(
        self, prepared: Prepared, reply: _Reply, first_delta_at: float | None, no_answer: float | None, retried: bool
    ) -> Answer:
        repaired = reply.repaired
        if repaired is None:
            return self._refusal(prepared, "llm", first_delta_at=first_delta_at, no_answer_probability=no_answer)
        if self.settings.refuse_unsupported_numbers and self._unsupported_numbers(prepared, repaired.text):
            return self._refusal(
                prepared, "unsupported", first_delta_at=first_delta_at, no_answer_probability=no_answer
            )
        citations = {
            new: self._cite(new, prepared.passages[old - 1], prepared, repaired.text)
            for new, old in enumerate(repaired.used, 1)
        }
        return Answer(
            question=prepared.question,
            claim=repaired.text,
            quote=_quote_under(repaired.text, citations),
            citations=citations,
            refused=False,
            question_lang=prepared.question_lang,
            answer_lang=reply.lang,
            retrieved=prepared.retrieved,
            timings=_timings(prepared, first_delta_at),
            mode="llm",
            kind=prepared.kind,
            verdict=verdict_of(prepared.kind, repaired.text),
            items=items_of(prepared.kind, repaired.text),
            condensed_question=prepared.condensed_question,
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
        return Answer(
            question=prepared.question,
            claim=refusal_text(prepared.answer_lang),
            citations={},
            refused=True,
            question_lang=prepared.question_lang,
            answer_lang=prepared.answer_lang,
            retrieved=prepared.retrieved,
            timings=_timings(prepared, first_delta_at),
            mode=mode,
            kind=prepared.kind,
            condensed_question=prepared.condensed_question,
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
        return Answer(
            question=prepared.question,
            claim=text,
            citations=citations,
            refused=False,
            question_lang=prepared.question_lang,
            answer_lang=detect_language(text),
            retrieved=prepared.retrieved,
            timings=_timings(prepared, None),
            mode="extractive",
            kind=prepared.kind,
            condensed_question=prepared.condensed_question,
            warning=warning,
        )

    # -- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _unsupported_numbers(prepared: Prepared, text: str) -> list[str]:
        """Numbers of the model's words that neither the passages (with their labels) nor the question hold."""
        sources = [prepared.question, prepared.search_query]
        sources += [_labelled(p.chunk, p.text) for p in prepared.passages]
        return unsupported_numbers(text, sources)

    @staticmethod
    def _unheld_question_numbers(prepared: Prepared) -> list[str]:
        """Numbers of the question that none of the retrieved chunks (with their titles and dates) holds.
        All retrieved chunks, not only the passages the model reads: the premise may sit in any of them."""
        return unsupported_numbers(prepared.question, [_labelled(c, c.text) for c in prepared.retrieved])

    def _no_answer_threshold(self, prepared: Prepared) -> float:
        # Asked across languages, the model leans to the no-answer word on answerable questions too.
        if not _written_in(" ".join(p.text for p in prepared.passages), prepared.question_lang):
            return self.settings.no_answer_threshold_cross_lingual
        if prepared.question_lang == "de":
            return self.settings.no_answer_threshold_de
        return self.settings.no_answer_threshold

    def _cite(self, n: int, passage: Passage, prepared: Prepared, text: str) -> Citation:
        """Citation n with its passage's sentence that best supports the answer's claims. The quote under a
        yes/no answer (citation 1) is the sentence that best matches the question instead: the one that
        decides it, which the model's sentence after its verdict often misses."""
        if n == 1 and self.settings.quote_by_question and prepared.kind is QuestionKind.YESNO:
            claim, lang = prepared.question, prepared.question_lang
        else:
            claim, lang = _claims_for(text, n), prepared.answer_lang
        start, end, quote = best_sentence(claim, passage.chunk, prepared.question, self._similarity(passage, lang))
        return Citation.of(n, passage.chunk, quote, start, end)

    def _similarity(self, passage: Passage, lang: str) -> SentenceSimilarity | None:
        """For a claim in another language than its passage, the embedding's similarity, to quote the
        sentence that says what the claim says (shared words pick nearly at random across languages)."""
        if self.settings.quote_across_languages != "meaning":
            return None
        return None if _written_in(passage.text, lang) else self._sentence_similarity

    def _sentence_similarity(self, claim: str, sentences: list[str]) -> list[float]:
        return sentence_similarities(self.embedder, claim, sentences)

    def _semantic_scorer(self, passages: tuple[Passage, ...]) -> SemanticScorer:
        """Embedding similarity, computed only if a claim has no lexical support (e.g. English vs German)."""
        vectors: list[list[float]] = []

        def scores(claim: str) -> list[float]:
            if not vectors:
                vectors.extend(self.embedder.embed_documents([p.text for p in passages]))
            return cosines(self.embedder.embed_query(claim), vectors)

        return scores

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


def _written_in(text: str, lang: str) -> bool:
    """Whether text is in lang; text too short to tell counts as lang. Which text is judged is the caller's:
    all passages for the no-answer threshold, the lead passage for the verbatim hint, a cited one for its quote."""
    return detect_language(text, default=lang) == lang


def _labelled(chunk: StoredChunk, text: str) -> str:
    """Text with its article's title and date, which hold numbers too ("2022-11", "G7-Gipfel")."""
    return f"{chunk.title} {chunk.date or ''} {text}"


def _timings(prepared: Prepared, first_delta_at: float | None) -> Timings:
    """The one place timings are taken. Without a streamed delta, the reader's first words are the answer."""
    now = time.perf_counter()
    first = first_delta_at or now
    return Timings(
        retrieval_ms=round(prepared.retrieval_ms, 1),
        ttft_ms=round((first - prepared.started) * 1000, 1),
        total_ms=round((now - prepared.started) * 1000, 1),
    )


def _quote_under(short: str, citations: dict[int, Citation]) -> str:
    """The source sentence that supports the short answer, quoted verbatim with its number; "" when the
    answer holds it already."""
    if 1 not in citations or citations[1].quote.strip() in short:
        return ""
    return f"{citations[1].quote.strip()}“ [1]"


def _claims_for(text: str, n: int) -> str:
    """The sentences of the answer that carry marker n, to find the best quote in its passage."""
    marker = f"[{n}]"
    return " ".join(s.text for s in split_sentences(text) if marker in s.text) or text
