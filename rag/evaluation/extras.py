"""The `eval` extra: packages that only `rag eval` and `rag bench` need (`pip install -e '.[eval]'`).

A missing one is reported as one clear error naming the install command, not as an ImportError traceback.
"""

from __future__ import annotations

import importlib.util

from rag.errors import NewsragError

# module -> the distribution that brings it
EVAL_EXTRA: dict[str, str] = {
    "matplotlib": "matplotlib",
    "llama_index.embeddings.huggingface": "llama-index-embeddings-huggingface",
    "gradio_client": "gradio_client",
}
INSTALL_HINT = "install the evaluation extra: .venv/bin/pip install -e '.[eval]' (make setup installs it)"


class MissingExtraError(NewsragError, RuntimeError):
    """A package of the `eval` extra is not installed."""


def missing(modules: tuple[str, ...] = tuple(EVAL_EXTRA)) -> list[str]:
    """The distributions of the extra whose module cannot be imported, in the order given."""
    absent = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package of a dotted name is missing
            found = False
        if not found:
            absent.append(EVAL_EXTRA.get(module, module))
    return absent


def require(what: str, modules: tuple[str, ...] = tuple(EVAL_EXTRA)) -> None:
    """Raise MissingExtraError when a module `what` needs is not installed."""
    absent = missing(modules)
    if absent:
        raise MissingExtraError(f"{what} needs {', '.join(absent)}, which is not installed; {INSTALL_HINT}")
