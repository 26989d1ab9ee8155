"""The answerability verdict on the real embedded model: probabilities, and reuse of the evaluated prompt."""

from __future__ import annotations

import pytest
from llama_index.core.llms import ChatMessage

from rag.llm import build_llm, messages_to_chatml
from rag.prompting import Passage, build_messages, prefix_messages
from rag.refusal import NO_ANSWER
from rag.settings import Settings
from rag.store import StoredChunk
from rag.verdict import first_token_probability

pytestmark = pytest.mark.integration

SOURCE = (
    "Der türkische Verteidigungsminister Hulusi Akar und der Brite Ben Wallace telefonierten am Sonntag "
    "mit Sergej Schoigu. Schoigu behauptete, die Ukraine plane den Einsatz einer schmutzigen Bombe."
)


def passages() -> list[Passage]:
    chunk = StoredChunk("c0", "d0", "Schoigu telefoniert", "2022-10-24", "d0.txt", 0, 0, len(SOURCE), SOURCE, (), 0.8)
    return [Passage(1, chunk, SOURCE)]


@pytest.fixture(scope="module")
def llm():
    return build_llm(Settings(llm_backend="local"))


def test_unanswerable_question_gets_a_higher_no_answer_probability(llm):
    answerable = first_token_probability(
        llm, build_messages("Mit wem telefonierte Schoigu?", passages(), "de"), NO_ANSWER
    )
    unanswerable = first_token_probability(
        llm, build_messages("Wie viele Tore schoss Brasilien im WM-Finale 2002?", passages(), "de"), NO_ANSWER
    )
    assert answerable is not None and unanswerable is not None
    assert 0.0 <= answerable < unanswerable <= 1.0
    assert answerable < Settings().no_answer_threshold_de <= unanswerable


def test_second_question_evaluates_only_what_follows_the_fixed_prefix(llm):
    """The prefix (system prompt and demonstrations) is evaluated once per process, then reused."""
    model = llm._model
    first = build_messages("Wer ist Ben Wallace?", passages(), "de")
    second = build_messages("Who is Hulusi Akar?", passages(), "en")
    evaluated: list[int] = []
    original = model.eval
    model.eval = lambda tokens: (evaluated.append(len(tokens)), original(tokens))[1]
    try:
        first_token_probability(llm, first, NO_ANSWER)
        first_token_probability(llm, second, NO_ANSWER)
    finally:
        model.eval = original

    def tokens(messages: list[ChatMessage]) -> list[int]:
        return model.tokenize(messages_to_chatml(messages).encode(), special=True)

    shared = next(i for i, (a, b) in enumerate(zip(tokens(first), tokens(second), strict=False)) if a != b)
    prefix = len(tokens(prefix_messages()))
    assert shared >= prefix - 5  # the whole fixed prefix is common to both prompts
    assert evaluated[-1] == len(tokens(second)) - shared  # and the second call evaluated only the rest


def test_other_backends_have_no_verdict():
    from tests.fakes import ScriptedLLM

    assert first_token_probability(ScriptedLLM(), build_messages("Q?", passages(), "en"), NO_ANSWER) is None
