"""The error `rag eval` reports as bad usage (exit 2): a config spec, a --fail-under gate, a mismatching resume."""

from rag.errors import NewsragError


class EvalUsageError(NewsragError, ValueError):
    """Bad command-line input (a config spec, a --fail-under gate, a mismatching resume)."""
