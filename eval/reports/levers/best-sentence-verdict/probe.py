"""P(NONE) over the passages the model reads, and over the one or two best sentences, per question."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.evaluation.corpus import corpus_key, corpus_settings, index_corpus
from rag.evaluation.questionset import parse_question_set
from rag.answering.focus import focus
from rag.answering.prompt import build_messages, select_passages
from rag.wiring import get_service
from rag.settings import get_settings
from rag.types import Passage


def main(question_set: str, corpus: str, out: str, limit: int) -> None:
    settings = get_settings()
    if corpus != "-":
        settings = corpus_settings(settings, corpus_key(Path(corpus), settings))
        index_corpus(settings)
    service = get_service(settings)
    backend = service.backend
    assert backend is not None, "needs an LLM with logits"
    rows = []
    for question in parse_question_set(question_set)[:limit]:
        prepared = service.prepare(question.question)
        row: dict[str, object] = {"id": question.id, "answerable": question.answerable}
        if not prepared.passages:
            rows.append({**row, "gate": True})
            continue

        def no_answer(passages: list[Passage], prepared=prepared, question=question) -> float | None:
            messages = build_messages(
                question.question, passages, prepared.answer_lang, settings.answer_format, prepared.kind
            )
            return backend.no_answer_probability(messages)

        row["kind"] = prepared.kind.value
        row["p_all"] = no_answer(list(prepared.passages))
        for n in (1, 2):
            chunks = focus(question.question, list(prepared.retrieved), best=n, neighbours=0)
            row[f"p_s{n}"] = no_answer(select_passages(chunks, settings.context_budget_tokens))
            row[f"s{n}"] = " | ".join(c.text for c in chunks)[:300]
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    Path(out).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
