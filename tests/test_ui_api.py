"""The chat's JSON route for `rag ask` (ui/api.py) in a FastAPI TestClient over a scripted answer source:
what it tells about itself, the NDJSON lines of an answer, failures, other settings, the login."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.answering.service import InvalidQuestionError
from rag.settings import Settings, answer_fingerprint
from rag.types import Delta, Final
from rag.wire import ASK_PATH, INFO_PATH, RemoteAnswerError, read_event, server_info
from tests.fakes import PASSWORD, USER, ScriptedSource, answer_events, api_client, api_settings, full_answer
from ui.api import api_routes

chat = api_client


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return api_settings(tmp_path)


def ask(client: TestClient, settings: Settings, question: str = "Mit wem?", **extra: object) -> list[str]:
    reply = client.post(ASK_PATH, json={"question": question, "fingerprint": answer_fingerprint(settings), **extra})
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/x-ndjson"
    return reply.text.splitlines()


def test_info_tells_app_version_protocol_and_the_answer_fingerprint(settings):
    info = chat(settings, ScriptedSource(settings, [])).get(INFO_PATH).json()
    assert info == server_info(settings) and info["app"] == "newsrag"
    assert info["fingerprint"] == answer_fingerprint(settings)


def test_an_answer_streams_as_one_line_per_event(settings):
    source = ScriptedSource(settings, answer_events())
    history = [{"role": "user", "content": "Wer ist Schoigu?"}, {"role": "assistant", "content": "Minister."}]
    lines = ask(chat(settings, source), settings, history=history)
    events = [read_event(line) for line in lines]
    assert [type(e).__name__ for e in events] == ["Preview", "Delta", "Delta", "Final"]
    assert [e.text for e in events if isinstance(e, Delta)] == ["Ben ", "Wallace [1]."]
    final = events[-1]
    assert isinstance(final, Final) and final.answer.to_dict() == full_answer().to_dict()
    assert source.asked == [("Mit wem?", history)]


def test_a_failure_while_answering_is_the_last_line_and_hides_internals(settings):
    invalid = ScriptedSource(settings, [], InvalidQuestionError("The question is empty."))
    with pytest.raises(RemoteAnswerError, match="^The question is empty.$"):
        read_event(ask(chat(settings, invalid), settings, " ")[-1])
    broken = ScriptedSource(settings, [Delta("Ben")], RuntimeError("secret internals"))
    lines = ask(chat(settings, broken), settings)
    assert read_event(lines[0]) == Delta("Ben") and "secret internals" not in lines[-1]
    with pytest.raises(RemoteAnswerError, match="server log"):
        read_event(lines[-1])


def test_a_question_for_other_settings_is_refused(settings):
    source = ScriptedSource(settings, answer_events())
    reply = chat(settings, source).post(ASK_PATH, json={"question": "q", "fingerprint": "0" * 16})
    assert reply.status_code == 409 and source.asked == []


def test_the_chats_login_guards_both_routes(settings):
    secured = Settings.model_validate({**settings.model_dump(), "auth_user": USER, "auth_password": PASSWORD})
    source = ScriptedSource(secured, answer_events())
    client = chat(secured, source)
    assert client.get(INFO_PATH).status_code == 401
    assert client.get(INFO_PATH, auth=(USER, "falsch")).status_code == 401
    assert client.get(INFO_PATH, auth=("falsch", PASSWORD)).status_code == 401
    assert client.get(INFO_PATH, auth=(USER, PASSWORD)).status_code == 200
    body = {"question": "q", "fingerprint": answer_fingerprint(secured)}
    assert client.post(ASK_PATH, json=body).status_code == 401 and source.asked == []
    assert client.post(ASK_PATH, json=body, auth=(USER, PASSWORD)).status_code == 200


def test_the_fingerprint_ignores_how_the_chat_listens_and_resolves_relative_paths(settings, tmp_path, monkeypatch):
    listening = {"host": "0.0.0.0", "port": 9000, "auth_user": USER, "auth_password": PASSWORD, "max_queue": 3}
    assert answer_fingerprint(settings.model_copy(update=listening)) == answer_fingerprint(settings)
    for answering in ({"top_k": 7}, {"llm_backend": "local"}, {"llm_model": "x.gguf"}, {"answer_language": "en"}):
        assert answer_fingerprint(settings.model_copy(update=answering)) != answer_fingerprint(settings)
    relative = settings.model_copy(update={"index_dir": Path("index")})
    monkeypatch.chdir(tmp_path)
    assert answer_fingerprint(relative) == answer_fingerprint(settings)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert answer_fingerprint(relative) != answer_fingerprint(settings)


def test_the_routes_live_on_the_app_gradio_creates_next_to_its_own(settings):
    """launch() hands the routes to Gradio as app_kwargs; Gradio builds its FastAPI app with them."""
    import gradio as gr
    from gradio.routes import App

    with gr.Blocks() as demo:
        gr.Markdown("chat")
    gradio_app = App.create_app(demo, app_kwargs={"routes": api_routes(settings, ScriptedSource(settings, []))})
    client = TestClient(gradio_app)
    assert client.get(INFO_PATH).json() == server_info(settings)
    assert client.get("/config").status_code == 200
