"""The answers to the parts of a two-part question, joined into one answer with one numbering of sources."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rag.answering.citations import renumber_markers
from rag.types import QUOTE_SEPARATOR, Answer, Citation

PART_BREAK = "\n"  # between the parts' answers: each on its own line, as they were streamed


def join_answers(answers: Sequence[Answer], refusal_sentence: str) -> Answer:
    """One answer: the parts' own words, a line each (a refused part says so), then the quoted source
    sentences; sources renumbered in order, so [1] of the second part becomes [n + 1] after n sources.
    Question, languages, kind and timings are the caller's to set."""
    words: list[str] = []
    quotes: list[str] = []
    citations: dict[int, Citation] = {}
    unsupported: list[str] = []
    for answer in answers:
        offset = len(citations)
        if answer.refused:
            words.append(refusal_sentence)
            continue
        words.append(renumber_markers(answer.claim.strip(), offset))
        if answer.quote:
            quotes.append(renumber_markers(answer.quote, offset))
        for n, citation in sorted(answer.citations.items()):
            citations[n + offset] = replace(citation, n=n + offset)
        unsupported += [renumber_markers(sentence, offset) for sentence in answer.unsupported_sentences]
    answered = [a for a in answers if not a.refused]
    first = answered[0]
    return replace(
        first,
        claim=PART_BREAK.join(words),
        quote=QUOTE_SEPARATOR.join(quotes),
        citations=citations,
        refused=False,
        retrieved=tuple({c.chunk_id: c for a in answers for c in a.retrieved}.values()),  # first part's first
        verdict=None,
        items=tuple(words),
        markers_total=sum(a.markers_total for a in answered),
        markers_invalid=sum(a.markers_invalid for a in answered),
        markers_added=sum(a.markers_added for a in answered),
        markers_moved=sum(a.markers_moved for a in answered),
        unsupported_sentences=tuple(unsupported),
        language_retry=any(a.language_retry for a in answered),
        no_answer_probability=None,
        parts=tuple(a.question for a in answers),
        # Each part was judged on its own: the joined answer keeps the first doubt, and every unheld term.
        question_terms=tuple(dict.fromkeys(t for a in answered for t in a.question_terms)),
        unheld_terms=tuple(dict.fromkeys(t for a in answered for t in a.unheld_terms)),
        question_similarity=min(
            (a.question_similarity for a in answered if a.question_similarity is not None), default=None
        ),
        doubt=next((a.doubt for a in answered if a.doubt), None),
    )
