"""The question's terms and those the cited passages do not hold (rag.answering.answerability)."""

from rag.answering.answerability import language_neutral, question_terms, unheld_terms


def test_terms_are_names_numbers_months_and_german_nouns_not_the_opening_word_or_question_words():
    assert question_terms("On what date in May did Shoigu and Austin last speak before October?") == (
        "May",
        "Shoigu",
        "Austin",
        "October",
    )
    assert question_terms("Welche Strafe verhängten die USA gegen Nordkorea wegen der Munitionslieferungen?") == (
        "Strafe",
        "USA",
        "Nordkorea",
        "Munitionslieferungen",
    )


def test_a_number_that_names_a_thing_is_no_term_but_a_year_is():
    assert question_terms("Wie alt war Peyton Manning, als er im Super Bowl 50 spielte?") == (
        "Peyton",
        "Manning",
        "Super",
        "Bowl",
    )
    assert "1901" in question_terms("Wie groß war die Bevölkerung Warschaus im Jahr 1901?")


def test_a_month_is_held_by_its_name_in_either_language_not_by_a_number_of_days():
    terms = question_terms("On what date in May did Shoigu and Austin last speak before October?")
    assert unheld_terms(terms, ["Schoigu sprach am 23. Oktober mit Austin, fünf Tage nach dem 5. Treffen."]) == ("May",)
    assert unheld_terms(terms, ["Schoigu und Austin sprachen im Mai und im Oktober."]) == ()


def test_words_are_held_by_stem_within_compounds_and_by_near_spelling():
    sources = ["Die Sanktionen gegen Nordkorea wegen der Munitionslieferung trafen Schoigu."]
    assert unheld_terms(("Nordkorea", "Munitionslieferungen", "Shoigu", "Strafe"), sources) == ("Strafe",)
    assert unheld_terms(("1901",), ["1801 Einwohner, 190 Häuser"]) == ("1901",)
    assert unheld_terms(("1901",), ["Im Jahr 1901 lebten dort"]) == ()


def test_across_languages_only_numbers_and_months_are_checked():
    assert language_neutral(("May", "Moscow", "1901", "Oktober")) == ("May", "1901", "Oktober")


def test_agreement_is_the_share_of_samples_that_say_the_same_thing():
    from rag.answering.answerability import agreement

    assert (
        agreement("Hulusi Akar [1]", ["Akar", "Hulusi Akar [1]", "der türkische Minister Hulusi Akar", "NONE"]) == 0.75
    )
    assert agreement("23. Mai [1]", ["23. Oktober", "Mai 23", "NONE", "im Juni"]) == 0.25  # one word of two: no
    assert agreement("Akar", []) is None
