"""What a `rag bench` run measures (BenchConfig) and the targets its figures are checked against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The repository (evaluation/bench/config.py -> ../../): eval/dev.jsonl, the seeds and the `cli` package live there.
ROOT = Path(__file__).resolve().parents[3]
BENCH_COLLECTION = "bench"  # its own collection, so a bench run never touches the user's index

Report = Callable[[str], None]


@dataclass
class BenchConfig:
    repeat: int = 3
    quick: bool = False
    skip_llm: bool = False
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    queries_per_run: int = 50
    n_questions: int = 8
    retrieval_questions: int = 24  # single-turn answerable questions for retrieval latency on the seeds
    seeds_dir: Path | None = None
    questions_file: Path = ROOT / "eval" / "dev.jsonl"
    followups_file: Path = ROOT / "eval" / "questions.jsonl"  # dev.jsonl has no follow-ups
    n_followups: int = 4
    batch_sizes: tuple[int, ...] = (1, 8, 16, 32)  # embedding_batch_size lever; empty: skip
    context_budgets: tuple[int, ...] = (350, 700, 1400)  # context_budget_tokens lever; empty: skip
    lever_questions: int = 2
    lever_repeat: int = 1  # the levers are for direction, not for the table
    llm_repeat: int = 1  # the LLM answers each question this many times (they are slow on CPU)
    chat: bool = True
    load_sessions: int = 16  # simultaneous chat sessions; 0 skips the section
    server_slots: int = 4  # llama-server's parallel slots in the same section
    work_dir: Path | None = None
    # An OpenAI-compatible embedding server (Infinity, TEI, vLLM) to embed the seed chunks through beside the
    # in-process model; without it, the configured embedding backend when that is a server.
    embedding_server: str | None = None
    # A failing section is recorded in results["errors"] and the run goes on; debug re-raises it instead,
    # so its traceback is seen (the CLI sets it from RAG_DEBUG, evaluation never reads the environment).
    debug: bool = False
    report: Report = field(default=print)

    @classmethod
    def make(cls, quick: bool = False, **overrides: Any) -> BenchConfig:
        """The full or quick defaults with the overrides that are not None (unset CLI options are None)."""
        if quick:
            base = cls(
                repeat=1,
                quick=True,
                sizes=(1_000,),
                queries_per_run=20,
                n_questions=4,
                retrieval_questions=4,
                batch_sizes=(),
                context_budgets=(),
                load_sessions=0,
            )
        else:
            base = cls()
        for key, value in overrides.items():
            if value is not None:
                setattr(base, key, value)
        return base


# Targets: figure name -> (operator, limit); the unit is the figure's own. Figures without one are INFO.
TARGETS: dict[str, tuple[str, float]] = {
    "reindex_unchanged_s": ("<", 3.0),
    "reindex_unchanged_cli_s": ("<", 3.0),
    "retrieval_seeds_p50_ms": ("<=", 100.0),
    "retrieval_100k_p50_ms": ("<=", 250.0),
    "extractive_total_p50_s": ("<=", 0.5),
    "local_ttft_p50_s": ("<=", 2.0),
    "chunk_cache_ttft_ratio": ("<=", 0.4),  # time to first token, chunk cache on / off, same run
    "prompt_tokens_evaluated_p50": ("<=", 150.0),
    "chunk_state_mb": ("<=", 10.0),  # a passage's saved state: its own KV cells, not the prefix's again
    "local_total_p50_s": ("<=", 8.0),
    "first_ask_local_s": ("<=", 10.0),
    "chat_ready_s": ("<=", 8.0),
    "help_s": ("<", 1.0),
    "chat_peak_rss_gb": ("<=", 3.5),
    "load_local_p50_s": ("<=", 30.0),
    "load_llama_server_p50_s": ("<=", 30.0),
}
