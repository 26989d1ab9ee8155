"""A list question answered from every passage: each of the top passages is asked on its own for the items it
names, then the items are merged, each cited to its passage.

The model reads one passage whole and, beside it, a sentence or two of the others; items that stand in
another passage were lost ("USA und Ukraine" for the two countries named in a passage the model never read
whole). Asked one passage at a time, each prompt is that passage's cached state and the question.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

from rag.answering.citations import Repaired, strip_markers
from rag.answering.compose import unsupported_in_answer
from rag.answering.focus import whole
from rag.answering.generate import Generating
from rag.answering.prepare import Prepared
from rag.answering.prompt import restore_best_chunk, select_passages
from rag.answering.shape import items_of
from rag.models.embedding import cosines
from rag.models.llm import LLMBackend, LLMUnavailableError
from rag.types import Delta, Final, Passage, QuestionKind, StoredChunk

_AND = {"de": "und", "en": "and"}
_ARTICLE = re.compile(r"^(?:the|a|an|der|die|das|den|dem|des|ein|eine)\s+", re.IGNORECASE)
# Items this close by the embedding model name the same thing in two languages ("Moscow", "Moskau": 0.95);
# a country and its capital stay apart ("Kyiv", "Ukraine": 0.85).
SAME_ITEM_COSINE = 0.88


@dataclass(frozen=True)
class _Item:
    text: str  # the model's words, without markers
    chunk: int  # index of the passage's chunk among those asked


class Listing(Generating):
    """The answer service's job for a list question (rag.answering.service composes the jobs)."""

    def _lists_every_passage(self, prepared: Prepared) -> bool:
        return prepared.kind is QuestionKind.LIST and self.settings.answer.list_passages > 1

    def _list_from_passages(self, prepared: Prepared, backend: LLMBackend) -> Iterator[Delta | Final]:
        try:
            yield from self._listing(prepared, backend)
        except LLMUnavailableError as exc:
            yield Final(self._without_llm(prepared, exc))

    def _listing(self, prepared: Prepared, backend: LLMBackend) -> Iterator[Delta | Final]:
        chunks = _list_chunks(prepared, self.settings.answer.list_passages, self.settings.answer.min_relevance)
        asked = [self._one_passage(prepared, chunk) for chunk in chunks]
        items: list[_Item] = []
        first_delta_at: float | None = None
        no_answer: float | None = None
        for index, one in enumerate(asked):
            found, probability = self._passage_items(one, backend)
            no_answer = probability if index == 0 else no_answer
            new = self._new_items([_Item(text, index) for text in found], items)
            if new:
                first_delta_at = first_delta_at or time.perf_counter()
                yield Delta(("; " if items else "") + ", ".join(f"{i.text} [{i.chunk + 1}]" for i in new))
                items += new
        if not items:
            yield Final(self._refusal(prepared, "llm", first_delta_at=first_delta_at, no_answer_probability=no_answer))
            return
        merged = _merged(prepared, asked)
        repaired = _listed(items, asked, prepared.answer_lang)
        answer = self._llm_answer(merged, repaired, prepared.answer_lang, first_delta_at, no_answer, False)
        yield Final(self._judged(merged, answer))

    def _one_passage(self, prepared: Prepared, chunk: StoredChunk) -> Prepared:
        passages = select_passages(whole(chunk), self.settings.answer.context_budget_tokens)
        return replace(prepared, passages=tuple(passages))

    def _passage_items(self, one: Prepared, backend: LLMBackend) -> tuple[list[str], float | None]:
        """The items one passage names, in the answer's language (none when it holds no answer), and the
        no-answer probability of its prompt."""
        messages = self._messages(one)
        restore_best_chunk(self.chunk_states, backend, messages, list(one.passages))
        no_answer = backend.no_answer_probability(messages)
        if no_answer is not None and no_answer >= self._no_answer_threshold(one):
            return [], no_answer
        reply, _ = self._in_its_language(one, backend, self._read_reply(one, backend.complete(messages)), "")
        if reply.repaired is None:
            return [], no_answer
        text = reply.repaired.text
        if self.settings.answer.refuse_unsupported_numbers and unsupported_in_answer(one, text):
            return [], no_answer
        found = [strip_markers(item).strip(" .") for item in items_of(QuestionKind.LIST, text)]
        return [item for item in found or [strip_markers(text).strip(" .")] if item], no_answer

    def _new_items(self, candidates: list[_Item], known: list[_Item]) -> list[_Item]:
        """The candidates that name nothing already known: not the same words (or within them), nor, across
        languages, the same thing by the embedding model."""
        kept: list[_Item] = []
        for item in candidates:
            if not any(_same_words(item.text, other.text) for other in known + kept):
                kept.append(item)
        if not kept or not known:
            return kept
        vectors = self.embedder.embed_documents([i.text for i in known] + [i.text for i in kept])
        known_vectors = vectors[: len(known)]
        return [
            item
            for item, vector in zip(kept, vectors[len(known) :], strict=True)
            if max(cosines(vector, known_vectors)) < SAME_ITEM_COSINE
        ]


def _list_chunks(prepared: Prepared, count: int, min_relevance: float) -> list[StoredChunk]:
    """The chunk the model reads whole first, then the next retrieved chunks relevant enough to be asked."""
    lead = prepared.passages[0].chunk.chunk_id
    first = [c for c in prepared.retrieved if c.chunk_id == lead]
    rest = [c for c in prepared.retrieved if c.chunk_id != lead and c.score >= min_relevance]
    return (first + rest)[:count]


def _merged(prepared: Prepared, asked: list[Prepared]) -> Prepared:
    """The question with every asked passage, numbered one after another."""
    passages: list[Passage] = []
    for one in asked:
        passages += [replace(p, number=len(passages) + 1) for p in one.passages]
    return replace(prepared, passages=tuple(passages))


def _listed(items: list[_Item], asked: list[Prepared], lang: str) -> Repaired:
    """The items joined ("A [1], B [1] and C [2]"), each marked with its passage, numbered by first use."""
    first_number = [sum(len(one.passages) for one in asked[:i]) + 1 for i in range(len(asked))]
    used: list[int] = []
    marked = []
    for item in items:
        number = first_number[item.chunk]
        if number not in used:
            used.append(number)
        marked.append(f"{item.text} [{used.index(number) + 1}]")
    text = marked[0] if len(marked) == 1 else f"{', '.join(marked[:-1])} {_AND.get(lang, 'and')} {marked[-1]}"
    return Repaired(text=text, used=used, markers_total=len(marked))


def _same_words(a: str, b: str) -> bool:
    first, second = (_ARTICLE.sub("", x.casefold()).strip() for x in (a, b))
    return first == second or (min(len(first), len(second)) >= 4 and (first in second or second in first))
