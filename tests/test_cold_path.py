"""What a fresh `rag ask` imports, read from sys.modules of a new interpreter (no model is loaded).

Asking a running chat needs no answer path at all; answering in-process with `--llm none` needs the answer
path, but not llama-index's LLM integrations, llama.cpp or the OpenAI/Ollama clients.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LLM_STACK = ("llama_cpp", "openai", "ollama", "llama_index.llms.")  # llama_index.llms itself is core's namespace


def imported_after(code: str, tmp_path: Path) -> set[str]:
    """The modules loaded once `code` has run in a fresh interpreter in the project folder."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_CONFIG"] = str(tmp_path / "none.toml")  # a developer's rag.toml is not read
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_asking_a_running_chat_imports_no_answer_path_and_no_model_library(tmp_path):
    modules = imported_after(
        "import rag.cli.main\n"
        "from rag.cli.remote import ask_running_chat\n"
        "from rag.settings import Settings\n"
        "import socket\n"
        "with socket.socket() as s:\n    s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]\n"
        f"settings = Settings(llm_backend='none', port=port, index_dir={str(tmp_path / 'index')!r})\n"
        "assert ask_running_chat(settings, 'Wer?') is None  # nothing listens: the probe alone",
        tmp_path,
    )
    heavy = {"llama_index", "torch", "chromadb", "gradio", "sentence_transformers", "transformers", "numpy"}
    assert {m.split(".")[0] for m in modules} & heavy == set()
    assert "rag.answering.service" not in modules and "httpx" in modules


def test_answering_in_process_without_an_llm_loads_no_llm_library(tmp_path):
    modules = imported_after(
        "import rag.cli.main\n"
        "import rag.models.embedding\n"
        "from rag.wiring import get_service\n"
        "from rag.settings import Settings\n"
        "rag.models.embedding.get_embedder = lambda settings: None  # not what this test is about\n"
        f"settings = Settings(llm_backend='none', index_dir={str(tmp_path / 'index')!r}, "
        f"cache_dir={str(tmp_path / 'cache')!r})\n"
        "assert get_service(settings).backend is None",
        tmp_path,
    )
    assert "rag.answering.service" in modules and "chromadb" in modules  # the path did run
    assert sorted(m for m in modules if m.startswith(LLM_STACK)) == []
