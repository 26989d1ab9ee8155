"""Numbers as values, and the numbers of an answer that its sources do not hold.

Numbers are compared by value, so the German and English ways of writing one agree ("1.000",
"1,000" and "1000"; "4,5" and "4.5"), while a shifted decimal ("45" for "4,5") does not. A source
that spells a number out ("drei Tage", "three days") or names a month ("2. März") holds it too:
the model writes "3" for either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rag.answering.citations import strip_markers

_NUMBER = re.compile(r"[0-9]+(?:[.,'’][0-9]+)*")
_NUMBER_GROUP = re.compile(r"[.,'’]")
_WORD = re.compile(r"[a-zäöüß]+")
# A date written with dots ("3.03.2023", "23.10.22") is three numbers, not a decimal.
_DOTTED_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{2,4})\b")

_SPELLED = {
    0: "null zero",
    1: "ein eine einen einem einer eins one first erste ersten",
    2: "zwei two second zweite zweiten",
    3: "drei three third dritte dritten",
    4: "vier four fourth vierte",
    5: "fünf five fifth fünfte",
    6: "sechs six sixth sechste",
    7: "sieben seven seventh siebte",
    8: "acht eight eighth achte",
    9: "neun nine ninth neunte",
    10: "zehn ten tenth zehnte",
    11: "elf eleven",
    12: "zwölf twelve dutzend dozen",
    20: "zwanzig twenty",
    30: "dreißig thirty",
    100: "hundert hundred",
    1000: "tausend thousand",
    1000000: "million millionen",
}
_MONTHS = (
    "januar january jänner",
    "februar february",
    "märz march",
    "april",
    "mai may",
    "juni june",
    "juli july",
    "august",
    "september",
    "oktober october",
    "november",
    "dezember december",
)
NUMBER_WORDS: dict[str, str] = {
    word: str(value)
    for value, words in [*_SPELLED.items(), *((i, m) for i, m in enumerate(_MONTHS, 1))]
    for word in words.split()
}


MONTH_WORDS: frozenset[str] = frozenset(word for month in _MONTHS for word in month.split())
# Capitalised words after which a number is a time, a quantity or a unit, not part of a name ("Jahr 1901").
_QUANTITY_WORDS = MONTH_WORDS | frozenset(
    " ".join(
        (
            "jahr jahre jahren jahrhundert jahrhunderts monat monate monaten woche wochen tag tage tagen stunde",
            "stunden minute minuten sekunden uhr prozent euro dollar pfund millionen milliarden kilometer meter",
            "tonnen grad platz nummer nr seite seiten",
            "year years century month months week weeks day days hour hours minute minutes seconds percent euros",
            "dollars pounds million millions billion billions kilometres kilometers miles metres meters tons",
            "degrees number no page pages",
        )
    ).split()
)
_TOKEN = re.compile(r"[\w'’-]+|[^\w\s]")


def name_numbers(text: str) -> set[str]:
    """Values of the numbers that are part of a name ("Super Bowl 50", "Apollo 11", "Artikel 5"): at most three
    digits right after a capitalised word that does not open the sentence and is no time, unit or quantity word.
    Such a number names a thing; it is no premise a source has to hold."""
    tokens = _TOKEN.findall(text)
    named: set[str] = set()
    for i in range(2, len(tokens)):
        number, before, opener = tokens[i], tokens[i - 1], tokens[i - 2]
        if not re.fullmatch(r"[0-9]{1,3}", number) or not before[:1].isupper() or opener in ".!?:;":
            continue
        following = tokens[i + 1 : i + 3]
        if before.lower() in _QUANTITY_WORDS or (
            following[:1] in ([","], ["."]) and following[1:2] and following[1].isdigit()
        ):
            continue  # a time or unit ("Uhr 5"), or the first group of "1.000" / "4,5"
        named.add(number_value(number))
    return named


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
    """The distinct numbers written in digits in `text`, in order: canonical form -> first spelling."""
    values: dict[str, str] = {}
    # NFKC turns full-width and other compatibility digits into ASCII ones.
    for written in _NUMBER.findall(unicodedata.normalize("NFKC", text)):
        values.setdefault(number_value(written), written)
    return values


def numbers_held(text: str) -> set[str]:
    """Every number `text` holds, in digits or as a word (a spelled-out number or a month)."""
    words = {NUMBER_WORDS[w] for w in _WORD.findall(text.lower()) if w in NUMBER_WORDS}
    return number_values(_split_dates(text)).keys() | words


def unsupported_numbers(answer: str, sources: Iterable[str]) -> list[str]:
    """Numbers of the answer (as written, each once) that none of the sources holds in any form.

    Citation markers are not numbers of the answer. A number that only the question holds counts as
    held when the question is passed among the sources.
    """
    held: set[str] = set()
    for source in sources:
        held |= numbers_held(source)
    found = number_values(_split_dates(strip_markers(answer)))
    return [written for value, written in found.items() if value not in held]


def _split_dates(text: str) -> str:
    return _DOTTED_DATE.sub(r"\1 \2 \3", text)
