"""A follow-up question's earlier turn, which it is searched with.

"Which state is he from?" names no one; the conversation's last question, or the answer to it, does
("Which senator agreed with Austin?" / "Jim Risch"). Searched with both before it, the follow-up finds
the passage about Risch; the 1.5B model, asked to rewrite it as a standalone question first, often
returned it unchanged or named the wrong man (docs/evaluation.md, "Follow-up questions").
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.answering.citations import strip_markers
from rag.answering.refusal import is_refusal

EARLIER_ANSWER_CHARS = 300  # the answer's first paragraph is its claim; the quotes under it are the sources'


@dataclass(frozen=True)
class EarlierTurn:
    question: str
    answer: str  # its first paragraph, without markers; "" when it has none or was a refusal

    def search_text(self, follow_up: str) -> str:
        return " ".join(part for part in (self.question, self.answer, follow_up) if part)


def earlier_turn(turns: list[dict[str, str]]) -> EarlierTurn | None:
    """The conversation's last question and the answer after it; None when it holds no question."""
    asked = [i for i, turn in enumerate(turns) if turn.get("role") == "user" and turn.get("content", "").strip()]
    if not asked:
        return None
    reply = next((t.get("content", "") for t in turns[asked[-1] + 1 :] if t.get("role") == "assistant"), "")
    claim = strip_markers(reply.strip().split("\n\n")[0])
    if is_refusal(claim):
        claim = ""  # "the articles don't say" names nothing the follow-up could refer to
    return EarlierTurn(
        question=" ".join(turns[asked[-1]]["content"].split()),
        answer=" ".join(claim.split())[:EARLIER_ANSWER_CHARS],
    )
