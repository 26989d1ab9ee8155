"""Answering: retrieve, focus the passages, prompt the LLM, check its citations, shape the answer.

The names below are the public API of this stage, imported lazily (the TYPE_CHECKING block gives
type checkers their types); the modules behind them are its private detail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.lazy import lazy_exports

if TYPE_CHECKING:
    from rag.answering.citations import MARKER, marker_group_numbers, strip_markers
    from rag.answering.extractive import chunk_sentences
    from rag.answering.numbers import number_values
    from rag.answering.prepare import InvalidQuestionError, validate_question
    from rag.answering.prompt import estimate_tokens, prefix_messages
    from rag.answering.refusal import is_refusal
    from rag.answering.retrieval import retrieve
    from rag.answering.service import AnswerService
    from rag.answering.shape import verdict_words
    from rag.answering.textsim import content_words
    from rag.answering.warm import NothingToWarmError, warm_chunk_states

_EXPORTS = {
    "AnswerService": "rag.answering.service",
    "InvalidQuestionError": "rag.answering.prepare",
    "MARKER": "rag.answering.citations",
    "NothingToWarmError": "rag.answering.warm",
    "chunk_sentences": "rag.answering.extractive",
    "content_words": "rag.answering.textsim",
    "estimate_tokens": "rag.answering.prompt",
    "is_refusal": "rag.answering.refusal",
    "marker_group_numbers": "rag.answering.citations",
    "number_values": "rag.answering.numbers",
    "prefix_messages": "rag.answering.prompt",
    "retrieve": "rag.answering.retrieval",
    "strip_markers": "rag.answering.citations",
    "validate_question": "rag.answering.prepare",
    "verdict_words": "rag.answering.shape",
    "warm_chunk_states": "rag.answering.warm",
}
__all__ = [
    "AnswerService",
    "InvalidQuestionError",
    "MARKER",
    "NothingToWarmError",
    "chunk_sentences",
    "content_words",
    "estimate_tokens",
    "is_refusal",
    "marker_group_numbers",
    "number_values",
    "prefix_messages",
    "retrieve",
    "strip_markers",
    "validate_question",
    "verdict_words",
    "warm_chunk_states",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
