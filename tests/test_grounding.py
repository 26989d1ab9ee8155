import pytest

from rag.evaluation.grounding import invented_numbers, repeats_question, says_passage


def test_invented_numbers_agree_across_formats() -> None:
    passages = ["Rund 1.000 Soldaten und 4,5 Millionen Euro.", "Im Jahr 2022."]
    assert invented_numbers("About 1,000 soldiers, 4.5 million euros, in 2022.", passages) == []
    assert invented_numbers("1000 Soldaten", passages) == []


def test_invented_numbers_are_whole_numbers_not_in_any_passage() -> None:
    passages = ["Die Reichweite beträgt 4,5 Kilometer.", "Am 23. Oktober 2022 telefonierte er."]
    assert invented_numbers("Die Reichweite beträgt 45 Kilometer.", passages) == ["45"]  # a shifted decimal
    assert invented_numbers("Im Jahr 2021.", passages) == ["2021"]  # years count too
    assert invented_numbers("20 Minuten", passages) == ["20"]  # not a part of 2022
    assert invented_numbers("Am 23. Oktober", passages) == []
    assert invented_numbers("Es waren 7.", []) == ["7"]


def test_invented_numbers_ignore_citation_markers_and_count_each_number_once() -> None:
    answer = "Es waren 1000 [1] und später 1.000 [2, 3] Soldaten, dazu 7 Panzer und 7 Schiffe [4]."
    assert invented_numbers(answer, ["Keine Zahlen hier."]) == ["1000", "7"]
    assert invented_numbers("Akar [1] und Wallace [2, 3].", ["Akar und Wallace"]) == []


def test_invented_numbers_fold_full_width_digits() -> None:
    assert invented_numbers("１０ Tage", ["Nach 10 Tagen."]) == []


def test_says_passage_judges_the_models_words_not_the_quote() -> None:
    assert says_passage("Passage states that Shoigu called [1].")
    assert says_passage("Passage and Passage mention it [1][2].")
    assert not says_passage("Shoigu [1]\n\n„Die Passage des Gesetzes scheiterte.“ [1]")
    assert not says_passage("The passage of the bill failed [1].")


NATO_Q = "Who is the Secretary General of NATO?"
PUTIN_Q = "What did Putin order his nuclear forces at the end of the month?"


@pytest.mark.parametrize(
    ("answer", "question", "kind", "echo"),
    [
        ("NATO Secretary General [1]\n\n„NATO Secretary General Jens Stoltenberg said …“ [1]", NATO_Q, "entity", True),
        ("Jens Stoltenberg [1]", NATO_Q, "entity", False),
        ("Putin ordered his nuclear forces at the end of the month [1].", PUTIN_Q, "statement", True),
        ("Putin ordered his nuclear forces on high alert [1].", PUTIN_Q, "statement", False),
        ("Nein. Der Kanzler reiste nicht nach Paris [1].", "Reiste der Kanzler nach Paris?", "yesno", False),
        ("2022 [1]", "In which year after 2022 did the talks begin?", "number", False),
    ],
)
def test_an_answer_repeats_the_question_when_its_own_words_add_no_content_word(answer, question, kind, echo):
    assert repeats_question(answer, question, kind) is echo
