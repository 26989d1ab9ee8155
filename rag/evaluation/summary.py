"""The summary of an evaluation: every question scored (rag.evaluation.metrics.score_question) and each metric
aggregated over the questions it applies to, overall and by language, tag and kind of answer.

Rates are summarised as the mean, latency as p50/p95, and the counts (invented_numbers, unsupported_sentences,
untranslated_words) as `_mean` and as `_any`, the share of answers with at least one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import fmean
from typing import Any

from rag.evaluation.metrics import SCORE_KEYS, question_lang, score_question
from rag.evaluation.questionset import KINDS, Question
from rag.question import classify_question

LATENCY_KEYS = ("ttft_ms", "total_ms")
LATENCY_PERCENTILES = (50, 95)
COUNT_KEYS = ("invented_numbers", "unsupported_sentences", "untranslated_words")


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (numpy's default method); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def rounded(value: float | None, digits: int | None = 1) -> float | None:
    """`value` rounded to `digits` (None: to a whole number, as round() does); None, for a figure with no
    samples, stays None."""
    return None if value is None else round(value, digits)


def summary_names(key: str) -> tuple[str, ...]:
    """The names `aggregate` reports a score key under, in order."""
    if key in LATENCY_KEYS:
        return tuple(f"{key}_p{q}" for q in LATENCY_PERCENTILES)
    if key in COUNT_KEYS:
        return (f"{key}_mean", f"{key}_any")
    return (key,)


def aggregate(scores: Sequence[Mapping[str, float | None]]) -> dict[str, float | None]:
    """Each metric over the questions where it applies, under its summary_names; plus n.

    Rates as the mean, latency as p50/p95, counts as the mean and the share of at least one.
    """
    group: dict[str, float | None] = {"n": len(scores)}
    for key in SCORE_KEYS:
        values = [value for s in scores if (value := s.get(key)) is not None]
        group.update(zip(summary_names(key), _statistics(key, values), strict=True))
    return group


def _statistics(key: str, values: Sequence[float]) -> list[float | None]:
    if not values:
        return [None] * len(summary_names(key))
    if key in LATENCY_KEYS:
        return [percentile(values, q) for q in LATENCY_PERCENTILES]
    if key in COUNT_KEYS:
        return [fmean(values), fmean(1.0 if value >= 1 else 0.0 for value in values)]
    return [fmean(values)]


def summarize(questions: Sequence[Question], records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Score every question against its record (matched by id) and aggregate.

    Returns {"overall", "by_lang", "by_tag", "by_kind", "n", "n_errors"}; by_lang has a group for each
    language that occurs (question.lang, else the detected question_lang); by_kind one for each kind of
    answer asked for (see question_kind).
    """
    by_id = _records_by_id(questions, records)
    scored = [(q, by_id[q.id], score_question(q, by_id[q.id])) for q in questions]
    langs: dict[str, list[dict[str, float | None]]] = {}
    tags: dict[str, list[dict[str, float | None]]] = {}
    kinds: dict[str, list[dict[str, float | None]]] = {}
    for question, record, scores in scored:
        kinds.setdefault(question_kind(question), []).append(scores)
        lang = question_lang(question, record)
        if lang is not None:
            langs.setdefault(lang, []).append(scores)
        for tag in dict.fromkeys(question.tags):
            tags.setdefault(tag, []).append(scores)
    all_scores = [scores for _, _, scores in scored]
    return {
        "overall": aggregate(all_scores),
        "by_lang": {lang: aggregate(group) for lang, group in sorted(langs.items())},
        "by_tag": {tag: aggregate(group) for tag, group in sorted(tags.items())},
        "by_kind": {kind: aggregate(kinds[kind]) for kind in KINDS if kind in kinds},
        "n": len(all_scores),
        "n_errors": sum(1 for scores in all_scores if scores["error"]),
    }


def question_kind(question: Question) -> str:
    """The kind of answer a question asks for: its `kind` field, else `none` for an unanswerable question,
    else what rag.question.kind recognises in its wording (so sets without the field are broken down too)."""
    if question.kind is not None:
        return question.kind
    if not question.answerable:
        return "none"
    return classify_question(question.question, question.lang).value


def _records_by_id(questions: Sequence[Question], records: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    by_id = {record["id"]: record for record in records}
    missing = [q.id for q in questions if q.id not in by_id]
    unknown = sorted(set(by_id) - {q.id for q in questions})
    if missing or unknown or len(by_id) != len(records):
        raise ValueError(
            f"records do not match the questions: missing {missing}, unknown {unknown}, "
            f"{len(records) - len(by_id)} duplicate record id(s)"
        )
    return by_id
