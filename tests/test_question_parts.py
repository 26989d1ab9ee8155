"""Which questions ask two things, and the two questions they are split into (news questions not in eval/)."""

from __future__ import annotations

import pytest

from rag.question.parts import question_parts, search_text


@pytest.mark.parametrize(
    ("question", "lang", "parts"),
    [
        (
            "What did the chancellor promise, and when will the tanks arrive?",
            "en",
            ("What did the chancellor promise?", "When will the tanks arrive?"),
        ),
        (
            "Wen traf die Ministerin in Kiew und mit welcher Zusage kehrte sie zurück?",
            "de",
            ("Wen traf die Ministerin in Kiew?", "Mit welcher Zusage kehrte sie zurück?"),
        ),
        (
            "Wie viele Opfer gab es – laut der Polizei und laut den Veranstaltern?",
            "de",
            ("Wie viele Opfer gab es – laut der Polizei?", "Wie viele Opfer gab es – laut den Veranstaltern?"),
        ),
        (
            "Which sanctions does the report list, for Iran and for Belarus?",
            "en",
            ("Which sanctions does the report list, for Iran?", "Which sanctions does the report list, for Belarus?"),
        ),
        (
            "The strike hit two ports. Which ports were closed, and who ordered it?",
            "en",
            (
                "The strike hit two ports. Which ports were closed?",
                "The strike hit two ports. Who ordered it?",
            ),
        ),
    ],
)
def test_a_question_that_asks_two_things_is_split_in_two(question: str, lang: str, parts: tuple[str, str]) -> None:
    assert question_parts(question, lang) == parts


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Name the two candidates and their parties.", "en"),
        ("Wann und wie endete der Streik?", "de"),
        ("Which two things did the minister call important?", "en"),
        ("Welche Begriffe verwendeten Scholz und Macron jeweils?", "de"),
        ("Mit welchen Ministern sprach Schoigu, Akar und Wallace?", "de"),
        ("Who met the president and the prime minister?", "en"),
        ("Was the summit in Paris and was it a success?", "en"),
    ],
)
def test_a_question_that_asks_one_thing_stays_whole(question: str, lang: str) -> None:
    assert question_parts(question, lang) == ()


def test_a_part_that_refers_back_is_searched_with_the_first_part() -> None:
    parts = ("What did Warsaw propose?", "Where did Poland present it?")
    assert search_text(parts, 1) == "What did Warsaw propose? Where did Poland present it?"
    assert search_text(parts, 0) == "What did Warsaw propose?"
    assert search_text(("Who won?", "Which party came second?"), 1) == "Which party came second?"


def test_a_question_read_once_agrees_with_its_kind_and_parts_read_apart():
    from rag.question.kind import classify_question
    from rag.question.language import detect_language
    from rag.question.parts import question_parts
    from rag.question.reading import read_question

    for text in (
        "Was nannte Lawrow den Vorschlag, und wo stellte Polen ihn vor?",
        "What is the risk for NATO and for Russia?",
        "Wer ist der NATO-Generalsekretär?",
        "Hat Schoigu mit Akar telefoniert?",
        "Name the two ministers.",
    ):
        reading = read_question(text, [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": ""}])
        lang = detect_language(text)
        assert (reading.language, reading.kind) == (lang, classify_question(text, lang))
        assert reading.parts == question_parts(text, lang)
        assert reading.turns == ({"role": "user", "content": "Q?"},) and reading.follow_up
    assert read_question("Who said it?", language="de").language == "de"
