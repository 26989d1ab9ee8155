"""Answering: retrieve, focus the passages, prompt the LLM, check its citations, shape the answer."""
