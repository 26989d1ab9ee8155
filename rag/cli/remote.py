"""`rag ask` through a running `rag chat` with the same settings, whose models are loaded already.

`ask_running_chat` returns that chat's answer events, or None when no such chat listens (nothing there,
another app, other settings or version, a refused login): the caller then answers in-process. The protocol
is in rag/wire.py, the server's side in ui/api.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx

from rag.settings import Settings
from rag.types import Final, StreamEvent
from rag.wire import ASK_PATH, INFO_PATH, RemoteAnswerError, read_event, server_info

CONNECT_TIMEOUT_S = 0.3  # a server on this machine accepts at once; nothing listening costs nothing
INFO_TIMEOUT_S = 5.0  # the info route answers at once, even while the chat loads its models
# Reading the answer has no time limit: it may wait for the chat's model load and for other questions to
# the one model; Ctrl-C stops it, as it stops an answer made in-process.
ASK_TIMEOUT = httpx.Timeout(None, connect=CONNECT_TIMEOUT_S)


def chat_url(settings: Settings) -> str:
    """Where the chat of these settings is reached from this machine (a wildcard bind is reached locally)."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.host, settings.host)
    return f"http://[{host}]:{settings.port}" if ":" in host else f"http://{host}:{settings.port}"


def ask_running_chat(
    settings: Settings,
    question: str,
    history: list[dict[str, str]] | None = None,
    note: Callable[[str], None] = lambda message: None,
    client: httpx.Client | None = None,
) -> Iterator[StreamEvent] | None:
    """The running chat's events for `question`, or None (after a `note` when a chat runs but cannot answer
    for these settings). `client` is for tests; the default never uses a proxy (the chat is local)."""
    client = client or httpx.Client(timeout=httpx.Timeout(INFO_TIMEOUT_S, connect=CONNECT_TIMEOUT_S), trust_env=False)
    base = chat_url(settings)
    login = settings.auth_user, settings.auth_password
    auth = (login[0], login[1].get_secret_value()) if login[0] and login[1] else None
    mine = server_info(settings)
    try:
        reply = client.get(base + INFO_PATH, auth=auth)
        theirs = _newsrag_info(reply)
        if reply.status_code == httpx.codes.UNAUTHORIZED:
            note(f"The chat at {base} refused the login (auth_user, auth_password); answering here.")
        elif theirs is not None and theirs != mine:
            other = "has other settings" if theirs.get("fingerprint") != mine["fingerprint"] else "is another version"
            note(f"The chat at {base} {other}; answering here.")
        elif theirs is not None:
            body = {"question": question, "history": history, "fingerprint": mine["fingerprint"]}
            request = client.build_request("POST", base + ASK_PATH, json=body, timeout=ASK_TIMEOUT)
            response = client.send(request, auth=auth, stream=True)
            if response.status_code == httpx.codes.OK:
                return _events(client, response, base)
            response.close()  # e.g. 409: restarted with other settings since the probe
    except httpx.HTTPError:  # nothing listens, or not in time
        pass
    client.close()
    return None


def _newsrag_info(reply: httpx.Response) -> dict[str, Any] | None:
    """The info a newsrag chat answers; None from anything else listening there."""
    try:
        data = reply.json()
    except ValueError:
        return None
    ok = reply.status_code == httpx.codes.OK and isinstance(data, dict) and data.get("app") == "newsrag"
    return data if ok else None


def _events(client: httpx.Client, response: httpx.Response, base: str) -> Iterator[StreamEvent]:
    try:
        for line in response.iter_lines():
            if line:
                event = read_event(line)
                yield event
                if isinstance(event, Final):
                    return
    except httpx.HTTPError as exc:  # e.g. the chat was stopped mid-answer
        raise RemoteAnswerError(f"The chat at {base} stopped answering: {exc}") from exc
    finally:
        response.close()
        client.close()
    raise RemoteAnswerError(f"The chat at {base} stopped before its answer was complete.")
