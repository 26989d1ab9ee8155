"""A list question answered from each of its top passages (rag.answering.lists), with a scripted LLM."""

from __future__ import annotations

import pytest

from rag.types import Delta, Final, QuestionKind

QUESTION = "Welche Verteidigungsminister nannte der Bericht?"


@pytest.fixture
def listing(service):
    service.settings = service.settings.with_answer(list_passages=3)
    prepared = service.prepare(QUESTION)
    assert prepared.kind is QuestionKind.LIST and len(prepared.retrieved) >= 3
    return service


def test_each_passage_is_asked_alone_and_the_items_are_merged_each_cited_to_its_passage(listing):
    listing.backend.llm.replies = ["Akar [1], Wallace [1]", "Wallace [1] und Lecornu [1]", "NONE"]
    events = list(listing.stream(QUESTION))
    answer = events[-1].answer
    prompts = listing.backend.llm.prompts[-3:]
    assert all("[1] «" in p.rsplit("Sources:", 1)[1] for p in prompts)  # one source per prompt
    assert len({p.rsplit("Sources:", 1)[1].split("\n")[1] for p in prompts}) == 3  # three different passages
    assert answer.claim == "Akar [1], Wallace [1] und Lecornu [2]"
    assert answer.items == ("Akar [1]", "Wallace [1]", "Lecornu [2]")
    assert answer.citations[1].chunk_id != answer.citations[2].chunk_id
    assert [e.text for e in events if isinstance(e, Delta)] == ["Akar [1], Wallace [1]", "; Lecornu [2]"]


def test_a_list_no_passage_answers_is_refused(listing):
    listing.backend.llm.replies = ["NONE", "NONE", "NONE"]
    answer = listing.answer(QUESTION)
    assert answer.refused and answer.mode == "llm" and answer.citations == {}


def test_one_passage_reads_as_before(service):
    service.settings = service.settings.with_answer(list_passages=1)
    service.backend.llm.replies = ["Akar [1], Wallace [1]"]
    answer = service.answer(QUESTION)
    assert answer.items == ("Akar", "Wallace [1]") and len(service.backend.llm.prompts) == 1  # one prompt


def test_a_failing_llm_falls_back_to_the_extractive_answer_with_a_warning(listing):
    listing.backend.llm.fail_with = "connection refused"
    events = list(listing.stream(QUESTION))
    final = events[-1]
    assert isinstance(final, Final) and final.answer.mode == "extractive" and final.answer.warning
