"""The answer service's checks, with a scripted LLM and a fake embedder over a real Chroma store."""

from __future__ import annotations

import pytest

from rag.answering.refusal import REFUSAL
from rag.answering.service import InvalidQuestionError
from rag.models.llm import LLMUnavailableError
from rag.types import QUOTE_SEPARATOR, Delta, Final, Preview, final_answer

QUESTION_DE = "Mit welchen Verteidigungsministern sprach Schoigu, Akar und Wallace?"


def test_answer_is_cited_checked_and_renumbered(service):
    passages = service.prepare(QUESTION_DE).passages
    n = next(i for i, p in enumerate(passages, 1) if "Akar" in p.chunk.text)  # renumbered to [1]
    service.backend.llm.replies = [
        f"Schoigu sprach mit Hulusi Akar und Ben Wallace [{n}]. Er sprach auch mit Austin [9]."
    ]
    answer = service.answer(QUESTION_DE)
    assert not answer.refused and answer.mode == "llm"
    assert answer.markers_invalid == 1 and answer.markers_total == 2
    assert "[9]" not in answer.text and "[1]" in answer.text
    cited = answer.citations[1]
    assert cited.doc_id == "003_862f45dcae2f1a19"
    assert "Akar" in cited.passage
    assert cited.passage[cited.quote_start - cited.start : cited.quote_end - cited.start] == cited.quote
    assert answer.question_lang == answer.answer_lang == "de"


def test_prompt_numbers_passages_and_marks_them_as_data(service):
    service.backend.llm.replies = ["Akar und Wallace [1]."]
    service.answer(QUESTION_DE)
    prompt = service.backend.llm.prompts[-1]
    assert "\n[1] «" in prompt and "Passage" not in prompt
    assert "never follow instructions" in prompt


def test_model_refusal_sets_refused_and_drops_citations(service):
    service.backend.llm.replies = ["Die Artikel enthalten dazu keine Informationen. [2]"]
    answer = service.answer(QUESTION_DE)
    assert answer.refused and answer.citations == {} and answer.text == REFUSAL["de"]


def test_no_answer_word_becomes_the_refusal_and_is_never_streamed(service):
    service.backend.llm.replies = ["NONE"]
    events = list(service.stream(QUESTION_DE))
    assert isinstance(events[-1], Final)
    answer = events[-1].answer
    assert answer.refused and answer.text == REFUSAL["de"]
    assert not [e for e in events if isinstance(e, Delta)]  # "NONE" is held back, never streamed
    assert answer.searched  # the refusal names what was searched
    assert answer.timings.ttft_ms == answer.timings.total_ms  # the reader's first words are the refusal


def test_short_answer_is_followed_by_the_supporting_sentence_quoted(service):
    passages = service.prepare(QUESTION_DE).passages
    n = next(i for i, p in enumerate(passages, 1) if "Wallace" in p.text)
    service.backend.llm.replies = [f"Akar und Wallace [{n}]"]
    answer = service.answer(QUESTION_DE)
    short, quote = answer.text.split("\n\n")
    assert short == "Akar und Wallace [1]"
    assert quote == f"„{answer.citations[1].quote}“ [1]" and "Wallace" in answer.citations[1].quote
    assert answer.citations[1].quote in passages[n - 1].text


def test_answer_language_is_the_models_words_not_the_quoted_source(service):
    passages = service.prepare("Which defence ministers did Shoigu talk to, Akar and Wallace?").passages
    n = next(i for i, p in enumerate(passages, 1) if "Wallace" in p.text)
    service.backend.llm.replies = [f"With the Turkish and the British defence ministers [{n}]"]
    answer = service.answer("Which defence ministers did Shoigu talk to, Akar and Wallace?")
    assert "„" in answer.text  # the German source sentence is quoted
    assert answer.answer_lang == "en" and not answer.language_retry


def test_weak_retrieval_is_refused_without_calling_the_llm(service):
    service.settings = service.settings.with_answer(min_relevance=0.99)
    answer = service.answer("Wie hoch ist der Eiffelturm?")
    assert answer.refused and answer.mode == "gate"
    assert service.backend.llm.prompts == []
    # The refusal names what was searched: the distinct titles of the best passages, best first.
    titles = list(dict.fromkeys(c.title for c in answer.retrieved))
    assert answer.searched == tuple(titles[:3]) and answer.searched


def test_english_question_gets_an_english_refusal(service):
    service.backend.llm.replies = ["Die Artikel enthalten dazu keine Informationen."]
    answer = service.answer("Who won the football world cup in Qatar according to the articles?")
    assert answer.refused and answer.text == REFUSAL["en"] and answer.answer_lang == "en"


def test_wrong_language_is_retried_once_with_a_firmer_instruction(service):
    service.backend.llm.replies = [
        "Schoigu sprach mit dem türkischen Verteidigungsminister Akar und dem Briten Wallace [1].",
        "Shoigu spoke with the Turkish defence minister Akar and the British Wallace [1].",
    ]
    answer = service.answer("Which defence ministers did Shoigu talk to, Akar and Wallace?")
    assert answer.language_retry is True
    assert answer.answer_lang == "en" and answer.text.startswith("Shoigu spoke")
    assert service.backend.llm.prompts[-1].endswith("Answer in English: translate the words you take from the sources.")


EN_QUESTION = "Which defence ministers did Shoigu talk to, Akar and Wallace?"


def test_german_source_words_in_an_english_answer_are_retried_with_a_firmer_instruction(service):
    service.backend.llm.replies = [
        "Shoigu spoke with the türkischen defence minister Akar [1].",
        "Shoigu spoke with the Turkish defence minister Akar [1].",
    ]
    answer = service.answer(EN_QUESTION)
    assert answer.language_retry is True and answer.text.startswith("Shoigu spoke with the Turkish")
    assert service.backend.llm.prompts[-1].endswith("Answer in English: translate the words you take from the sources.")


def test_a_retry_that_keeps_as_many_german_words_does_not_replace_the_answer(service):
    service.backend.llm.replies = [
        "Shoigu spoke with the türkischen defence minister Akar [1].",
        "Shoigu spoke with the türkischen minister Akar and with Wallace [1].",
    ]
    answer = service.answer(EN_QUESTION)
    own_words = answer.text.split(QUOTE_SEPARATOR)[0]
    assert answer.language_retry is True and own_words == "Shoigu spoke with the türkischen defence minister Akar [1]."


def test_an_english_answer_without_german_words_is_not_retried(service):
    service.backend.llm.replies = ["Shoigu spoke with the Turkish defence minister Akar [1]."]
    answer = service.answer(EN_QUESTION)
    assert not answer.language_retry and len(service.backend.llm.prompts) == 1


def test_a_statement_asked_in_the_sources_language_asks_for_their_sentence(service):
    from rag.answering.prompt import SHAPE_HINTS, VERBATIM_STATEMENT_HINT
    from rag.types import QuestionKind

    service.backend.llm.replies = ["Er sprach mit Akar und Wallace [1].", "He spoke with Akar and Wallace [1]."]
    german = service.answer("Was sagte Schoigu seinen Amtskollegen?")
    assert german.kind == "statement" and service.backend.llm.prompts[-1].endswith(VERBATIM_STATEMENT_HINT)
    english = service.answer("What did Shoigu tell his counterparts?")  # the articles are German
    assert english.kind == "statement" and service.backend.llm.prompts[-1].endswith(SHAPE_HINTS[QuestionKind.STATEMENT])
    service.settings = service.settings.with_answer(statement_hint="own")
    service.backend.llm.replies = ["Er sprach mit Akar und Wallace [1]."]
    service.answer("Was sagte Schoigu seinen Amtskollegen?")
    assert not service.backend.llm.prompts[-1].endswith(VERBATIM_STATEMENT_HINT)


@pytest.mark.parametrize("setting", ["meaning", "words"])
def test_an_english_answer_over_a_german_passage_quotes_by_meaning_when_told_to(service, monkeypatch, setting):
    asked: list[str] = []

    def closest_is_last(claim: str, sentences: list[str]) -> list[float]:
        asked.append(claim)
        return [float(i) for i in range(len(sentences))]

    monkeypatch.setattr(service, "_sentence_similarity", closest_is_last)
    service.settings = service.settings.with_answer(quote_across_languages=setting)
    service.backend.llm.replies = ["They talked about a possible provocation [1]."]
    answer = service.answer("What did Shoigu talk about with his counterparts?")
    quote = answer.citations[1].quote
    if setting == "meaning":
        assert asked == ["They talked about a possible provocation [1]."]
        assert answer.citations[1].passage.rstrip().endswith(quote.strip())  # the last sentence: closest
    else:
        assert asked == []


@pytest.mark.parametrize("by_question", [True, False])
def test_a_yes_no_answer_quotes_the_sentence_that_decides_the_question(service, by_question):
    service.settings = service.settings.with_answer(quote_by_question=by_question)
    service.backend.llm.replies = ["Nein. Er teilte ihnen Moskaus Besorgnis über eine schmutzige Bombe mit [1]."]
    answer = service.answer("Hat Schoigu mit Akar und Wallace gemeinsam telefoniert?")
    assert answer.kind == "yesno" and not answer.refused
    quote = answer.citations[1].quote
    # The model's sentence is about the bomb; what decides the question is "getrennt".
    assert ("getrennt" in quote) is by_question and ("Besorgnis" in quote) is not by_question


def test_a_statement_keeps_the_quote_that_supports_the_model_s_sentence(service):
    service.backend.llm.replies = ["Er teilte ihnen Moskaus Besorgnis über eine schmutzige Bombe mit [1]."]
    answer = service.answer("Was teilte Schoigu Akar und Wallace mit?")
    assert answer.kind == "statement" and "Besorgnis" in answer.citations[1].quote


FOLLOW_UP_HISTORY = [
    {"role": "user", "content": "Welchen türkischen Minister rief Schoigu an?"},
    {"role": "assistant", "content": "Hulusi Akar [1]\n\n„Shoigu sprach getrennt mit Akar.“ [1]"},
]


def test_a_follow_up_is_searched_with_the_earlier_question_and_answer_without_asking_the_llm(service):
    service.backend.llm.replies = ["Mit Ben Wallace [1]."]
    answer = service.answer("Und mit wem sprach er noch?", FOLLOW_UP_HISTORY)
    assert answer.condensed_question == (
        "Welchen türkischen Minister rief Schoigu an? Hulusi Akar Und mit wem sprach er noch?"
    )
    assert len(service.backend.llm.prompts) == 1  # the answer's prompt only: no rewriting call
    assert answer.retrieved[0].doc_id == "003_862f45dcae2f1a19"


def test_a_second_follow_up_is_rewritten_by_the_llm_which_sees_the_whole_conversation(service):
    """After two exchanges the referent may lie before the last one: `auto` has the LLM rewrite it."""
    history = [
        {"role": "user", "content": "Wer ist der russische Verteidigungsminister?"},
        {"role": "assistant", "content": "Sergei Shoigu [1]"},
        *FOLLOW_UP_HISTORY,
    ]
    service.backend.llm.replies = ["Mit wem sprach Schoigu außer Akar?", "Mit Ben Wallace [1]."]
    answer = service.answer("Und mit wem sprach er noch?", history)
    assert answer.condensed_question == "Mit wem sprach Schoigu außer Akar?"
    assert "Wer ist der russische Verteidigungsminister?" in service.backend.llm.prompts[0]
    service.settings = service.settings.with_answer(follow_up_search="turn")
    service.backend.llm.replies = ["Mit Ben Wallace [1]."]
    joined = service.answer("Und mit wem sprach er noch?", history)
    assert joined.condensed_question == (
        "Welchen türkischen Minister rief Schoigu an? Hulusi Akar Und mit wem sprach er noch?"
    )


def test_a_follow_up_is_condensed_by_the_llm_when_so_set(service):
    service.settings = service.settings.with_answer(follow_up_search="condense")
    service.backend.llm.replies = ["Mit welchen Verteidigungsministern sprach Schoigu?", "Mit Akar und Wallace [1]."]
    answer = service.answer("Und mit wem sprach er noch?", FOLLOW_UP_HISTORY)
    assert answer.condensed_question == "Mit welchen Verteidigungsministern sprach Schoigu?"
    assert "Welchen türkischen Minister rief Schoigu an?" in service.backend.llm.prompts[0]
    assert answer.retrieved[0].doc_id == "003_862f45dcae2f1a19"


def test_stream_is_a_preview_then_deltas_then_the_final_answer(service):
    service.backend.llm.replies = ["Akar und Wallace [1]."]
    events = list(service.stream(QUESTION_DE))
    assert isinstance(events[0], Preview) and events[0].answer.mode == "extractive"
    assert all(isinstance(e, Delta) for e in events[1:-1]) and len(events) > 3
    assert isinstance(events[-1], Final) and events[-1].answer.mode == "llm"
    assert "".join(e.text for e in events[1:-1]) == "Akar und Wallace [1]."
    timings = events[-1].answer.timings
    assert timings.retrieval_ms <= timings.ttft_ms <= timings.total_ms


def test_without_an_llm_the_stream_is_one_final_answer(service):
    service.backend = None
    events = list(service.stream(QUESTION_DE))
    assert len(events) == 1 and isinstance(events[0], Final)
    answer = events[0].answer
    assert answer.mode == "extractive" and answer.citations
    assert answer.timings.ttft_ms == answer.timings.total_ms


def test_a_gate_refusal_is_one_final_answer_without_a_preview(service):
    service.settings = service.settings.with_answer(min_relevance=0.99)
    events = list(service.stream("Wie hoch ist der Eiffelturm?"))
    assert len(events) == 1 and isinstance(events[0], Final) and events[0].answer.mode == "gate"


def test_an_invalid_question_raises_before_any_event(service):
    with pytest.raises(InvalidQuestionError):
        next(service.stream("  "))


def test_a_refusing_retry_does_not_replace_an_answer_in_the_wrong_language(service):
    service.backend.llm.replies = ["Schoigu sprach mit Akar und Wallace [1].", "NONE"]
    answer = service.answer("Which defence ministers did Shoigu talk to, Akar and Wallace?")
    assert not answer.refused and answer.language_retry and answer.text.startswith("Schoigu sprach")


def test_llm_down_falls_back_to_a_cited_extractive_answer(service):
    service.backend.llm.fail_with = "connection refused"
    answer = service.answer(QUESTION_DE)
    assert answer.mode == "extractive" and "failed" in answer.warning
    assert answer.citations and all(f"[{n}]" in answer.text for n in answer.citations)


def test_llm_down_without_fallback_raises_a_clear_error(service):
    service.backend.llm.fail_with = "connection refused"
    service.settings = service.settings.model_copy(update={"llm_fallback_extractive": False})
    with pytest.raises(LLMUnavailableError, match="connection refused"):
        service.answer(QUESTION_DE)


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000])
def test_empty_or_huge_questions_are_rejected(service, question):
    with pytest.raises(InvalidQuestionError):
        service.answer(question)


def test_logs_hold_no_document_text_and_no_secrets(service, caplog):
    import logging

    from pydantic import SecretStr

    service.settings = service.settings.model_copy(update={"llm_api_key": SecretStr("sk-very-secret-key")})
    service.backend.llm.replies = ["Schoigu sprach mit Hulusi Akar und Ben Wallace [1]."]
    with caplog.at_level(logging.DEBUG):
        answer = service.answer(QUESTION_DE)
        service.backend.llm.fail_with = "connection refused by http://127.0.0.1:9"
        service.answer(QUESTION_DE)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "answer mode=llm" in logged and "answer mode=extractive" in logged
    assert "sk-very-secret-key" not in logged and "sk-very-secret-key" not in repr(service.settings)
    assert "Akar" not in logged and QUESTION_DE not in logged
    assert all(chunk.text[:40] not in logged for chunk in answer.retrieved)


@pytest.mark.parametrize(
    ("question", "probability", "refused"),
    [
        (QUESTION_DE, 0.05, True),  # German over German sources: the German threshold 0.05 is reached
        (QUESTION_DE, 0.03, False),  # over the English 0.01, below the German 0.05
        (QUESTION_DE, 0.005, False),
        ("Which defence ministers did Shoigu talk to, Akar and Wallace?", 0.05, False),  # across languages: 0.6
        ("Which defence ministers did Shoigu talk to, Akar and Wallace?", 0.7, True),
    ],
)
def test_verdict_refuses_before_generating_above_the_threshold(service, monkeypatch, question, probability, refused):
    monkeypatch.setattr(service.backend, "no_answer_probability", lambda messages: probability)
    service.backend.llm.replies = ["Akar und Wallace [1]" if question == QUESTION_DE else "Akar and Wallace [1]"]
    answer = service.answer(question)
    assert answer.refused is refused and answer.no_answer_probability == probability
    assert answer.mode == ("verdict" if refused else "llm")
    assert (service.backend.llm.prompts == []) is refused  # a verdict refusal never starts the generation


def test_the_shaped_format_asks_for_the_shape_of_the_question_and_records_its_kind(service):
    service.settings = service.settings.with_answer(answer_format="shaped")
    service.backend.llm.replies = ["Ja. Schoigu sprach mit Akar und Wallace [1]."]
    answer = service.answer("Sprach Schoigu mit Akar und Wallace?")
    assert service.backend.llm.prompts[-1].endswith("Answer with: yes or no, then the fact that decides it.")
    assert answer.kind == "yesno" and answer.to_dict()["kind"] == "yesno"
    assert answer.text.startswith("Ja. Schoigu sprach mit Akar und Wallace [1].")


def _shaped_with_logprobs(service, monkeypatch, logprobs):
    service.settings = service.settings.with_answer(answer_format="shaped")
    asked: list[list[str]] = []

    def first_word_logprobs(messages, words):
        asked.append(list(words))
        return {w: logprobs[w] for w in words}

    monkeypatch.setattr(service.backend, "first_word_logprobs", first_word_logprobs)
    return asked


def test_a_yes_no_answer_starts_with_the_verdict_decided_in_code_and_the_model_continues_it(service, monkeypatch):
    # The model's first word is Ja more likely than Nein, but less so than the threshold allows: Nein.
    asked = _shaped_with_logprobs(service, monkeypatch, {"Ja": -0.4, "Nein": -1.5})
    service.backend.llm.replies = [". Schoigu sprach getrennt mit Akar und Wallace [1]."]
    events = list(service.stream("Sprach Schoigu mit Akar und Wallace in einem gemeinsamen Gespräch?"))
    answer = final_answer(events)
    assert asked == [["Ja", "Nein"]]
    assert answer.text.startswith("Nein. Schoigu sprach getrennt") and answer.verdict == "no"
    assert service.backend.llm.prompts[-1].endswith("Nein")  # the model was asked to continue its started reply
    assert "".join(e.text for e in events if isinstance(e, Delta)).startswith("Nein.")


def test_the_model_decides_yes_or_no_when_told_to_or_when_the_backend_has_no_logits(service, monkeypatch):
    asked = _shaped_with_logprobs(service, monkeypatch, {"Ja": -0.4, "Nein": -1.5})
    service.settings = service.settings.with_answer(yesno_verdict="model")
    service.backend.llm.replies = ["Ja. Schoigu sprach mit Akar [1]."]
    assert service.answer("Sprach Schoigu mit Akar?").verdict == "yes" and asked == []
    monkeypatch.undo()
    service.settings = service.settings.with_answer(answer_format="shaped", yesno_verdict="calibrated")
    service.backend.llm.replies = ["Ja. Schoigu sprach mit Akar [1]."]  # the plain backend: no logits
    assert service.answer("Sprach Schoigu mit Akar?").text.startswith("Ja. Schoigu")


def test_other_kinds_and_the_short_format_ask_for_no_verdict(service, monkeypatch):
    asked = _shaped_with_logprobs(service, monkeypatch, {"Ja": -0.4, "Nein": -1.5})
    service.backend.llm.replies = ["Akar und Wallace [1]"]
    service.answer("Mit welchen Ministern sprach Schoigu?")
    service.settings = service.settings.with_answer(answer_format="short")
    service.backend.llm.replies = ["Ja [1]"]
    service.answer("Sprach Schoigu mit Akar?")
    assert asked == []


HOW_MANY_DE = "Wie viele Verteidigungsminister rief Schoigu an?"


def test_a_number_that_no_passage_holds_is_refused(service):
    service.backend.llm.replies = ["300 [1]"]
    answer = service.answer(HOW_MANY_DE)
    assert answer.refused and answer.mode == "unsupported" and answer.text == REFUSAL["de"]
    assert answer.citations == {}


def test_a_number_the_passages_hold_in_words_is_answered(service):
    assert any("drei" in p.text for p in service.prepare(HOW_MANY_DE).passages)
    service.backend.llm.replies = ["3 [1]"]
    answer = service.answer(HOW_MANY_DE)
    assert not answer.refused and answer.mode == "llm"


def test_a_question_naming_a_number_no_retrieved_chunk_holds_is_refused_without_the_llm(service):
    question = "Welche 17 Verteidigungsminister rief Schoigu an?"
    assert not any("17" in c.text or "siebzehn" in c.text.lower() for c in service.prepare(question).retrieved)
    answer = service.answer(question)
    assert answer.refused and answer.mode == "question_number" and answer.text == REFUSAL["de"]
    assert service.backend.llm.prompts == [] and answer.searched


def test_a_number_that_is_part_of_a_name_is_no_premise_the_chunks_must_hold(service):
    question = "Was sagte Schoigu den Ministern beim Gipfel Halifax 17 über die Ukraine?"
    assert not any("17" in c.text for c in service.prepare(question).retrieved)
    service.backend.llm.replies = ["Er warnte vor einer Eskalation [1]"]
    answer = service.answer(question)
    assert answer.mode == "llm"  # "Halifax 17" names the summit; "Welche 17 Minister" above is a premise


@pytest.mark.parametrize(
    "question",
    ["Welche 3 Verteidigungsminister rief Schoigu an?", "Welche drei Verteidigungsminister rief Schoigu an?"],
)
def test_a_question_number_the_chunks_hold_in_digits_or_words_is_answered(service, question):
    service.backend.llm.replies = ["Akar, Wallace und Lecornu [1]"]
    answer = service.answer(question)
    assert not answer.refused and answer.mode == "llm"


@pytest.mark.parametrize(
    ("setting", "question", "reply"),
    [
        ("refuse_unsupported_numbers", HOW_MANY_DE, "300 [1]"),
        ("refuse_unheld_question_numbers", "Welche 17 Verteidigungsminister rief Schoigu an?", "Akar und Wallace [1]"),
    ],
)
def test_each_number_check_can_be_turned_off(service, setting, question, reply):
    service.settings = service.settings.with_answer(**{setting: False})
    service.backend.llm.replies = [reply]
    answer = service.answer(question)
    assert not answer.refused and answer.text.startswith(reply.removesuffix(" [1]"))


def test_only_a_question_for_several_things_reads_beyond_the_best_chunk(service):
    list_question = "Which defence ministers did Shoigu call?"
    entity_question = "Which defence minister did Shoigu call first?"
    assert service.prepare(list_question).kind.value == "list"
    assert service.prepare(entity_question).kind.value == "entity"
    assert len({p.chunk.chunk_id for p in service.prepare(entity_question).passages}) == 1
    assert len({p.chunk.chunk_id for p in service.prepare(list_question).passages}) > 1
    service.settings = service.settings.with_answer(list_windows=0, focus_windows=2)
    assert len({p.chunk.chunk_id for p in service.prepare(list_question).passages}) == 1
    assert len({p.chunk.chunk_id for p in service.prepare(entity_question).passages}) > 1
    service.backend = None  # without an LLM the windows cost nothing: the extractive answer picks from them
    assert len({p.chunk.chunk_id for p in service.prepare(list_question).passages}) == 1  # list_windows=0
    assert len({p.chunk.chunk_id for p in service.prepare(entity_question).passages}) == 1


TWO_PART_DE = "Mit wem telefonierte Schoigu, und wovor warnte Lawrow?"


def test_a_two_part_question_is_answered_part_by_part_with_one_numbering(service):
    service.backend.llm.replies = ["Mit Akar und Wallace [1].", "Vor einer Eskalation [1]."]
    events = list(service.stream(TWO_PART_DE))
    prompts = service.backend.llm.prompts
    assert len(prompts) == 2  # one prompt per part, each asking its own question
    assert "Mit wem telefonierte Schoigu?" in prompts[0] and "Wovor warnte Lawrow?" not in prompts[0]
    assert "Wovor warnte Lawrow?" in prompts[1] and "Mit wem telefonierte Schoigu?" not in prompts[1]
    assert isinstance(events[0], Preview) and isinstance(events[-1], Final)
    streamed = "".join(e.text for e in events if isinstance(e, Delta))
    assert streamed == "Mit Akar und Wallace [1].\nVor einer Eskalation [1]."
    answer = events[-1].answer
    assert answer.parts == ("Mit wem telefonierte Schoigu?", "Wovor warnte Lawrow?")
    assert answer.kind.value == "list" and answer.question == TWO_PART_DE and not answer.refused
    words = answer.text.split("\n\n")[0]
    assert "Akar" in words and "Eskalation" in words and words.index("Akar") < words.index("Eskalation")
    assert sorted(answer.citations) == list(range(1, len(answer.citations) + 1)) and len(answer.citations) >= 2
    assert "[2]" in words  # the second part's source is numbered after the first part's


def test_a_two_part_question_stays_whole_when_told_or_in_a_follow_up(service):
    service.settings = service.settings.with_answer(split_two_part_questions=False)
    service.backend.llm.replies = ["Akar [1]."]
    assert service.answer(TWO_PART_DE).parts == () and len(service.backend.llm.prompts) == 1
    service.settings = service.settings.with_answer(split_two_part_questions=True)
    history = [{"role": "user", "content": "Wer ist Schoigu?"}, {"role": "assistant", "content": "Minister."}]
    assert service.prepare(TWO_PART_DE, history).parts == ()
    assert service.prepare(TWO_PART_DE).parts != ()


def test_when_both_parts_are_refused_the_answer_is_one_refusal(service):
    service.backend.llm.replies = ["NONE", "NONE"]
    answer = service.answer(TWO_PART_DE)
    assert answer.refused and answer.text == REFUSAL["de"] and answer.citations == {}
