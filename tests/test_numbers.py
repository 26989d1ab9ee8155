import pytest

from rag.answering.numbers import name_numbers, number_value, numbers_held, unsupported_numbers


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1000", "1000"),
        ("1.000", "1000"),
        ("1,000", "1000"),
        ("1'000", "1000"),
        ("1.000.000", "1000000"),
        ("4,5", "4.5"),
        ("4.5", "4.5"),
        ("4,50", "4.5"),
        ("3,0", "3"),
        ("0,5", "0.5"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("2022", "2022"),
        ("007", "7"),
    ],
)
def test_number_value(written: str, expected: str) -> None:
    assert number_value(written) == expected


def test_a_source_holds_a_number_in_digits_words_or_as_a_month() -> None:
    assert numbers_held("Der Streik dauerte drei Tage, seit dem 2. März 2023.") >= {"3", "2", "2023"}
    assert numbers_held("Three days in March.") == {"3"}
    assert numbers_held("Einundzwanzig") == set()  # compounds are not read; a missed number only refuses less


def test_unsupported_numbers_are_those_no_source_holds() -> None:
    sources = ["Der Streik dauerte drei Tage.", "Am 23. Oktober 2022 telefonierte er mit 1.000 Soldaten."]
    assert unsupported_numbers("3 [1]", sources) == []
    assert unsupported_numbers("23.10.2022 [2]", sources) == []  # the month is held as a word
    assert unsupported_numbers("About 1,000 soldiers [2]", sources) == []
    assert unsupported_numbers("300 [1]", sources) == ["300"]
    assert unsupported_numbers("2023-03-02 [1]", sources) == ["2023", "02"]  # "03" is held: "drei"
    assert unsupported_numbers("3.03.2022 [1]", sources) == []  # a dotted date is three numbers, not 3.032022


def test_citation_markers_are_not_numbers_of_the_answer() -> None:
    assert unsupported_numbers("Fünf Tage [1][2]", ["fünf Tage"]) == []


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("Wie alt war Peyton Manning, als er im Super Bowl 50 spielte?", {"50"}),
        ("How old was Peyton Manning when he played in Super Bowl 50?", {"50"}),
        ("Wann landete Apollo 11 auf dem Mond?", {"11"}),
        ("Was regelt Artikel 5 des Nato-Vertrags?", {"5"}),
        ("Wie groß war die Bevölkerung Warschaus im Jahr 1901?", set()),  # a time word, and a year
        ("Was sagte Putin am 23. Oktober?", set()),
        ("What did Putin say on October 23?", set()),  # a month
        ("Welche 2 Länder nannte Kirby?", set()),  # the capitalised word opens the sentence
        ("Why did NATO promise 300,000 shells?", set()),
        ("Wie viel kostet es um 5 Uhr?", set()),
        ("Was kostete der Eintritt, 5 Euro?", set()),
        ("Wie hoch war die Inflation mit 4,5 Prozent?", set()),
    ],
)
def test_a_number_right_after_a_name_names_a_thing(question, named):
    assert name_numbers(question) == named
