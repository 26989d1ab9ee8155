"""Lexical overlap between short texts, used to pick supporting passages and extractive sentences."""

from __future__ import annotations

import re
from functools import lru_cache

from rag.question.language import _ENGLISH, _GERMAN

_WORD = re.compile(r"\w+", re.UNICODE)
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "s"})
_STOP = _GERMAN | _ENGLISH


def _stem(word: str) -> str:
    # Crude suffix cut: enough to match "Atomwaffen"/"Atomwaffe" or "missiles"/"missile".
    for suffix in ("en", "er", "es", "e", "s", "n"):
        if len(word) > 4 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=4096)
def content_words(text: str) -> frozenset[str]:
    words = (w.lower() for w in _WORD.findall(text))
    return frozenset(_stem(w.translate(_FOLD)) for w in words if w not in _STOP and len(w) > 1)


def support(claim: str, source: str) -> float:
    """Share of the claim's content words that the source contains (0..1)."""
    claim_words = content_words(claim)
    if not claim_words:
        return 0.0
    return len(claim_words & content_words(source)) / len(claim_words)


LEXICAL_WEIGHT = 0.6  # the rest is the chunk's retrieval score, which carries cross-lingual matches


def sentence_score(question: str, sentence: str, chunk_score: float) -> float:
    """How well a retrieved sentence answers the question: its share of the question's words, blended with
    its chunk's retrieval score. Shared by the extractive answer and the focused passages."""
    return LEXICAL_WEIGHT * support(question, sentence) + (1 - LEXICAL_WEIGHT) * chunk_score
