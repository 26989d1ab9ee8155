"""Property tests: the question-set parser either returns questions or raises QuestionSetError."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.evaluation.questionset import QuestionSetError, parse_question_lines

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=8) | json_values,
        "question": st.text(max_size=30) | json_values,
        "lang": st.sampled_from(["de", "en", "fr", ""]) | json_values,
        "answerable": st.booleans() | json_values,
        "answers": st.lists(st.text(max_size=10), max_size=3) | json_values,
        "keywords": st.lists(st.lists(st.text(max_size=8), max_size=3), max_size=3) | json_values,
        "relevant_docs": st.lists(st.text(max_size=10), max_size=2) | json_values,
        "evidence": st.lists(st.text(max_size=10), max_size=2) | json_values,
        "history": st.lists(
            st.fixed_dictionaries({"role": st.text(max_size=9), "content": st.text(max_size=9)}), max_size=2
        )
        | json_values,
        "tags": st.lists(st.text(max_size=8), max_size=3) | json_values,
    },
)
lines = st.lists(fields.map(json.dumps) | st.text(max_size=40), max_size=6)


@settings(max_examples=300, deadline=None)
@given(lines)
def test_parser_never_raises_anything_but_question_set_error(raw_lines):
    try:
        questions = parse_question_lines(raw_lines, name="fuzz.jsonl")
    except QuestionSetError as exc:
        assert "fuzz.jsonl" in str(exc)
        return
    assert questions, "an accepted set holds at least one question"
    ids = [q.id for q in questions]
    assert len(ids) == len(set(ids))
    assert all(q.question.strip() for q in questions)
    assert all(q.relevant_docs for q in questions if q.answerable)
