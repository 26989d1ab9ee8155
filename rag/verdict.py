"""Answerability verdict: the probability the model gives to the no-answer word as its first token.

The 1.5B model almost never writes the no-answer word itself, but the probability it gives to it is
higher on questions the sources do not answer (SQuAD 2.0 dev: about 0.02-0.3 against below 0.001).
The prompt is the one the answer will use. The local model keeps its evaluated state, so the answer that
follows re-evaluates one token. An OpenAI-compatible server is asked for one token with its top
log-probabilities; llama.cpp's server caches the prompt, so the answer request that follows reuses it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from llama_index.core.llms import LLM, ChatMessage

from rag.llm import LOCAL_LOCK, LLMUnavailableError, evaluate_after_kept_prefix, local_llama, messages_to_chatml

TOP_LOGPROBS = 20  # the most OpenAI's API returns; below the 20th token the word counts as probability 0


def first_token_probability(llm: LLM, messages: Sequence[ChatMessage], word: str) -> float | None:
    """P(the answer starts with `word`'s first token); None where the backend exposes no probabilities."""
    model = local_llama(llm)
    if model is None:
        return _remote_probability(llm, messages, word) if hasattr(llm, "_get_client") else None
    prompt = messages_to_chatml(messages)  # the template LlamaCPP is built with in rag.llm
    tokens = model.tokenize(prompt.encode("utf-8"), special=True)  # as llama-cpp-python tokenizes it
    target = model.tokenize(word.encode("utf-8"), add_bos=False, special=False)[0]
    with LOCAL_LOCK:
        evaluate_after_kept_prefix(model, tokens)
        logits = np.ctypeslib.as_array(model._ctx.get_logits(), shape=(model.n_vocab(),)).astype(np.float64)
    weights = np.exp(logits - logits.max())
    return float(weights[target] / weights.sum())


def _remote_probability(llm: Any, messages: Sequence[ChatMessage], word: str) -> float | None:
    """From an OpenAI-compatible server's top log-probabilities of one greedy token: the summed probability of
    the tokens that begin `word` (at least two characters: the server's tokenizer is not known here)."""
    import openai

    try:
        response = llm._get_client().chat.completions.create(
            model=llm.model,
            messages=[{"role": m.role.value, "content": m.content or ""} for m in messages],
            max_tokens=1,
            temperature=0.0,
            logprobs=True,
            top_logprobs=TOP_LOGPROBS,
        )
    except openai.APIConnectionError as exc:  # down or timed out: the answer would fail the same way
        raise LLMUnavailableError(f"The LLM at {llm.api_base} failed: {type(exc).__name__}: {exc}") from exc
    except openai.APIError:  # e.g. a server that rejects logprobs: answer without a verdict
        return None
    choice = response.choices[0] if response.choices else None
    content = choice.logprobs.content if choice is not None and choice.logprobs is not None else None
    if not content or not content[0].top_logprobs:
        return None
    beginnings = {word[:n] for n in range(2, len(word) + 1)}
    return sum(math.exp(t.logprob) for t in content[0].top_logprobs if t.token.strip() in beginnings)
