"""The shape of a finished answer, read once in code so that callers show it without re-deriving it:
the verdict that leads a yes/no answer, and the items of a list answer."""

from __future__ import annotations

import re
from collections.abc import Mapping

from rag.types import QuestionKind, Verdict

# The one table of verdict words: what the code writes (the calibrated verdict), reads back, and the chat shows.
VERDICT_WORDS: dict[str, dict[Verdict, str]] = {"de": {"yes": "Ja", "no": "Nein"}, "en": {"yes": "Yes", "no": "No"}}
_VERDICTS: dict[str, Verdict] = {w.lower(): v for words in VERDICT_WORDS.values() for v, w in words.items()}
_FIRST_WORD = re.compile(r"^\W*(\w+)")
# Between the items of a list: commas and semicolons, and the last "and" ("und", "sowie", "as well as").
_ITEM_BREAK = re.compile(r"\s*[;,]\s*(?:(?:and|und|sowie)\s+)?|\s+(?:and|und|sowie|as well as)\s+", re.IGNORECASE)


def verdict_of(kind: QuestionKind, text: str) -> Verdict | None:
    """ "yes" or "no" when a yes/no answer starts with one (Ja, Nein, Yes, No); else None."""
    if kind is not QuestionKind.YESNO:
        return None
    match = _FIRST_WORD.match(text)
    return _VERDICTS.get(match.group(1).lower()) if match else None


def items_of(kind: QuestionKind, text: str) -> tuple[str, ...]:
    """The items of a list answer, each with the markers that follow it; () for one item or another kind."""
    if kind is not QuestionKind.LIST:
        return ()
    body = text.strip().rstrip(".")
    items = tuple(item.strip() for item in _ITEM_BREAK.split(body) if item and item.strip())
    return items if len(items) >= 2 else ()


def verdict_words(lang: str) -> dict[Verdict, str]:
    """The words a yes/no answer starts with in `lang` (English for a language without its own)."""
    return VERDICT_WORDS.get(lang, VERDICT_WORDS["en"])


def calibrated_verdict(logprobs: Mapping[str, float], words: Mapping[Verdict, str], threshold: float) -> Verdict:
    """No when log P(no) - log P(yes) of the first word is above `threshold`. The 1.5B model starts nearly
    every yes/no answer with yes, yet ranks the no-answers higher (docs/evaluation.md, yes/no verdict)."""
    return "no" if logprobs[words["no"]] - logprobs[words["yes"]] > threshold else "yes"
