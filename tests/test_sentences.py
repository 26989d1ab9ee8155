"""The German-aware sentence splitter: abbreviations, ordinals, quotes, line breaks and exact offsets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.sentences import Sentence, split_sentences, trimmed


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


# --- sentence splitting ---------------------------------------------------------------------------


def test_military_rank_abbreviation():
    assert texts("Der oberste Militärbeamte der NATO, Adm. Rob Bauer, sagte das. Dann ging er.") == [
        "Der oberste Militärbeamte der NATO, Adm. Rob Bauer, sagte das.",
        "Dann ging er.",
    ]


def test_z_b_with_and_without_space():
    assert texts("Es gibt z. B. Panzer und z.B. Raketen. Das ist neu.") == [
        "Es gibt z. B. Panzer und z.B. Raketen.",
        "Das ist neu.",
    ]


def test_u_a_and_d_h():
    assert texts("Er traf u. a. Biden, d. h. den Präsidenten. Danach flog er.") == [
        "Er traf u. a. Biden, d. h. den Präsidenten.",
        "Danach flog er.",
    ]


def test_amount_abbreviations():
    assert texts("Das kostet ca. 3 Mio. Euro bzw. 2 Mrd. Dollar. Das ist viel.") == [
        "Das kostet ca. 3 Mio. Euro bzw. 2 Mrd. Dollar.",
        "Das ist viel.",
    ]


def test_title_abbreviations():
    assert texts("Dr. Müller und Prof. Schmidt kamen. St. Petersburg hat Nr. 5. Das ist gut.") == [
        "Dr. Müller und Prof. Schmidt kamen.",
        "St. Petersburg hat Nr. 5.",
        "Das ist gut.",
    ]


def test_usw_vgl_etc_do_not_end_sentences():
    assert texts("Panzer, Raketen usw. Dazu vgl. Abschnitt zwei etc. Ende.") == [
        "Panzer, Raketen usw. Dazu vgl. Abschnitt zwei etc. Ende."
    ]


def test_english_ranks_and_titles():
    assert texts("Lt. Col. Smith and Sgt. Jones met Mr. and Mrs. Brown. Gen. Milley spoke.") == [
        "Lt. Col. Smith and Sgt. Jones met Mr. and Mrs. Brown.",
        "Gen. Milley spoke.",
    ]


def test_dotted_country_abbreviations():
    assert texts("Die U.S. Army und die U.S.A. sind hier. Washington D.C. — Nutzt er das?") == [
        "Die U.S. Army und die U.S.A. sind hier.",
        "Washington D.C. — Nutzt er das?",
    ]


def test_initials():
    assert texts("J. F. Kennedy war Präsident. Er starb 1963.") == [
        "J. F. Kennedy war Präsident.",
        "Er starb 1963.",
    ]


def test_century_abbreviation():
    assert texts("Das 19. Jh. war lang. Dann kam das nächste.") == [
        "Das 19. Jh. war lang.",
        "Dann kam das nächste.",
    ]


def test_period_before_lowercase_is_not_a_boundary():
    assert texts("Die NATO ist nicht Teil des Konflikts... sie hilft. Gut.") == [
        "Die NATO ist nicht Teil des Konflikts... sie hilft.",
        "Gut.",
    ]


def test_ordinal_dates():
    assert texts("Am 23. Oktober kam es zum Treffen. Am 1. Januar ist Neujahr.") == [
        "Am 23. Oktober kam es zum Treffen.",
        "Am 1. Januar ist Neujahr.",
    ]


def test_ordinal_after_article():
    assert texts("Der 3. Weltkrieg droht nicht. Das sagte er.") == [
        "Der 3. Weltkrieg droht nicht.",
        "Das sagte er.",
    ]


def test_date_opening_a_line():
    assert texts("23. Oktober (IPSGURU) – Der Minister sprach. Dann nicht.") == [
        "23. Oktober (IPSGURU) – Der Minister sprach.",
        "Dann nicht.",
    ]


def test_numbers_with_separators():
    assert texts("Es kamen 1.000 Menschen und 3.5 Prozent. Danach ging es weiter.") == [
        "Es kamen 1.000 Menschen und 3.5 Prozent.",
        "Danach ging es weiter.",
    ]


def test_cardinal_number_can_end_a_sentence():
    assert texts("Die Zahl stieg auf 23. Am Montag kam mehr. Im Jahr 2022. Danach.") == [
        "Die Zahl stieg auf 23.",
        "Am Montag kam mehr.",
        "Im Jahr 2022.",
        "Danach.",
    ]


def test_sentence_ends_after_closing_german_quote():
    assert texts("Er forderte, „die Rhetorik zu beenden.“ Danach ging er.") == [
        "Er forderte, „die Rhetorik zu beenden.“",
        "Danach ging er.",
    ]


def test_quote_followed_by_comma_continues_sentence():
    assert texts("„Das ist wichtig“, sagte er. „Ganz wichtig.“ Dann ging er.") == [
        "„Das ist wichtig“, sagte er.",
        "„Ganz wichtig.“",
        "Dann ging er.",
    ]


def test_question_inside_quote_followed_by_comma():
    assert texts("„Warum?“, fragte er. Gut.") == ["„Warum?“, fragte er.", "Gut."]


def test_guillemets_both_directions():
    assert texts("Er sagte: «Wir kommen.» Dann kam er. Sie sagte: »Gut.« Weiter.") == [
        "Er sagte: «Wir kommen.»",
        "Dann kam er.",
        "Sie sagte: »Gut.«",
        "Weiter.",
    ]


def test_english_quotes():
    assert texts('Sie sagte: "Wir gehen." Dann ging sie. He said “Yes.” Then.') == [
        'Sie sagte: "Wir gehen."',
        "Dann ging sie.",
        "He said “Yes.”",
        "Then.",
    ]


def test_question_exclamation_and_ellipsis():
    assert texts("Wirklich? Ja! Vielleicht … Sicher.") == ["Wirklich?", "Ja!", "Vielleicht …", "Sicher."]


def test_newlines_are_boundaries():
    assert texts("Überschrift ohne Punkt\nZweite Zeile.\n\n  Dritter Absatz.  ") == [
        "Überschrift ohne Punkt",
        "Zweite Zeile.",
        "Dritter Absatz.",
    ]


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t\n "])
def test_blank_text_has_no_sentences(text):
    assert split_sentences(text) == []


def test_sentence_offsets():
    text = "  Eins.  Zwei!\n\nDrei"
    sentences = split_sentences(text)
    assert [(s.start, s.end) for s in sentences] == [(2, 7), (9, 14), (16, 20)]
    assert all(text[s.start : s.end] == s.text for s in sentences)


# --- more boundaries: ordinals, dashes, terminator runs, line breaks --------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Seit 1. Januar gilt das. Gut.", ["Seit 1. Januar gilt das.", "Gut."]),  # month after the number
        ("Es war im 19. Jahrhundert. Gut.", ["Es war im 19. Jahrhundert.", "Gut."]),  # ordinal noun after
        ("Er wurde der 3. Sieger. Gut.", ["Er wurde der 3. Sieger.", "Gut."]),  # article before, plain noun after
        ("Er zählte bis 3. Dann schlief er.", ["Er zählte bis 3.", "Dann schlief er."]),  # a cardinal
        ("1. Zuerst das.\n2. Dann das.", ["1. Zuerst das.", "2. Dann das."]),  # enumerated lines
        ("„Wir kommen.“ – so der Minister. Gut.", ["„Wir kommen.“ – so der Minister.", "Gut."]),
        ("Er sagte: „Wir kommen.“ – Dann ging er.", ["Er sagte: „Wir kommen.“", "– Dann ging er."]),
        ("Was?! Nein!!! Doch... Gut.", ["Was?!", "Nein!!!", "Doch...", "Gut."]),
        ("Siehe www.example.com. Es kostet 3,50€.Dann.", ["Siehe www.example.com.", "Es kostet 3,50€.Dann."]),
        ("Hallo . Welt", ["Hallo .", "Welt"]),  # a lone period has no word before it
    ],
    ids=["month", "noun", "article", "cardinal", "list", "dash-lower", "dash-upper", "runs", "glued", "lone"],
)
def test_more_boundaries(text, expected):
    assert texts(text) == expected


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\v", "\f", "\x85", "\u2028", "\u2029", "\x1c"])
def test_every_splitlines_break_is_a_boundary(newline):
    """The splitter agrees with str.splitlines(), so no sentence spans two lines."""
    text = f"Erste Zeile{newline}zweite Zeile ohne Punkt"
    assert texts(text) == text.splitlines() == ["Erste Zeile", "zweite Zeile ohne Punkt"]


@pytest.mark.parametrize(
    ("text", "start", "end", "expected"),
    [
        ("  ab  ", 0, 6, Sentence(2, 4, "ab")),
        ("xx a b yy", 2, 7, Sentence(3, 6, "a b")),
        (" \t\n ", 0, 4, None),
        ("abc", 1, 1, None),
    ],
)
def test_trimmed_strips_whitespace_and_keeps_absolute_offsets(text, start, end, expected):
    assert trimmed(text, start, end) == expected


# --- properties -----------------------------------------------------------------------------------

GERMANISH = st.text(
    alphabet=st.sampled_from(list("abcXYZ zB.,!?…:;-–„“”«»\"'()0123456789\n\t ")) | st.characters(),
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_split_sentences_never_raises_and_maps_back(text):
    sentences = split_sentences(text)
    for sentence in sentences:
        assert sentence.text
        assert text[sentence.start : sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip()
    assert [s.start for s in sentences] == sorted(s.start for s in sentences)


@settings(max_examples=300, deadline=None)
@given(GERMANISH)
def test_split_sentences_covers_all_non_space_text(text):
    sentences = split_sentences(text)
    for previous, current in zip(sentences, sentences[1:], strict=False):
        assert previous.end <= current.start
    covered = "".join(s.text for s in sentences)
    assert "".join(text.split()) == "".join(covered.split())


@pytest.mark.parametrize(
    ("text", "ends"),
    [("Er kam.", True), ("Er sagte: „Nein.“", True), ("Was?!", True), ("Titel ohne Punkt", False), ("A. B", False)],
)
def test_ends_with_terminator(text, ends):
    from rag.sentences import ends_with_terminator

    assert ends_with_terminator(text) is ends
