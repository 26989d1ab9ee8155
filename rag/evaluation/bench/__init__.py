"""Benchmarks behind `rag bench`: indexing, re-indexing, retrieval, answering, cold start and memory.

Every figure is a median over several runs, and each one that has a baseline is measured against that
baseline in the same process and reported as a ratio:

1. indexing throughput through `index_paths` vs a plain `SentenceTransformer.encode` of the same texts;
2. re-indexing with nothing changed (in process and through the `rag index` command);
3. retrieval latency on synthetic stores of 1k/10k/100k chunks (random unit vectors, written through
   `ChunkStore`/`ChunkRecord`, queried with random unit vectors in a fresh process that reports its RSS),
   and on the real seed index with real query embeddings;
4. answer latency (time to first token and total) with the embedded LLM vs the llama-index default
   baseline, and extractive answers; the LLM's prompt and generation tokens/s and its llama.cpp build;
5. cold start: `rag --help`, a first `rag ask`, and the chat server until it answers HTTP;
6. peak RSS of the chat server after one answered question.

Figures with a target are checked (PASS/MISS, and by how much a MISS misses). The results go to
`<out>/<timestamp>.json` and `<out>/latest.json`.

Modules: config (BenchConfig, TARGETS), harness (processes, ports, memory), figures (the measurements),
synthetic (retrieval on synthetic stores), answers (the answer sections), load (simultaneous users),
llm_speed (the llama.cpp build and tokens/s), checks (targets and the table), run (the driver); archive
(`rag bench --archive`: the Chroma store alone at 100k and 1M synthetic chunks, persistent and behind `chroma run`).
"""

from rag.evaluation.bench.checks import format_table
from rag.evaluation.bench.config import BenchConfig
from rag.evaluation.bench.harness import write_results
from rag.evaluation.bench.run import run_bench

__all__ = ["BenchConfig", "format_table", "run_bench", "write_results"]
