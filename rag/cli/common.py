"""What every `rag` subcommand shares: settings from options, one-line errors, and the LLM options."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

from rag.settings import top_k_bounds

if TYPE_CHECKING:
    from rag.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

# Options that `ask` and `eval` share.
LlmOption = Annotated[str | None, typer.Option("--llm", help="Backend: local, fast, ollama, openai or none.")]
ModelOption = Annotated[str | None, typer.Option(help="Model name (ollama/openai) or GGUF path (local).")]
BaseUrlOption = Annotated[str | None, typer.Option(help="Server URL for ollama/openai.")]
# top_k's range, read from the Settings field's constraints (rag.settings.top_k_bounds), not copied.
TOP_K_MIN, TOP_K_MAX = top_k_bounds()
TopKOption = Annotated[
    int | None, typer.Option("-k", "--top-k", min=TOP_K_MIN, max=TOP_K_MAX, help="Chunks retrieved.")
]


def debug_enabled() -> bool:
    """RAG_DEBUG=1 shows tracebacks instead of the one-line errors."""
    return bool(os.environ.get("RAG_DEBUG"))


def make_settings(**overrides: Any) -> Settings:
    from rag.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def friendly_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Known failures print one clear line instead of a traceback (RAG_DEBUG=1 shows it)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter, KeyboardInterrupt):
            raise
        except Exception as exc:
            if debug_enabled():
                raise
            from pydantic import ValidationError

            from rag.errors import NewsragError
            from rag.settings import UnknownSettingError

            if isinstance(exc, UnknownSettingError):  # a typo in rag.toml or a RAG_* variable
                fail(str(exc), 2)
            if isinstance(exc, ValidationError):
                error = exc.errors()[0]
                fail(f"invalid setting: {'.'.join(map(str, error['loc']))}: {error['msg']}", 2)
            if isinstance(exc, NewsragError | OSError | ValueError):  # they say what went wrong in user words
                fail(str(exc))
            fail(f"{exc} (an unexpected {type(exc).__name__}; RAG_DEBUG=1 shows where it happened)")

    return wrapper


def use_config_file(config: Path | None) -> None:
    if config is not None:
        if not config.is_file():
            fail(f"config file {config} does not exist", 2)
        os.environ["RAG_CONFIG"] = str(config)
