"""What the chat and its JSON route tell a user when answering fails: known problems in their own words,
anything else as a pointer to the server log (its details are for the operator, not the browser)."""

from __future__ import annotations

from rag.answering.service import InvalidQuestionError
from rag.models.llm import LLMUnavailableError
from rag.store.chroma import StoreError
from rag.store.locking import IndexLockedError


class FriendlyError(Exception):
    """A problem to show to the user as a message, never as a traceback."""


# Problems the user can act on; anything else is logged with its traceback.
KNOWN_ERRORS = (FriendlyError, StoreError, InvalidQuestionError, LLMUnavailableError, IndexLockedError)


def error_text(exc: BaseException) -> str:
    if isinstance(exc, KNOWN_ERRORS):
        return str(exc)
    return "Something went wrong while answering; the details are in the server log. Please try again."
