"""Answerability verdict: the probability the local model gives to the no-answer word as its first token.

The 1.5B model almost never writes the no-answer word itself, but the probability it gives to it is
higher on questions the sources do not answer (SQuAD 2.0 dev: about 0.02-0.3 against below 0.001).
The prompt is the one the answer will use, and llama.cpp keeps its evaluated state, so the answer that
follows re-evaluates one token: the verdict costs no extra prompt processing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from llama_index.core.llms import LLM, ChatMessage

from rag.llm import LOCAL_LOCK, messages_to_chatml


def _llama(llm: LLM) -> Any | None:
    """The llama-cpp-python model inside llama-index's LlamaCPP, or None for any other backend."""
    model = getattr(llm, "_model", None)
    return model if model is not None and hasattr(model, "eval") and hasattr(model, "_ctx") else None


def first_token_probability(llm: LLM, messages: Sequence[ChatMessage], word: str) -> float | None:
    """P(the answer starts with `word`'s first token); None where the backend exposes no logits."""
    model = _llama(llm)
    if model is None:
        return None
    prompt = messages_to_chatml(messages)  # the template LlamaCPP is built with in rag.llm
    tokens = model.tokenize(prompt.encode("utf-8"), special=True)  # as llama-cpp-python tokenizes it
    target = model.tokenize(word.encode("utf-8"), add_bos=False, special=False)[0]
    with LOCAL_LOCK:
        # Keep the longest evaluated prefix, as llama-cpp-python's own generate() does.
        kept = 0
        for old, new in zip(model._input_ids, tokens[:-1], strict=False):
            if old != new:
                break
            kept += 1
        model.n_tokens = kept
        model.eval(tokens[kept:])
        logits = np.ctypeslib.as_array(model._ctx.get_logits(), shape=(model.n_vocab(),)).astype(np.float64)
    weights = np.exp(logits - logits.max())
    return float(weights[target] / weights.sum())
