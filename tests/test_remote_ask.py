"""`rag ask` through a running chat, without a server process or models: the CLI's client (rag/cli/remote.py) and
the command, talking to the chat's JSON route (ui/api.py) in a FastAPI TestClient over a scripted answer source."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag.answering.service import InvalidQuestionError
from rag.cli import remote
from rag.cli.main import app as cli_app
from rag.settings import Settings
from rag.types import Delta, Final, StreamEvent
from rag.wire import INFO_PATH, RemoteAnswerError
from tests.fakes import PASSWORD, USER, ScriptedSource, answer_events, api_client, api_settings, full_answer

chat = api_client


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return api_settings(tmp_path)


def same_events(got: list[StreamEvent], sent: list[StreamEvent]) -> bool:
    """Equal events; answers compared by their JSON projection (what travels)."""

    def key(event: StreamEvent) -> object:
        return event.text if isinstance(event, Delta) else (type(event).__name__, event.answer.to_dict())

    return [key(e) for e in got] == [key(e) for e in sent]


# -- the route and the client together -----------------------------------------------------------------
def test_the_client_gets_the_servers_events_back_as_the_same_answer(settings):
    source = ScriptedSource(settings, answer_events())
    history = [{"role": "user", "content": "Wer ist Schoigu?"}, {"role": "assistant", "content": "Minister."}]
    events = remote.ask_running_chat(settings, "Mit wem telefonierte er?", history, client=chat(settings, source))
    assert events is not None
    got = list(events)
    assert same_events(got, source.events)
    final = got[-1]
    assert isinstance(final, Final)
    assert replace(final.answer, retrieved=full_answer().retrieved) == full_answer()
    assert source.asked == [("Mit wem telefonierte er?", history)]


def test_a_failure_while_answering_ends_the_stream_with_its_message(settings):
    invalid = ScriptedSource(settings, [], InvalidQuestionError("The question is empty."))
    events = remote.ask_running_chat(settings, " ", client=chat(settings, invalid))
    assert events is not None
    with pytest.raises(RemoteAnswerError, match="^The question is empty.$"):
        list(events)
    broken = ScriptedSource(settings, [Delta("Ben")], RuntimeError("secret internals"))
    events = remote.ask_running_chat(settings, "q", client=chat(settings, broken))
    assert events is not None
    with pytest.raises(RemoteAnswerError, match="server log") as raised:
        list(events)
    assert "secret internals" not in str(raised.value)


def test_a_stream_that_stops_before_its_final_is_an_error(settings):
    events = remote.ask_running_chat(settings, "q", client=chat(settings, ScriptedSource(settings, [Delta("Ben")])))
    assert events is not None
    with pytest.raises(RemoteAnswerError, match="stopped before"):
        list(events)


# -- falling back to answering in-process -----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_falls_back_at_once(settings):
    notes: list[str] = []
    started = time.monotonic()
    quiet = settings.model_copy(update={"port": free_port()})
    assert remote.ask_running_chat(quiet, "q", note=notes.append) is None
    assert time.monotonic() - started < 2 and notes == []


def test_another_app_on_the_port_falls_back_silently(settings):
    other = FastAPI()

    @other.get(INFO_PATH)
    def not_newsrag() -> dict[str, str]:
        return {"app": "something else"}

    notes: list[str] = []
    for client in (TestClient(FastAPI()), TestClient(other)):
        assert remote.ask_running_chat(settings, "q", note=notes.append, client=client) is None
    assert notes == []


def test_a_chat_with_other_settings_is_not_asked(settings):
    source = ScriptedSource(settings, answer_events())
    notes: list[str] = []
    for update in ({"top_k": 7}, {"llm_backend": "local"}, {"index_dir": Path("elsewhere")}):
        client_settings = settings.model_copy(update=update)
        assert remote.ask_running_chat(client_settings, "q", note=notes.append, client=chat(settings, source)) is None
    assert source.asked == [] and len(notes) == 3 and all("other settings" in n for n in notes)


def test_a_chat_behind_a_login_is_asked_with_the_clients_own_login(settings):
    secured = Settings.model_validate({**settings.model_dump(), "auth_user": USER, "auth_password": PASSWORD})
    source = ScriptedSource(secured, answer_events())
    notes: list[str] = []
    assert remote.ask_running_chat(settings, "q", note=notes.append, client=chat(secured, source)) is None
    assert len(notes) == 1 and "refused the login" in notes[0] and source.asked == []
    events = remote.ask_running_chat(secured, "q", client=chat(secured, source))
    assert events is not None and same_events(list(events), source.events)


def test_a_wildcard_bind_is_reached_on_this_machine():
    assert remote.chat_url(Settings(host="0.0.0.0", port=9000)) == "http://127.0.0.1:9000"
    assert remote.chat_url(Settings(host="::", port=9000)) == "http://[::1]:9000"
    assert remote.chat_url(Settings(host="192.168.1.5")) == "http://192.168.1.5:7860"


# -- the command ---------------------------------------------------------------------------------------------
runner = CliRunner()


def test_rag_ask_prints_the_same_through_the_chat_as_in_process(settings, monkeypatch):
    source = ScriptedSource(settings, answer_events())
    monkeypatch.setenv("RAG_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("RAG_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setattr("rag.wiring.get_service", lambda s: source)
    ask = remote.ask_running_chat  # the real client, talking to the route in a TestClient
    monkeypatch.setattr(remote, "ask_running_chat", lambda *a, **k: ask(*a, **k, client=chat(settings, source)))
    for as_json in ([], ["--json"]):
        local = runner.invoke(cli_app, ["ask", "Mit wem?", "--llm", "none", "--local", *as_json])
        served = runner.invoke(cli_app, ["ask", "Mit wem?", "--llm", "none", *as_json])
        assert local.exit_code == served.exit_code == 0, local.output + served.output
        assert served.stdout == local.stdout and "Ben Wallace [1]" in local.stdout
        assert "answered by the chat at http://127.0.0.1:7860" in served.stderr
        assert "answered by the chat" not in local.stderr
    assert len(source.asked) == 4
    assert "Checked answer: Ben Wallace [1]." in runner.invoke(cli_app, ["ask", "Mit wem?", "--llm", "none"]).stdout


def test_local_never_probes_for_a_chat(settings, monkeypatch):
    def probe(*args, **kwargs):
        raise AssertionError("--local must not look for a running chat")

    monkeypatch.setattr(remote, "ask_running_chat", probe)
    monkeypatch.setattr("rag.wiring.get_service", lambda s: ScriptedSource(s, answer_events()))
    monkeypatch.setenv("RAG_INDEX_DIR", str(settings.index_dir))
    result = runner.invoke(cli_app, ["ask", "Mit wem?", "--llm", "none", "--local"])
    assert result.exit_code == 0, result.output
    assert "Checked answer: Ben Wallace [1]." in result.stdout


def test_ask_help_explains_local():
    result = runner.invoke(cli_app, ["ask", "--help"])
    assert "--local" in result.output and "rag chat" in result.output
