"""A question that asks two things, split into two questions that can each be answered from one passage.

"What did Lavrov call the proposal, and where did Poland present it?" asks two questions; "… according
to Peskov and according to the foreign ministry?" and "… for NATO and for Russia?" ask one question of two
sources. The 1.5B model answers the first part and drops the second (docs/evaluation.md, "Two-part
questions"), and the second part's answer is often in another chunk than the first's. Split, each part
gets its own retrieval, best chunk and answer.

Only these forms are split; "Name X and Y", "Which two things …" and "… jeweils" stay one question.
"""

from __future__ import annotations

import re

from rag.question.text import last_question, question_words

_PREPOSITION = r"(?:\w+\s+)?"  # "and in which city", "und mit welcher Krise"
# Two sources of one question: "… laut X und laut Y?", "… according to X and according to Y?".
_TWO_SOURCES = re.compile(
    r"^(?P<head>.*?)(?P<first>\b(?:laut|according to)\b.+?)\s*,?\s+(?:und|and)\s+(?P<second>(?:laut|according to)\b.+?)"
    r"\s*\?$",
    re.IGNORECASE | re.DOTALL,
)
# One preposition repeated for two objects: "… for NATO and for Russia?".
_REPEATED_PREPOSITION = re.compile(
    r"^(?P<head>.*?)\b(?P<prep>for|für|bei|from)\s+(?P<first>[\w-]+(?:\s+[\w-]+)?)\s+(?:and|und)\s+(?P=prep)\s+"
    r"(?P<second>[^?]+?)\s*\?$",
    re.IGNORECASE | re.DOTALL,
)


def _second_question_pattern(lang: str) -> re.Pattern[str]:
    """ "<a question>, and <a question word> …?" in `lang`, with the question words rag.question.kind reads."""
    words = "|".join(sorted(question_words(lang), key=len, reverse=True))
    return re.compile(
        rf"^(?P<first>.*\b(?:{words})\b.*?)\s*,?\s+(?:and|und)\s+(?P<second>{_PREPOSITION}(?:{words})\b[^?]*)\?$",
        re.IGNORECASE | re.DOTALL,
    )


_SECOND_QUESTION = {lang: _second_question_pattern(lang) for lang in ("de", "en")}


_PRONOUNS = frozenset(
    re.findall(
        r"\w+",
        "it its he his him she her they them their this these er sie es ihr ihre ihren ihrer ihm ihn sein seine "
        "seinen seiner seinem dies diese dieser",
    )
)


def search_text(parts: tuple[str, ...], index: int) -> str:
    """What to retrieve for part `index`: the part, after the first part when it refers back to it with a
    pronoun ("… and where did Poland present it?")."""
    part = parts[index]
    refers_back = index > 0 and not _PRONOUNS.isdisjoint(re.findall(r"\w+", part.lower()))
    return f"{parts[0]} {part}" if refers_back else part


def question_parts(question: str, lang: str) -> tuple[str, ...]:
    """The two questions `question` asks, each with the sentences that lead up to it; () when it asks one."""
    preface, asked = last_question(question.strip())
    return with_preface(preface, two_questions(asked, lang))


def with_preface(preface: str, two: tuple[str, str] | None) -> tuple[str, ...]:
    """The two questions, each after the sentences that lead up to them; () for none."""
    if not two:
        return ()
    return tuple(f"{preface} {part}".strip() for part in two)


def two_questions(asked: str, lang: str) -> tuple[str, str] | None:
    """The two questions of one asked sentence, or None; rag.question.kind reads a question with two as a list."""
    if match := _TWO_SOURCES.match(asked):
        head = match["head"]
        return f"{head}{match['first'].rstrip(' ,')}?", f"{head}{match['second']}?"
    if match := _REPEATED_PREPOSITION.match(asked):
        head, prep = match["head"], match["prep"]
        return f"{head}{prep} {match['first']}?", f"{head}{prep} {match['second']}?"
    if match := _SECOND_QUESTION.get(lang, _SECOND_QUESTION["en"]).match(asked):
        first, second = match["first"].rstrip(" ,;"), match["second"].strip()
        # Two question words in one clause ("wann und wie …?") are one question.
        if len(first.split()) < 3:
            return None
        return f"{first}?", f"{second[:1].upper()}{second[1:]}?"
    return None
