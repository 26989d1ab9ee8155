"""Evaluation metrics: answer quality and grounding, retrieval, citations, refusals, language and latency.

`score_question` turns one question and the runner's result record into a flat dict of
metrics (None where a metric does not apply); rag.evaluation.summary.summarize averages those per group.

Conventions:
- Retrieval metrics (document and evidence hits, MRR, nDCG): rag.evaluation.retrieval_metrics.
- Answer metrics ignore the citation markers ([1], [2, 3]) in the answer.
- citation_validity is None when the model wrote no citation markers (nothing to judge);
  an answer without citations is penalised by citation_recall instead.
- citation_precision is None when nothing was cited; citation_recall is None when the
  question has no relevant docs (unanswerable questions).
- quote_evidence (answered questions with evidence spans): 1 when the source sentence quoted under the
  answer (citation [1]) contains an evidence span or lies within one, as evidence hits are matched.
- uncertain (answers given): 1 when marked uncertain (the articles may not say this); uncertain_right (those
  answers): answer_correct, 0 for an unanswerable question; unanswerable_caught: refused or marked uncertain.
- answer_correct (answerable questions only): 1 when every keyword group matched or, for a
  question without keywords, a reference answer matched; a refusal scores 0.
- invented_numbers, unsupported_sentences and untranslated_words are counts per answer (None for
  refusals, unsupported_sentences for records without that key, untranslated_words for questions
  not in English); summarised as `_mean` and as `_any`, the share of answers with at least one.
  untranslated_words counts German source words left in an English answer; passage_word is 1 when
  the model's words use "Passage" (as in "Passage states …"); repeats_question is 1 when the model's
  words add no content word to the question (a statement may add its verb). They judge the model's words
  only, not the source sentence the pipeline quotes under them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rag.answering import strip_markers
from rag.evaluation.grounding import invented_numbers, model_words, repeats_question, says_passage
from rag.evaluation.questionset import KINDS, Question
from rag.evaluation.retrieval_metrics import evidence_spans, normalize_whitespace, retrieval_scores
from rag.question import classify_question, untranslated_words

SCORE_KEYS: tuple[str, ...] = (
    "retrieval_doc_hit@1",
    "retrieval_doc_hit@3",
    "retrieval_doc_hit@5",
    "retrieval_doc_mrr",
    "retrieval_doc_ndcg@5",
    "retrieval_ev_hit@1",
    "retrieval_ev_hit@3",
    "retrieval_ev_hit@5",
    "retrieval_ev_mrr",
    "retrieval_ev_ndcg@5",
    "answer_match",
    "answer_f1",
    "keyword_recall",
    "answer_correct",
    "answer_correct_own_words",
    "answer_f1_own_words",
    "citation_validity",
    "citation_precision",
    "citation_recall",
    "quote_evidence",
    "invented_numbers",
    "unsupported_sentences",
    "untranslated_words",
    "passage_word",
    "repeats_question",
    "correct_refusal",
    "false_refusal",
    "uncertain",
    "uncertain_right",
    "unanswerable_caught",
    "language_accuracy",
    "ttft_ms",
    "total_ms",
    "error",
)
ARTICLES = {
    "de": frozenset({"der", "die", "das", "den", "dem", "des", "ein", "eine", "einer", "einen", "einem", "eines"}),
    "en": frozenset({"a", "an", "the"}),
}
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
# Thousands/decimal separators inside numbers are dropped so "1.000" and "1000" agree.
_NUMBER_SEPARATOR = re.compile(r"(?<=\d)[.,'’](?=\d)")
_APOSTROPHE = re.compile(r"['’`´]")


# ---------------------------------------------------------------- text normalisation


def fold(text: str) -> str:
    """NFKC, lowercase, umlaut folding, punctuation to spaces, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_UMLAUTS)
    text = _APOSTROPHE.sub("", _NUMBER_SEPARATOR.sub("", text))
    # Symbols count as punctuation too (quotes, dashes, currency), so they split words.
    chars = (" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return " ".join("".join(chars).split())


def normalize(text: str, lang: str | None) -> str:
    """Fold `text` and drop articles of `lang` (both languages' articles when lang is None)."""
    articles = ARTICLES[lang] if lang in ARTICLES else ARTICLES["de"] | ARTICLES["en"]
    return " ".join(token for token in fold(text).split() if token not in articles)


def strip_citation_markers(text: str) -> str:
    return strip_markers(text)  # markers are not part of the wording


# ---------------------------------------------------------------- answer metrics


def token_f1(prediction: str, references: Iterable[str], lang: str | None) -> float | None:
    """Best token-level F1 over the references; None when no reference has any token."""
    predicted = normalize(prediction, lang).split()
    scored = (_f1(predicted, normalize(ref, lang).split()) for ref in references)
    scores = [score for score in scored if score is not None]
    return max(scores) if scores else None


def _f1(predicted: list[str], reference: list[str]) -> float | None:
    if not reference:
        return None
    overlap = sum((Counter(predicted) & Counter(reference)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(reference)
    return 2 * precision * recall / (precision + recall)


def answer_match(prediction: str, references: Iterable[str], lang: str | None) -> float | None:
    """1.0 when the normalised prediction contains a normalised reference as whole tokens."""
    # Padding with spaces keeps "akar" from matching inside "akars" or "makar".
    padded = f" {normalize(prediction, lang)} "
    normalized_refs = [normalize(ref, lang) for ref in references]
    normalized_refs = [ref for ref in normalized_refs if ref]
    if not normalized_refs:
        return None
    return 1.0 if any(f" {ref} " in padded for ref in normalized_refs) else 0.0


def keyword_recall(prediction: str, groups: Sequence[Sequence[str]]) -> float | None:
    """Fraction of keyword groups with at least one alternative in the prediction."""
    if not groups:
        return None
    folded = fold(prediction)
    matched = sum(1 for group in groups if any(_contains_keyword(folded, kw) for kw in group))
    return matched / len(groups)


def _contains_keyword(folded_text: str, keyword: str) -> bool:
    # Plain substring so inflected forms ("Frankreichs") still count, as the format says.
    folded_keyword = fold(keyword)
    return bool(folded_keyword) and folded_keyword in folded_text


def answer_correct(keyword_score: float | None, match: float | None) -> float | None:
    """1.0 when every keyword group matched or, without keyword groups, a reference answer matched.

    Takes keyword_recall and answer_match of the same answer; None when the question has neither.
    """
    # Keywords win: they name every part of the answer, a reference is one accepted wording.
    judged = keyword_score if keyword_score is not None else match
    if judged is None:
        return None
    return 1.0 if judged == 1.0 else 0.0


# ---------------------------------------------------------------- citation metrics


def citation_validity(markers_total: int, markers_invalid: int) -> float | None:
    """Share of written markers that point at a passage; None when no markers were written."""
    if markers_total <= 0:
        return None
    return 1.0 - markers_invalid / markers_total


def citation_precision(cited_doc_ids: Iterable[str], relevant: Iterable[str]) -> float | None:
    cited = set(cited_doc_ids)
    if not cited:
        return None
    return len(cited & set(relevant)) / len(cited)


def citation_recall(cited_doc_ids: Iterable[str], relevant: Iterable[str]) -> float | None:
    relevant = set(relevant)
    if not relevant:
        return None
    return len(relevant & set(cited_doc_ids)) / len(relevant)


# ---------------------------------------------------------------- per question


def question_lang(question: Question, record: Mapping[str, Any]) -> str | None:
    """The question's language: as given in the set, else as detected by the runner."""
    return question.lang or record.get("question_lang")


_SHAPES = frozenset(KINDS) - {"none"}  # the kinds that name a shape of answer


def score_question(question: Question, record: Mapping[str, Any]) -> dict[str, float | None]:
    """All metrics of SCORE_KEYS for one question; None where a metric does not apply."""
    scores: dict[str, float | None] = dict.fromkeys(SCORE_KEYS)
    if record.get("error"):
        scores["error"] = 1.0
        return scores
    scores["error"] = 0.0
    refused = bool(record.get("refused"))
    lang = question_lang(question, record)
    uncertain = bool(record.get("uncertain")) and not refused
    if question.answerable:
        scores.update(retrieval_scores(question, record.get("retrieved") or []))
        scores.update(_answer_scores(question, record, refused))
        scores["false_refusal"] = 1.0 if refused else 0.0
    else:
        scores["correct_refusal"] = 1.0 if refused else 0.0
        scores["unanswerable_caught"] = 1.0 if refused or uncertain else 0.0
    if not refused:
        scores["uncertain"] = 1.0 if uncertain else 0.0
    if uncertain:
        scores["uncertain_right"] = scores["answer_correct"] if question.answerable else 0.0
    scores.update(_citation_scores(question, record))
    if not refused:
        scores.update(_quote_scores(question, record))
        scores.update(_grounding_scores(record, question.question if lang == "en" else None))
        # The tagged kind, else the recognised one: the same for every pipeline, the baseline included.
        kind = question.kind if question.kind in _SHAPES else classify_question(question.question, lang).value
        echo = repeats_question(record.get("answer") or "", question.question, kind)
        scores["repeats_question"] = 1.0 if echo else 0.0
    if lang is not None:
        scores["language_accuracy"] = 1.0 if record.get("answer_lang") == lang else 0.0
    timings = record.get("timings") or {}
    scores["ttft_ms"] = timings.get("ttft_ms")
    scores["total_ms"] = timings.get("total_ms")
    return scores


def _answer_scores(question: Question, record: Mapping[str, Any], refused: bool) -> dict[str, float | None]:
    lang = question_lang(question, record)
    text = record.get("answer") or ""
    # A refusal of an answerable question scores 0 (as an empty answer), whatever its wording.
    answer = _text_scores(question, "" if refused else text, lang)
    # The model's words alone, without the source sentence the code quotes under them: the quote must
    # support the answer, not carry it.
    own = _text_scores(question, "" if refused else model_words(text), lang)
    return {
        **answer,
        "answer_correct_own_words": own["answer_correct"],
        "answer_f1_own_words": own["answer_f1"],
    }


def _text_scores(question: Question, text: str, lang: str | None) -> dict[str, float | None]:
    """Match, token F1, keyword recall and correctness of one answer text (citation markers ignored)."""
    answer = strip_citation_markers(text)
    match = answer_match(answer, question.answers, lang)
    recall = keyword_recall(answer, question.keywords)
    return {
        "answer_match": match,
        "answer_f1": token_f1(answer, question.answers, lang),
        "keyword_recall": recall,
        "answer_correct": answer_correct(recall, match),
    }


def quote_evidence(quote: str, evidence: Iterable[str]) -> bool:
    """Whether a quoted sentence holds an evidence span, or is part of one (spans may cross sentences)."""
    text = normalize_whitespace(quote)
    spans = evidence_spans(evidence)
    return bool(text) and any(span in text or text in span for span in spans)


def _quote_scores(question: Question, record: Mapping[str, Any]) -> dict[str, float | None]:
    first = next((c for c in record.get("citations") or [] if c.get("n") == 1 and c.get("quote")), None)
    if not question.answerable or not question.evidence or first is None:
        return {"quote_evidence": None}
    return {"quote_evidence": 1.0 if quote_evidence(first["quote"], question.evidence) else 0.0}


def _citation_scores(question: Question, record: Mapping[str, Any]) -> dict[str, float | None]:
    cited = {citation["doc_id"] for citation in record.get("citations") or []}
    scores = {
        "citation_validity": citation_validity(
            int(record.get("markers_total") or 0), int(record.get("markers_invalid") or 0)
        ),
        "citation_precision": None,
        "citation_recall": None,
    }
    if question.answerable:
        scores["citation_precision"] = citation_precision(cited, question.relevant_docs)
        scores["citation_recall"] = citation_recall(cited, question.relevant_docs)
    return scores


def _grounding_scores(record: Mapping[str, Any], english_question: str | None) -> dict[str, float | None]:
    """Counts of what in an answer no passage backs or a reader should not see; the retrieved chunks include
    every passage shown. `english_question` is the question when it is in English, else None."""
    passages = [item.get("text", "") for item in record.get("retrieved") or []]
    answer = record.get("answer") or ""
    unsupported = record.get("unsupported_sentences")  # absent in records of older runs and the baseline
    untranslated = (
        None if english_question is None else len(untranslated_words(model_words(answer), english_question, passages))
    )
    return {
        "invented_numbers": len(invented_numbers(answer, passages)),
        "unsupported_sentences": None if unsupported is None else len(unsupported),
        "untranslated_words": untranslated,
        "passage_word": 1.0 if says_passage(answer) else 0.0,
    }
