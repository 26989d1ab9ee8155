"""The local model's llama.cpp build (which CPU features it was compiled with) and its tokens per second.

Prompt processing and generation are measured apart: the AVX-512 build speeds up the first (52 vs 31 tok/s
measured here) and leaves the second as it is (~10 tok/s), so a single "answer time" would hide which one moved.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.evaluation.bench.config import BenchConfig
from rag.evaluation.bench.harness import run_in_fresh_process
from rag.evaluation.summary import percentile

if TYPE_CHECKING:
    from rag.models import LLMBackend
    from rag.settings import Settings

PROMPT_TOKENS = 512  # one llama.cpp batch (n_batch=512); a RAG prompt is 700-1400 tokens
GENERATED_TOKENS = 64
# Any text will do: only the token count matters for speed. German and English, like the articles.
FILLER = (
    "Der Stadtrat beschloss am Dienstag den neuen Haushalt; die Opposition kritisierte die Kürzungen bei den Schulen. "
    "The council approved the budget on Tuesday, while the opposition criticised the cuts to school funding. "
)


def llama_build(prefix: Path | None = None) -> dict[str, Any]:
    """What llama.cpp says it was built with, and the flavour scripts/setup.sh installed (.venv/.llama-build.json)."""
    from rag.models import llama_build_info

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


def bench_llm_speed(cfg: BenchConfig, backend: LLMBackend) -> dict[str, Any]:
    """Prompt and generation tokens/s of the local llama.cpp model (the median over the runs; one in --quick)."""
    if backend.llama is None:
        return {"available": False, "reason": f"the {backend.name} backend is not a local llama.cpp model"}
    model = backend.llama.llama_cpp
    result = measure_speed(model, 1 if cfg.quick else cfg.repeat)
    cfg.report(f"  {result['prompt_tokens_per_s']} prompt tok/s, {result['generation_tokens_per_s']} generation tok/s")
    model.reset()  # the answers that follow start from an empty context as before
    return result


def measure_speed(
    model: Any, runs: int, prompt_tokens: int = PROMPT_TOKENS, generated_tokens: int = GENERATED_TOKENS
) -> dict[str, Any]:
    """A fixed prompt evaluated from an empty context, then greedy tokens one at a time, `runs` times."""
    tokens = list(model.tokenize(FILLER.encode(), add_bos=False))
    tokens = (tokens * (prompt_tokens // len(tokens) + 1))[:prompt_tokens]
    prompt_rates, generation_rates = [], []
    for _ in range(runs):
        model.reset()  # no cached prefix: every prompt token is evaluated
        started = time.perf_counter()
        model.eval(tokens)
        prompt_rates.append(prompt_tokens / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(generated_tokens):  # past an end token too: a fixed count, not the model's choice
            model.eval([model.sample(temp=0.0)])
        generation_rates.append(generated_tokens / (time.perf_counter() - started))
    return {
        "prompt_tokens": prompt_tokens,
        "generated_tokens": generated_tokens,
        "runs": runs,
        "prompt_tokens_per_s": round(statistics.median(prompt_rates), 1),
        "generation_tokens_per_s": round(statistics.median(generation_rates), 1),
    }


def portable_wheel(cache_dir: Path, version: str) -> Path | None:
    """The portable llama-cpp-python wheel of this version in the wheel cache (scripts/llama_wheel.py), if built."""
    for record in sorted((cache_dir / "wheels" / "llama-cpp-python").glob("portable-*/build.json")):
        try:
            info = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        wheel = record.parent / str(info.get("wheel"))
        if info.get("version") == version and wheel.is_file():
            return wheel
    return None


def speed_child(args: dict[str, Any]) -> dict[str, Any]:
    """In a fresh interpreter whose path starts with another build: its system info, tokens/s and, given
    questions, the answer times of the whole pipeline on them (as bench_local_answers measures them)."""
    import llama_cpp

    model = llama_cpp.Llama(model_path=args["gguf"], n_ctx=4096, n_batch=512, n_threads=args["threads"], verbose=False)
    info = llama_cpp.llama_print_system_info()
    system_info = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    try:
        speed = measure_speed(model, args["runs"])
    finally:
        model.close()
    result = {"system_info": system_info.strip(), "module": llama_cpp.__file__, **speed}
    if args.get("questions"):
        result["answers"] = _answer_times(args["settings"], args["questions"])
    return result


def _answer_times(fields: dict[str, Any], questions: list[str]) -> dict[str, Any]:
    from rag.settings import Settings
    from rag.wiring import get_service

    service = get_service(Settings(**fields))  # loads or evaluates this build's prompt-prefix state first
    ttft, total = [], []
    for question in questions:
        started = time.perf_counter()
        answer = service.answer(question)
        total.append((time.perf_counter() - started) * 1000)
        ttft.append(answer.timings.ttft_ms)
    return {
        "questions": len(questions),
        "ttft_p50_ms": percentile(ttft, 50),
        "ttft_p95_ms": percentile(ttft, 95),
        "total_p50_ms": percentile(total, 50),
        "total_p95_ms": percentile(total, 95),
    }


def bench_portable_speed(cfg: BenchConfig, settings: Settings, questions: list[str]) -> dict[str, Any]:
    """The same tokens/s and answer times with the portable (AVX2) build, from the wheel cache, in a child
    process: what the CPU-specific build buys on this machine, measured in the same run."""
    import llama_cpp

    from rag.models import resolve_gguf_path

    wheel = portable_wheel(settings.cache_dir, llama_cpp.__version__)
    if wheel is None:
        return {
            "available": False,
            "reason": "no portable build in the wheel cache "
            "(`python scripts/llama_wheel.py choose --flavour portable` builds one)",
        }
    with tempfile.TemporaryDirectory(prefix="portable-llama-") as tmp:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(tmp)  # a wheel is a zip: importable from where it is unpacked
        args = {
            "gguf": str(resolve_gguf_path("local", "", settings.models_dir)),
            "threads": settings.llm_threads,
            "runs": 1 if cfg.quick else cfg.repeat,
            "questions": questions,
            "settings": {
                key: str(getattr(settings, key))
                for key in (
                    "store_mode",
                    "index_dir",
                    "collection",
                    "cache_dir",
                    "llm_backend",
                    "llm_threads",
                    "chunk_states_mb",
                )
            },
        }
        result = run_in_fresh_process(speed_child, args, path_first=Path(tmp))
    if not str(result.get("module", "")).startswith(tmp):
        raise RuntimeError(f"the child imported llama_cpp from {result.get('module')}, not the portable wheel")
    cfg.report(
        f"  portable: {result['prompt_tokens_per_s']} prompt tok/s, {result['generation_tokens_per_s']} gen tok/s, "
        f"answers: ttft p50 {result.get('answers', {}).get('ttft_p50_ms')} ms"
    )
    return {"available": True, "wheel": str(wheel), **result}
