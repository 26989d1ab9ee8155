import pytest

from rag.answering.refusal import REFUSAL, is_refusal, refusal_text
from rag.question.language import detect_language, untranslated_words


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Mit welchen Verteidigungsministern telefonierte Schoigu?", "de"),
        ("Wer ist der Generalsekretär der NATO?", "de"),
        ("Which country is accused of supplying artillery ammunition to Russia?", "en"),
        ("What did Lloyd Austin warn about?", "en"),
        ("Was sagte Kirby über die Lieferungen?", "de"),
        ("Who is Jens Stoltenberg?", "en"),
    ],
)
def test_detects_german_and_english_questions(text, lang):
    assert detect_language(text) == lang


def test_undecidable_text_falls_back_to_the_default():
    assert detect_language("NATO 2022", default="en") == "en"


def test_fixed_refusals_are_recognised_in_both_languages():
    assert is_refusal(REFUSAL["de"]) and is_refusal(REFUSAL["en"])
    assert is_refusal("Die Artikel enthalten dazu keine Informationen. [1]")
    assert is_refusal("The passages do not mention who won the match.")
    assert is_refusal("NONE") and is_refusal("NONE [2]")  # the no-answer word the prompt asks for
    assert refusal_text("en") == REFUSAL["en"] and refusal_text("xx") == REFUSAL["en"]


def test_answers_with_content_are_not_refusals():
    assert not is_refusal("Schoigu sprach mit Akar und Wallace [1].")
    long_answer = "Nordkorea lieferte Munition [1]. " * 8 + "Die Artikel enthalten keine Angaben zum Preis."
    assert not is_refusal(long_answer)


def test_untranslated_words_are_german_source_words_in_an_english_answer() -> None:
    sources = ["Die russischen Truppen sind kaum zu größeren offensiven Bemühungen fähig, sagte Gerasimow."]
    answer = "The troops are hardly capable of larger offensive Bemühungen [1]."
    assert untranslated_words(answer, "What are the Russian troops capable of?", sources) == ["Bemühungen"]
    assert untranslated_words("Gerasimow [1]", "Who said it?", sources) == []  # a name is no German word
    assert untranslated_words("larger offensive efforts", "What?", sources) == []


def test_untranslated_words_are_only_looked_for_when_the_sources_are_german() -> None:
    sources = ["The IPCC chair Hoesung Lee said the report was approved by the member governments."]
    assert untranslated_words("Hoesung Lee [1]", "Who chairs the IPCC?", sources) == []


def test_untranslated_words_skip_words_the_question_uses() -> None:
    sources = ["Die Übung heißt Steadfast Noon und findet jährlich statt."]
    assert untranslated_words("The Übung [1]", "What is the exercise called?", sources) == ["Übung"]
    assert untranslated_words("The Übung [1]", "What is the Übung?", sources) == []
