"""The chat's logic (ui/chat.py, and ui/app.py's launch options) without a server: launch options, history, and
a chat turn over a real Chroma store with a scripted LLM."""

from __future__ import annotations

import pytest

from rag.settings import Settings


# -- launch options ----------------------------------------------------------------
def test_launch_options_bind_locally_never_share_and_use_auth_when_set():
    from ui.app import launch_options

    plain = launch_options(Settings(llm_backend="none"))
    assert plain["server_name"] == "127.0.0.1" and plain["server_port"] == 7860
    assert plain["share"] is False and plain["auth"] is None
    secured = launch_options(
        Settings(llm_backend="none", host="0.0.0.0", port=9000, auth_user="ann", auth_password="s3cret")
    )
    assert secured["auth"] == ("ann", "s3cret") and secured["share"] is False
    assert secured["server_name"] == "0.0.0.0" and secured["server_port"] == 9000
    assert secured["max_file_size"] == Settings(llm_backend="none").upload_max_bytes


def test_history_json_is_checked():
    from ui.chat import FriendlyError, parse_history

    assert parse_history("") == []
    assert parse_history('[{"role": "user", "content": "Hallo"}]') == [{"role": "user", "content": "Hallo"}]
    for bad in ("{", '{"role": "user"}', '[{"role": "user"}]', "[1, 2]"):
        with pytest.raises(FriendlyError):
            parse_history(bad)


# -- the chat turn, with a scripted LLM over a real Chroma store ------------------------
QUESTION = "Mit welchen Verteidigungsministern sprach Schoigu, Akar und Wallace?"


@pytest.fixture
def services(service):
    from ui.chat import Services

    return Services(service.settings, service)


def _run(services, question, turns=None):
    """Snapshots of all updates of one chat turn (gr.Warning outside a request is a UserWarning)."""
    import copy
    import warnings

    from ui.chat import chat_stream

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return [copy.deepcopy(u) for u in chat_stream(services, question, turns or [])]


def _status(update):
    return update[1][-1]["status"]


def test_chat_turn_shows_preview_then_stream_then_checked_answer(services):
    from ui.chat import evidence_for

    services.default.backend.llm.replies = ["Schoigu sprach mit Hulusi Akar und Ben Wallace [1]."]
    updates = _run(services, QUESTION)
    statuses = [_status(u) for u in updates]
    assert statuses[0] == "preview" and "streaming" in statuses and statuses[-1] == "final"
    assert statuses.index("streaming") < len(statuses) - 1
    assert updates[0][2] == ""  # the question box is cleared at once
    assert "extractive preview" in updates[0][0]
    html, turns, _ = updates[-1]
    answer = turns[-1]["answer"]
    assert answer["mode"] == "llm" and answer["citations"]
    assert 'class="cite" data-turn="0" data-n="1"' in html
    panel = evidence_for(turns, {"turn": 0, "n": 1})
    assert "<mark>" in panel and answer["citations"][0]["doc_id"] in panel
    assert evidence_for(turns, {"turn": 0, "n": 9}) is None
    assert evidence_for(turns, {"turn": "x"}) is None and evidence_for(turns, None) is None


def test_follow_up_sends_the_history(services):
    llm = services.default.backend.llm
    llm.replies = ["Schoigu sprach mit Hulusi Akar und Ben Wallace [1]."]
    turns = _run(services, QUESTION)[-1][1]
    llm.replies = ["Mit Ben Wallace [1]."]
    updates = _run(services, "Und mit wem noch?", turns)
    final = updates[-1][1]
    assert len(final) == 2 and final[-1]["status"] == "final"
    # The follow-up was searched with the earlier question and the claim of its answer, without its marker.
    assert final[-1]["answer"]["condensed_question"] == (
        f"{QUESTION} Schoigu sprach mit Hulusi Akar und Ben Wallace. Und mit wem noch?"
    )


def test_refusal_is_rendered_as_a_refusal(services):
    services.default.backend.llm.replies = ["Die Artikel enthalten dazu keine Informationen."]
    html, turns, _ = _run(services, QUESTION)[-1]
    assert turns[-1]["answer"]["refused"] is True
    assert 'class="answer refusal"' in html


def test_llm_down_gives_the_extractive_answer_with_a_warning(services):
    services.default.backend.llm.fail_with = "connection refused"
    html, turns, _ = _run(services, QUESTION)[-1]
    answer = turns[-1]["answer"]
    assert turns[-1]["status"] == "final" and answer["mode"] == "extractive"
    assert answer["warning"] and 'class="note warn"' in html
    assert "Traceback" not in html


def test_invalid_question_changes_nothing(services):
    updates = _run(services, "   ")
    assert len(updates) == 1
    assert all(u == {"__type__": "update"} for u in updates[0])


def test_store_and_unexpected_errors_become_messages(services, monkeypatch):
    from rag.store.chroma import StoreError

    def broken(*args, **kwargs):
        raise StoreError("No index at /tmp/x yet. Run `rag index` first.")

    monkeypatch.setattr(services.default, "prepare", broken)
    html, turns, _ = _run(services, QUESTION)[-1]
    assert turns[-1]["status"] == "error" and "No index at /tmp/x yet." in html

    def crash(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services.default, "prepare", crash)
    html, turns, _ = _run(services, QUESTION)[-1]
    assert "Something went wrong" in html and "secret internals" not in html and "Traceback" not in html


def test_settings_choose_another_service(services, monkeypatch):
    import ui.chat
    from ui.chat import FriendlyError

    built = []
    monkeypatch.setattr(ui.chat, "get_service", lambda s: built.append(s) or services.default)
    assert services.get(None, None, None, None) is services.default
    assert services.get("local", "", 4, "auto") is services.default
    services.get("none", "", 7, "en")
    assert built[-1].llm_backend == "none" and built[-1].top_k == 7 and built[-1].answer_language == "en"
    with pytest.raises(FriendlyError):
        services.get("gpt-9")
    with pytest.raises(FriendlyError):
        services.get(None, None, 99)


def test_a_finished_answer_opens_the_evidence_panel_on_its_first_citation(services):
    from ui.chat import latest_evidence

    services.default.backend.llm.replies = ["Schoigu sprach mit Hulusi Akar und Ben Wallace [1]."]
    turns = _run(services, QUESTION)[-1][1]
    html = latest_evidence(turns)
    first = turns[-1]["answer"]["citations"][0]
    assert isinstance(html, str) and "evidence" in html and first["title"].split()[0] in html
    assert not isinstance(latest_evidence([]), str)  # no answer yet: the panel is left as it is
    assert not isinstance(latest_evidence([{"question": "q", "status": "error", "error": "x"}]), str)
