"""Reading a question: its language, the shape of answer it asks for, and its parts.

The names below are the public API of this stage, imported lazily (the TYPE_CHECKING block gives
type checkers their types); the modules behind them are its private detail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.lazy import lazy_exports

if TYPE_CHECKING:
    from rag.question.kind import classify_question
    from rag.question.language import detect_language, untranslated_words

_EXPORTS = {
    "classify_question": "rag.question.kind",
    "detect_language": "rag.question.language",
    "untranslated_words": "rag.question.language",
}
__all__ = [
    "classify_question",
    "detect_language",
    "untranslated_words",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
