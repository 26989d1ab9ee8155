import json
from pathlib import Path

import pytest

from rag.evaluation.questionset import Question, QuestionSetError, Turn, parse_question_lines, parse_question_set

MINIMAL = {"id": "q1", "question": "Wer ist Schoigu?", "relevant_docs": ["003_862f45dcae2f1a19"]}

FULL = {
    "id": "q017",
    "question": "Mit welchen Verteidigungsministern telefonierte Schoigu?",
    "lang": "de",
    "answerable": True,
    "answers": ["Lecornu, Akar und Wallace"],
    "keywords": [["Lecornu", "Frankreich"], ["Akar", "Türkei"], ["Wallace", "Großbritannien"]],
    "relevant_docs": ["003_862f45dcae2f1a19"],
    "evidence": ["Hulusi Akar und dem Briten Ben Wallace"],
    "history": [{"role": "user", "content": "Wer ist Schoigu?"}, {"role": "assistant", "content": "…"}],
    "tags": ["multi-entity"],
    "kind": "list",
}


def lines_with_bad_third(bad: str) -> list[str]:
    """Two good lines, then the bad one on line 3."""
    return [json.dumps(MINIMAL), json.dumps({**MINIMAL, "id": "q2"}), bad]


def assert_error_on_line(lines: list[str], line: int, fragment: str) -> None:
    with pytest.raises(QuestionSetError) as info:
        parse_question_lines(lines, name="set.jsonl")
    message = str(info.value)
    assert f"set.jsonl line {line}:" in message
    assert fragment in message


def test_minimal_valid_example_gets_defaults() -> None:
    [question] = parse_question_lines([json.dumps(MINIMAL)])
    assert question == Question(
        id="q1",
        question="Wer ist Schoigu?",
        lang=None,
        answerable=True,
        answers=(),
        keywords=(),
        relevant_docs=("003_862f45dcae2f1a19",),
        evidence=(),
        history=(),
        tags=(),
        line=1,
    )


def test_full_example_from_the_format_description() -> None:
    [question] = parse_question_lines([json.dumps(FULL, ensure_ascii=False)])
    assert question.lang == "de"
    assert question.keywords[2] == ("Wallace", "Großbritannien")
    assert question.history == (Turn("user", "Wer ist Schoigu?"), Turn("assistant", "…"))
    assert question.tags == ("multi-entity",)
    assert question.kind == "list"


def test_unanswerable_question_needs_no_relevant_docs() -> None:
    [question] = parse_question_lines([json.dumps({"id": "u1", "question": "Wer?", "answerable": False})])
    assert question.answerable is False
    assert question.relevant_docs == ()


def test_unknown_fields_are_ignored() -> None:
    [question] = parse_question_lines([json.dumps({**MINIMAL, "difficulty": "hard", "notes": {"a": 1}})])
    assert question.id == "q1"


def test_blank_lines_are_allowed_and_line_numbers_count_them() -> None:
    questions = parse_question_lines(["", json.dumps(MINIMAL), "   ", "\t", json.dumps({**MINIMAL, "id": "q2"})])
    assert [(q.id, q.line) for q in questions] == [("q1", 2), ("q2", 5)]


def test_invalid_json() -> None:
    assert_error_on_line(lines_with_bad_third('{"id": "q3", "question": '), 3, "invalid JSON")


def test_line_that_is_not_an_object() -> None:
    assert_error_on_line(lines_with_bad_third('["q3", "Wer?"]'), 3, "expected a JSON object")


@pytest.mark.parametrize("field", ["id", "question"])
def test_missing_required_field(field: str) -> None:
    obj = {key: value for key, value in MINIMAL.items() if key != field}
    assert_error_on_line(lines_with_bad_third(json.dumps(obj)), 3, f"missing required field '{field}'")


@pytest.mark.parametrize("field", ["id", "question"])
def test_empty_required_field(field: str) -> None:
    obj = {**MINIMAL, "id": "q3", field: "  "}
    assert_error_on_line(lines_with_bad_third(json.dumps(obj)), 3, f"field '{field}' is empty")


def test_id_must_be_a_string() -> None:
    assert_error_on_line(lines_with_bad_third(json.dumps({**MINIMAL, "id": 3})), 3, "'id' must be a string")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("answers", "Lecornu"),
        ("answers", ["Lecornu", 3]),
        ("relevant_docs", "003_862f45dcae2f1a19"),
        ("evidence", [["nested"]]),
        ("tags", [True]),
    ],
)
def test_string_list_fields_with_wrong_type(field: str, value: object) -> None:
    obj = {**MINIMAL, "id": "q3", field: value}
    assert_error_on_line(lines_with_bad_third(json.dumps(obj)), 3, f"'{field}' must be a list of strings")


@pytest.mark.parametrize("value", [["Akar", "Türkei"], [["Akar"], "Türkei"], [["Akar", 1]], [[]], "Akar"])
def test_keywords_not_a_list_of_lists_of_strings(value: object) -> None:
    obj = {**MINIMAL, "id": "q3", "keywords": value}
    assert_error_on_line(lines_with_bad_third(json.dumps(obj)), 3, "'keywords' must be a list of")


@pytest.mark.parametrize(
    "history",
    [
        [{"role": "system", "content": "x"}],
        [{"role": "user"}],
        [{"role": "user", "content": 5}],
        ["user: hallo"],
        {"role": "user", "content": "x"},
    ],
)
def test_bad_history(history: object) -> None:
    obj = {**MINIMAL, "id": "q3", "history": history}
    assert_error_on_line(lines_with_bad_third(json.dumps(obj)), 3, "history")


@pytest.mark.parametrize("value", ["yes", 1, "true"])
def test_answerable_must_be_boolean(value: object) -> None:
    obj = {**MINIMAL, "id": "q3", "answerable": value}
    assert_error_on_line(lines_with_bad_third(json.dumps(obj)), 3, "'answerable' must be true or false")


@pytest.mark.parametrize("value", ["fr", "DE", "german", 1])
def test_lang_must_be_de_or_en(value: object) -> None:
    obj = {**MINIMAL, "id": "q3", "lang": value}
    assert_error_on_line(lines_with_bad_third(json.dumps(obj)), 3, "'lang' must be one of de, en")


@pytest.mark.parametrize("value", ["entity", "number", "statement", "yesno", "list", "none"])
def test_every_kind_is_accepted(value: str) -> None:
    [question] = parse_question_lines([json.dumps({**MINIMAL, "kind": value})])
    assert question.kind == value


def test_absent_or_null_kind_is_none() -> None:
    [absent, null] = parse_question_lines([json.dumps(MINIMAL), json.dumps({**MINIMAL, "id": "q2", "kind": None})])
    assert absent.kind is None and null.kind is None


@pytest.mark.parametrize("value", ["person", "Entity", "", 1, ["list"]])
def test_unknown_kind_is_rejected(value: object) -> None:
    obj = {**MINIMAL, "id": "q3", "kind": value}
    assert_error_on_line(lines_with_bad_third(json.dumps(obj)), 3, "'kind' must be one of entity, number, statement")


def test_duplicate_id_names_both_lines() -> None:
    lines = [json.dumps(MINIMAL), "", json.dumps({**MINIMAL, "question": "Noch einmal?"})]
    assert_error_on_line(lines, 3, "duplicate id 'q1' (first used on line 1)")


@pytest.mark.parametrize("extra", [{}, {"relevant_docs": []}, {"relevant_docs": None}, {"answerable": True}])
def test_answerable_question_without_relevant_docs(extra: dict) -> None:
    obj = {"id": "q3", "question": "Wer?", **extra}
    assert_error_on_line(lines_with_bad_third(json.dumps(obj)), 3, "'relevant_docs'")


def test_empty_input_has_no_questions() -> None:
    with pytest.raises(QuestionSetError, match="set.jsonl: no questions"):
        parse_question_lines(["", "  "], name="set.jsonl")


def test_whole_input_is_validated_before_returning() -> None:
    lines = [json.dumps({**MINIMAL, "id": f"q{i}"}) for i in range(1, 50)] + ["{broken"]
    assert_error_on_line(lines, 50, "invalid JSON")


def test_parse_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps(MINIMAL) + "\n\n" + '{"id": "q2"}\n', encoding="utf-8")
    with pytest.raises(QuestionSetError, match=r"questions\.jsonl line 3: missing required field 'question'"):
        parse_question_set(path)


def test_parse_file_reads_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    text = json.dumps(FULL, ensure_ascii=False) + "\r\n" + json.dumps({**MINIMAL, "id": "q2"}) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    questions = parse_question_set(str(path))
    assert [q.id for q in questions] == ["q017", "q2"]
    assert questions[0].keywords[1] == ("Akar", "Türkei")


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(MINIMAL).encode() + b"\n" + '{"id": "q2", "question": "Wer ist für"}'.encode("latin-1"))
    with pytest.raises(QuestionSetError, match=r"latin1\.jsonl line 2: not valid UTF-8"):
        parse_question_set(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(QuestionSetError, match=r"empty\.jsonl: no questions"):
        parse_question_set(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match=r"nope\.jsonl: question set file not found"):
        parse_question_set(tmp_path / "nope.jsonl")


def test_error_is_a_value_error() -> None:
    assert issubclass(QuestionSetError, ValueError)
