"""With RAG_AUTH_USER and RAG_AUTH_PASSWORD set, the real chat server refuses every request without a login.

A second `rag chat` subprocess, on a copy of the shared UI server's index, with a login configured.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.servers import UIServer, chat_server, copy_index

pytestmark = pytest.mark.model

USER, PASSWORD = "redaktion", "korrekt-pferd-batterie"
QUESTION = "Welche Art von Munition soll Nordkorea an Russland geliefert haben?"


@pytest.fixture(scope="module")
def auth_server(ui_server, tmp_path_factory) -> Iterator[UIServer]:  # noqa: F811
    tmp = copy_index(ui_server, tmp_path_factory.mktemp("auth-server"))
    with chat_server(tmp, RAG_AUTH_USER=USER, RAG_AUTH_PASSWORD=PASSWORD) as server:
        yield server


def _status(url: str, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_api_calls_without_a_login_are_refused(auth_server):
    base = auth_server.url.rstrip("/")
    body = json.dumps({"data": [QUESTION, "[]"]}).encode()
    assert _status(f"{base}/gradio_api/call/ask", body) == 401
    assert _status(f"{base}/gradio_api/info") == 401
    assert _status(f"{base}/config") == 401


def test_gradio_client_without_or_with_a_wrong_login_is_refused(auth_server):
    from gradio_client import Client

    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises ValueError or httpx errors by version
        Client(auth_server.url, verbose=False).predict(QUESTION, "[]", api_name="/ask")
    with pytest.raises(Exception, match="(?i)login|auth|credentials|401"):
        Client(auth_server.url, auth=(USER, "falsch"), verbose=False)


def test_the_configured_login_gets_a_cited_answer(auth_server):
    from gradio_client import Client

    payload = Client(auth_server.url, auth=(USER, PASSWORD), verbose=False).predict(QUESTION, "[]", api_name="/ask")
    assert not payload["refused"] and payload["citations"], payload
    assert "Artillerie" in payload["answer"]


def test_the_password_is_not_in_the_server_log(auth_server):
    assert PASSWORD not in auth_server.log.read_text(errors="replace")
