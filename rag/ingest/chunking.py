"""Sentence-aligned chunking.

Every offset refers to the document text, so ``doc.text[chunk.start:chunk.end] == chunk.text``
holds exactly; the same is true for each sentence. Nothing in this module raises on any string input.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from rag.sentences import Sentence, split_sentences, trimmed
from rag.types import Document

CHUNKER_VERSION = "2"  # bump when chunk boundaries or document parsing change (2: titles stay in the text)

_BLANK_LINE_RE = re.compile(r"\n[^\S\n]*\n")


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    chunk_index: int
    text: str  # == document.text[start:end]
    start: int
    end: int
    sentences: tuple[Sentence, ...]  # absolute offsets into the document text


def _split_long(text: str, sentence: Sentence, max_chars: int) -> list[Sentence]:
    """Cut an over-long sentence into pieces of at most `max_chars`, at word boundaries where possible."""
    pieces: list[Sentence] = []
    start, end = sentence.start, sentence.end
    while True:
        while start < end and text[start].isspace():
            start += 1
        if end - start <= max_chars:
            break
        window = text[start : start + max_chars + 1]
        cut = max((i for i, ch in enumerate(window) if ch.isspace()), default=0)
        cut = start + (cut if cut > 0 else max_chars)
        piece = trimmed(text, start, cut)
        if piece:
            pieces.append(piece)
        start = cut
    rest = trimmed(text, start, end)
    return [*pieces, rest] if rest else pieces


def _units(text: str, max_chars: int) -> list[Sentence]:
    units: list[Sentence] = []
    for sentence in split_sentences(text):
        too_long = len(sentence.text) > 2 * max_chars
        units.extend(_split_long(text, sentence, max_chars) if too_long else [sentence])
    return units


def _paragraph_break_after(text: str, units: list[Sentence], index: int) -> bool:
    return _BLANK_LINE_RE.search(text, units[index].end, units[index + 1].start) is not None


def _group_end(text: str, units: list[Sentence], start: int, first_new: int, max_chars: int) -> int:
    """Exclusive end of the chunk starting at unit `start` that must include unit `first_new`."""
    end = first_new + 1
    while end < len(units) and units[end].end - units[start].start <= max_chars:
        end += 1
    if end == len(units) or _paragraph_break_after(text, units, end - 1):
        return end
    # Prefer ending at a paragraph break once the chunk is at least half full.
    for candidate in range(end - 1, first_new, -1):
        half_full = 2 * (units[candidate - 1].end - units[start].start) >= max_chars
        if half_full and _paragraph_break_after(text, units, candidate - 1):
            return candidate
    return end


def _groups(text: str, units: list[Sentence], max_chars: int, overlap: int) -> list[tuple[int, int]]:
    groups: list[tuple[int, int]] = []
    first_new = 0  # first unit not yet in any chunk
    while first_new < len(units):
        start = max(first_new - overlap, groups[-1][0]) if groups else 0
        # Drop overlap sentences that would not leave room for new text.
        while start < first_new and units[first_new].end - units[start].start > max_chars:
            start += 1
        end = _group_end(text, units, start, first_new, max_chars)
        groups.append((start, end))
        first_new = end
    return groups


def _chunk_id(doc_id: str, start: int, text: str) -> str:
    return hashlib.sha256(f"{doc_id}\x00{start}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()[:24]


def chunk_text(text: str, doc_id: str, max_chars: int = 800, overlap_sentences: int = 1) -> list[Chunk]:
    """Pack consecutive sentences into chunks of at most `max_chars` (a lone long sentence may exceed it)."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if overlap_sentences < 0:
        raise ValueError(f"overlap_sentences must not be negative, got {overlap_sentences}")
    units = _units(text, max_chars)
    chunks: list[Chunk] = []
    for index, (first, end) in enumerate(_groups(text, units, max_chars, overlap_sentences)):
        start, stop = units[first].start, units[end - 1].end
        body = text[start:stop]
        chunks.append(Chunk(_chunk_id(doc_id, start, body), doc_id, index, body, start, stop, tuple(units[first:end])))
    return chunks


def chunk_document(doc: Document, max_chars: int = 800, overlap_sentences: int = 1) -> list[Chunk]:
    return chunk_text(doc.text, doc.doc_id, max_chars, overlap_sentences)
