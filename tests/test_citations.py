from hypothesis import given
from hypothesis import strategies as st

from rag.answering.citations import marker_numbers, repair

PASSAGES = [
    "Schoigu sprach mit dem türkischen Verteidigungsminister Hulusi Akar und dem Briten Ben Wallace.",
    "Nordkorea soll heimlich Artilleriemunition an Russland geliefert haben.",
    "Lloyd Austin warnte in Halifax vor einer nuklearen Proliferation.",
]


def test_valid_markers_are_kept_and_renumbered_by_first_use():
    fixed = repair("Nordkorea lieferte Munition [2]. Schoigu sprach mit Akar und Wallace [1].", PASSAGES)
    assert fixed.text == "Nordkorea lieferte Munition [1]. Schoigu sprach mit Akar und Wallace [2]."
    assert fixed.used == [2, 1]
    assert (fixed.markers_total, fixed.markers_invalid) == (2, 0)


def test_markers_pointing_at_no_passage_are_removed_and_counted():
    fixed = repair("Austin warnte vor Proliferation [7]. Nordkorea lieferte Munition [2][0].", PASSAGES)
    assert fixed.markers_total == 3 and fixed.markers_invalid == 2
    assert "[7]" not in fixed.text and "[0]" not in fixed.text
    assert all(1 <= n <= len(fixed.used) for n in marker_numbers(fixed.text))


def test_marker_on_a_passage_without_the_words_moves_to_the_passage_that_has_them():
    fixed = repair("Hulusi Akar und Ben Wallace [3]", PASSAGES)
    assert fixed.used == [1] and fixed.markers_moved == 1
    assert fixed.text == "Hulusi Akar und Ben Wallace [1]"


def test_marker_stays_where_the_cited_passage_holds_the_words_or_no_passage_does():
    assert repair("Akar und Wallace [1]", PASSAGES).markers_moved == 0
    translated = repair("The Turkish defence minister [1]", PASSAGES)  # another language: no lexical match anywhere
    assert translated.used == [1] and translated.markers_moved == 0


def test_comma_lists_are_split_into_separate_markers():
    fixed = repair("Beide Aussagen stimmen [1, 3].", PASSAGES)
    assert fixed.used == [1, 3]
    assert fixed.text == "Beide Aussagen stimmen [1][2]."


def test_unmarked_sentence_gets_its_best_supporting_passage():
    fixed = repair("Lloyd Austin warnte in Halifax vor nuklearer Proliferation.", PASSAGES)
    assert fixed.used == [3]
    assert fixed.markers_added == 1
    assert fixed.text.endswith("[1].")


def test_unsupported_sentence_is_reported_not_cited():
    fixed = repair("Das Wetter in Paris war sonnig.", PASSAGES)
    assert fixed.used == []
    assert fixed.unsupported == ["Das Wetter in Paris war sonnig."]
    assert "[" not in fixed.text


def test_marker_only_output_leaves_no_empty_sentence():
    fixed = repair("[1]", PASSAGES)
    assert fixed.text == ""
    assert fixed.markers_total == 1


@given(st.text(alphabet=st.sampled_from(list("[]0123456789, .abcäöü!?\n")), max_size=200))
def test_repair_never_raises_and_every_output_marker_is_valid(text):
    fixed = repair(text, PASSAGES)
    numbers = marker_numbers(fixed.text)
    assert all(1 <= n <= len(fixed.used) for n in numbers)
    assert all(1 <= p <= len(PASSAGES) for p in fixed.used)


def test_semantic_scorer_backs_a_claim_in_another_language():
    def scorer(claim):
        return [0.1, 0.8, 0.2]

    fixed = repair("North Korea secretly delivered ammunition.", PASSAGES, semantic=scorer)
    assert fixed.used == [2] and fixed.markers_added == 1
    weak = repair("North Korea secretly delivered ammunition.", PASSAGES, semantic=lambda c: [0.1, 0.3, 0.2])
    assert weak.used == [] and weak.unsupported


def test_markers_are_renumbered_by_the_one_marker_pattern():
    from rag.answering.citations import renumber_markers

    assert renumber_markers("A [1]. B [2][3].\n\n„Q.“ [1]", 2) == "A [3]. B [4][5].\n\n„Q.“ [3]"
    assert renumber_markers("[1, 2] and [ 3 ]", 1) == "[2, 3] and [ 4 ]"  # what MARKER reads as markers
    assert renumber_markers("A [1].", 0) == "A [1]."
