"""A follow-up's earlier turn: the last question and the claim of the answer to it."""

from __future__ import annotations

from rag.answering.follow_up import EARLIER_ANSWER_CHARS, EarlierTurn, earlier_turn


def test_the_last_question_and_the_first_paragraph_of_its_answer_without_markers():
    turns = [
        {"role": "user", "content": "Wer ist der NATO-Generalsekretär?"},
        {"role": "assistant", "content": "Jens Stoltenberg [1]"},
        {"role": "user", "content": "Which   senator agreed\nwith Austin?"},
        {"role": "assistant", "content": "Jim Risch [1][2]\n\n„Senator Jim Risch aus Idaho …“ [1]"},
    ]
    assert earlier_turn(turns) == EarlierTurn(question="Which senator agreed with Austin?", answer="Jim Risch")


def test_the_search_text_puts_the_earlier_turn_before_the_follow_up():
    earlier = EarlierTurn(question="Which senator agreed with Austin?", answer="Jim Risch")
    assert earlier.search_text("Which state is he from?") == (
        "Which senator agreed with Austin? Jim Risch Which state is he from?"
    )
    assert EarlierTurn("Wer ist Kirby?", "").search_text("Wie alt ist er?") == "Wer ist Kirby? Wie alt ist er?"


def test_a_refusal_names_nothing_and_is_left_out():
    turns = [
        {"role": "user", "content": "Wann wurde Stoltenberg geboren?"},
        {"role": "assistant", "content": "Die Artikel enthalten dazu keine Informationen."},
    ]
    assert earlier_turn(turns) == EarlierTurn(question="Wann wurde Stoltenberg geboren?", answer="")


def test_a_question_not_yet_answered_and_a_long_answer():
    assert earlier_turn([{"role": "user", "content": "Wer ist Kirby?"}]) == EarlierTurn("Wer ist Kirby?", "")
    long_answer = "Wort " * 200
    turns = [{"role": "user", "content": "Was sagte er?"}, {"role": "assistant", "content": long_answer}]
    earlier = earlier_turn(turns)
    assert earlier is not None and len(earlier.answer) == EARLIER_ANSWER_CHARS


def test_no_earlier_question_gives_none():
    assert earlier_turn([]) is None
    assert earlier_turn([{"role": "assistant", "content": "Hallo"}, {"role": "user", "content": "  "}]) is None
