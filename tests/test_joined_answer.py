"""Joining the answers to a two-part question: one numbering of sources, words first, quotes after."""

from __future__ import annotations

from dataclasses import replace

from rag.answering.joined import join_answers
from rag.types import QUOTE_SEPARATOR, Answer, Citation
from tests.fakes import full_answer, make_chunk

REFUSAL = "Dazu steht nichts in den Artikeln."


def part(question: str, words: str, quote: str, chunk_id: str, unsupported: tuple[str, ...] = ()) -> Answer:
    chunk = make_chunk(quote, chunk_id=chunk_id, doc_id=f"doc-{chunk_id}")
    return replace(
        full_answer(),
        question=question,
        claim=words,
        quote=f"{quote}“ [1]",
        citations={1: Citation.of(1, chunk, quote, 0, len(quote))},
        retrieved=(chunk, make_chunk("Gemeinsam.", chunk_id="shared")),
        items=(),
        unsupported_sentences=unsupported,
        markers_total=1,
    )


def test_the_second_parts_sources_are_renumbered_after_the_first_parts() -> None:
    first = part("Wen traf sie?", "Den Präsidenten [1].", "Sie traf den Präsidenten.", "a")
    second = part("Was sagte er zu?", "Panzer [1].", "Er sagte Panzer zu.", "b", unsupported=("Bald [1].",))
    joined = join_answers([first, second], REFUSAL)
    words, _, quotes = joined.text.partition(QUOTE_SEPARATOR)
    assert words == "Den Präsidenten [1].\nPanzer [2]."
    assert quotes == "Sie traf den Präsidenten.“ [1]" + QUOTE_SEPARATOR + "Er sagte Panzer zu.“ [2]"
    assert [(n, c.n, c.chunk_id) for n, c in joined.citations.items()] == [(1, 1, "a"), (2, 2, "b")]
    assert joined.items == ("Den Präsidenten [1].", "Panzer [2].")
    assert joined.parts == ("Wen traf sie?", "Was sagte er zu?")
    assert joined.unsupported_sentences == ("Bald [2].",)
    assert [c.chunk_id for c in joined.retrieved] == ["a", "shared", "b"]
    assert joined.markers_total == 2 and not joined.refused and joined.verdict is None


def test_a_refused_part_says_so_and_takes_no_number() -> None:
    first = replace(part("Wen traf sie?", "x", "x", "a"), refused=True, citations={}, claim=REFUSAL, quote="")
    second = part("Was sagte er zu?", "Panzer [1].", "Er sagte Panzer zu.", "b")
    joined = join_answers([first, second], REFUSAL)
    assert joined.text.partition(QUOTE_SEPARATOR)[0] == f"{REFUSAL}\nPanzer [1]."
    assert list(joined.citations) == [1] and joined.citations[1].chunk_id == "b"
