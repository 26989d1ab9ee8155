"""The protocol between a running `rag chat` and `rag ask`: its routes, what makes a server the right one to
ask, and an answer's stream events as NDJSON lines. The chat serves it (ui/api.py), the CLI asks (cli/remote.py).

Kept free of HTTP libraries: the CLI imports it before it knows whether a server runs.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from rag.errors import NewsragError
from rag.settings import Settings, answer_fingerprint
from rag.types import Answer, Delta, Final, Preview, StreamEvent

INFO_PATH = "/newsrag/info"
ASK_PATH = "/newsrag/ask"
PROTOCOL = 1  # raise it when the routes or the lines change


class RemoteAnswerError(NewsragError, RuntimeError):
    """The server could not answer; the message is the one it would show in the chat."""


def server_info(settings: Settings) -> dict[str, Any]:
    """What GET /newsrag/info answers; a client asks a server only when this equals its own (the fingerprint
    of the settings that can change an answer: rag.settings.answer_fingerprint)."""
    try:
        installed = version("newsrag")
    except PackageNotFoundError:  # run from a source tree
        installed = "unknown"
    return {"app": "newsrag", "protocol": PROTOCOL, "version": installed, "fingerprint": answer_fingerprint(settings)}


def event_line(event: StreamEvent) -> str:
    """One event as a line of JSON."""
    if isinstance(event, Delta):
        data: dict[str, Any] = {"event": "delta", "text": event.text}
    else:
        data = {"event": "preview" if isinstance(event, Preview) else "final", "answer": event.answer.to_dict()}
    return json.dumps(data, ensure_ascii=False) + "\n"


def error_line(message: str) -> str:
    """The line that ends a stream which failed after it began (the status line was sent already)."""
    return json.dumps({"event": "error", "message": message}, ensure_ascii=False) + "\n"


def read_event(line: str) -> StreamEvent:
    """The event of one line; an error line raises RemoteAnswerError with the server's message."""
    data = json.loads(line)
    kind = data["event"]
    if kind == "delta":
        return Delta(data["text"])
    if kind == "preview":
        return Preview(Answer.from_dict(data["answer"]))
    if kind == "final":
        return Final(Answer.from_dict(data["answer"]))
    if kind == "error":
        raise RemoteAnswerError(data["message"])
    raise ValueError(f"unknown event {kind!r} from the chat server")
