"""The one base of every error a user of newsrag may see: the CLI and the chat print its message, never a traceback.

Each error keeps its own type (a `StoreError` is still a `RuntimeError`), so callers that catch the narrower type
are unchanged; a caller that only wants to show the reason catches `NewsragError`.
"""


class NewsragError(Exception):
    """Something the user can act on; the message says what went wrong and, where it can, what to do."""
