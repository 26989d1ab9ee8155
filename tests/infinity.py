"""The real Infinity embedding server (`infinity_emb v2`) in a subprocess on 127.0.0.1, serving the embedded
EmbeddingGemma folder, for the tests that check the vectors and the retrieval through it.

It runs from its own venv (scripts/setup_infinity.sh, called by `make test`): ~/.cache/newsrag/infinity-venv, or
INFINITY_VENV. Without that venv the tests are skipped, except in CI (CI=true), where a missing venv fails them.
Usage statistics are off and the Hugging Face hub is offline: the server reads the model folder, nothing else.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.evaluation.bench.harness import ServerProcess, free_port
from rag.models.files import ModelError, resolve_embedding_path
from rag.settings import Settings

START_TIMEOUT_S = 300  # loading the model on two busy cores takes 10-30 s; a test run may share them
SETUP = "bash scripts/setup_infinity.sh"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def infinity_venv(settings: Settings | None = None) -> Path:
    """Where scripts/setup_infinity.sh builds the venv: INFINITY_VENV, else <cache_dir>/infinity-venv."""
    if os.environ.get("INFINITY_VENV"):
        return Path(os.environ["INFINITY_VENV"])
    return (settings or Settings()).cache_dir / "infinity-venv"


def _missing(reason: str) -> None:
    """Skip the test with the reason, or fail it in CI, where setup must have built everything."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the real-server tests must run; `make test` builds it with {SETUP})")
    pytest.skip(f"{reason}; build it with {SETUP}")


def infinity_binary(settings: Settings | None = None) -> Path:
    """The venv's `infinity_emb`, after checking setup finished (its stamp); skips or fails the test if not."""
    venv = infinity_venv(settings)
    binary = venv / "bin" / "infinity_emb"
    if not binary.is_file() or not (venv / ".installed").is_file():
        _missing(f"the Infinity venv {venv} is not built")
    return binary


@dataclass
class InfinityServer:
    url: str  # http://127.0.0.1:PORT, the embedding_base_url for embedding_backend = openai
    model: str  # the served model name: settings.embedding_model
    log: Path


def server_command(binary: Path, model_dir: str, name: str, port: int, batch_size: int = 8) -> list[str]:
    return [
        str(binary),
        "v2",
        "--model-id",
        model_dir,
        "--served-model-name",
        name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--engine",
        "torch",
        "--device",
        "cpu",
        "--batch-size",
        str(batch_size),
        "--no-model-warmup",
    ]


@contextlib.contextmanager
def infinity_server(log_dir: Path, settings: Settings | None = None) -> Iterator[InfinityServer]:
    """Infinity on a free port serving settings.embedding_model's folder; ready when /health answers, then stopped."""
    settings = settings or Settings()
    binary = infinity_binary(settings)
    try:
        model_dir = resolve_embedding_path(settings.embedding_model, settings.models_dir)
    except ModelError as exc:
        _missing(f"the embedding model is not built: {exc}")
    port = free_port()
    env = dict(os.environ, DO_NOT_TRACK="1", INFINITY_ANONYMOUS_USAGE_STATS="0", HF_HUB_OFFLINE="1")
    env["TRANSFORMERS_OFFLINE"] = "1"
    log = log_dir / "infinity.log"
    command = server_command(binary, str(model_dir), settings.embedding_model, port)
    process = ServerProcess(command, log, f"http://127.0.0.1:{port}/health", env)
    process.name = "the Infinity server"
    try:
        try:
            process.wait_ready(START_TIMEOUT_S)
        except RuntimeError as exc:
            pytest.fail(f"{exc}\n(log: {log})")
        yield InfinityServer(f"http://127.0.0.1:{port}", settings.embedding_model, log)
    finally:
        process.stop()
