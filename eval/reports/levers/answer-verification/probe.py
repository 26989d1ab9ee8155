"""log P(No) - log P(Yes) of the model asked whether its cited passage supports its own answer, per saved answer."""

from __future__ import annotations

import json
import sys

from llama_index.core.llms import ChatMessage, MessageRole

from rag.evaluation.metrics import score_question
from rag.evaluation.questionset import parse_question_set
from rag.answering.citations import QUOTE_SEPARATOR, strip_markers
from rag.wiring import get_service
from rag.settings import get_settings

SYSTEM = "You check whether a source supports an answer. Reply with Yes or No only."


def main(question_set: str, results: str, out: str) -> None:
    questions = {q.id: q for q in parse_question_set(question_set)}
    backend = get_service(get_settings().model_copy(update={"llm_backend": "local"})).backend
    assert backend is not None
    rows = []
    with open(results, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    for line in lines:
        record = json.loads(line)
        if record["refused"] or not record["citations"]:
            continue
        question = questions[record["id"]]
        scores = score_question(question, record)
        own = strip_markers(record["answer"].split(QUOTE_SEPARATOR)[0]).strip()
        user = (
            f"Source: {record['citations'][0]['passage']}\n\nQuestion: {question.question}\nAnswer: {own}\n\n"
            "Does the source say that this answers the question? Reply Yes or No."
        )
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=SYSTEM),
            ChatMessage(role=MessageRole.USER, content=user),
        ]
        logprobs = backend.first_word_logprobs(messages, ["Yes", "No"])
        assert logprobs is not None, "needs a backend with logits"
        row = {
            "id": record["id"],
            "answerable": question.answerable,
            "own_right": bool(scores.get("answer_correct_own_words")),
            "right": bool(scores.get("answer_correct")),
            "kind": record.get("kind"),
            "odds": logprobs["No"] - logprobs["Yes"],
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(row) for row in rows))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
