"""What an answer carries that a reader should not see: invented numbers, "Passage", a repeated question.

Untranslated source words are found by rag.question.language.untranslated_words, which the answer path uses too.

Numbers are compared by value, so the German and English ways of writing one agree ("1.000",
"1,000" and "1000"; "4,5" and "4.5"), while a shifted decimal ("45" for "4,5") does not.
Spelled-out numbers ("drei", "three") are not numbers here.

Only the model's words are judged for language and "Passage" (`model_words`): the verbatim quote the
pipeline adds under the short answer keeps the source's language by design.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.answering import content_words, number_values, strip_markers
from rag.types import split_quote

_PASSAGE = re.compile(r"\bPassages?\b")


def invented_numbers(answer: str, passages: Iterable[str]) -> list[str]:
    """Numbers of the answer (as written, each once) that occur in none of the passages.

    Citation markers are not numbers of the answer; years count like any other number.
    """
    known: set[str] = set()
    for passage in passages:
        known |= number_values(passage).keys()
    found = number_values(strip_markers(answer))
    return [written for value, written in found.items() if value not in known]


def model_words(answer: str) -> str:
    """The part of an answer the model wrote: without the quote the pipeline adds, and without markers.
    `answer` is an answer's text as an eval record keeps it (the claim of a live Answer is `answer.claim`)."""
    return strip_markers(split_quote(answer)[0])


def says_passage(answer: str) -> bool:
    """True when the model's words use "Passage" as a word, as in "Passage states that …"."""
    return bool(_PASSAGE.search(model_words(answer)))


# A statement may add one content word and still say nothing new: its verb ("Putin ordered …").
_ECHO_ALLOWANCE = {"statement": 1}


def repeats_question(answer: str, question: str, kind: str) -> bool:
    """True when the model's words add no content word to the question: "NATO Secretary General [1]" to
    "Who is the Secretary General of NATO?". A yes/no answer (its verdict is news) and a number (digits are
    no content words) never do."""
    if kind in ("yesno", "number"):
        return False
    new = content_words(strip_markers(model_words(answer))) - content_words(question)
    return len(new) <= _ECHO_ALLOWANCE.get(kind, 0)
