"""Whether the articles hold what an answer claims, read from more than one signal.

P(no-answer) alone does not separate unanswerable questions: half of them fall below 0.01 (docs/evaluation.md).
A near miss asks about a right name with a wrong date, place, person or detail; the model then answers from
the passage that holds the right name. What gives it away is the question's own terms: a name, number, month
or (in German, every capitalised) noun that the cited passages do not hold. Beside it: how close the question
comes to the best sentence of the cited passage, by the embedding model, which also works across languages;
and self-consistency (Farquhar et al., Nature 2024): short answers sampled from the same prompt that disagree
with the answer flag an invention.

The answer policy (rag.policy) turns these signals into a refusal (clear cases) or an answer marked uncertain.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher

from rag.answering.citations import strip_markers
from rag.answering.numbers import MONTH_WORDS, NUMBER_WORDS, name_numbers, number_value, numbers_held
from rag.models.llm import NO_ANSWER
from rag.question.text import ALL_QUESTION_WORDS

_TOKEN = re.compile(r"[^\W_][\w'’-]*")
_DIGITS = re.compile(r"[0-9]")
# Capitalised words that are no term of the question: pronouns, and words that open a clause.
_NOT_TERMS_TEXT = (
    "i sie ihr ihre ihnen ihrem ihren ihrer er es wir laut according gemäß nach in im am an auf bei the a der "
    "die das den dem des ein eine einer eines einem einen und and or oder"
)
_NOT_TERMS = frozenset(_NOT_TERMS_TEXT.split())
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
_SUFFIXES = ("ungen", "en", "er", "es", "e", "s", "n")
_FUZZY = 0.8  # a name spelled another way across languages ("Shoigu", "Schoigu") still counts as held


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower().translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("’", "'")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 4 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def question_terms(question: str) -> tuple[str, ...]:
    """The question's terms that a source answering it must hold: numbers that are no name's part, months,
    and capitalised words that do not open the question (names, and German nouns), each once, in order."""
    named = name_numbers(question)
    tokens = _TOKEN.findall(question)
    # "Atom- oder Raketenprogramme": the first word's half before the hyphen is no term of its own.
    terms = [token for i, token in enumerate(tokens) if not token.endswith("-") and _is_term(token, i == 0, named)]
    return tuple(dict.fromkeys(terms))


def _is_term(token: str, opens: bool, named: set[str]) -> bool:
    """Whether a token is a term; `opens`: it is the question's first word (capitalised as such)."""
    folded = _fold(token)
    if _DIGITS.search(token):
        return number_value(re.sub(r"[^0-9.,]", "", token).strip(".,") or "0") not in named
    if folded in NUMBER_WORDS and token[:1].isupper():
        return True  # a month ("Mai", "October"), or a number spelled out
    capitalised = token[:1].isupper() and not opens
    return capitalised and len(folded) >= 3 and folded not in _NOT_TERMS and folded not in ALL_QUESTION_WORDS


def language_neutral(terms: Sequence[str]) -> tuple[str, ...]:
    """The terms that read alike in every language: numbers and months. Names and nouns change across
    languages ("Moscow", "Moskau"; "Lavrov", "Lawrow") beyond what spelling alone can match."""
    return tuple(t for t in terms if _DIGITS.search(t) or _fold(t) in MONTH_WORDS)


def unheld_terms(terms: Sequence[str], sources: Iterable[str]) -> tuple[str, ...]:
    """The terms none of the sources holds: a number by value, a month by name (either language), a word by
    its stem, within a compound, or spelled nearly alike."""
    text = " ".join(sources)
    folded_text = _fold(text)
    words = {w for w in (_fold(t) for t in _TOKEN.findall(text)) if len(w) >= 3}
    values = numbers_held(text)
    return tuple(term for term in terms if not _held(term, folded_text, words, values))


def _held(term: str, folded_text: str, words: set[str], values: set[str]) -> bool:
    folded = _fold(term)
    if _DIGITS.search(term):
        digits = re.sub(r"[^0-9.,]", "", term).strip(".,")
        return bool(digits) and number_value(digits) in values
    if folded in MONTH_WORDS:  # by name in either language, not by a day's or a count's number
        return any(w in MONTH_WORDS and NUMBER_WORDS[w] == NUMBER_WORDS[folded] for w in words)
    if folded in NUMBER_WORDS:
        return NUMBER_WORDS[folded] in values
    if _stem(folded) in folded_text:
        return True
    return any(
        word[0] == folded[0]
        and abs(len(word) - len(folded)) <= 3
        and SequenceMatcher(None, folded, word).ratio() >= _FUZZY
        for word in words
    )


_ARTICLES = frozenset(
    ["the", "a", "an", "der", "die", "das", "den", "dem", "des", "ein", "eine", "einer", "eines", "einem", "einen"]
)


def _answer_words(text: str) -> frozenset[str]:
    return frozenset(w for w in (_fold(t) for t in _TOKEN.findall(strip_markers(text))) if w not in _ARTICLES)


def agreement(answer: str, samples: Sequence[str]) -> float | None:
    """The share of sampled answers that say what the answer says: the same words, within one another, or more than half
    their words shared; a sampled no-answer disagrees. None without samples."""
    if not samples:
        return None
    said = _answer_words(answer)
    agreeing = 0
    for sample in samples:
        words = _answer_words(sample)
        if not words or sample.strip().startswith(NO_ANSWER):
            continue
        shared = len(said & words) / max(1, min(len(said), len(words)))
        agreeing += said <= words or words <= said or shared > 0.5
    return round(agreeing / len(samples), 3)
