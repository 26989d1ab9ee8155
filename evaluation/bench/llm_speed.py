"""The local model's llama.cpp build: which CPU features it was compiled with (prompt speed depends on them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


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
