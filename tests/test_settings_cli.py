"""Settings sources and the CLI's behaviour on bad input (no models needed)."""

from __future__ import annotations

import subprocess
import sys
from typing import cast

from typer.testing import CliRunner

from rag.cli.main import app
from rag.settings import Settings
from tests.fakes import HashEmbedder
from tests.newsserver import web_env

runner = CliRunner()


def test_environment_overrides_config_file_which_overrides_defaults(tmp_path, monkeypatch):
    config = tmp_path / "rag.toml"
    config.write_text('top_k = 7\nllm_backend = "none"\nport = 9000\n')
    monkeypatch.setenv("RAG_CONFIG", str(config))
    monkeypatch.setenv("RAG_PORT", "9100")
    settings = Settings()
    assert (settings.top_k, settings.llm_backend, settings.port) == (7, "none", 9100)
    assert settings.host == "127.0.0.1"


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("index", "search", "ask", "chat", "models", "docs"):
        assert command in result.output


def test_invalid_setting_is_a_clear_error_not_a_traceback(monkeypatch):
    monkeypatch.setenv("RAG_LLM_BACKEND", "gpt-17")
    result = runner.invoke(app, ["ask", "Wer ist Schoigu?"])
    assert result.exit_code == 2
    assert "invalid setting: llm_backend" in result.output
    assert "Traceback" not in result.output


def test_missing_config_file_is_reported(tmp_path):
    result = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "docs"])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_empty_question_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli.main", "search", "   "], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    assert "question is empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_docs_removed_shows_the_dropped_lines_and_names_a_missing_document(tmp_settings, seeds_copy, monkeypatch):
    from rag.ingest.pipeline import index_paths
    from rag.store.chroma import open_store
    from tests.fakes import HashEmbedder

    index_paths([seeds_copy], tmp_settings, open_store(tmp_settings), HashEmbedder)
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_settings.index_dir))
    shown = runner.invoke(app, ["docs", "--removed", "001_0bda7b3f5836d6c8"])
    assert shown.exit_code == 0 and "Guardar" in shown.output.splitlines()
    missing = runner.invoke(app, ["docs", "--removed", "nope"])
    assert missing.exit_code == 1 and "no document 'nope'" in missing.output


def test_dry_run_lists_each_source_and_article_and_changes_nothing(news_site, monkeypatch, tmp_path):
    web_env(monkeypatch, tmp_path)
    result = runner.invoke(app, ["index", "--dry-run", news_site.at("/sitemap.xml"), news_site.at("/gone.html")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"{news_site.at('/sitemap.xml')}: read as a sitemap, 3 article(s) listed" in lines
    assert f"  new        {news_site.at('/de/wahl.html')}" in lines
    assert f"  skipped    {news_site.at('/private/secret.html')}: forbidden by the site's robots.txt" in lines
    assert f"{news_site.at('/gone.html')}: cannot be read: HTTP 404" in lines
    assert lines[-1] == "Dry run: 2 new, 1 skipped; nothing was fetched beyond the sources, nothing was indexed."
    assert news_site.requested() == ["/robots.txt", "/sitemap.xml", "/gone.html"]  # no article was fetched
    assert not (tmp_path / "index").exists()


def test_index_prints_each_failed_url_with_its_reason_and_docs_shows_the_source(news_site, monkeypatch, tmp_path):
    from rag.models.embedding import Embedder

    web_env(monkeypatch, tmp_path)
    monkeypatch.setattr("rag.models.embedding.get_embedder", lambda settings: cast(Embedder, HashEmbedder()))
    result = runner.invoke(app, ["index", news_site.at("/de/nato-gipfel.html"), news_site.at("/private/secret.html")])
    assert result.exit_code == 0, result.output
    assert f"skipped {news_site.at('/private/secret.html')}: forbidden by the site's robots.txt" in result.output
    assert "1 added, 0 updated" in result.output and "Traceback" not in result.output
    docs = runner.invoke(app, ["docs"])
    assert f"Tagesblatt Beispielstadt · {news_site.at('/de/nato-gipfel.html')}" in docs.output


def test_a_citation_of_a_web_article_shows_site_and_url():
    from rag.cli.answer_printing import citation_text
    from rag.types import Citation

    base = {"n": 1, "chunk_id": "c", "doc_id": "news.example_wahl_1a2b", "title": "Stichwahl", "date": "2024-06-10"}
    offsets = {"passage": "P.", "quote": "Q.", "start": 0, "end": 2, "quote_start": 0, "quote_end": 2}
    web = Citation(**base, **offsets, url="https://news.example/wahl.html", site="Tagesblatt")
    assert citation_text(1, web) == (
        "[1] Stichwahl (Tagesblatt, 2024-06-10, news.example_wahl_1a2b)\n    https://news.example/wahl.html\n    „Q.“"
    )
    file = Citation(**base, **offsets, author="Anna")
    assert citation_text(2, file) == "[2] Stichwahl (Anna, 2024-06-10, news.example_wahl_1a2b)\n    „Q.“"


def test_rag_ask_shows_the_verdict_of_a_yes_no_answer_and_the_items_of_a_list():
    from dataclasses import replace

    from rag.cli.answer_printing import shape_lines
    from rag.types import Answer, QuestionKind, Timings

    plain = Answer(
        question="Q?",
        claim="Nein. Die Bahn lehnte ab [1].",
        citations={},
        refused=False,
        question_lang="de",
        answer_lang="de",
        retrieved=(),
        timings=Timings(retrieval_ms=1.0, ttft_ms=2.0, total_ms=3.0),
        mode="llm",
    )
    assert shape_lines(plain) == []
    assert shape_lines(replace(plain, kind=QuestionKind.YESNO, verdict="no")) == ["Verdict: NO"]
    listed = replace(plain, kind=QuestionKind.LIST, items=("Lecornu", "Akar [1]"))
    assert shape_lines(listed) == ["  • Lecornu", "  • Akar [1]"]
    parted = replace(listed, parts=("Wen rief er an?", "Wer noch?"))
    assert shape_lines(parted) == ["  • Wen rief er an? Lecornu", "  • Wer noch? Akar [1]"]


def test_eval_help_names_every_configuration_key():
    from rag.evaluation.runner import SPEC_KEYS

    result = runner.invoke(app, ["eval", "--help"], terminal_width=400)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for key in SPEC_KEYS:
        assert key in text, key


def test_index_exits_3_when_every_named_source_failed_and_0_when_some_worked(news_site, monkeypatch, tmp_path):
    from rag.models.embedding import Embedder

    web_env(monkeypatch, tmp_path)
    monkeypatch.setattr("rag.models.embedding.get_embedder", lambda settings: cast(Embedder, HashEmbedder()))
    dead = runner.invoke(app, ["index", "http://127.0.0.1:1/feed.xml", news_site.at("/gone.html"), "no/such/folder"])
    assert dead.exit_code == 3, dead.output
    assert "nothing could be indexed: every named source failed" in dead.output
    some = runner.invoke(app, ["index", "http://127.0.0.1:1/feed.xml", news_site.at("/atom.xml")])
    assert some.exit_code == 0, some.output
    assert "2 added" in some.output
    unchanged = runner.invoke(app, ["index", news_site.at("/atom.xml")])  # nothing new is no failure
    assert unchanged.exit_code == 0 and "2 web article(s) unchanged by the site's word (HTTP 304)" in unchanged.output
    assert "3 when every named source failed" in runner.invoke(app, ["index", "--help"]).output


def test_dry_run_with_prune_lists_what_would_be_removed(news_site, monkeypatch, tmp_path):
    from rag.models.embedding import Embedder

    web_env(monkeypatch, tmp_path)
    monkeypatch.setattr("rag.models.embedding.get_embedder", lambda settings: cast(Embedder, HashEmbedder()))
    assert runner.invoke(app, ["index", news_site.at("/atom.xml")]).exit_code == 0
    atom = news_site.root / "atom.xml"
    atom.write_text(atom.read_text().split("<entry><title>Nato")[0] + "</feed>", encoding="utf-8")
    preview = runner.invoke(app, ["index", "--dry-run", "--prune", news_site.at("/atom.xml")])
    assert preview.exit_code == 0, preview.output
    assert f"  known      {news_site.at('/en/bridge-reopens.html')}" in preview.output.splitlines()
    assert "--prune would remove: 127.0.0.1_nato-gipfel_" in preview.output
    dead = runner.invoke(app, ["index", "--dry-run", "--prune", "http://127.0.0.1:1/atom.xml"])
    assert "--prune would remove: nothing" in dead.output


def test_remove_takes_documents_out_of_the_index_and_names_an_unknown_id(tmp_settings, seeds_copy, monkeypatch):
    from rag.ingest.pipeline import index_paths
    from rag.store import open_store

    index_paths([seeds_copy], tmp_settings, open_store(tmp_settings), HashEmbedder)
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_settings.index_dir))
    removed = runner.invoke(app, ["remove", "001_0bda7b3f5836d6c8"])
    assert removed.exit_code == 0 and "1 removed: 001_0bda7b3f5836d6c8" in removed.output
    assert "001_0bda7b3f5836d6c8" not in {d.doc_id for d in open_store(tmp_settings).documents()}
    unknown = runner.invoke(app, ["remove", "nope"])
    assert unknown.exit_code == 1 and "no document 'nope' in the index" in unknown.output
    assert len(open_store(tmp_settings).documents()) == 4
