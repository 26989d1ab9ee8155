"""The answerability verdict on the real embedded model: probabilities, and reuse of the evaluated prompt."""

from __future__ import annotations

import pytest
from llama_index.core.llms import ChatMessage

from rag.answering.prompt import build_messages, prefix_messages
from rag.models.llm import LocalBackend, build_backend
from rag.settings import Settings
from rag.types import Passage
from tests.fakes import make_chunk, scripted_backend

pytestmark = pytest.mark.model

SOURCE = (
    "Der türkische Verteidigungsminister Hulusi Akar und der Brite Ben Wallace telefonierten am Sonntag "
    "mit Sergej Schoigu. Schoigu behauptete, die Ukraine plane den Einsatz einer schmutzigen Bombe."
)


def passages() -> list[Passage]:
    chunk = make_chunk(SOURCE, title="Schoigu telefoniert", date="2022-10-24", score=0.8)
    return [Passage(number=1, chunk=chunk, text=SOURCE)]


@pytest.fixture(scope="module")
def backend() -> LocalBackend:
    built = build_backend(Settings(llm_backend="local"))
    assert isinstance(built, LocalBackend)
    return built


def test_unanswerable_question_gets_a_higher_no_answer_probability(backend):
    answerable = backend.no_answer_probability(build_messages("Mit wem telefonierte Schoigu?", passages(), "de"))
    unanswerable = backend.no_answer_probability(
        build_messages("Wie viele Tore schoss Brasilien im WM-Finale 2002?", passages(), "de")
    )
    assert answerable is not None and unanswerable is not None
    assert 0.0 <= answerable < unanswerable <= 1.0
    assert answerable < Settings().answer.no_answer_threshold_de <= unanswerable


def test_second_question_evaluates_only_what_follows_the_fixed_prefix(backend):
    """The prefix (system prompt and demonstrations) is evaluated once per process, then reused."""
    model = backend.llama.llama_cpp
    first = build_messages("Wer ist Ben Wallace?", passages(), "de")
    second = build_messages("Who is Hulusi Akar?", passages(), "en")
    evaluated: list[int] = []
    original = model.eval
    model.eval = lambda tokens: (evaluated.append(len(tokens)), original(tokens))[1]
    try:
        backend.no_answer_probability(first)
        backend.no_answer_probability(second)
    finally:
        del model.eval  # the instance attribute goes; the class's method is back

    def tokens(messages: list[ChatMessage]) -> list[int]:
        return backend.llama.chat_tokens(messages)

    shared = next(i for i, (a, b) in enumerate(zip(tokens(first), tokens(second), strict=False)) if a != b)
    prefix = len(tokens(prefix_messages()))
    assert shared >= prefix - 5  # the whole fixed prefix is common to both prompts
    assert evaluated[-1] == len(tokens(second)) - shared  # and the second call evaluated only the rest


def test_other_backends_have_no_verdict():
    assert scripted_backend().no_answer_probability(build_messages("Q?", passages(), "en")) is None
