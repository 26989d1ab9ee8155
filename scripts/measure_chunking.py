"""Choose chunk size and overlap by measurement: retrieval quality on eval/dev.jsonl per configuration.

Each configuration is indexed into its own temporary Chroma store with the real embedding model.
Usage: .venv/bin/python scripts/measure_chunking.py [--out eval/runs/chunking.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.answering.retrieval import retrieve
from rag.evaluation.questionset import Question, parse_question_set
from rag.evaluation.retrieval_metrics import retrieval_scores
from rag.ingest.pipeline import index_paths
from rag.models.embedding import get_embedder
from rag.offline import enforce_offline
from rag.settings import Settings
from rag.store.chroma import open_store

CONFIGS = [(300, 0), (300, 1), (600, 0), (600, 1), (900, 1), (1200, 1)]
KEYS = [
    "retrieval_doc_hit@1",
    "retrieval_doc_hit@3",
    "retrieval_doc_mrr",
    "retrieval_ev_hit@1",
    "retrieval_ev_hit@3",
    "retrieval_ev_mrr",
]


def measure(max_chars: int, overlap: int, questions: Sequence[Question], top_k: int = 4) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp), chunk_max_chars=max_chars, chunk_overlap_sentences=overlap)
        embedder = get_embedder(settings)
        store = open_store(settings)
        started = time.perf_counter()
        report = index_paths([settings.seeds_dir], settings, store, lambda: embedder)
        index_s = time.perf_counter() - started
        rows = []
        for q in questions:
            chunks = retrieve(q.question, store, embedder, top_k).chunks
            retrieved = [
                {"rank": i, "doc_id": c.doc_id, "chunk_id": c.chunk_id, "score": c.score, "text": c.text}
                for i, c in enumerate(chunks, 1)
            ]
            rows.append(retrieval_scores(q, retrieved))
        sizes = [len(c.text) for d in store.documents() for c in store.chunks_of(d.doc_id)]
    result: dict[str, Any] = {
        "max_chars": max_chars,
        "overlap": overlap,
        "chunks": report.chunks_total,
        "mean_chunk_chars": round(statistics.mean(sizes)),
        "index_s": round(index_s, 1),
        "prompt_tokens_top4": round(4 * statistics.mean(sizes) / 3.0),
    }
    for key in KEYS:
        values = [value for r in rows if (value := r.get(key)) is not None]
        result[key] = round(statistics.mean(values), 3) if values else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=Path("eval/dev.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("eval/runs/chunking.json"))
    args = parser.parse_args()
    enforce_offline()
    questions = [q for q in parse_question_set(args.questions) if q.answerable and not q.history]
    results = []
    for max_chars, overlap in CONFIGS:
        results.append(measure(max_chars, overlap, questions))
        print(json.dumps(results[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"questions": len(questions), "top_k": 4, "results": results}, indent=2))
    header = "| max chars | overlap | chunks | " + " | ".join(KEYS) + " |"
    print(header)
    for r in results:
        print(f"| {r['max_chars']} | {r['overlap']} | {r['chunks']} | " + " | ".join(str(r[k]) for k in KEYS) + " |")


if __name__ == "__main__":
    main()
