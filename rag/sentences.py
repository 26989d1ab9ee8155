"""German-aware sentence splitting for news text ("Adm.", "z. B.", "23. Oktober", „…“, «…»).

Every offset refers to the string that was passed in: ``text[s.start:s.end] == s.text``.
Nothing in this module raises on any string input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A run of sentence terminators plus the closing quotes/brackets glued to it (`beenden.“`).
_TERMINATOR_RE = re.compile(r"[.!?…]+[\"'“”»«’)\]]*")
_TERMINATOR_AT_END_RE = re.compile(_TERMINATOR_RE.pattern + "$")
# Everything str.splitlines() treats as a line break: each one is a sentence boundary.
_LINE_BREAK_RE = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_OPENING_PUNCT = "([{„“”\"'«»‚‘’"
_DASHES = "-–—"


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Compared lower-cased; a period after one of these never ends a sentence.
_ABBREVIATIONS = _word_set(
    """
    abs adm bd bspw bzw ca capt co col corp dipl dr etc evtl gen ggf gov hrsg ing inkl inc jh jr lt ltd
    maj mio mr mrd mrs ms nr prof rep sen sgt sog sr st str tel usw vgl zzgl
    jan feb apr jun jul aug sep sept okt oct nov dez dec
    """
)
_MONTHS = _word_set("januar jänner februar märz april mai juni juli august september oktober november dezember")
# Nouns that typically follow an ordinal number: "im 19. Jahrhundert", "zum 2. Mal".
_ORDINAL_NOUNS = _word_set(
    """
    jahrhundert jahrhunderts jahrestag jahrestags mal platz stelle stock klasse liga runde armee division
    brigade weltkrieg weltkriegs kapitel geburtstag geburtstags todestag todestags
    """
)
# Words that put a following number into ordinal position: "der 3. Weltkrieg", "am 1. Januar".
_ORDINAL_PRECEDERS = _word_set(
    """
    der die das dem den des am im zum zur vom beim ins ans jeder jede jedes jedem jeden
    sein seine seinem seinen seiner seines ihr ihre ihrem ihren ihrer ihres unser unsere unserem unseren
    unserer unseres dieser diese diesem diesen dieses
    """
)
_ORDINAL_FOLLOWERS = _MONTHS | _ORDINAL_NOUNS
_DOTTED_ABBREVIATION_RE = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # "U.S", "z.B", "D.C" (final dot excluded)
_WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str  # == source[start:end]


def trimmed(text: str, start: int, end: int) -> Sentence | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Sentence(start, end, text[start:end]) if start < end else None


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _LINE_BREAK_RE.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _word_before(text: str, end: int, floor: int) -> tuple[str, int]:
    """The whitespace-delimited token ending at `end`, without opening quotes/brackets, and its start."""
    start = end
    while start > floor and not text[start - 1].isspace():
        start -= 1
    while start < end and text[start] in _OPENING_PUNCT:
        start += 1
    return text[start:end], start


def _word_after(text: str, start: int, end: int) -> str:
    match = _WORD_RE.match(text, start, end)
    return match.group() if match else ""


def _next_starts_lowercase(text: str, pos: int, end: int) -> bool:
    # Look past dashes too: `„Wir kommen.“ – so der Minister` is one sentence.
    while pos < end and (text[pos].isspace() or text[pos] in _DASHES):
        pos += 1
    return pos < end and text[pos].islower()


def _is_ordinal(text: str, number_start: int, next_word_at: int, line_start: int, line_end: int) -> bool:
    """Whether the number ending before a period is an ordinal ("23. Oktober", "der 3. Weltkrieg")."""
    previous_end = number_start
    while previous_end > line_start and text[previous_end - 1].isspace():
        previous_end -= 1
    if previous_end == line_start:
        return True  # a number opening the line: a date or an enumerated list item
    if _word_after(text, next_word_at, line_end).lower() in _ORDINAL_FOLLOWERS:
        return True
    previous, _ = _word_before(text, previous_end, line_start)
    return previous.lower() in _ORDINAL_PRECEDERS


def _period_ends_sentence(text: str, period: int, next_at: int, line_start: int, line_end: int) -> bool:
    token, token_start = _word_before(text, period, line_start)
    if not token:
        return True
    if token.lower() in _ABBREVIATIONS or _DOTTED_ABBREVIATION_RE.fullmatch(token):
        return False
    if len(token) == 1 and token.isalpha():
        return False  # an initial ("J. F. Kennedy") or part of "z. B." / "u. a."
    if token.isdigit() and len(token) <= 3:
        return not _is_ordinal(text, token_start, next_at, line_start, line_end)
    return True


def _is_boundary(text: str, match: re.Match[str], line_start: int, line_end: int) -> bool:
    end = match.end()
    if end >= line_end:
        return True
    if not text[end].isspace():
        return False  # "z.B.", "1.000", "3.5", URLs, or `“, sagte er`
    if _next_starts_lowercase(text, end, line_end):
        return False
    next_at = end
    while next_at < line_end and text[next_at].isspace():
        next_at += 1
    if match.group() == ".":
        return _period_ends_sentence(text, match.start(), next_at, line_start, line_end)
    return True


def split_sentences(text: str) -> list[Sentence]:
    """Split `text` into sentences; every line break is a boundary, whitespace is excluded."""
    sentences: list[Sentence] = []
    for line_start, line_end in _line_spans(text):
        start = line_start
        for match in _TERMINATOR_RE.finditer(text, line_start, line_end):
            if _is_boundary(text, match, line_start, line_end):
                sentence = trimmed(text, start, match.end())
                if sentence:
                    sentences.append(sentence)
                start = match.end()
        sentence = trimmed(text, start, line_end)
        if sentence:
            sentences.append(sentence)
    return sentences


def ends_with_terminator(text: str) -> bool:
    """Whether `text` ends like a sentence (a terminator, maybe inside closing quotes); a headline does not."""
    return _TERMINATOR_AT_END_RE.search(text) is not None
