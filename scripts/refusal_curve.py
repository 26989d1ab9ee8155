"""The curve of refusals against false refusals, for each answerability signal as its threshold moves.

Reads finished `rag eval` runs (their records hold every signal of each answer the model gave) and replays a
rule on them: an answer is refused (or marked uncertain) when the signal passes the threshold. Nothing is
asked again, so every point of a curve comes from the same answers.

    python scripts/refusal_curve.py --out docs/refusal-curve.json \
        SET.jsonl=RUN/ours/results.jsonl [SET.jsonl=RUN/ours/results.jsonl ...]

Writes the points as JSON and prints a markdown table: for each rule and threshold, the unanswerable questions
refused (of all unanswerable) and the answerable ones refused (false refusals), with counts.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rag.answering.answerability import question_terms, unheld_terms
from rag.evaluation.questionset import parse_question_set


@dataclass(frozen=True)
class Case:
    answerable: bool
    refused: bool  # by the pipeline as it ran
    record: dict[str, Any]


Rule = Callable[[dict[str, Any]], bool]


def cases(pairs: Iterable[str]) -> list[Case]:
    found: list[Case] = []
    for pair in pairs:
        set_path, _, results = pair.partition("=")
        questions = {q.id: q for q in parse_question_set(set_path)}
        for line in Path(results).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            question = questions[record["id"]]
            found.append(Case(question.answerable, bool(record["refused"]), record))
    return found


def unheld_in_retrieved(record: dict[str, Any]) -> int:
    """Unheld terms checked against every retrieved chunk, not only the cited ones."""
    terms = tuple(record.get("question_terms") or question_terms(record["question"]))
    return len(unheld_terms(terms, [c["text"] for c in record.get("retrieved") or []]))


def unheld(record: dict[str, Any]) -> int:
    return len(record.get("unheld_terms") or [])


def far(record: dict[str, Any], t: float) -> bool:
    """The question's cosine with the best cited sentence is below t (unknown: not far)."""
    return record.get("question_similarity") is not None and record["question_similarity"] < t


RULES: dict[str, tuple[str, list[float], Callable[[dict[str, Any], float], bool]]] = {
    "p_none": (
        "P(no-answer) ≥ t",
        [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02],
        lambda r, t: (r.get("no_answer_probability") or 0.0) >= t,
    ),
    "unheld_cited": (
        "≥ t question terms held by no cited passage",
        [1, 2, 3],
        lambda r, t: unheld(r) >= t,
    ),
    "unheld_retrieved": (
        "≥ t question terms held by no retrieved chunk",
        [1, 2],
        lambda r, t: unheld_in_retrieved(r) >= t,
    ),
    "similarity": (
        "question's cosine with the best cited sentence < t",
        [0.45, 0.5, 0.55, 0.6, 0.65],
        far,
    ),
    "terms_or_similarity": (
        "≥ 2 unheld terms, or cosine < t",
        [0.4, 0.45, 0.5],
        lambda r, t: unheld(r) >= 2 or far(r, t),
    ),
    "terms3_or_similarity": (
        "≥ 3 unheld terms, or cosine < t",
        [0.4, 0.45, 0.5],
        lambda r, t: unheld(r) >= 3 or far(r, t),
    ),
    "agreement": (
        "share of sampled answers agreeing < t",
        [0.5, 0.75, 1.0],
        lambda r, t: r.get("agreement") is not None and r["agreement"] < t,
    ),
}


def point(found: list[Case], fires: Rule) -> dict[str, Any]:
    unanswerable = [c for c in found if not c.answerable]
    answerable = [c for c in found if c.answerable]
    refused = sum(c.refused or fires(c.record) for c in unanswerable)
    false = sum(c.refused or fires(c.record) for c in answerable)
    return {
        "refused": refused,
        "unanswerable": len(unanswerable),
        "false_refusals": false,
        "answerable": len(answerable),
        "refusal_rate": round(refused / max(1, len(unanswerable)), 3),
        "false_refusal_rate": round(false / max(1, len(answerable)), 3),
    }


def fires(record: dict[str, Any], test: Callable[[dict[str, Any], float], bool], t: float) -> bool:
    """Whether the rule refuses an answer the pipeline gave."""
    return not record["refused"] and test(record, t)


def curves(found: list[Case]) -> dict[str, Any]:
    result: dict[str, Any] = {"as run": point(found, lambda r: False)}
    for name, (label, thresholds, test) in RULES.items():
        result[name] = {
            "rule": label,
            "points": [{"t": t, **point(found, partial(fires, test=test, t=t))} for t in thresholds],
        }
    return result


def table(result: dict[str, Any]) -> str:
    ran = result["as run"]
    rows = [
        "| rule | t | unanswerable refused | false refusals |",
        "|---|---|---|---|",
        f"| as run | – | {ran['refused']}/{ran['unanswerable']} ({ran['refusal_rate']:.2f}) | "
        f"{ran['false_refusals']}/{ran['answerable']} ({ran['false_refusal_rate']:.2f}) |",
    ]
    for name, curve in result.items():
        if name == "as run":
            continue
        for p in curve["points"]:
            rows.append(
                f"| {curve['rule']} | {p['t']} | {p['refused']}/{p['unanswerable']} ({p['refusal_rate']:.2f}) | "
                f"{p['false_refusals']}/{p['answerable']} ({p['false_refusal_rate']:.2f}) |"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="+", help="SET.jsonl=RESULTS.jsonl")
    parser.add_argument("--out", type=Path, help="write the points here as JSON")
    args = parser.parse_args()
    result = curves(cases(args.pairs))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))


if __name__ == "__main__":
    main()
