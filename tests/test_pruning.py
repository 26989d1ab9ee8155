"""rag.ingest.pruning: a pruning run removes only what it checked and found gone."""

from __future__ import annotations

from rag.ingest.pruning import prunable
from rag.ingest.web.sources import SourceReading
from rag.store.records import DocumentInfo
from rag.types import WebOrigin

FEED = "https://news.example/feed.xml"


def file_doc(doc_id, source):
    return DocumentInfo(doc_id, doc_id, None, str(source), 1, "sha")


def web_doc(doc_id, fetched_from, listed_by=FEED):
    return DocumentInfo(
        doc_id, doc_id, None, fetched_from, 1, "sha", url=fetched_from, origin=WebOrigin(fetched_from, listed_by)
    )


def test_a_missing_file_goes_only_when_its_folder_was_named(tmp_path):
    named, other = tmp_path / "named", tmp_path / "other"
    named.mkdir()
    other.mkdir()
    (named / "here.txt").write_text("x")
    stored = [
        file_doc("here", named / "here.txt"),
        file_doc("gone", named / "sub" / "gone.txt"),
        file_doc("elsewhere", other / "gone.txt"),
    ]
    assert prunable(stored, [named], []) == ["gone"]
    assert prunable(stored, [other], []) == ["elsewhere"]
    assert prunable(stored, [tmp_path / "deleted-folder"], []) == []  # a named path that is gone checks nothing


def test_a_web_article_goes_only_when_its_feed_was_read_and_no_longer_lists_it():
    stored = [
        web_doc("listed", "https://news.example/a"),
        web_doc("dropped", "https://news.example/b"),
        web_doc("other-feed", "https://news.example/c", "https://news.example/other.xml"),
        web_doc("named-page", "https://news.example/d", None),
        DocumentInfo("before-origins", "t", None, "https://news.example/e", 1, "sha", url="https://news.example/e"),
    ]
    read = SourceReading(FEED, "feed", listed=["https://news.example/a"])
    assert prunable(stored, [], [read]) == ["dropped"]
    unreadable = SourceReading(FEED, None, reason="HTTP 503")
    assert prunable(stored, [], [unreadable]) == []
    page = SourceReading("https://news.example/d", "page", listed=["https://news.example/d"])
    assert prunable(stored, [], [page]) == []
