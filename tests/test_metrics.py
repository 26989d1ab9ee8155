import math
from typing import Any

import pytest

from rag.evaluation import gates
from rag.evaluation.metrics import (
    SCORE_KEYS,
    answer_correct,
    answer_match,
    citation_precision,
    citation_recall,
    citation_validity,
    keyword_recall,
    normalize,
    quote_evidence,
    score_question,
    token_f1,
)
from rag.evaluation.questionset import Question
from rag.evaluation.retrieval_metrics import evidence_hits, evidence_ndcg_at_k, hit_at_k, mrr, ndcg_at_k
from rag.evaluation.summary import aggregate, percentile, summarize, summary_names

SPAN = "Hulusi Akar und dem Briten Ben Wallace"
KEYWORDS = (("Lecornu", "Frankreich"), ("Akar", "Türkei"), ("Wallace", "Großbritannien"))


def make_question(qid: str = "q1", **fields: Any) -> Question:
    defaults: dict[str, Any] = {
        "id": qid,
        "question": "Mit welchen Verteidigungsministern telefonierte Schoigu?",
        "lang": "de",
        "answerable": True,
        "answers": ("Lecornu, Akar und Wallace",),
        "keywords": KEYWORDS,
        "relevant_docs": ("doc3",),
        "evidence": (SPAN,),
        "history": (),
        "tags": (),
        "line": 1,
    }
    return Question(**{**defaults, **fields})


def make_record(qid: str = "q1", **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": qid,
        "answer": "Schoigu telefonierte mit Lecornu, Akar und Wallace [1].",
        "refused": False,
        "answer_lang": "de",
        "question_lang": "de",
        "citations": [{"n": 1, "doc_id": "doc3", "chunk_id": "doc3#2", "text": SPAN}],
        "markers_total": 1,
        "markers_invalid": 0,
        "retrieved": [
            {"rank": 1, "doc_id": "doc1", "chunk_id": "doc1#0", "score": 0.9, "text": "Etwas anderes."},
            {"rank": 2, "doc_id": "doc3", "chunk_id": "doc3#2", "score": 0.8, "text": f"Mit {SPAN}."},
        ],
        "timings": {"retrieval_ms": 12.0, "ttft_ms": 150.0, "total_ms": 900.0},
        "error": None,
    }
    record.update(fields)
    return record


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Der Verteidigungsminister Großbritanniens", "de", "verteidigungsminister grossbritanniens"),
        ("Über die Türkei, dem Land des Öls!", "de", "ueber tuerkei land oels"),
        ("ÄRGER  MIT\tEINEM\nStraßenbahn-Fahrer", "de", "aerger mit strassenbahn fahrer"),
        ("STRASSE", "de", "strasse"),
        ("GROẞE", "de", "grosse"),  # capital sharp s
        ("Mu\u0308ller", "de", "mueller"),  # decomposed umlaut, composed by NFKC
        ("ﬁnale １０", "de", "finale 10"),  # ligature and full-width digits
        ("The minister of a state, an envoy.", "en", "minister of state envoy"),
        ("Die Hard", "en", "die hard"),  # German articles are words in English
        ("the Die", "de", "the"),
        ("The die", None, ""),  # unknown language: both languages' articles go
        ("1.000 Soldaten", "de", "1000 soldaten"),
        ("„Nein“, sagte er – (laut)", "de", "nein sagte er laut"),
    ],
)
def test_normalize(text: str, lang: str | None, expected: str) -> None:
    assert normalize(text, lang) == expected


def test_normalize_spellings_agree() -> None:
    assert normalize("Großbritannien", "de") == normalize("Grossbritannien", "de")
    assert normalize("Türkei", "de") == normalize("Tuerkei", "de")
    assert normalize("Schoigu", "de") == normalize("SCHOIGU", "en")


# ---------------------------------------------------------------- answer metrics


def test_token_f1_partial_overlap() -> None:
    # pred {lecornu, und, akar} vs ref {lecornu, akar, und, wallace}: P = 1, R = 3/4
    assert token_f1("Lecornu und Akar", ["Lecornu, Akar und Wallace"], "de") == pytest.approx(6 / 7)


def test_token_f1_takes_best_reference() -> None:
    assert token_f1("Wallace", ["Lecornu, Akar und Wallace", "Ben Wallace"], "de") == pytest.approx(2 / 3)


def test_token_f1_counts_repeated_tokens_once_each() -> None:
    # overlap 1, P = 1/2, R = 1
    assert token_f1("Akar Akar", ["Akar"], "de") == pytest.approx(2 / 3)


def test_token_f1_normalises_articles_and_umlauts() -> None:
    assert token_f1("Der Minister Großbritanniens", ["Minister Grossbritanniens"], "de") == 1.0
    assert token_f1("Paris", ["Berlin"], "de") == 0.0
    assert token_f1("", ["Berlin"], "de") == 0.0


def test_token_f1_without_usable_references_is_none() -> None:
    assert token_f1("Berlin", [], "de") is None
    assert token_f1("Berlin", ["die", "!"], "de") is None


def test_answer_match_containment() -> None:
    answer = "Schoigu telefonierte mit Lecornu, Akar und Wallace."
    assert answer_match(answer, ["Lecornu, Akar und Wallace"], "de") == 1.0
    assert answer_match(answer, ["Lecornu und Wallace"], "de") == 0.0
    assert answer_match(answer, ["Putin", "akar UND wallace"], "de") == 1.0


def test_answer_match_folds_and_drops_articles() -> None:
    assert answer_match("Er sprach mit Grossbritannien.", ["Großbritannien"], "de") == 1.0
    assert answer_match("Es war die Bundeswehr.", ["der Bundeswehr"], "de") == 1.0
    assert answer_match("It was the army.", ["an army"], "en") == 1.0


def test_answer_match_needs_whole_tokens() -> None:
    assert answer_match("Makarow kam.", ["Akar"], "de") == 0.0
    assert answer_match("Akars Anruf", ["Akar"], "de") == 0.0


def test_answer_match_without_references_is_none() -> None:
    assert answer_match("Berlin", [], "de") is None


def test_keyword_recall() -> None:
    answer = "Mit dem Franzosen LECORNU und dem türkischen Minister akar."
    assert keyword_recall(answer, KEYWORDS) == pytest.approx(2 / 3)
    assert keyword_recall("Tuerkei und Grossbritannien", KEYWORDS) == pytest.approx(2 / 3)
    assert keyword_recall("Frankreichs Minister", KEYWORDS) == pytest.approx(1 / 3)  # substring
    assert keyword_recall("Niemand", KEYWORDS) == 0.0
    assert keyword_recall("Niemand", []) is None


def test_answer_correct() -> None:
    assert answer_correct(1.0, 0.0) == 1.0  # keywords win over the reference answer
    assert answer_correct(2 / 3, 1.0) == 0.0
    assert answer_correct(None, 1.0) == 1.0  # no keywords: the reference answer decides
    assert answer_correct(None, 0.0) == 0.0
    assert answer_correct(None, None) is None


# ---------------------------------------------------------------- retrieval metrics

# Distinct documents: A(1) B(2) C(3) D(4); C sits at chunk rank 4.
RANKED = ["A", "A", "B", "C", "B", "D"]


def test_doc_metrics_dedupe_repeated_doc_ids() -> None:
    assert [hit_at_k(RANKED, {"C"}, k) for k in (1, 2, 3, 5)] == [0.0, 0.0, 1.0, 1.0]
    assert mrr(RANKED, {"C"}) == pytest.approx(1 / 3)
    assert ndcg_at_k(RANKED, {"C"}, 5) == pytest.approx(0.5)  # (1 / log2 4) / (1 / log2 2)


def test_doc_metrics_without_relevant_doc_retrieved() -> None:
    assert hit_at_k(RANKED, {"X"}, 5) == 0.0
    assert mrr(RANKED, {"X"}) == 0.0
    assert ndcg_at_k(RANKED, {"X"}) == 0.0
    assert hit_at_k([], {"X"}, 5) == 0.0


def test_ndcg_two_relevant_docs_by_hand() -> None:
    # B at 2 and D at 4: DCG = 1/log2(3) + 1/log2(5) = 1.06161; IDCG = 1 + 1/log2(3) = 1.63093
    assert ndcg_at_k(RANKED, ["B", "D"], 5) == pytest.approx(0.650921, abs=1e-6)
    assert mrr(RANKED, ["B", "D"]) == 0.5


def test_ndcg_cutoff_and_more_relevant_than_k() -> None:
    assert ndcg_at_k(RANKED, {"D"}, 3) == 0.0
    assert ndcg_at_k(RANKED, {"A"}, 1) == 1.0
    assert ndcg_at_k(list("ABCDEFG"), set("ABCDEFG"), 5) == pytest.approx(1.0)
    # only A and B relevant of 3 relevant docs: (1 + 1/log2 3) / (1 + 1/log2 3 + 1/2)
    assert ndcg_at_k(["A", "B", "X"], {"A", "B", "Z"}, 5) == pytest.approx(1.63093 / 2.13093, abs=1e-5)


def test_evidence_hits_normalise_whitespace_only() -> None:
    chunks = [
        "Nichts davon.",
        "Schoigu sprach mit Hulusi Akar und\n dem  Briten\tBen Wallace am Telefon.",
        "hulusi akar und dem briten ben wallace",  # case differs: not verbatim
    ]
    assert evidence_hits(chunks, ["Hulusi  Akar und dem Briten Ben Wallace"]) == [False, True, False]
    assert evidence_hits(chunks, []) == [False, False, False]


def test_evidence_ndcg_credits_each_span_once() -> None:
    chunks = ["x", "a span1 b", "span1 again", "y", "span2"]
    # gains 0 1 0 0 1 (the repeat of span1 gains nothing); the ideal puts the two gaining chunks first
    expected = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert evidence_ndcg_at_k(chunks, ["span1", "span2"], 5) == pytest.approx(expected)
    assert expected == pytest.approx(0.624050, abs=1e-6)
    assert evidence_ndcg_at_k(["span1 span2", "x"], ["span1", "span2"], 5) == 1.0
    assert evidence_ndcg_at_k(["x", "y"], ["span1"], 5) == 0.0
    assert evidence_ndcg_at_k(["x", "x", "x", "x", "x", "span1"], ["span1"], 5) == 0.0


# ---------------------------------------------------------------- citations


def test_citation_validity() -> None:
    assert citation_validity(4, 1) == 0.75
    assert citation_validity(2, 0) == 1.0
    assert citation_validity(2, 2) == 0.0
    assert citation_validity(0, 0) is None


def test_citation_precision_and_recall_use_distinct_docs() -> None:
    cited = ["doc3", "doc3", "doc1"]
    assert citation_precision(cited, ["doc3", "doc5"]) == 0.5
    assert citation_recall(cited, ["doc3", "doc5"]) == 0.5
    assert citation_recall(cited, ["doc3"]) == 1.0
    assert citation_precision([], ["doc3"]) is None
    assert citation_recall([], ["doc3"]) == 0.0
    assert citation_recall(cited, []) is None


# ---------------------------------------------------------------- score_question


def test_score_keys_are_exactly_the_documented_ones() -> None:
    scores = score_question(make_question(), make_record())
    assert list(scores) == [
        "retrieval_doc_hit@1", "retrieval_doc_hit@3", "retrieval_doc_hit@5", "retrieval_doc_mrr",
        "retrieval_doc_ndcg@5", "retrieval_ev_hit@1", "retrieval_ev_hit@3", "retrieval_ev_hit@5",
        "retrieval_ev_mrr", "retrieval_ev_ndcg@5", "answer_match", "answer_f1", "keyword_recall",
        "answer_correct", "answer_correct_own_words", "answer_f1_own_words", "citation_validity",
        "citation_precision", "citation_recall", "quote_evidence",
        "invented_numbers", "unsupported_sentences", "untranslated_words", "passage_word", "repeats_question",
        "correct_refusal", "false_refusal", "uncertain", "uncertain_right", "unanswerable_caught",
        "language_accuracy", "ttft_ms", "total_ms", "error",
    ]  # fmt: skip
    assert tuple(scores) == SCORE_KEYS


def test_score_answerable_question() -> None:
    record = make_record(
        answer="Lecornu und Akar [1][2][7].",
        citations=[
            {"n": 1, "doc_id": "doc3", "chunk_id": "doc3#2", "text": SPAN},
            {"n": 2, "doc_id": "doc1", "chunk_id": "doc1#0", "text": "Etwas anderes."},
        ],
        markers_total=3,
        markers_invalid=1,
    )
    scores = score_question(make_question(), record)
    assert scores == pytest.approx(
        {
            "retrieval_doc_hit@1": 0.0,
            "retrieval_doc_hit@3": 1.0,
            "retrieval_doc_hit@5": 1.0,
            "retrieval_doc_mrr": 0.5,
            "retrieval_doc_ndcg@5": 1 / math.log2(3),
            "retrieval_ev_hit@1": 0.0,
            "retrieval_ev_hit@3": 1.0,
            "retrieval_ev_hit@5": 1.0,
            "retrieval_ev_mrr": 0.5,
            "retrieval_ev_ndcg@5": 1 / math.log2(3),
            "answer_match": 0.0,
            "answer_f1": 6 / 7,
            "keyword_recall": 2 / 3,
            "answer_correct": 0.0,  # the Wallace group is missing
            "answer_correct_own_words": 0.0,  # no quote under it: the same answer
            "answer_f1_own_words": 6 / 7,
            "citation_validity": 2 / 3,
            "citation_precision": 0.5,
            "citation_recall": 1.0,
            "quote_evidence": None,  # no quote under the answer
            "invented_numbers": 0,
            "unsupported_sentences": None,  # a record of an older run has no such key
            "untranslated_words": None,  # a German question
            "passage_word": 0.0,
            "repeats_question": 0.0,  # "Lecornu und Akar" are not in the question
            "correct_refusal": None,
            "false_refusal": 0.0,
            "uncertain": 0.0,
            "uncertain_right": None,
            "unanswerable_caught": None,
            "language_accuracy": 1.0,
            "ttft_ms": 150.0,
            "total_ms": 900.0,
            "error": 0.0,
        }
    )


def test_untranslated_words_judge_the_models_words_not_the_quote_under_them() -> None:
    source = "Die Übung heißt Steadfast Noon und findet jährlich statt."
    question = make_question(question="What is the exercise called?", lang="en")
    retrieved = [{"rank": 1, "doc_id": "doc3", "chunk_id": "doc3#2", "score": 0.9, "text": source}]

    def untranslated(answer: str) -> float | None:
        record = make_record(answer=answer, answer_lang="en", question_lang="en", retrieved=retrieved)
        return score_question(question, record)["untranslated_words"]

    assert untranslated(f"Steadfast Noon [1]\n\n„{source}“ [1]") == 0
    assert untranslated("The Übung Steadfast Noon [1]") == 1


def test_citation_markers_do_not_break_answer_match() -> None:
    record = make_record(answer="Mit Lecornu [1], Akar und Wallace [2, 3].")
    scores = score_question(make_question(answers=("Lecornu, Akar und Wallace",)), record)
    assert scores["answer_match"] == 1.0
    assert scores["answer_f1"] == pytest.approx(8 / 9)  # "mit" is the only extra token: P 4/5, R 1


def test_score_orders_retrieved_by_rank() -> None:
    record = make_record()
    record["retrieved"] = list(reversed(record["retrieved"]))
    record["retrieved"][0]["rank"], record["retrieved"][1]["rank"] = 2, 1  # doc3 stays at rank 2
    assert score_question(make_question(), record)["retrieval_doc_mrr"] == 0.5


def test_score_repeated_doc_in_retrieval() -> None:
    record = make_record()
    first = record["retrieved"][0]
    record["retrieved"] = [first, {**first, "rank": 2, "chunk_id": "doc1#1"}] + [{**record["retrieved"][1], "rank": 3}]
    scores = score_question(make_question(), record)
    assert scores["retrieval_doc_mrr"] == 0.5  # doc3 is the second distinct document
    assert scores["retrieval_ev_mrr"] == pytest.approx(1 / 3)  # but the third chunk


def test_score_correct_answer() -> None:
    scores = score_question(make_question(), make_record())
    assert scores["answer_match"] == 1.0
    assert scores["keyword_recall"] == 1.0
    assert scores["citation_precision"] == 1.0


def test_unanswerable_refused() -> None:
    question = make_question(lang=None, answerable=False, relevant_docs=(), evidence=(), answers=(), keywords=())
    record = make_record(
        answer="Das geht aus den Artikeln nicht hervor.",
        refused=True,
        answer_lang="en",
        question_lang="en",
        citations=[],
        markers_total=0,
    )
    scores = score_question(question, record)
    assert scores["correct_refusal"] == 1.0
    assert scores["false_refusal"] is None
    assert scores["language_accuracy"] == 1.0  # question_lang detected by the runner
    not_applicable = [key for key in SCORE_KEYS if key.startswith(("retrieval_", "answer_", "citation_"))]
    assert all(scores[key] is None for key in [*not_applicable, "keyword_recall"])


def test_unanswerable_answered_anyway() -> None:
    question = make_question(answerable=False, relevant_docs=())
    scores = score_question(question, make_record())
    assert scores["correct_refusal"] == 0.0
    assert scores["answer_match"] is None
    assert scores["citation_validity"] == 1.0  # the markers it wrote still pointed at passages


def test_answerable_refused_scores_zero_even_if_refusal_mentions_answer() -> None:
    record = make_record(answer="Ob Lecornu, Akar und Wallace, weiß ich nicht.", refused=True, citations=[])
    scores = score_question(make_question(), record)
    assert (scores["answer_match"], scores["answer_f1"], scores["keyword_recall"]) == (0.0, 0.0, 0.0)
    assert scores["false_refusal"] == 1.0
    assert scores["citation_recall"] == 0.0
    assert scores["citation_precision"] is None
    assert scores["retrieval_doc_hit@3"] == 1.0  # retrieval is judged regardless


def test_metrics_without_reference_data_are_none() -> None:
    question = make_question(answers=(), keywords=(), evidence=())
    scores = score_question(question, make_record(markers_total=0, timings={"total_ms": 5.0, "ttft_ms": None}))
    for key in ("answer_match", "answer_f1", "keyword_recall", "citation_validity", "ttft_ms"):
        assert scores[key] is None, key
    assert all(scores[f"retrieval_ev_{m}"] is None for m in ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5"))
    assert scores["retrieval_doc_hit@5"] == 1.0
    assert scores["total_ms"] == 5.0


@pytest.mark.parametrize(("answer_lang", "expected"), [("de", 1.0), ("en", 0.0), (None, 0.0)])
def test_language_accuracy_prefers_the_sets_lang(answer_lang: str | None, expected: float) -> None:
    # The set says German; the runner's detection (en) must not override it.
    record = make_record(answer_lang=answer_lang, question_lang="en")
    assert score_question(make_question(lang="de"), record)["language_accuracy"] == expected


def test_answer_correct_needs_every_keyword_group() -> None:
    answer = "Schoigu telefonierte mit Lecornu, Akar und Wallace [1]."
    assert score_question(make_question(), make_record(answer=answer))["answer_correct"] == 1.0
    # The reference answer matches, but a keyword group (Wallace) does not: wrong.
    question = make_question(answers=("Lecornu und Akar",))
    assert score_question(question, make_record(answer="Lecornu und Akar."))["answer_correct"] == 0.0


def test_answer_correct_falls_back_to_the_reference_answer() -> None:
    question = make_question(keywords=())
    assert score_question(question, make_record())["answer_correct"] == 1.0
    assert score_question(question, make_record(answer="Lecornu und Akar."))["answer_correct"] == 0.0
    unjudged = make_question(keywords=(), answers=())
    assert score_question(unjudged, make_record())["answer_correct"] is None


def test_answer_correct_is_zero_for_a_refusal_and_none_for_unanswerable_questions() -> None:
    refusal = make_record(answer="Ob Lecornu, Akar und Wallace, weiß ich nicht.", refused=True)
    assert score_question(make_question(), refusal)["answer_correct"] == 0.0
    unanswerable = make_question(answerable=False, relevant_docs=())
    assert score_question(unanswerable, make_record())["answer_correct"] is None


def test_grounding_counts_of_an_answer() -> None:
    record = make_record(
        answer="Am 23. Oktober 2022 [1] sprach er 45 Minuten mit 3 Ministern [2].",
        retrieved=[{"rank": 1, "doc_id": "doc3", "text": "23. Oktober 2022: drei Minister"}],
        citations=[{"n": 1, "doc_id": "doc3", "passage": "45 Minuten und 3 Minister"}],  # not the passages
        unsupported_sentences=["Er sprach 45 Minuten.", "Niemand widersprach."],
    )
    scores = score_question(make_question(), record)
    assert (scores["invented_numbers"], scores["unsupported_sentences"]) == (2, 2)
    assert score_question(make_question(), make_record(unsupported_sentences=[]))["unsupported_sentences"] == 0


def test_grounding_counts_skip_refusals_but_not_unanswerable_questions() -> None:
    refusal = make_record(answer="Dazu steht 2021 nichts in den Artikeln.", refused=True, unsupported_sentences=[])
    scores = score_question(make_question(), refusal)
    assert scores["invented_numbers"] is None and scores["unsupported_sentences"] is None
    answered = make_record(answer="Der Eiffelturm ist 330 Meter hoch.", unsupported_sentences=["x"])
    scores = score_question(make_question(answerable=False, relevant_docs=()), answered)
    assert (scores["invented_numbers"], scores["unsupported_sentences"]) == (1, 1)


def test_baseline_record_scores_answer_and_numbers_but_not_sentences() -> None:
    # The llama-index baseline writes no markers and has no sentence check (no unsupported_sentences).
    record = make_record(
        answer="Lecornu, Akar und Wallace, 3 Anrufe",
        mode="baseline",
        markers_total=0,
        citations=[{"n": 1, "doc_id": "doc3", "chunk_id": "n1", "passage": f"Mit {SPAN}."}],
    )
    scores = score_question(make_question(), record)
    assert scores["answer_correct"] == 1.0
    assert scores["invented_numbers"] == 1
    assert scores["unsupported_sentences"] is None


def test_errored_record_has_only_error() -> None:
    scores = score_question(make_question(), make_record(error="TimeoutError: LLM"))
    assert scores["error"] == 1.0
    assert all(scores[key] is None for key in SCORE_KEYS if key != "error")


# ---------------------------------------------------------------- percentiles and summarize


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([4, 1, 3, 2], 95, 3.85),  # position 3 * 0.95 = 2.85 between 3 and 4
        ([10, 20, 30], 50, 20.0),
        ([10, 20, 30], 95, 29.0),
        ([7], 95, 7.0),
        ([1, 2, 3, 4], 0, 1.0),
        ([1, 2, 3, 4], 100, 4.0),
    ],
)
def test_percentile_linear_interpolation(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


def test_summarize_groups_by_lang_and_tag() -> None:
    questions = [
        make_question("q1", tags=("a",)),
        make_question("q2", lang=None, tags=("a", "b")),
        make_question("q3", tags=("b",)),
        make_question("q4", answerable=False, relevant_docs=(), tags=("b",)),
    ]
    records = [
        make_record("q1", timings={"ttft_ms": 100.0, "total_ms": 1000.0}),
        make_record(
            "q2",
            answer="Keine Ahnung.",
            question_lang="en",
            answer_lang="en",
            timings={"ttft_ms": None, "total_ms": 2000.0},
        ),
        make_record("q3", error="boom"),
        make_record("q4", refused=True, timings={"ttft_ms": 300.0, "total_ms": 4000.0}),
    ]
    summary = summarize(questions, list(reversed(records)))  # records are matched by id, not order

    assert summary["n"] == 4
    assert summary["n_errors"] == 1
    overall = summary["overall"]
    assert overall["n"] == 4
    assert overall["error"] == 0.25
    assert overall["answer_match"] == 0.5  # q1 right, q2 wrong; q3 errored, q4 unanswerable
    assert overall["correct_refusal"] == 1.0
    assert overall["false_refusal"] == 0.0
    assert overall["language_accuracy"] == 1.0
    assert overall["total_ms_p50"] == 2000.0
    assert overall["total_ms_p95"] == pytest.approx(3800.0)  # 2000 + 0.9 * (4000 - 2000)
    assert overall["ttft_ms_p50"] == 200.0
    assert overall["ttft_ms_p95"] == pytest.approx(290.0)
    assert "total_ms" not in overall and "ttft_ms" not in overall

    assert set(summary["by_lang"]) == {"de", "en"}
    de, en = summary["by_lang"]["de"], summary["by_lang"]["en"]
    assert (de["n"], en["n"]) == (3, 1)  # q2 has no lang in the set: the detected one counts
    assert de["answer_match"] == 1.0
    assert en["answer_match"] == 0.0
    assert en["correct_refusal"] is None
    assert de["error"] == pytest.approx(1 / 3)

    assert set(summary["by_tag"]) == {"a", "b"}
    a, b = summary["by_tag"]["a"], summary["by_tag"]["b"]
    assert (a["n"], b["n"]) == (2, 3)
    assert a["answer_match"] == 0.5
    assert b["answer_match"] == 0.0
    assert b["correct_refusal"] == 1.0
    assert a["correct_refusal"] is None


def test_summarize_rejects_records_that_do_not_match() -> None:
    with pytest.raises(ValueError, match="missing"):
        summarize([make_question("q1"), make_question("q2")], [make_record("q1")])
    with pytest.raises(ValueError, match="unknown"):
        summarize([make_question("q1")], [make_record("q1"), make_record("q9")])


def test_summarize_counts_as_mean_and_share_of_answers_with_any() -> None:
    questions = [make_question(f"q{i}", tags=("t",) if i < 3 else ()) for i in range(1, 5)]
    records = [
        make_record("q1", answer="Akar, 1999 und 2000.", unsupported_sentences=["a", "b"]),
        make_record("q2", answer="Akar.", unsupported_sentences=[]),
        make_record("q3", answer="Akar 7.", refused=True),  # a refusal is not counted
        make_record("q4", answer="Akar 2001."),  # an older record: no unsupported_sentences
    ]
    summary = summarize(questions, records)
    overall, tagged = summary["overall"], summary["by_tag"]["t"]
    assert overall["invented_numbers_mean"] == 1.0  # (2 + 0 + 1) / 3
    assert overall["invented_numbers_any"] == pytest.approx(2 / 3)
    assert overall["unsupported_sentences_mean"] == 1.0  # (2 + 0) / 2
    assert overall["unsupported_sentences_any"] == 0.5
    assert (tagged["invented_numbers_mean"], tagged["invented_numbers_any"]) == (1.0, 0.5)
    assert summary["by_lang"]["de"]["unsupported_sentences_any"] == 0.5
    assert "invented_numbers" not in overall and "unsupported_sentences" not in overall


def test_aggregate_reports_every_key_under_its_summary_names() -> None:
    group = aggregate([score_question(make_question(), make_record())])
    assert list(group) == ["n", *(name for key in SCORE_KEYS for name in summary_names(key))]
    assert summary_names("total_ms") == ("total_ms_p50", "total_ms_p95")
    assert summary_names("invented_numbers") == ("invented_numbers_mean", "invented_numbers_any")
    assert summary_names("answer_correct") == ("answer_correct",)


def test_fail_under_takes_answer_correct_but_not_the_counts() -> None:
    assert gates.parse_fail_under(["answer_correct=0.5"]) == {"answer_correct": 0.5}
    for count in ("invented_numbers", "unsupported_sentences"):
        with pytest.raises(gates.EvalUsageError, match="lower is better"):
            gates.parse_fail_under([f"{count}=1"])


# ---------------------------------------------------------------- the quote under the answer


def test_a_quote_holds_the_evidence_when_it_contains_a_span_or_lies_within_one() -> None:
    assert quote_evidence(f"Shoigu sprach getrennt mit dem türkischen Verteidigungsminister {SPAN}.", [SPAN])
    assert quote_evidence("Ben  Wallace", [SPAN])  # a quote cut shorter than a span that crosses sentences
    assert not quote_evidence("Schoigu sprach am Sonntag mit Austin.", [SPAN])
    assert not quote_evidence("", [SPAN]) and not quote_evidence("Akar", [])


def test_quote_evidence_judges_the_quote_under_the_answer_only() -> None:
    question = make_question()

    def cited(quote: str) -> dict[str, Any]:
        return make_record(citations=[{"n": 1, "doc_id": "doc3", "chunk_id": "doc3#2", "quote": quote}])

    assert score_question(question, cited(f"Er sprach mit {SPAN}."))["quote_evidence"] == 1.0
    assert score_question(question, cited("Schoigu sprach am Sonntag mit Austin."))["quote_evidence"] == 0.0
    refused = {**cited(f"Er sprach mit {SPAN}."), "refused": True}
    assert score_question(question, refused)["quote_evidence"] is None
    assert score_question(make_question(evidence=()), cited(SPAN))["quote_evidence"] is None
    assert score_question(make_question(answerable=False), cited(SPAN))["quote_evidence"] is None


def test_an_answer_marked_uncertain_counts_with_whether_it_was_right() -> None:
    right = score_question(make_question(), make_record(uncertain=True))
    assert (right["uncertain"], right["uncertain_right"]) == (1.0, right["answer_correct"])
    unanswerable = make_question(answerable=False, answers=[], keywords=[], relevant_docs=[], evidence=[])
    caught = score_question(unanswerable, make_record(uncertain=True))
    assert (caught["uncertain"], caught["uncertain_right"], caught["unanswerable_caught"]) == (1.0, 0.0, 1.0)
    missed = score_question(unanswerable, make_record())
    assert (missed["uncertain"], missed["uncertain_right"], missed["unanswerable_caught"]) == (0.0, None, 0.0)
    refused = score_question(unanswerable, make_record(refused=True, uncertain=True))
    assert (refused["uncertain"], refused["unanswerable_caught"]) == (None, 1.0)
