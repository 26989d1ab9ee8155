"""rag.ingest.reading: the documents of a run one at a time, files first, then the web articles as they come."""

from __future__ import annotations

import time
from pathlib import Path

from rag.ingest.pipeline import collect_files
from rag.ingest.reading import DocumentReader, read_files
from rag.ingest.web.articles import WebArticles, fetch_articles, iter_articles
from rag.ingest.web.fetcher import Fetcher


def test_files_are_read_in_order_and_the_unreadable_and_repeated_ones_skipped_with_a_reason(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha\n\nErster Artikel.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"\x00\x01binary")
    (tmp_path / "c.txt").write_text("Gamma\n\nDritter Artikel.\n", encoding="utf-8")
    (tmp_path / "c.md").write_text("Gamma\n\nDritter Artikel.\n", encoding="utf-8")
    files, skipped = collect_files([tmp_path])
    docs = list(read_files(files, skipped))
    assert [Path(d.source).name for d in docs] == ["a.txt", "c.md"]
    assert [Path(name).name for name, _reason in skipped] == ["b.txt", "c.txt"]
    assert "duplicate document id 'c'" in skipped[1][1]


def test_the_reader_gives_files_then_articles_and_keeps_only_sources_and_skips(tmp_path, web_settings, news_site):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha\n\nErster Artikel.\n", encoding="utf-8")
    (folder / "x.bin").write_bytes(b"\x00")
    files, skipped = collect_files([folder, folder / "x.bin"])
    reader = DocumentReader(files, skipped, [news_site.at("/feed.xml")], web_settings)
    docs = list(reader.documents())
    assert Path(docs[0].source).name == "a.txt" and all(d.url for d in docs[1:])
    assert reader.file_sources == [docs[0].source] and reader.file_skips == 1
    assert reader.web.documents == [] and reader.web.skipped and reader.web.plan.sources
    assert [d.doc_id for d in docs[1:]] == [
        d.doc_id for d in fetch_articles([news_site.at("/feed.xml")], Fetcher(web_settings)).documents
    ]


def test_an_article_is_given_as_soon_as_it_is_fetched(web_settings, news_site):
    news_site.delay_s = 0.1
    result = WebArticles()
    articles = iter_articles(result, [news_site.at("/feed.xml")], Fetcher(web_settings))
    next(articles)
    given = time.monotonic()
    rest = list(articles)
    assert rest and given < max(t for t, _path, _agent in news_site.log)
    assert result.documents == [] and result.outcome


def test_without_urls_nothing_is_fetched(tmp_path, tmp_settings, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("no URL was named")

    monkeypatch.setattr("rag.ingest.reading.Fetcher", no_network)
    (tmp_path / "a.txt").write_text("Alpha\n\nErster Artikel.\n", encoding="utf-8")
    files, skipped = collect_files([tmp_path])
    reader = DocumentReader(files, skipped, [], tmp_settings)
    assert len(list(reader.documents())) == 1 and not reader.reads_web
