"""Check and repair the model's [n] markers: the model is small, so the code has the last word."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.answering.textsim import support
from rag.sentences import split_sentences

# A citation marker, "[1]" or "[2, 3]": the one pattern the checker, metrics, refusal test and UI share.
MARKER = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]")
_MARKER_WITH_SPACE = re.compile(r"\s*" + MARKER.pattern)
MIN_SUPPORT = 0.34  # below this share of content words, a passage does not back an unmarked sentence
MIN_SEMANTIC = 0.45  # cosine of claim and passage embeddings; unrelated passages score about 0.2

# Scores a claim against every passage, e.g. with the embedding model, for claims in another language.
SemanticScorer = Callable[[str], list[float]]


@dataclass
class Repaired:
    text: str
    used: list[int] = field(default_factory=list)  # passage numbers (1-based, as in the prompt) in new order
    markers_total: int = 0
    markers_invalid: int = 0
    markers_added: int = 0
    markers_moved: int = 0  # markers pointed at a passage without the sentence's words, moved to one with them
    unsupported: list[str] = field(default_factory=list)  # sentences no passage backs


def marker_group_numbers(group: str) -> list[int]:
    """The numbers in a marker's group, "2, 3" -> [2, 3]."""
    return [int(n) for n in re.split(r"\s*,\s*", group.strip())]


def strip_markers(text: str) -> str:
    """The text without its citation markers (and the space before each)."""
    return _MARKER_WITH_SPACE.sub("", text)


def _best_passage(text: str, passages: list[str], semantic: SemanticScorer | None) -> int | None:
    if not passages:
        return None
    lexical = [support(text, p) for p in passages]
    best = max(range(len(passages)), key=lexical.__getitem__)
    if lexical[best] >= MIN_SUPPORT:
        return best
    if semantic is None:
        return None
    scores = semantic(text)
    best = max(range(len(passages)), key=scores.__getitem__)
    return best if scores[best] >= MIN_SEMANTIC else None


def _moved(text: str, cited: list[int], passages: list[str]) -> int | None:
    """The passage (1-based) to cite instead, when no cited passage holds the sentence's words and another does.

    The 1.5B model often cites [1] for an answer it took from [2]; the quote shown beside the answer then comes
    from the wrong source. Only a lexical match moves a marker: an answer in another language keeps its own.
    """
    if not passages or any(support(text, passages[n - 1]) >= MIN_SUPPORT for n in cited):
        return None
    best = _best_passage(text, passages, None)
    return None if best is None else best + 1


def repair(answer: str, passages: list[str], semantic: SemanticScorer | None = None) -> Repaired:
    """Drop markers that point at no passage, move misplaced ones, back unmarked sentences, renumber by first use.

    Passages are numbered 1..len(passages) in the prompt. The result's markers are renumbered 1..k
    in order of first use, and `used[i]` is the prompt number of new marker i+1.
    """
    result = Repaired(text="")
    sentences = []
    for sentence in split_sentences(answer):
        cited: list[int] = []

        def collect_valid_markers(match: re.Match[str], cited: list[int] = cited) -> str:
            """Note the valid numbers of a marker and count the invalid ones; the marker itself is removed."""
            for n in marker_group_numbers(match.group(1)):
                result.markers_total += 1
                if 1 <= n <= len(passages):
                    if n not in cited:
                        cited.append(n)
                else:
                    result.markers_invalid += 1
            return ""

        text = re.sub(r"\s+([.!?])", r"\1", MARKER.sub(collect_valid_markers, sentence.text)).strip()
        if not re.search(r"\w", text):
            continue
        moved = _moved(text, cited, passages) if cited else None
        if moved is not None:
            cited[:] = [moved]
            result.markers_moved += 1
        if not cited:
            best = _best_passage(text, passages, semantic)
            if best is not None:
                cited.append(best + 1)
                result.markers_added += 1
            else:
                result.unsupported.append(text)
        sentences.append((text, cited))
    parts = []
    for text, cited in sentences:
        numbers = []
        for n in cited:
            if n not in result.used:
                result.used.append(n)
            numbers.append(result.used.index(n) + 1)
        parts.append(_attach(text, numbers))
    # Sentences joined can form a marker the model never wrote ("[0" + "]0" -> "[0 ]"): drop any invalid one.
    result.text = MARKER.sub(
        lambda m: m.group(0) if all(1 <= n <= len(result.used) for n in marker_group_numbers(m.group(1))) else "",
        " ".join(parts),
    )
    return result


def _attach(sentence: str, numbers: list[int]) -> str:
    if not numbers:
        return sentence
    markers = "".join(f"[{n}]" for n in numbers)
    match = re.search(r"[.!?…]+[«»“”\"']*$", sentence)
    if match:
        return f"{sentence[: match.start()]} {markers}{sentence[match.start() :]}".replace("  ", " ")
    return f"{sentence} {markers}"


def renumber_markers(text: str, offset: int) -> str:
    """The text with every number of its markers shifted by `offset` ("[1]" -> "[3]" for 2)."""
    if not offset:
        return text
    return MARKER.sub(lambda m: re.sub(r"\d+", lambda d: str(int(d.group(0)) + offset), m.group(0)), text)


def marker_numbers(text: str) -> list[int]:
    return [n for m in MARKER.finditer(text) for n in marker_group_numbers(m.group(1))]
