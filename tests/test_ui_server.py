"""The chat server for real: `rag chat` in a subprocess on 127.0.0.1, driven with gradio_client.

One server per test session (tests/servers.py), on a temporary index built from the seeds at start-up.
It runs with RAG_LLM_BACKEND=none for speed; one test asks the real local LLM.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

ZEBRA = """Zebrafestival in Quedlinburg
Datum: 2024-05-04

Quedlinburg im Harz hat am Samstag sein erstes Zebrafestival gefeiert. Die Organisatorin Hannelore Streifenberg
zählte nach eigenen Angaben 4200 Besucherinnen und Besucher auf dem Marktplatz.

Höhepunkt war ein Umzug mit 37 gestreiften Papierzebras, die Schulklassen aus der Region gebaut hatten.
"""


@pytest.fixture(scope="session")
def client(ui_server):
    from gradio_client import Client

    return Client(ui_server.url, verbose=False)


def _upload(client, path: Path) -> str:
    from gradio_client import handle_file

    status, _table, _choices, _preview = client.predict(handle_file(str(path)), api_name="/upload")
    return status


def _doc_ids(client) -> set[str]:
    return {d["doc_id"] for d in client.predict(api_name="/documents")}


# -- asking -----------------------------------------------------------------------------
def test_documents_lists_the_seeds_indexed_at_start_up(client):
    docs = client.predict(api_name="/documents")
    assert len(docs) == 5
    assert {d["kind"] for d in docs} == {"seed"}
    assert all(d["title"] and d["chunks"] > 0 for d in docs)
    assert "003_862f45dcae2f1a19" in {d["doc_id"] for d in docs}


def test_ask_answers_with_citations(client):
    result = client.predict("Mit welchen Verteidigungsministern telefonierte Schoigu?", "[]", api_name="/ask")
    json.dumps(result)  # JSON-serialisable
    assert not result["refused"] and result["mode"] == "extractive" and result["warning"] is None
    assert result["citations"], result
    for citation in result["citations"]:
        assert {"n", "doc_id", "title", "date", "quote"} <= set(citation)
        assert f"[{citation['n']}]" in result["answer"]
        assert citation["quote"] in result["answer"]
    assert "003_862f45dcae2f1a19" in {c["doc_id"] for c in result["citations"]}
    assert set(result["timings"]) >= {"retrieval_ms", "total_ms"}


def test_follow_up_uses_the_history(client):
    history = [
        {"role": "user", "content": "Was werfen die USA Nordkorea vor?"},
        {"role": "assistant", "content": "Nordkorea soll heimlich Artilleriemunition an Russland geliefert haben."},
    ]
    alone = client.predict("Wer hat das gesagt?", "[]", api_name="/ask")
    follow_up = client.predict("Wer hat das gesagt?", json.dumps(history), api_name="/ask")
    assert alone["condensed_question"] is None
    assert "Nordkorea" in follow_up["condensed_question"]
    assert "004_8d9d5a7c66cc8664" in {c["doc_id"] for c in follow_up["citations"]}


def test_bad_requests_get_clear_messages_and_the_server_stays_up(client):
    from gradio_client.exceptions import AppError

    for question, history, message in [
        ("   ", "[]", "empty"),
        ("x" * 5000, "[]", "limit is"),
        ("Was werfen die USA Nordkorea vor?", "{not json", "not valid JSON"),
        ("Was werfen die USA Nordkorea vor?", "[1]", "JSON list"),
    ]:
        with pytest.raises(AppError, match=message) as info:
            client.predict(question, history, api_name="/ask")
        assert "Traceback" not in str(info.value)
    with pytest.raises(AppError, match="Unknown backend"):
        client.predict("Was werfen die USA Nordkorea vor?", "[]", "gpt-9", api_name="/ask")
    assert len(_doc_ids(client)) >= 5


def test_real_local_llm_answers_with_a_citation(client):
    result = client.predict("Who is the Secretary General of NATO?", "[]", "local", api_name="/ask")
    assert result["mode"] == "llm", result
    assert not result["refused"] and result["warning"] is None, result
    assert "stoltenberg" in result["answer"].lower()
    assert "001_0bda7b3f5836d6c8" in {c["doc_id"] for c in result["citations"]}
    assert result["timings"]["ttft_ms"] is not None


# -- the library --------------------------------------------------------------------------
def test_upload_ask_and_delete(client, ui_server, tmp_path):
    path = tmp_path / "Zebrafestival Quedlinburg.txt"
    path.write_text(ZEBRA, encoding="utf-8")
    status = _upload(client, path)
    assert "Added Zebrafestival_Quedlinburg" in status, status
    assert (ui_server.uploads / "Zebrafestival_Quedlinburg.txt").read_text(encoding="utf-8") == ZEBRA
    docs = {d["doc_id"]: d for d in client.predict(api_name="/documents")}
    assert docs["Zebrafestival_Quedlinburg"]["kind"] == "upload"
    assert docs["Zebrafestival_Quedlinburg"]["date"] == "2024-05-04"

    result = client.predict("Wie viele Besucher zählte das Zebrafestival in Quedlinburg?", "[]", api_name="/ask")
    assert "Zebrafestival_Quedlinburg" in {c["doc_id"] for c in result["citations"]}, result
    assert "4200" in result["answer"]

    again = _upload(client, path)
    assert "Unchanged" in again, again

    deleted = client.predict("Zebrafestival_Quedlinburg", api_name="/delete")
    assert deleted["ok"], deleted
    assert "Zebrafestival_Quedlinburg" not in _doc_ids(client)
    assert not (ui_server.uploads / "Zebrafestival_Quedlinburg.txt").exists()
    assert len(_doc_ids(client)) == 5


def test_hostile_upload_is_stored_as_text_and_rendered_escaped(client, ui_server, tmp_path):
    hostile = (
        "Giraffen <script>window.__xss=1</script> Bericht\n\n"
        'Beim Giraffenlauf in Wernigerode <img src=x onerror="window.__xss=1"> liefen 312 Giraffenfans mit. '
        "${window.__xss=1} {{constructor}}\n"
    )
    path = tmp_path / "giraffen.md"
    path.write_text(hostile, encoding="utf-8")
    status = _upload(client, path)
    assert "Added giraffen" in status, status
    assert "<script" not in status and "&lt;script&gt;" in status  # the title is escaped in the message
    assert (ui_server.uploads / "giraffen.md").read_text(encoding="utf-8") == hostile

    html = client.predict("giraffen", api_name="/preview")
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in html
    assert "<script" not in html and "<img" not in html and "${" not in html and "{{" not in html

    assert client.predict("giraffen", api_name="/delete")["ok"]
    assert "giraffen" not in _doc_ids(client)


def test_uploads_are_checked_by_content_and_seeds_cannot_be_deleted(client, ui_server, tmp_path):
    cases = {
        "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        "latin1.txt": ("Zebras in Größe und Farbe".encode("latin-1"), "UTF-8"),
        "empty.md": (b"   \n", "empty"),
        "fake.pdf": (b"not a pdf at all", "not a PDF"),
    }
    for name, (data, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        status = _upload(client, path)
        assert "Rejected" in status and reason in status, status
    seed = tmp_path / "003_862f45dcae2f1a19.txt"
    seed.write_text(ZEBRA, encoding="utf-8")
    assert "already exists" in _upload(client, seed)

    for doc_id, reason in [
        ("003_862f45dcae2f1a19", "seed article"),
        ("../seeds/003_862f45dcae2f1a19", "not an uploaded document"),
        ("", "Select a document"),
    ]:
        result = client.predict(doc_id, api_name="/delete")
        assert not result["ok"] and reason in result["message"], result
    assert len(_doc_ids(client)) == 5
    assert not ui_server.uploads.exists() or not any(ui_server.uploads.iterdir())
