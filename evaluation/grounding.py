"""Invented numbers: the numbers of an answer that none of the passages it was given contains.

Numbers are compared by value, so the German and English ways of writing one agree ("1.000",
"1,000" and "1000"; "4,5" and "4.5"), while a shifted decimal ("45" for "4,5") does not.
Spelled-out numbers ("drei", "three") are not numbers here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rag.citations import strip_markers

_NUMBER = re.compile(r"[0-9]+(?:[.,'’][0-9]+)*")
_NUMBER_GROUP = re.compile(r"[.,'’]")


def number_value(written: str) -> str:
    """Canonical form of a written number: "1.000", "1,000", "1'000" -> "1000"; "4,5", "4.5" -> "4.5"."""
    groups = _NUMBER_GROUP.split(written)
    # German and English swap "." and ",", so the separator's role is read from what follows
    # the last one: exactly three digits make it a thousands separator, anything else a decimal one.
    if len(groups) == 1 or len(groups[-1]) == 3:
        return str(int("".join(groups)))
    whole, fraction = str(int("".join(groups[:-1]))), groups[-1].rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def number_values(text: str) -> dict[str, str]:
    """The distinct numbers in `text`, in order: canonical form -> first spelling."""
    values: dict[str, str] = {}
    # NFKC turns full-width and other compatibility digits into ASCII ones.
    for written in _NUMBER.findall(unicodedata.normalize("NFKC", text)):
        values.setdefault(number_value(written), written)
    return values


def invented_numbers(answer: str, passages: Iterable[str]) -> list[str]:
    """Numbers of the answer (as written, each once) that occur in none of the passages.

    Citation markers are not numbers of the answer; years count like any other number.
    """
    known: set[str] = set()
    for passage in passages:
        known |= number_values(passage).keys()
    found = number_values(strip_markers(answer))
    return [written for value, written in found.items() if value not in known]
