import pytest

from evaluation.grounding import invented_numbers, number_value


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
