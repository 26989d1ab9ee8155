"""The JSON form of an answer: `Answer.from_dict` rebuilds what `to_dict` projects (the chat server sends it)."""

from __future__ import annotations

import json
from dataclasses import fields, replace

from rag.types import Answer, QuestionKind
from tests.fakes import full_answer


def test_every_field_differs_from_its_default_in_the_example():
    example, defaults = full_answer(), {f.name: f.default for f in fields(Answer)}
    assert all(getattr(example, name) != default for name, default in defaults.items())


def test_an_answer_survives_json_text_whole_except_the_retrieved_chunks_details():
    answer = full_answer()
    data = json.loads(json.dumps(answer.to_dict()))
    rebuilt = Answer.from_dict(data)
    assert rebuilt.to_dict() == answer.to_dict()
    assert replace(rebuilt, retrieved=answer.retrieved) == answer  # frozen types, compared whole
    assert rebuilt.citations[1] == answer.citations[1] and rebuilt.kind is QuestionKind.YESNO
    chunk = rebuilt.retrieved[0]
    assert (chunk.chunk_id, chunk.doc_id, chunk.text, chunk.score) == ("c7", "d3", answer.retrieved[0].text, 0.6123)


def test_a_refusal_without_citations_round_trips():
    refusal = replace(full_answer(), citations={}, retrieved=(), refused=True, mode="gate", verdict=None, items=())
    assert Answer.from_dict(json.loads(json.dumps(refusal.to_dict()))) == refusal


def test_the_text_is_the_claim_then_the_quote_under_it_and_reads_back_apart():
    from rag.types import QUOTE_SEPARATOR, split_quote

    answer = full_answer()
    assert answer.text == "Ben Wallace [1].\n\n„Schoigu telefonierte mit Ben Wallace.“ [1]"
    assert answer.text == answer.claim + QUOTE_SEPARATOR + answer.quote
    assert replace(answer, quote="").text == "Ben Wallace [1]."
    assert split_quote(answer.text) == (answer.claim, answer.quote)
    old_record = {k: v for k, v in answer.to_dict().items() if k not in ("claim", "quote")}
    assert Answer.from_dict(old_record) == Answer.from_dict(answer.to_dict())


def test_the_items_pair_with_the_parts_only_one_to_one():
    answer = replace(full_answer(), items=("Wallace", "im Oktober"))
    assert answer.part_items == [("Mit wem telefonierte Schoigu?", "Wallace"), ("Wann?", "im Oktober")]
    assert replace(answer, parts=()).part_items == [(None, "Wallace"), (None, "im Oktober")]
