"""The shape of a finished answer: the verdict of a yes/no answer and the items of a list answer."""

from __future__ import annotations

import pytest

from rag.answering.shape import calibrated_verdict, items_of, verdict_of, verdict_words
from rag.types import QuestionKind


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Ja. Schoigu sprach mit Akar [1].", "yes"),
        ("Nein, die Bahn lehnte ab [3].", "no"),
        ("Yes: he called Wallace [1].", "yes"),
        ("No. Deutsche Bahn rejected it [3].", "no"),
        ("„Nein“, sagte er [1].", "no"),
        ("Nordkorea [1]", None),  # a word that starts like "No" is no verdict
        ("Jahrelang nicht [1]", None),
        ("Er sagte das nicht [1].", None),
    ],
)
def test_a_yes_no_answer_leads_with_its_verdict(text, verdict):
    assert verdict_of(QuestionKind.YESNO, text) == verdict


def test_only_yes_no_questions_have_a_verdict():
    assert verdict_of(QuestionKind.STATEMENT, "Ja, das sagte er [1].") is None


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("Lecornu, Akar und Wallace [1]", ("Lecornu", "Akar", "Wallace [1]")),
        ("The GDL union and Deutsche Bahn [1].", ("The GDL union", "Deutsche Bahn [1]")),
        ("Frankreich [1]; die Türkei [2], and Britain [2]", ("Frankreich [1]", "die Türkei [2]", "Britain [2]")),
        ("Akar [1]", ()),  # one item is no list
    ],
)
def test_a_list_answer_is_split_into_its_items_with_their_markers(text, items):
    assert items_of(QuestionKind.LIST, text) == items


def test_only_list_questions_have_items():
    assert items_of(QuestionKind.ENTITY, "Lecornu, Akar und Wallace [1]") == ()


@pytest.mark.parametrize(
    ("log_odds", "verdict"),
    [(-3.0, "yes"), (-2.4, "yes"), (-2.0, "no"), (0.5, "no")],
)
def test_the_calibrated_verdict_says_no_above_the_threshold_even_when_yes_is_likelier(log_odds, verdict):
    words = verdict_words("en")
    logprobs = {"Yes": -0.5, "No": -0.5 + log_odds}
    assert calibrated_verdict(logprobs, words, threshold=-2.4) == verdict


def test_verdict_words_follow_the_answer_language():
    assert verdict_words("de") == {"yes": "Ja", "no": "Nein"}
    assert verdict_words("en") == {"yes": "Yes", "no": "No"}
    assert verdict_words("fr") == verdict_words("en")  # no words of its own: English
