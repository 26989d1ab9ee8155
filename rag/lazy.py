"""Public APIs imported on first use, so that `rag --help` does not pay for torch, chromadb or llama.cpp.

A package lists its public names and the modules that define them; `lazy_exports` gives the package the
`__getattr__` that imports a module when one of its names is first read (PEP 562).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The module-level `__getattr__` of `package`, resolving each name in `exports` from its module."""

    def __getattr__(name: str) -> Any:  # noqa: N807 (the name Python looks up)
        if name in exports:
            return getattr(import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
