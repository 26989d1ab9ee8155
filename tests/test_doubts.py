"""The model's answer judged by its answerability signals (rag.answering.doubts), with a scripted LLM."""

from __future__ import annotations

from rag.types import QuestionKind

# "Mai" and "Brüssel" are in no seed article's passage about Shoigu's calls.
QUESTION = "Mit welchem türkischen Minister sprach Schoigu im Mai in Brüssel?"


def _cited_reply(service, question: str, word: str) -> str:
    passages = service.prepare(question).passages
    n = next(i for i, p in enumerate(passages, 1) if word in p.text)
    return f"Hulusi {word} [{n}]"


def test_signals_are_recorded_and_only_the_thresholds_set_mark_an_answer(service):
    service.settings = service.settings.with_answer(doubt_unheld_terms=0)
    service.backend.llm.replies = [_cited_reply(service, QUESTION, "Akar")]
    answer = service.answer(QUESTION)
    assert not answer.refused and not answer.uncertain
    assert {"Mai", "Brüssel"} <= set(answer.unheld_terms) and "Schoigu" in answer.question_terms
    assert "Schoigu" not in answer.unheld_terms and answer.question_similarity is not None


def test_unheld_terms_mark_the_answer_uncertain_in_its_language(service):
    service.settings = service.settings.with_answer(doubt_unheld_terms=2)
    service.backend.llm.replies = [_cited_reply(service, QUESTION, "Akar")]
    answer = service.answer(QUESTION)
    assert answer.uncertain and not answer.refused and answer.claim.startswith("Hulusi Akar")
    assert answer.doubt is not None and "womöglich" in answer.doubt and "“Mai”" in answer.doubt


def test_enough_unheld_terms_refuse(service):
    service.settings = service.settings.with_answer(refuse_unheld_terms=2)
    service.backend.llm.replies = [_cited_reply(service, QUESTION, "Akar")]
    answer = service.answer(QUESTION)
    assert answer.refused and answer.mode == "unheld_terms" and answer.citations == {}


def test_a_question_whose_terms_are_held_is_not_doubted(service):
    question = "Mit welchem türkischen Minister sprach Schoigu?"
    service.settings = service.settings.with_answer(doubt_unheld_terms=1)
    service.backend.llm.replies = [_cited_reply(service, question, "Akar")]
    answer = service.answer(question)
    assert answer.unheld_terms == () and not answer.uncertain


def test_a_low_similarity_marks_the_answer_uncertain(service):
    service.settings = service.settings.with_answer(doubt_similarity=1.0)  # every cosine is below 1
    service.backend.llm.replies = [_cited_reply(service, QUESTION, "Akar")]
    assert service.answer(QUESTION).uncertain


def test_sampled_answers_that_disagree_mark_a_short_answer_uncertain(service, monkeypatch):
    question = "Mit welchem türkischen Minister sprach Schoigu?"
    assert service.prepare(question).kind is QuestionKind.ENTITY
    service.settings = service.settings.with_answer(consistency_samples=4, doubt_agreement=0.5)
    asked: list[int] = []

    def sample(messages, n, temperature, max_tokens):
        asked.append(n)
        return ["Ben Wallace [1]", "NONE", "Hulusi Akar [1]", "Lecornu"]

    monkeypatch.setattr(service.backend, "sample", sample)
    service.backend.llm.replies = [_cited_reply(service, question, "Akar")]
    answer = service.answer(question)
    assert asked == [4] and answer.agreement == 0.25 and answer.uncertain
    assert "erneuten Fragen" in (answer.doubt or "")


def test_without_samples_from_the_backend_the_answer_goes_without_agreement(service):
    question = "Mit welchem türkischen Minister sprach Schoigu?"
    service.settings = service.settings.with_answer(consistency_samples=4, doubt_agreement=0.5)
    service.backend.llm.replies = [_cited_reply(service, question, "Akar")]
    answer = service.answer(question)
    assert answer.agreement is None and not answer.uncertain
