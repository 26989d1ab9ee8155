"""Tell German from English with stop words: cheap, deterministic and good enough for two languages."""

from __future__ import annotations

import re
from collections.abc import Iterable

Language = str  # "de" or "en"

_GERMAN = frozenset(
    [
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "ein",
        "eine",
        "einen",
        "dem",
        "den",
        "des",
        "mit",
        "von",
        "zu",
        "auf",
        "für",
        "sich",
        "auch",
        "wie",
        "wer",
        "was",
        "wann",
        "warum",
        "welche",
        "welcher",
        "welches",
        "wurde",
        "wurden",
        "hat",
        "haben",
        "sind",
        "war",
        "waren",
        "im",
        "am",
        "zum",
        "zur",
        "über",
        "nach",
        "bei",
        "aus",
        "dass",
        "oder",
        "sie",
        "er",
        "es",
        "wir",
        "ihr",
        "ich",
        "noch",
        "nur",
        "sagte",
        "laut",
        "gegen",
        "seine",
        "seiner",
        "ihre",
        "ihrer",
        "werden",
        "wird",
        "kann",
        "können",
        "soll",
        "sollen",
        "mehr",
        "einem",
        "einer",
        "eines",
        "diese",
        "dieser",
        "dieses",
        "um",
        "durch",
        "wo",
        "wie",
        "viele",
        "welchen",
        "hatte",
    ]
)
_ENGLISH = frozenset(
    [
        "the",
        "and",
        "is",
        "are",
        "not",
        "a",
        "an",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "from",
        "that",
        "this",
        "which",
        "who",
        "what",
        "when",
        "why",
        "how",
        "was",
        "were",
        "has",
        "have",
        "had",
        "did",
        "does",
        "do",
        "it",
        "its",
        "he",
        "she",
        "they",
        "their",
        "his",
        "her",
        "be",
        "been",
        "will",
        "would",
        "can",
        "could",
        "should",
        "said",
        "says",
        "according",
        "about",
        "against",
        "after",
        "many",
        "much",
        "whom",
        "whose",
        "where",
        "there",
        "than",
        "into",
    ]
)
_WORD = re.compile(r"[a-zäöüß]+")


def detect_language(text: str, default: Language = "de") -> Language:
    words = _WORD.findall(text.lower())
    german = sum(w in _GERMAN for w in words) + 2 * len(re.findall(r"[äöüß]", text.lower()))
    english = sum(w in _ENGLISH for w in words)
    if german == english:
        return default
    return "de" if german > english else "en"


_SOURCE_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+(?:-[A-Za-zÄÖÜäöüß]+)*")
# Stop words that are English words too ("die", "war", "am") or too slight to prove anything ("oder", "wo").
_GERMAN_ONLY = _GERMAN - _ENGLISH - {"am", "die", "er", "es", "hat", "oder", "war", "wo"}
_GERMAN_SUFFIX = re.compile(r"(ungen|ung|keit|heit|schaft|lich|isch|ische|ischen|ern|chen)$")


def untranslated_words(text: str, question: str, sources: Iterable[str]) -> list[str]:
    """German words an English text took over from its German sources ("offensive Bemühungen").

    A word counts when the sources hold it, the question does not (names asked about stay), and it is
    German by form: a German-only function word, an umlaut or ß, or a German noun/adjective ending.
    Only German sources are judged: from English ones a name like "Hoesung" stays.
    """
    sources = list(sources)
    if detect_language(" ".join(sources), default="en") != "de":
        return []
    source_words = {w.lower() for s in sources for w in _SOURCE_WORD.findall(s)}
    question_words = {w.lower() for w in _SOURCE_WORD.findall(question)}
    found = []
    for word in _SOURCE_WORD.findall(text):
        lower = word.lower()
        if lower in question_words or lower not in source_words or lower in _ENGLISH:
            continue
        german_form = re.search("[äöüß]", lower) or (len(lower) > 5 and _GERMAN_SUFFIX.search(lower))
        if lower in _GERMAN_ONLY or german_form:
            found.append(word)
    return found
