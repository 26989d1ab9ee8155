"""Retrieval metrics: document and evidence hits, MRR and nDCG over the ranked chunks of one question.

- Document-level retrieval works on the ranked doc ids with repeats removed (a document's rank is its
  position among distinct documents, first occurrence wins).
- Evidence-level retrieval works on chunk ranks; a chunk is a hit when its whitespace-normalised text
  contains a whitespace-normalised evidence span (case-sensitive, verbatim).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rag.evaluation.questionset import Question


def normalize_whitespace(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def retrieval_scores(question: Question, retrieved: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    ranked = sorted(retrieved, key=lambda item: item.get("rank", 0))
    doc_flags = _doc_flags([item["doc_id"] for item in ranked], question.relevant_docs)
    scores: dict[str, float | None] = {
        "retrieval_doc_mrr": _flags_mrr(doc_flags),
        "retrieval_doc_ndcg@5": _ndcg(doc_flags, len(set(question.relevant_docs)), 5),
    }
    for k in (1, 3, 5):
        scores[f"retrieval_doc_hit@{k}"] = _flags_hit_at_k(doc_flags, k)
    if question.evidence:
        texts = [item.get("text", "") for item in ranked]
        ev_flags = evidence_hits(texts, question.evidence)
        scores["retrieval_ev_mrr"] = _flags_mrr(ev_flags)
        scores["retrieval_ev_ndcg@5"] = evidence_ndcg_at_k(texts, question.evidence, 5)
        for k in (1, 3, 5):
            scores[f"retrieval_ev_hit@{k}"] = _flags_hit_at_k(ev_flags, k)
    return scores


def dedupe(items: Iterable[str]) -> list[str]:
    """Distinct items in first-occurrence order."""
    return list(dict.fromkeys(items))


def hit_at_k(ranked_doc_ids: Sequence[str], relevant: Iterable[str], k: int) -> float:
    return _flags_hit_at_k(_doc_flags(ranked_doc_ids, relevant), k)


def mrr(ranked_doc_ids: Sequence[str], relevant: Iterable[str]) -> float:
    return _flags_mrr(_doc_flags(ranked_doc_ids, relevant))


def ndcg_at_k(ranked_doc_ids: Sequence[str], relevant: Iterable[str], k: int = 5) -> float:
    """Binary-relevance nDCG over distinct documents; the ideal ranks every relevant doc first."""
    relevant = set(relevant)
    return _ndcg(_doc_flags(ranked_doc_ids, relevant), len(relevant), k)


def _doc_flags(ranked_doc_ids: Sequence[str], relevant: Iterable[str]) -> list[bool]:
    relevant = set(relevant)
    return [doc_id in relevant for doc_id in dedupe(ranked_doc_ids)]


def _flags_hit_at_k(flags: Sequence[bool], k: int) -> float:
    return 1.0 if any(flags[:k]) else 0.0


def _flags_mrr(flags: Sequence[bool]) -> float:
    return next((1.0 / rank for rank, flag in enumerate(flags, start=1) if flag), 0.0)


def _ndcg(gains: Sequence[bool], n_relevant: int, k: int) -> float:
    dcg = sum(1.0 / math.log2(rank + 1) for rank, gain in enumerate(gains[:k], start=1) if gain)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_relevant, k) + 1))
    return dcg / ideal if ideal else 0.0


def evidence_spans(evidence: Iterable[str]) -> list[str]:
    """The evidence spans, whitespace-normalised, without empty ones: as chunks and quotes are matched."""
    return [span for span in (normalize_whitespace(e) for e in evidence) if span]


def evidence_hits(chunk_texts: Sequence[str], evidence: Iterable[str]) -> list[bool]:
    """Per retrieved chunk (in rank order): does it contain any evidence span?"""
    spans = evidence_spans(evidence)
    texts = [normalize_whitespace(text) for text in chunk_texts]
    return [any(span in text for span in spans) for text in texts]


def evidence_ndcg_at_k(chunk_texts: Sequence[str], evidence: Iterable[str], k: int = 5) -> float:
    """nDCG on chunk ranks with evidence spans as the relevance judgements.

    A chunk gains only when it contains a span no higher-ranked chunk contained, so
    overlapping chunks repeating one span are not rewarded twice (the chunk analogue of
    removing repeated doc ids). The ideal ranking puts the gaining chunks found anywhere in
    the retrieved list first: how many chunks the evidence spans in the index is unknown.
    """
    spans = evidence_spans(evidence)
    seen: set[str] = set()
    gains = []
    for text in (normalize_whitespace(t) for t in chunk_texts):
        new = {span for span in spans if span in text} - seen
        seen |= new
        gains.append(bool(new))
    return _ndcg(gains, max(1, sum(gains)), k)
