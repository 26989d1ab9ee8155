"""Extractive answer: the retrieved sentences that best match the question, each cited. No LLM."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rag.answering.citations import MIN_SUPPORT
from rag.answering.textsim import sentence_score, support
from rag.sentences import ends_with_terminator
from rag.types import StoredChunk

MAX_SENTENCES = 2
# How close in meaning a claim is to each of some sentences (higher is closer), for claims and sentences in
# different languages, where shared words say little.
SentenceSimilarity = Callable[[str, list[str]], list[float]]


@dataclass(frozen=True)
class PickedSentence:
    chunk: StoredChunk
    start: int  # absolute offsets into the document text
    end: int
    text: str
    score: float


def chunk_sentences(chunk: StoredChunk) -> list[tuple[int, int, str]]:
    return [(s, e, chunk.slice(s, e)) for s, e in chunk.spans()]


def best_sentence(
    claim: str, chunk: StoredChunk, question: str = "", similarity: SentenceSimilarity | None = None
) -> tuple[int, int, str]:
    """The sentence that holds most of the claim's words; then a sentence over a headline; then the question's.
    With `similarity`, a claim that no sentence holds enough words of (an English claim over a German
    chunk) takes the sentence closest in meaning instead."""
    sentences = chunk_sentences(chunk)
    if similarity is not None and max(support(claim, s[2]) for s in sentences) < MIN_SUPPORT:
        scores = similarity(claim, [s[2] for s in sentences])
        return sentences[max(range(len(sentences)), key=scores.__getitem__)]
    return max(
        sentences,
        key=lambda s: (round(support(claim, s[2]), 2), ends_with_terminator(s[2]), support(question, s[2])),
    )


def pick_sentences(question: str, chunks: list[StoredChunk], limit: int = MAX_SENTENCES) -> list[PickedSentence]:
    candidates = [
        PickedSentence(chunk, s, e, text, sentence_score(question, text, chunk.score))
        for chunk in chunks
        for s, e, text in chunk_sentences(chunk)
        if len(text) > 20
    ]
    # Quote sentences, not headlines, unless a passage has nothing else.
    candidates = [c for c in candidates if ends_with_terminator(c.text)] or candidates
    candidates.sort(key=lambda c: c.score, reverse=True)
    picked: list[PickedSentence] = []
    for candidate in candidates:
        if len(picked) >= limit:
            break
        if all(candidate.text != p.text for p in picked):
            picked.append(candidate)
    return picked
