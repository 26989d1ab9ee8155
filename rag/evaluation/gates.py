"""`rag eval --fail-under METRIC=VALUE`: the gates, parsed and checked against an overall summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rag.evaluation.errors import EvalUsageError
from rag.evaluation.metrics import SCORE_KEYS

# Metrics where a higher value is better; --fail-under is meaningless for latency, errors, false refusals
# and the counts of invented numbers and unsupported sentences.
LOWER_IS_BETTER = (
    "ttft_ms",
    "total_ms",
    "error",
    "false_refusal",
    "invented_numbers",
    "unsupported_sentences",
    "untranslated_words",
    "passage_word",
    "repeats_question",
)
FAIL_UNDER_METRICS: tuple[str, ...] = tuple(k for k in SCORE_KEYS if k not in LOWER_IS_BETTER)


def parse_fail_under(texts: Sequence[str]) -> dict[str, float]:
    """`METRIC=VALUE` gates; an unknown metric or a bad number is a usage error."""
    gates: dict[str, float] = {}
    for text in texts:
        metric, sep, value = text.partition("=")
        metric = metric.strip()
        if not sep:
            raise EvalUsageError(f"--fail-under {text!r}: expected METRIC=VALUE, e.g. retrieval_doc_hit@3=0.8")
        if metric in LOWER_IS_BETTER:
            raise EvalUsageError(f"--fail-under {metric}: lower is better for this metric, so it cannot be a floor")
        if metric not in FAIL_UNDER_METRICS:
            raise EvalUsageError(f"--fail-under: unknown metric {metric!r}; use one of {', '.join(FAIL_UNDER_METRICS)}")
        try:
            gates[metric] = float(value)
        except ValueError:
            raise EvalUsageError(f"--fail-under {text!r}: {value.strip()!r} is not a number") from None
    return gates


def check_gates(summary: Mapping[str, Any], gates: Mapping[str, float]) -> list[str]:
    """One message per gate the overall summary falls short of (a metric with no value fails too)."""
    failures = []
    for metric, floor in gates.items():
        value = summary["overall"].get(metric)
        if value is None:
            failures.append(f"{metric} has no value (it applies to none of the questions); required >= {floor:g}")
        elif value < floor:
            failures.append(f"{metric} = {value:.3f} is below {floor:g}")
    return failures
