"""Incremental indexing against a real Chroma store, with a deterministic fake embedder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.ingest.pipeline import index_paths, lock_path
from rag.settings import Settings
from rag.store.chroma import StoreError, StoreMismatchError, open_store
from rag.store.locking import IndexLockedError
from tests.fakes import HashEmbedder
from tests.newsserver import UNINDEXABLE_PATHS, web_env


def run(settings, paths, embedder=None, **kwargs):
    embedder = embedder or HashEmbedder()
    return index_paths([Path(p) for p in paths], settings, open_store(settings), lambda: embedder, **kwargs)


def test_first_index_adds_every_seed(tmp_settings, seeds_copy):
    report = run(tmp_settings, [seeds_copy])
    assert len(report.added) == 5
    assert report.chunks_total == report.chunks_embedded > 20
    docs = open_store(tmp_settings).documents()
    assert [d.doc_id for d in docs] == sorted(p.stem for p in seeds_copy.glob("*.txt"))
    assert all(d.chunks > 0 and d.title for d in docs)


def test_second_run_skips_unchanged_documents_without_loading_the_model(tmp_settings, seeds_copy):
    run(tmp_settings, [seeds_copy])
    ids_before = open_store(tmp_settings).chunk_ids()

    def no_model():
        raise AssertionError("the embedder must not be loaded when nothing changed")

    report = index_paths([seeds_copy], tmp_settings, open_store(tmp_settings), no_model)
    assert len(report.unchanged) == 5 and not report.changed
    ids_after = open_store(tmp_settings).chunk_ids()
    assert ids_after == ids_before
    assert len(ids_after) == len(set(ids_after))


def test_edited_document_replaces_its_old_chunks(tmp_settings, seeds_copy):
    run(tmp_settings, [seeds_copy])
    store = open_store(tmp_settings)
    target = seeds_copy / "004_8d9d5a7c66cc8664.txt"
    old_ids = {c.chunk_id for c in store.chunks_of(target.stem)}
    target.write_text(target.read_text() + "\n\nEin neuer Absatz über das Zebrafestival in Quedlinburg.\n")
    embedder = HashEmbedder()
    report = run(tmp_settings, [seeds_copy], embedder)
    assert report.updated == [target.stem] and len(report.unchanged) == 4
    new_chunks = store.chunks_of(target.stem)
    assert any("Zebrafestival" in c.text for c in new_chunks)
    all_ids = store.chunk_ids()
    assert len(all_ids) == len(set(all_ids))
    # Only the edited document was embedded again; the others were carried over.
    assert report.chunks_embedded == len(new_chunks)
    assert old_ids - {c.chunk_id for c in new_chunks}, "the last chunk changed, so some old ids must be gone"
    assert not (old_ids - {c.chunk_id for c in new_chunks}) & set(all_ids)


def test_prune_removes_documents_that_are_gone(tmp_settings, seeds_copy):
    run(tmp_settings, [seeds_copy])
    (seeds_copy / "002_eb5c34b194544d8a.txt").unlink()
    kept = run(tmp_settings, [seeds_copy])
    assert kept.removed == [] and len(open_store(tmp_settings).documents()) == 5
    pruned = run(tmp_settings, [seeds_copy], prune=True)
    assert pruned.removed == ["002_eb5c34b194544d8a"]
    assert "002_eb5c34b194544d8a" not in {d.doc_id for d in open_store(tmp_settings).documents()}


def test_bad_files_are_skipped_with_a_reason(tmp_settings, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text("Titel\n\nEin Satz über Berlin. Noch ein Satz.\n")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (folder / "latin1.txt").write_bytes("Überschrift\n\nÄrger".encode("latin-1"))
    (folder / "empty.md").write_text("   \n")
    report = run(tmp_settings, [folder, tmp_path / "missing.txt", tmp_path / "x.docx"])
    assert report.added == ["good"]
    reasons = dict(report.skipped)
    assert set(reasons) == {str(folder / n) for n in ("binary.txt", "latin1.txt", "empty.md")} | {
        str(tmp_path / "missing.txt"),
        str(tmp_path / "x.docx"),
    }


def test_other_embedding_model_gives_a_clear_error(tmp_settings, seeds_copy):
    run(tmp_settings, [seeds_copy])
    (seeds_copy / "004_8d9d5a7c66cc8664.txt").write_text("Neu\n\nGeänderter Text.\n")
    with pytest.raises(StoreMismatchError, match="rag index --rebuild"):
        run(tmp_settings, [seeds_copy], HashEmbedder(dimension=32, model_id="other-model"))
    report = run(tmp_settings, [seeds_copy], HashEmbedder(dimension=32, model_id="other-model"), rebuild=True)
    assert len(report.added) == 5
    assert open_store(tmp_settings).signature().embedding_model == "other-model"


class ExplodingEmbedder(HashEmbedder):
    def embed_documents(self, texts, progress=False):
        raise OSError(28, "No space left on device")


def test_failed_run_leaves_the_previous_index_intact(tmp_settings, seeds_copy):
    run(tmp_settings, [seeds_copy])
    before = open_store(tmp_settings).chunk_ids()
    (seeds_copy / "000_343a3810acd3a032.txt").write_text("Anders\n\nGanz anderer Inhalt.\n")
    with pytest.raises(StoreError, match="previous index is intact"):
        run(tmp_settings, [seeds_copy], ExplodingEmbedder())
    assert open_store(tmp_settings).chunk_ids() == before
    assert open_store(tmp_settings).query(HashEmbedder().embed_query("Atomwaffen"), 3)


HOLDER = (
    "import sys, time; from pathlib import Path; from rag.store.locking import write_lock\n"
    "with write_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)\n"
)


def test_a_second_writer_is_told_to_wait(tmp_settings, seeds_copy):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_path(tmp_settings))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexLockedError, match=f"pid {holder.pid}.*--wait"):
            run(tmp_settings, [seeds_copy])
    finally:
        holder.kill()
        holder.wait(10)
    assert len(run(tmp_settings, [seeds_copy]).added) == 5


EXTERNAL = Path(__file__).resolve().parent.parent.parent / "shared" / "external-dev"
FORMATS = Path(__file__).resolve().parent / "data" / "formats"


@pytest.mark.skipif(not EXTERNAL.is_dir(), reason="../shared/external-dev is not next to the repository")
def test_every_sentence_of_one_line_paragraph_files_is_stored(tmp_settings):
    """XQuAD-de paragraphs (Wikipedia, CC BY-SA 4.0): one line per file, no title line."""
    corpus = EXTERNAL / "xquad-de" / "corpus"
    store = open_store(tmp_settings)
    report = index_paths([corpus], tmp_settings, store, HashEmbedder)
    files = sorted(corpus.glob("*.txt"))
    assert len(report.added) == len(files) and not report.skipped
    for file in files:
        stored = " ".join(" ".join(c.text.split()) for c in store.chunks_of(file.stem))
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(file.read_text(encoding="utf-8").split())):
            assert sentence in stored, (file.name, sentence)


def test_saved_news_pages_are_indexed_with_their_title_date_and_author(tmp_settings):
    """A page with no article text is skipped with its reason; every other file is still indexed."""
    store = open_store(tmp_settings)
    report = index_paths([FORMATS], tmp_settings, store, HashEmbedder)
    assert [Path(file).name for file, _ in report.skipped] == ["script_only_page.html"]
    assert "no article text" in report.skipped[0][1]
    assert len(report.added) == len(list(FORMATS.glob("*.htm*"))) - 1
    for doc in store.documents():
        chunks = store.chunks_of(doc.doc_id)
        text = " ".join(c.text for c in chunks)
        assert doc.title and doc.date, doc
        assert "cookie" not in text.lower() and "newsletter" not in text.lower(), doc.doc_id
        assert chunks[0].author, doc.doc_id


def test_changed_parser_version_rebuilds_and_says_why(tmp_settings, seeds_copy, monkeypatch):
    store = open_store(tmp_settings)
    index_paths([seeds_copy], tmp_settings, store, HashEmbedder)
    monkeypatch.setattr("rag.ingest.pipeline.CHUNKER_VERSION", "999")
    report = index_paths([seeds_copy], tmp_settings, store, HashEmbedder)
    assert len(report.updated) == 5
    assert report.rechunk_reason and "v999" in report.rechunk_reason


def test_removed_lines_are_counted_and_kept_in_the_index(tmp_settings, seeds_copy):
    store = open_store(tmp_settings)
    report = index_paths([seeds_copy], tmp_settings, store, HashEmbedder)
    assert report.removed_lines["001_0bda7b3f5836d6c8"] >= 3
    assert "Guardar" in store.removed_lines("001_0bda7b3f5836d6c8")
    with pytest.raises(StoreError, match="no document"):
        store.removed_lines("nope")


# -- web articles (the local news site of tests/newsserver.py) ------------------------------------------------


def test_a_feed_is_indexed_with_url_site_and_date_and_failures_are_reported(web_settings, news_site):
    store = open_store(web_settings)
    report = index_paths([], web_settings, store, HashEmbedder, urls=[news_site.at("/feed.xml")])
    assert len(report.added) == 3 and len(report.duplicates) == 3
    assert report.web_sources == [(news_site.at("/feed.xml"), "feed", 13)]
    assert {url.removeprefix(news_site.url) for url, _ in report.skipped} == UNINDEXABLE_PATHS
    docs = {d.url: d for d in store.documents()}
    german = docs[news_site.at("/de/nato-gipfel.html")]
    assert (german.site, german.date, german.title) == (
        "Tagesblatt Beispielstadt",
        "2024-07-11",
        "Nato-Gipfel in Vilnius: Mehr Munition für die Ukraine",
    )
    assert docs[news_site.at("/en/bridge-reopens.html")].site == "The Example Herald"
    chunk = store.chunks_of(german.doc_id)[0]
    assert (chunk.url, chunk.site, chunk.date) == (german.url, "Tagesblatt Beispielstadt", "2024-07-11")
    hit = store.query(HashEmbedder().embed_query("Granaten Unterlüß Munition"), 1)[0]
    assert (hit.doc_id, hit.url) == (german.doc_id, german.url)


def test_indexing_a_feed_again_adds_only_new_articles_and_updates_changed_ones(web_settings, news_site):
    store = open_store(web_settings)
    first = index_paths([], web_settings, store, HashEmbedder, urls=[news_site.at("/atom.xml")])
    assert len(first.added) == 2

    def no_model():
        raise AssertionError("nothing changed, so the embedder must not be loaded")

    again = index_paths([], web_settings, store, no_model, urls=[news_site.at("/atom.xml")])
    assert (again.added, again.updated, len(again.unchanged)) == ([], [], 2)
    page = news_site.root / "en" / "bridge-reopens.html"
    page.write_text(page.read_text().replace("in November", "in December"), encoding="utf-8")
    feed = news_site.root / "atom.xml"
    feed.write_text(
        feed.read_text().replace("</feed>", '<entry><link href="http://BASE/de/wahl.html"/></entry></feed>'),
        encoding="utf-8",
    )
    changed = index_paths([], web_settings, store, HashEmbedder, urls=[news_site.at("/atom.xml")])
    bridge = next(d for d in store.documents() if d.url == news_site.at("/en/bridge-reopens.html"))
    assert changed.updated == [bridge.doc_id] and len(changed.added) == 1 and len(changed.unchanged) == 1
    assert any("in December" in c.text for c in store.chunks_of(bridge.doc_id))
    assert not any("in November" in c.text for c in store.chunks_of(bridge.doc_id))
    assert len(store.documents()) == 3


def test_the_same_article_under_another_url_is_not_stored_twice_across_runs(web_settings, news_site):
    store = open_store(web_settings)
    index_paths([], web_settings, store, HashEmbedder, urls=[news_site.at("/de/wahl.html")])
    [stored] = store.documents()
    report = index_paths([], web_settings, store, HashEmbedder, urls=[news_site.at("/print/de/wahl.html")])
    assert report.added == [] and report.duplicates == [(news_site.at("/print/de/wahl.html"), stored.doc_id)]
    assert [d.doc_id for d in store.documents()] == [stored.doc_id]
    pruned = index_paths([], web_settings, store, HashEmbedder, urls=[news_site.at("/print/de/wahl.html")], prune=True)
    assert pruned.removed == [] and len(store.documents()) == 1  # the copy keeps the stored article


def test_files_and_urls_in_one_run_and_a_pruning_file_run_keeps_web_articles(web_settings, news_site, seeds_copy):
    store = open_store(web_settings)
    report = index_paths([seeds_copy], web_settings, store, HashEmbedder, urls=[news_site.at("/de/wahl.html")])
    assert len(report.added) == 6
    (seeds_copy / "002_eb5c34b194544d8a.txt").unlink()
    pruned = index_paths([seeds_copy], web_settings, store, HashEmbedder, prune=True)
    assert pruned.removed == ["002_eb5c34b194544d8a"]
    assert any(d.url == news_site.at("/de/wahl.html") for d in store.documents())


def test_prune_with_an_unreachable_feed_removes_nothing(web_settings, news_site, seeds_copy):
    store = open_store(web_settings)
    index_paths([seeds_copy], web_settings, store, HashEmbedder, urls=[news_site.at("/atom.xml")])
    before = [d.doc_id for d in store.documents()]
    assert len(before) == 7

    def no_model():
        raise AssertionError("nothing to embed")

    dead = index_paths([], web_settings, store, no_model, urls=["http://127.0.0.1:1/feed.xml"], prune=True)
    assert dead.removed == [] and [d.doc_id for d in store.documents()] == before
    assert dead.every_source_failed and dead.sources[0].reason.startswith("the site was not contacted")


def test_prune_keeps_an_article_whose_fetch_failed_and_removes_one_the_feed_dropped(web_settings, news_site):
    store = open_store(web_settings)
    feed = news_site.at("/atom.xml")
    index_paths([], web_settings, store, HashEmbedder, urls=[feed])
    ids = {d.url.removeprefix(news_site.url): d.doc_id for d in store.documents()}
    assert ids.keys() == {"/en/bridge-reopens.html", "/de/nato-gipfel.html"}
    (news_site.root / "en" / "bridge-reopens.html").unlink()  # the article fails (404), the feed still lists it
    failed = index_paths([], web_settings, store, HashEmbedder, urls=[feed], prune=True)
    assert failed.removed == [] and len(store.documents()) == 2
    assert not failed.every_source_failed and [(s.used, s.failed) for s in failed.sources] == [(1, 1)]
    atom = news_site.root / "atom.xml"
    atom.write_text(re.sub(r"<entry><title>Harbour.*?</entry>", "", atom.read_text()), encoding="utf-8")
    dropped = index_paths([], web_settings, store, HashEmbedder, urls=[feed], prune=True)
    assert dropped.removed == [ids["/en/bridge-reopens.html"]]
    assert [d.doc_id for d in store.documents()] == [ids["/de/nato-gipfel.html"]]


def test_prune_checks_files_only_against_the_folders_named(web_settings, news_site, seeds_copy, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notiz.txt").write_text("Notiz\n\nEin Satz über Berlin. Noch ein Satz über Hamburg.\n")
    store = open_store(web_settings)
    index_paths([seeds_copy, other], web_settings, store, HashEmbedder, urls=[news_site.at("/de/wahl.html")])
    (other / "notiz.txt").unlink()
    (seeds_copy / "002_eb5c34b194544d8a.txt").unlink()
    pruned = index_paths([seeds_copy], web_settings, store, HashEmbedder, prune=True)
    assert pruned.removed == ["002_eb5c34b194544d8a"]  # notiz is gone too, but its folder was not named
    assert "notiz" in {d.doc_id for d in store.documents()}
    assert any(d.url == news_site.at("/de/wahl.html") for d in store.documents())
    assert index_paths([other], web_settings, store, HashEmbedder, prune=True).removed == ["notiz"]


def test_a_refresh_answered_with_304_downloads_and_embeds_nothing(web_settings, news_site):
    store = open_store(web_settings)
    feed = news_site.at("/atom.xml")
    index_paths([], web_settings, store, HashEmbedder, urls=[feed])
    stored = {d.doc_id: d.origin for d in store.documents()}
    assert all(o is not None and o.etag and o.listed_by == feed for o in stored.values())
    news_site.log.clear()

    def no_model():
        raise AssertionError("a 304 needs no embedding")

    again = index_paths([], web_settings, store, no_model, urls=[feed])
    assert sorted(again.not_modified) == sorted(stored) and sorted(again.unchanged) == sorted(stored)
    assert news_site.requested() == ["/robots.txt", "/atom.xml", "/en/bridge-reopens.html", "/de/nato-gipfel.html"]
    assert {d.doc_id: d.origin for d in store.documents()} == stored


def test_a_feed_refreshed_with_304s_keeps_its_copies_as_copies(web_settings, news_site):
    """feed.xml lists AMP and print copies after the canonical articles: a 304 for the canonical one must not let
    a copy replace it."""
    store = open_store(web_settings)
    feed = news_site.at("/feed.xml")
    first = index_paths([], web_settings, store, HashEmbedder, urls=[feed])
    again = index_paths([], web_settings, store, HashEmbedder, urls=[feed])
    assert (again.added, again.updated, sorted(again.unchanged)) == ([], [], sorted(first.added))
    assert len(again.not_modified) == 3 and len(again.duplicates) == 3 and len(store.documents()) == 3


def test_an_unchanged_article_with_new_validators_keeps_its_chunks_and_stores_the_validators(web_settings, news_site):
    store = open_store(web_settings)
    url = news_site.at("/de/wahl.html")
    index_paths([], web_settings, store, HashEmbedder, urls=[url])
    [before] = store.documents()
    chunk_ids = store.chunk_ids()
    page = news_site.root / "de" / "wahl.html"
    page.write_text(page.read_text(encoding="utf-8") + "\n<!-- a comment changes the ETag, not the text -->\n")

    def no_model():
        raise AssertionError("the text is unchanged")

    again = index_paths([], web_settings, store, no_model, urls=[url])
    [after] = store.documents()
    assert again.unchanged == [before.doc_id] and again.not_modified == [] and store.chunk_ids() == chunk_ids
    assert after.origin is not None and before.origin is not None and after.origin.etag != before.origin.etag


def test_nothing_is_fetched_unless_urls_are_given(tmp_settings, seeds_copy, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("index_paths must not touch the network for files")

    monkeypatch.setattr("rag.ingest.reading.iter_articles", no_network)
    monkeypatch.setattr("rag.ingest.reading.Fetcher", no_network)
    report = run(tmp_settings, [seeds_copy])
    assert len(report.added) == 5 and report.web_sources == [] and report.duplicates == []


@pytest.mark.integration
def test_a_feed_through_the_real_command_model_and_store(news_site, tmp_path, monkeypatch):
    """`rag index FEED` with EmbeddingGemma into a real Chroma store; again (nothing new); after an edit; then ask."""
    from typer.testing import CliRunner

    from rag.cli.main import app

    web_env(monkeypatch, tmp_path)
    runner = CliRunner()
    feed = news_site.at("/feed.xml")
    first = runner.invoke(app, ["index", feed])
    assert first.exit_code == 0, first.output
    assert "3 added, 0 updated, 0 unchanged" in first.output
    assert f"skipped {news_site.at('/gone.html')}: HTTP 404" in first.output
    store = open_store(Settings(index_dir=tmp_path / "index"))
    docs = {d.url: d for d in store.documents()}
    assert (docs[news_site.at("/de/nato-gipfel.html")].site, docs[news_site.at("/de/nato-gipfel.html")].date) == (
        "Tagesblatt Beispielstadt",
        "2024-07-11",
    )
    assert docs[news_site.at("/en/bridge-reopens.html")].date == "2024-09-03"

    again = runner.invoke(app, ["index", feed])
    assert "0 added, 0 updated, 3 unchanged" in again.output and "0 chunks embedded" in again.output

    page = news_site.root / "de" / "nato-gipfel.html"
    page.write_text(page.read_text().replace("200.000 Granaten", "250.000 Granaten"), encoding="utf-8")
    changed = runner.invoke(app, ["index", feed])
    assert "0 added, 1 updated, 2 unchanged" in changed.output
    nato = docs[news_site.at("/de/nato-gipfel.html")].doc_id
    assert any("250.000 Granaten" in c.text for c in store.chunks_of(nato))

    asked = runner.invoke(app, ["ask", "Wie viele Granaten sollen in Unterlüß gefertigt werden?", "--llm", "none"])
    assert asked.exit_code == 0, asked.output
    assert (
        f"(Tagesblatt Beispielstadt, Greta Sommer, 2024-07-11, {nato})\n    {news_site.at('/de/nato-gipfel.html')}"
        in (asked.output)
    )
