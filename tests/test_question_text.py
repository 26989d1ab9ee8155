import pytest

from rag.question.text import last_question, question_words


@pytest.mark.parametrize(
    ("text", "preface", "asked"),
    [
        ("Both Austin and Risch spoke. What did they say?", "Both Austin and Risch spoke.", "What did they say?"),
        ("Was geschah im 2. Jahrhundert?", "", "Was geschah im 2. Jahrhundert?"),  # "2." ends no sentence
        ("Wer ist Y. pestis? Und wo lebt er?", "Wer ist Y. pestis?", "Und wo lebt er?"),
        ("Name the ministers.", "", "Name the ministers."),  # nothing asks: the whole text
    ],
)
def test_last_question_is_the_last_sentence_that_asks(text: str, preface: str, asked: str) -> None:
    assert last_question(text) == (preface, asked)


def test_question_words_follow_the_language() -> None:
    assert "was" in question_words("de") and "was" not in question_words("en")  # English "was" is a verb
    assert "which" in question_words("en") and "welche" not in question_words("en")
