"""The local model's llama.cpp build (which CPU features it was compiled with) and its tokens per second.

Prompt processing and generation are measured apart: the AVX-512 build speeds up the first (52 vs 31 tok/s
measured here) and leaves the second as it is (~10 tok/s), so a single "answer time" would hide which one moved.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.bench.config import BenchConfig

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

PROMPT_TOKENS = 512  # one llama.cpp batch (n_batch=512); a RAG prompt is 700-1400 tokens
GENERATED_TOKENS = 64
# Any text will do: only the token count matters for speed. German and English, like the articles.
FILLER = (
    "Der Stadtrat beschloss am Dienstag den neuen Haushalt; die Opposition kritisierte die Kürzungen bei den Schulen. "
    "The council approved the budget on Tuesday, while the opposition criticised the cuts to school funding. "
)


def llama_build(prefix: Path | None = None) -> dict[str, Any]:
    """What llama.cpp says it was built with, and the flavour scripts/setup.sh installed (.venv/.llama-build.json)."""
    from rag.llm import llama_build_info

    try:
        info = llama_build_info()
    except (ImportError, OSError) as exc:  # no llama-cpp-python, or its library does not load
        info = f"unavailable: {type(exc).__name__}: {exc}"
    out: dict[str, Any] = {"system_info": info, "flavour": None, "cmake_args": None}
    try:
        record = json.loads((Path(prefix or sys.prefix) / ".llama-build.json").read_text(encoding="utf-8"))
        out.update(flavour=record.get("flavour"), cmake_args=record.get("cmake_args"))
    except (OSError, ValueError):
        pass  # a venv not set up by setup.sh: the system info still says what the build can do
    return out


def bench_llm_speed(
    cfg: BenchConfig, llm: LLM, prompt_tokens: int = PROMPT_TOKENS, generated_tokens: int = GENERATED_TOKENS
) -> dict[str, Any]:
    """Prompt and generation tokens/s of the local llama.cpp model: a fixed prompt evaluated from an empty context,
    then greedy tokens one at a time; the median over the runs (one in --quick)."""
    model = getattr(llm, "_model", None)  # llama_cpp.Llama inside llama-index's LlamaCPP
    if model is None or not hasattr(model, "eval"):
        return {"available": False, "reason": f"{type(llm).__name__} is not a local llama.cpp model"}
    tokens = list(model.tokenize(FILLER.encode(), add_bos=False))
    tokens = (tokens * (prompt_tokens // len(tokens) + 1))[:prompt_tokens]
    prompt_rates, generation_rates = [], []
    for _ in range(1 if cfg.quick else cfg.repeat):
        model.reset()  # no cached prefix: every prompt token is evaluated
        started = time.perf_counter()
        model.eval(tokens)
        prompt_rates.append(prompt_tokens / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(generated_tokens):  # past an end token too: a fixed count, not the model's choice
            model.eval([model.sample(temp=0.0)])
        generation_rates.append(generated_tokens / (time.perf_counter() - started))
        cfg.report(f"  {prompt_rates[-1]:.1f} prompt tok/s, {generation_rates[-1]:.1f} generation tok/s")
    model.reset()  # the answers that follow start from an empty context as before
    return {
        "prompt_tokens": prompt_tokens,
        "generated_tokens": generated_tokens,
        "runs": len(prompt_rates),
        "prompt_tokens_per_s": round(statistics.median(prompt_rates), 1),
        "generation_tokens_per_s": round(statistics.median(generation_rates), 1),
    }
