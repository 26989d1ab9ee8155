"""What the chat and its JSON route tell a user when answering fails: known problems in their own words,
anything else as a pointer to the server log (its details are for the operator, not the browser)."""

from __future__ import annotations

from rag.errors import NewsragError


class FriendlyError(NewsragError):
    """A problem of the chat itself (a bad request) to show to the user as a message, never as a traceback."""


# Problems the user can act on (every newsrag error says what to do); anything else is logged with its traceback.
KNOWN_ERRORS = (NewsragError,)


def error_text(exc: BaseException) -> str:
    if isinstance(exc, KNOWN_ERRORS):
        return str(exc)
    return "Something went wrong while answering; the details are in the server log. Please try again."
