"""A question read once: its language, the shape of answer it asks for, its parts, and the turns before it.

The answer path reads a question here and passes the reading along, instead of detecting the language,
classifying and splitting it where each is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.question.kind import kind_of_asked
from rag.question.language import Language, detect_language
from rag.question.parts import two_questions, with_preface
from rag.question.text import last_question
from rag.types import QuestionKind


@dataclass(frozen=True, kw_only=True)
class ReadQuestion:
    text: str
    language: Language
    kind: QuestionKind  # the shape of answer the question asks for
    parts: tuple[str, ...]  # a two-part question's two questions; () when it asks one
    turns: tuple[dict[str, str], ...] = ()  # the conversation before it: user and assistant turns with content

    @property
    def follow_up(self) -> bool:
        return bool(self.turns)


def read_question(
    text: str, history: Sequence[dict[str, str]] | None = None, language: Language | None = None
) -> ReadQuestion:
    """`text` read once; `language` when it is known already (a part is read in its question's language)."""
    language = language or detect_language(text)
    preface, asked = last_question(text)
    two = two_questions(asked, language)
    turns = tuple(t for t in (history or []) if t.get("role") in ("user", "assistant") and t.get("content"))
    return ReadQuestion(
        text=text,
        language=language,
        kind=kind_of_asked(asked, language, two),
        parts=with_preface(preface, two),
        turns=turns,
    )
