"""Fast checks of the chat's HTML rendering and of upload checking; no server, no models."""

from __future__ import annotations

import re

import pytest

from rag.settings import Settings
from ui import library
from ui.library import UploadError, check_upload, safe_stem
from ui.render import (
    esc,
    highlight,
    highlight_span,
    link_citations,
    pending_citations,
    render_answer,
    render_chat,
    render_evidence,
)

HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1"> ${alert(1)} {{value}}'


def _answer(**overrides):
    passage = "Erster Satz. Shoigu sprach mit Austin. Dritter Satz."
    start = 100
    quote = "Shoigu sprach mit Austin."
    q0 = start + passage.index(quote)
    answer = {
        "text": "Shoigu sprach mit Austin [1]. Unbekannt [7].",
        "refused": False,
        "answer_lang": "de",
        "mode": "llm",
        "warning": None,
        "citations": {
            "1": {
                "n": 1,
                "doc_id": "003_doc",
                "title": "Titel",
                "date": "2022-10",
                "passage": passage,
                "quote": quote,
                "start": start,
                "end": start + len(passage),
                "quote_start": q0,
                "quote_end": q0 + len(quote),
            }
        },
        "uncited": [{"doc_id": "004_doc", "title": "Andere", "date": None, "score": 0.41, "text": "Anderer Text."}],
        "retrieved": [{"doc_id": "003_doc", "chunk_index": 2, "score": 0.71}],
        "timings": {"retrieval_ms": 12.3, "ttft_ms": None, "total_ms": 40.0},
    }
    answer.update(overrides)
    return answer


# -- escaping ------------------------------------------------------------------
def test_esc_neutralises_tags_and_template_syntax():
    out = esc(HOSTILE)
    assert "<" not in out and ">" not in out
    assert "&lt;script&gt;" in out
    assert "${" not in out and "{{" not in out
    assert '"' not in out


def test_hostile_text_everywhere_is_escaped():
    answer = _answer(text=HOSTILE + " [1]", warning=HOSTILE)
    answer["citations"]["1"].update(title=HOSTILE, doc_id=HOSTILE, date=HOSTILE)
    answer["uncited"][0].update(title=HOSTILE, text=HOSTILE, doc_id=HOSTILE)
    turns = [{"question": HOSTILE, "status": "final", "answer": answer}]
    html = render_chat(turns, show_details=True) + render_evidence(answer["citations"]["1"])
    assert "<script" not in html and "<img" not in html
    assert "onerror=" not in html.replace("onerror=&quot;", "")
    assert "${" not in html and "{{" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html


def test_streaming_text_is_escaped_and_markers_are_not_links_yet():
    out = pending_citations("<b>bold</b> claim [2]")
    assert "&lt;b&gt;" in out
    assert '<span class="cite-pending">[2]</span>' in out
    assert "<a " not in out


# -- citation links ---------------------------------------------------------------
def test_known_citations_become_links_and_unknown_stay_text():
    out = link_citations("A [1]. B [7]. C [1][2].", turn=3, numbers=[1, 2])
    assert out.count('class="cite"') == 3
    assert '<a href="#" class="cite" data-turn="3" data-n="1"' in out
    assert '<a href="#" class="cite" data-turn="3" data-n="2"' in out
    assert "B [7]." in out


def test_answer_lists_sources_and_hides_uncited_passages():
    html = render_answer(_answer(), turn=0)
    assert html.count('data-n="1"') == 2  # in the text and in the source list
    assert "[7]" in html and 'data-n="7"' not in html
    assert re.search(r"<details class=\"uncited\">(?!.*open)", html)
    assert "Andere" in html and "004_doc" in html
    assert "Retrieval details" not in html
    assert "Retrieval details" in render_answer(_answer(), turn=0, show_details=True)


def test_refusal_looks_different_from_an_answer():
    refusal = render_answer(
        _answer(text="Die Artikel enthalten dazu keine Informationen.", refused=True, citations={}), 0
    )
    normal = render_answer(_answer(), 0)
    assert 'class="answer refusal"' in refusal and "refusal-label" in refusal
    assert "refusal" not in normal


def test_warning_is_shown_as_a_note():
    html = render_answer(_answer(warning="The LLM at local failed."), 0)
    assert 'class="note warn"' in html and "The LLM at local failed." in html


def test_chat_states():
    preview = {"question": "Q?", "status": "preview", "answer": _answer()}
    streaming = {"question": "Q?", "status": "streaming", "text": "Teil [1"}
    error = {"question": "Q?", "status": "error", "error": "The index is gone."}
    html = render_chat([preview, streaming, error])
    assert "extractive preview" in html
    assert "The model is writing" in html and "▌" in html
    assert 'class="note error"' in html and "The index is gone." in html
    assert 'data-turn="0"' in html
    assert "placeholder" in render_chat([], placeholder="Ask something")


# -- highlighting ----------------------------------------------------------------
def test_highlight_uses_offsets_relative_to_the_passage_start():
    c = _answer()["citations"]["1"]
    lo, hi = highlight_span(c["passage"], c["start"], c["quote_start"], c["quote_end"], c["quote"])
    assert c["passage"][lo:hi] == "Shoigu sprach mit Austin."
    html = render_evidence(c)
    assert "<mark>Shoigu sprach mit Austin.</mark>" in html
    assert "Erster Satz." in html and "Dritter Satz." in html
    assert "Titel" in html and "2022-10" in html and "003_doc" in html


def test_highlight_falls_back_to_the_quote_text_when_offsets_are_off():
    passage = "Eins. Zwei drei. Vier."
    assert highlight_span(passage, 0, 500, 510, "Zwei drei.") == (6, 16)
    assert highlight_span(passage, 0, 500, 510, "Nicht da.") == (-1, -1)
    assert "<mark>" not in highlight(passage, 0, 500, 510, "Nicht da.")


def test_highlight_escapes_inside_and_around_the_mark():
    passage = "<b>vorher</b> <i>Zitat</i> nachher"
    start = 10
    lo = passage.index("<i>")
    html = highlight(passage, start, start + lo, start + lo + len("<i>Zitat</i>"), "<i>Zitat</i>")
    assert "<mark>&lt;i&gt;Zitat&lt;/i&gt;</mark>" in html
    assert "<b>" not in html and "<i>" not in html


def test_highlight_keeps_the_mark_balanced_across_paragraphs():
    passage = "A.\n\nB beginnt. C endet.\n\nD."
    lo, hi = passage.index("B"), passage.index("D") - 2
    html = highlight(passage, 0, lo, hi)
    assert html.count("<mark>") == html.count("</mark>") >= 1


def test_evidence_placeholder():
    assert "Click a citation" in render_evidence(None)


# -- file names -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd"),
        ("..\\..\\windows\\system.ini.md", "system_ini"),
        ("Zebrafestival in Quedlinburg.txt", "Zebrafestival_in_Quedlinburg"),
        ("Überraschung: Größe!.md", "Ueberraschung_Groesse"),
        ("café.pdf", "cafe"),
        ("..", "upload"),
        ("", "upload"),
        ("...txt", "upload"),
        ("-rf --no-preserve-root.txt", "rf_--no-preserve-root"),
        ("a" * 200 + ".txt", "a" * 80),
        ("report.final.v2.txt", "report_final_v2"),
        ("<script>.txt", "script"),
    ],
)
def test_safe_stem(name, expected):
    stem = safe_stem(name)
    assert stem == expected
    assert re.fullmatch(r"[A-Za-z0-9_-]+", stem)
    assert not stem.startswith(("-", "."))


# -- upload checks ------------------------------------------------------------------
ARTICLE = "Zebrafestival in Quedlinburg\n\nDatum: 2024-05-01\n\nIn Quedlinburg fand ein Zebrafestival statt.\n"


def test_valid_text_upload():
    checked = check_upload("Zebra Fest.txt", ARTICLE.encode(), 10_000)
    assert checked.stem == "Zebra_Fest" and checked.suffix == ".txt"
    assert checked.title == "Zebrafestival in Quedlinburg"
    assert check_upload("x.md", ("\ufeff" + ARTICLE).encode(), 10_000).text.startswith("Zebra")


def test_traversal_name_is_reduced_to_a_plain_stem():
    checked = check_upload("../../etc/passwd.txt", ARTICLE.encode(), 10_000)
    assert checked.stem == "passwd"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.txt", b"", "empty"),
        ("a.txt", b"  \n\t \n", "empty"),
        ("a.txt", b"Text\x00\x01\x02 binary", "binary"),
        ("a.txt", "Zebra in Quedlinburg".encode("latin-1") + b"\xe4\xf6\xfc", "UTF-8"),
        ("a.md", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "binary"),
        ("a.txt", b"%PDF-1.7\n...", "PDF"),
        ("a.pdf", ARTICLE.encode(), "not a PDF"),
        ("a.exe", ARTICLE.encode(), "Unsupported"),
        ("a", ARTICLE.encode(), "Unsupported"),
        ("a.txt", ("x" * 2000).encode() + b"\x01\x02\x03\x04\x05" * 10, "control characters"),
    ],
)
def test_rejected_uploads(name, data, message):
    with pytest.raises(UploadError, match=message):
        check_upload(name, data, 10_000)


def test_too_large_upload():
    with pytest.raises(UploadError, match="limit"):
        check_upload("a.txt", ARTICLE.encode() * 100, 1_000)


def test_pdf_upload_is_saved_as_text():
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    import io

    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(UploadError, match="no extractable text"):
        check_upload("blank.pdf", buffer.getvalue(), 100_000)
    with pytest.raises(UploadError, match="cannot be read"):
        check_upload("broken.pdf", b"%PDF-1.7\ngarbage", 100_000)


def test_save_upload_stays_inside_the_uploads_folder(tmp_path):
    settings = Settings(index_dir=tmp_path / "index", seeds_dir=tmp_path / "seeds", llm_backend="none")
    checked = check_upload("../../../evil.txt", ARTICLE.encode(), 10_000)
    path, replaced = library.save_upload(settings, checked)
    assert path == (tmp_path / "uploads" / "evil.txt").resolve()
    assert path.read_text(encoding="utf-8") == ARTICLE and replaced == {}
    assert library.uploaded_file(settings, "evil") == tmp_path / "uploads" / "evil.txt"
    assert library.uploaded_file(settings, "../evil") is None
    assert library.kind_of(settings, "evil") == "upload"
    # A re-upload as .md replaces the .txt, so one document id never has two files.
    md = check_upload("evil.md", ARTICLE.encode(), 10_000)
    path2, replaced2 = library.save_upload(settings, md)
    assert path2.suffix == ".md" and not path.exists() and list(replaced2.values()) == [ARTICLE]


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
    from ui.app import FriendlyError, parse_history

    assert parse_history("") == []
    assert parse_history('[{"role": "user", "content": "Hallo"}]') == [{"role": "user", "content": "Hallo"}]
    for bad in ("{", '{"role": "user"}', '[{"role": "user"}]', "[1, 2]"):
        with pytest.raises(FriendlyError):
            parse_history(bad)


# -- the chat turn, with a scripted LLM over a real Chroma store ------------------------
QUESTION = "Mit welchen Verteidigungsministern sprach Schoigu, Akar und Wallace?"


@pytest.fixture
def services(tmp_settings, seeds_copy):
    from rag.answer import AnswerService
    from rag.ingest import index_paths
    from rag.store import open_store
    from tests.fakes import HashEmbedder, ScriptedLLM
    from ui.app import Services

    embedder = HashEmbedder()
    store = open_store(tmp_settings)
    index_paths([seeds_copy], tmp_settings, store, lambda: embedder)
    llm = ScriptedLLM()
    llm.replies, llm.prompts, llm.fail_with = [], [], None
    settings = tmp_settings.model_copy(update={"min_relevance": 0.05, "llm_backend": "local"})
    return Services(settings, AnswerService(settings, store, embedder, llm))


def _run(services, question, turns=None):
    """Snapshots of all updates of one chat turn (gr.Warning outside a request is a UserWarning)."""
    import copy
    import warnings

    from ui.app import chat_stream

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return [copy.deepcopy(u) for u in chat_stream(services, question, turns or [])]


def _status(update):
    return update[1][-1]["status"]


def test_chat_turn_shows_preview_then_stream_then_checked_answer(services):
    from ui.app import evidence_for

    services.default.llm.replies = ["Schoigu sprach mit Hulusi Akar und Ben Wallace [1]."]
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
    assert "<mark>" in panel and answer["citations"]["1"]["doc_id"] in panel
    assert evidence_for(turns, {"turn": 0, "n": 9}) is None
    assert evidence_for(turns, {"turn": "x"}) is None and evidence_for(turns, None) is None


def test_follow_up_sends_the_history(services):
    llm = services.default.llm
    llm.replies = ["Schoigu sprach mit Hulusi Akar und Ben Wallace [1]."]
    turns = _run(services, QUESTION)[-1][1]
    llm.replies = ["Mit welchen Ministern sprach Schoigu außer Akar?", "Mit Ben Wallace [1]."]
    updates = _run(services, "Und mit wem noch?", turns)
    assert QUESTION in llm.prompts[-2]  # the condensing prompt saw the earlier turn
    final = updates[-1][1]
    assert len(final) == 2 and final[-1]["status"] == "final"
    assert final[-1]["answer"]["condensed_question"] == "Mit welchen Ministern sprach Schoigu außer Akar?"


def test_refusal_is_rendered_as_a_refusal(services):
    services.default.llm.replies = ["Die Artikel enthalten dazu keine Informationen."]
    html, turns, _ = _run(services, QUESTION)[-1]
    assert turns[-1]["answer"]["refused"] is True
    assert 'class="answer refusal"' in html


def test_llm_down_gives_the_extractive_answer_with_a_warning(services):
    services.default.llm.fail_with = "connection refused"
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
    from rag.store import StoreError

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
    import ui.app
    from ui.app import FriendlyError

    built = []
    monkeypatch.setattr(ui.app, "get_service", lambda s: built.append(s) or services.default)
    assert services.get(None, None, None, None) is services.default
    assert services.get("local", "", 4, "auto") is services.default
    services.get("none", "", 7, "en")
    assert built[-1].llm_backend == "none" and built[-1].top_k == 7 and built[-1].answer_language == "en"
    with pytest.raises(FriendlyError):
        services.get("gpt-9")
    with pytest.raises(FriendlyError):
        services.get(None, None, 99)
