"""How often rag.question.kind predicts the tagged `kind` of a question set's questions.

Usage: python -m rag.evaluation.question_kinds eval/dev.jsonl eval/questions.jsonl eval/tuning.jsonl
Prints the accuracy per set and the confusion (reference -> predicted) of the misses.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable

from rag.evaluation.questionset import Question, parse_question_set
from rag.question import classify_question
from rag.types import QuestionKind

Confusion = Counter[tuple[str, str]]


def kind_confusion(questions: Iterable[Question]) -> Confusion:
    """(reference, predicted) counts over the questions tagged with an answer shape.

    Untagged questions and unanswerable ones (kind "none") are skipped: the classifier predicts the
    shape a question asks for, not whether the articles answer it.
    """
    shapes = {kind.value for kind in QuestionKind}
    return Counter((q.kind, classify_question(q.question, q.lang).value) for q in questions if q.kind in shapes)


def accuracy(confusion: Confusion) -> float:
    total = sum(confusion.values())
    return sum(n for (ref, pred), n in confusion.items() if ref == pred) / total if total else 0.0


def report(name: str, confusion: Confusion) -> str:
    lines = [f"{name}: accuracy {accuracy(confusion):.3f} over {sum(confusion.values())} questions"]
    lines += [f"  {ref:>9} -> {pred:<9} {n}" for (ref, pred), n in sorted(confusion.items()) if ref != pred]
    return "\n".join(lines)


def main(paths: list[str]) -> None:
    total: Confusion = Counter()
    for path in paths:
        confusion = kind_confusion(parse_question_set(path))
        total += confusion
        print(report(path, confusion))
    if len(paths) > 1:
        print(report("all", total))


if __name__ == "__main__":
    main(sys.argv[1:])
