"""rag.ingest.web against a local news site (tests/newsserver.py): feeds, sitemaps, robots.txt, limits, failures."""

from __future__ import annotations

import contextlib
import time

import pytest

from rag.ingest.web.articles import canonical_url, fetch_articles, page_document, web_doc_id
from rag.ingest.web.fetcher import Fetcher, FetchError, is_url
from rag.ingest.web.sources import feed_links, kind_of, plan
from rag.settings import Settings
from tests.newsserver import SLOW_S, UNINDEXABLE_PATHS


def reason(settings: Settings, url: str) -> str:
    with pytest.raises(FetchError) as caught:
        Fetcher(settings).fetch(url)
    return str(caught.value)


def test_is_url_tells_addresses_from_paths():
    assert is_url("https://example.org/feed.xml") and is_url("HTTP://x.de") and is_url("ftp://x/y")
    assert not is_url("seeds/") and not is_url("/tmp/a.html") and not is_url("C:\\news\\a.html")


def test_urls_are_classified_by_their_content(web_settings, news_site):
    fetcher = Fetcher(web_settings)
    assert kind_of(fetcher.fetch(news_site.at("/feed.xml"))) == "feed"
    assert kind_of(fetcher.fetch(news_site.at("/atom.xml"))) == "feed"
    assert kind_of(fetcher.fetch(news_site.at("/sitemap.xml"))) == "sitemap"
    assert kind_of(fetcher.fetch(news_site.at("/sitemap_index.xml"))) == "sitemap"
    assert kind_of(fetcher.fetch(news_site.at("/de/nato-gipfel.html"))) == "page"
    with pytest.raises(FetchError, match="not a web page, feed or sitemap .content type application/pdf"):
        kind_of(fetcher.fetch(news_site.at("/report.pdf")))


def test_rss_and_atom_feeds_list_their_articles_without_home_page_or_self_link(web_settings, news_site):
    fetcher = Fetcher(web_settings)
    rss = feed_links(fetcher.fetch(news_site.at("/feed.xml")))
    assert rss[:3] == [
        news_site.at(p) for p in ("/de/nato-gipfel.html", "/en/bridge-reopens.html", "/amp/bridge-reopens.html")
    ]
    assert len(rss) == 13 and news_site.at("/") not in rss and news_site.at("/feed.xml") not in rss
    atom = feed_links(fetcher.fetch(news_site.at("/atom.xml")))
    assert atom == [news_site.at("/en/bridge-reopens.html"), news_site.at("/de/nato-gipfel.html")]


def test_a_sitemap_index_leads_to_the_pages_of_its_sitemaps(web_settings, news_site):
    result = plan([news_site.at("/sitemap_index.xml")], Fetcher(web_settings))
    assert [url for url, _ in result.articles] == [
        news_site.at("/de/wahl.html"),
        news_site.at("/de/nato-gipfel.html"),
        news_site.at("/private/secret.html"),
    ]
    assert [(r.url, r.kind, len(r.listed)) for r in result.sources] == [
        (news_site.at("/sitemap_index.xml"), "sitemap", 3)
    ]
    assert {source.url for _, source in result.articles} == {news_site.at("/sitemap_index.xml")}


def test_robots_txt_is_read_once_and_its_forbidden_path_never_requested(web_settings, news_site):
    fetcher = Fetcher(web_settings)
    fetcher.fetch(news_site.at("/de/nato-gipfel.html"))
    fetcher.fetch(news_site.at("/de/wahl.html"))
    with pytest.raises(FetchError, match="forbidden by the site's robots.txt"):
        fetcher.fetch(news_site.at("/private/secret.html"))
    assert news_site.requested() == ["/robots.txt", "/de/nato-gipfel.html", "/de/wahl.html"]


def test_every_request_names_newsrag_in_its_user_agent(web_settings, news_site):
    Fetcher(web_settings).fetch(news_site.at("/feed.xml"))
    agents = {agent for _, _, agent in news_site.log}
    assert agents == {"newsrag/0.1 (+local news QA)"}


def test_redirects_are_followed_to_http_only_and_not_forever(web_settings, news_site):
    fetched = Fetcher(web_settings).fetch(news_site.at("/go/bridge"))
    assert fetched.final_url == news_site.at("/en/bridge-reopens.html") and b"Harbour bridge" in fetched.data
    assert reason(web_settings, news_site.at("/go/file")) == "redirected to a non-http(s) address (file:)"
    assert reason(web_settings, news_site.at("/go/loop")) == "more than 5 redirects"
    assert reason(web_settings, "ftp://example.org/feed.xml") == "not an http(s) address (ftp)"


def test_a_redirect_into_a_forbidden_path_is_not_followed(web_settings, news_site):
    (news_site.root / "robots.txt").write_text("User-agent: *\nDisallow: /en/\n")
    assert reason(web_settings, news_site.at("/go/bridge")) == (
        f"redirected to {news_site.at('/en/bridge-reopens.html')}: forbidden by the site's robots.txt"
    )
    assert "/en/bridge-reopens.html" not in news_site.requested()


def test_missing_page_slow_page_and_oversized_page_fail_with_their_reason(web_settings, news_site):
    assert reason(web_settings, news_site.at("/gone.html")) == "HTTP 404"
    started = time.monotonic()
    assert reason(web_settings, news_site.at("/slow.html")) == "timed out after 1 s (waiting for the headers)"
    assert time.monotonic() - started < SLOW_S
    too_big = "the page is larger than the limit of 50,000 bytes (RAG_FETCH_MAX_BYTES)"
    assert reason(web_settings, news_site.at("/huge.html")).startswith(f"{too_big}: it has 200,")
    assert reason(web_settings, news_site.at("/huge-stream.html")) == too_big  # no Content-Length: cut off


def test_addresses_on_this_machine_are_refused_unless_allowed(web_settings, news_site):
    strict = web_settings.model_copy(update={"fetch_allow_private": False})
    assert reason(strict, news_site.at("/feed.xml")) == (
        "the site was not contacted: 127.0.0.1 is an address on this machine (RAG_FETCH_ALLOW_PRIVATE=true allows it)"
    )
    assert news_site.requested() == []


def test_one_host_is_asked_at_most_once_per_delay_and_crawl_delay_wins_when_longer(web_settings, news_site):
    waits: list[float] = []
    slow = web_settings.model_copy(update={"fetch_host_delay_s": 0.4})
    fetcher = Fetcher(slow, sleep=waits.append)
    fetcher.fetch(news_site.at("/de/wahl.html"))  # robots.txt, then the page
    fetcher.fetch(news_site.at("/de/nato-gipfel.html"))
    assert len(waits) == 2 and all(0.3 < w <= 0.4 for w in waits)
    (news_site.root / "robots.txt").write_text("User-agent: newsrag\nCrawl-delay: 2\nDisallow: /private/\n")
    waits.clear()
    fetcher = Fetcher(slow, sleep=waits.append)
    fetcher.fetch(news_site.at("/de/wahl.html"))
    assert len(waits) == 1 and 1.9 < waits[0] <= 2.0
    real = Fetcher(slow)  # and really waiting: the requests are spaced out
    real.fetch(news_site.at("/de/wahl.html"))
    real.fetch(news_site.at("/de/nato-gipfel.html"))
    times = [t for t, path, _ in news_site.log[-3:]]
    assert times[1] - times[0] >= 1.9 and times[2] - times[1] >= 1.9


def test_an_article_page_gives_a_document_with_url_site_and_date(web_settings, news_site):
    fetcher = Fetcher(web_settings)
    german = page_document(fetcher.fetch(news_site.at("/de/nato-gipfel.html")))
    assert german.url == news_site.at("/de/nato-gipfel.html")
    assert (german.site, german.date, german.author) == ("Tagesblatt Beispielstadt", "2024-07-11", "Greta Sommer")
    assert german.title == "Nato-Gipfel in Vilnius: Mehr Munition für die Ukraine"
    assert "200.000 Granaten" in german.text and "Cookie" not in german.text and "Newsletter" not in german.text
    assert german.doc_id.startswith("127.0.0.1_nato-gipfel_")
    english = page_document(fetcher.fetch(news_site.at("/amp/bridge-reopens.html")))
    assert english.url == news_site.at("/en/bridge-reopens.html")  # the canonical URL, not the AMP copy's
    assert (english.site, english.date) == ("The Example Herald", "2024-09-03")
    no_canonical = page_document(fetcher.fetch(news_site.at("/print/de/wahl.html")))
    assert no_canonical.url == news_site.at("/print/de/wahl.html")


def test_a_page_cannot_claim_another_sites_canonical_url():
    assert canonical_url("https://trusted.example/story", "https://evil.example/x") == "https://evil.example/x"
    assert canonical_url("https://www.news.example/a", "https://news.example/a?ref=rss") == "https://www.news.example/a"
    assert canonical_url("javascript:alert(1)", "https://news.example/a") == "https://news.example/a"
    assert canonical_url(None, "https://news.example/a?utm_source=rss#top") == "https://news.example/a"
    assert web_doc_id("https://www.news.example/politik/wahl-2024.html").startswith("news.example_wahl-2024_")
    assert web_doc_id("https://news.example/a") != web_doc_id("https://news.example/b")


def test_a_feed_gives_each_article_once_and_every_failure_with_its_reason(web_settings, news_site):
    messages: list[str] = []
    result = fetch_articles([news_site.at("/feed.xml")], Fetcher(web_settings), messages.append)
    assert sorted(d.url for d in result.documents) == [
        news_site.at(p) for p in ("/de/nato-gipfel.html", "/de/wahl.html", "/en/bridge-reopens.html")
    ]
    ids = {d.url: d.doc_id for d in result.documents}
    assert sorted(result.duplicates) == [
        (news_site.at("/amp/bridge-reopens.html"), ids[news_site.at("/en/bridge-reopens.html")]),
        (news_site.at("/go/bridge"), ids[news_site.at("/en/bridge-reopens.html")]),
        (news_site.at("/print/de/wahl.html"), ids[news_site.at("/de/wahl.html")]),
    ]
    reasons = {url.removeprefix(news_site.url): why for url, why in result.skipped}
    assert reasons.keys() == UNINDEXABLE_PATHS
    assert reasons["/private/secret.html"] == "forbidden by the site's robots.txt"
    assert reasons["/gone.html"] == "HTTP 404"
    assert reasons["/slow.html"] == "timed out after 1 s (waiting for the headers)"
    assert "larger than the limit of 50,000 bytes" in reasons["/huge.html"]
    assert reasons["/go/file"] == "redirected to a non-http(s) address (file:)"
    assert reasons["/empty.html"].startswith("the page has no article text")
    assert reasons["/report.pdf"] == "not an HTML page (content type application/pdf)"
    assert "\n" not in "".join(reasons.values()) and "Traceback" not in "".join(reasons.values())
    assert messages[0] == f"feed {news_site.at('/feed.xml')}: 13 article(s) listed"
    assert "/private/secret.html" not in news_site.requested()


def test_a_feed_brings_in_at_most_fetch_max_articles(web_settings, news_site):
    few = web_settings.model_copy(update={"fetch_max_articles": 2})
    result = plan([news_site.at("/feed.xml"), news_site.at("/de/wahl.html")], Fetcher(few))
    assert [url.removeprefix(news_site.url) for url, _ in result.articles] == [
        "/de/nato-gipfel.html",
        "/en/bridge-reopens.html",
        "/de/wahl.html",
    ]
    assert [note for r in result.sources for note in r.notes] == [
        f"{news_site.at('/feed.xml')}: 11 more articles listed than RAG_FETCH_MAX_ARTICLES=2"
    ]
    assert news_site.requested() == ["/robots.txt", "/feed.xml", "/de/wahl.html"]  # no article fetched by plan()


def test_a_named_url_that_fails_is_reported_and_the_others_still_planned(web_settings, news_site):
    result = plan(
        [news_site.at("/gone.xml"), "http://127.0.0.1:1/feed.xml", news_site.at("/atom.xml")], Fetcher(web_settings)
    )
    reasons = {r.url: r.reason for r in result.sources}
    assert reasons[news_site.at("/gone.xml")] == "HTTP 404"
    assert reasons["http://127.0.0.1:1/feed.xml"] == (
        "the site was not contacted: the connection was refused or there is no route"
    )
    assert len(result.articles) == 2


# -- a broken or hostile site: every fetch ends by its deadline, sizes hold after unpacking --------------------


@pytest.mark.parametrize(
    ("path", "phase"),
    [
        ("/drip.html", "reading the page"),  # no length, Connection: close, a byte every 0.25 s
        ("/drip-length.html", "reading the page"),  # Content-Length: 60, 30 bytes ever sent
        ("/drip-headers.html", "waiting for the headers"),
    ],
)
def test_a_dripping_page_ends_by_the_timeout(web_settings, news_site, path, phase):
    fetcher = Fetcher(web_settings)
    fetcher.allowed(news_site.at(path))  # robots.txt first, so that only the page is timed
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(news_site.at(path))
    elapsed = time.monotonic() - started
    assert str(caught.value) == f"timed out after 1 s ({phase})"
    assert elapsed < 1.5, f"{path} held the fetch for {elapsed:.1f} s with a 1 s timeout"


def test_a_dripping_robots_txt_ends_by_the_timeout_and_names_the_reason(web_settings, news_site):
    (news_site.root / "robots.drip").touch()  # the server now drips robots.txt
    started = time.monotonic()
    assert reason(web_settings, news_site.at("/de/wahl.html")) == (
        "robots.txt could not be read (timed out after 1 s (reading the page))"
    )
    assert time.monotonic() - started < 1.5
    assert "/de/wahl.html" not in news_site.requested()


def test_the_feed_s_other_articles_are_read_while_pages_drip(web_settings, news_site):
    started = time.monotonic()
    result = fetch_articles([news_site.at("/faults.xml")], Fetcher(web_settings))
    elapsed = time.monotonic() - started
    assert sorted(d.url.removeprefix(news_site.url) for d in result.documents) == [
        "/de/nato-gipfel.html",
        "/de/preise.html",
        "/en/bridge-reopens.html",
    ]
    reasons = {url.removeprefix(news_site.url): why for url, why in result.skipped}
    assert reasons["/drip.html"] == reasons["/drip-length.html"] == "timed out after 1 s (reading the page)"
    assert reasons["/drip-headers.html"] == "timed out after 1 s (waiting for the headers)"
    assert elapsed < 3 * 1.5 + 2, f"the feed took {elapsed:.1f} s with three dripping pages and a 1 s timeout"


def test_windows_1252_labelled_iso_8859_1_keeps_every_character(web_settings, news_site):
    from tests.newsserver import PREISE_TEXT

    doc = page_document(Fetcher(web_settings).fetch(news_site.at("/de/preise.html")))
    assert PREISE_TEXT in doc.text
    assert "Familienkarten kosten 12 € und gelten" in doc.text and "seine Tore – mit Musik" in doc.text


@pytest.mark.parametrize("path", ["/bomb.html", "/bomb-encoded.html"])
def test_a_gzip_bomb_is_unpacked_only_up_to_the_size_limit(web_settings, news_site, path):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    assert reason(web_settings, news_site.at(path)) == (
        "the page is larger than the limit of 50,000 bytes (RAG_FETCH_MAX_BYTES) once unpacked"
    )
    assert time.process_time() - started < 2
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 10, f"unpacking grew the process by {grown_mb:.0f} MB"


def test_ipv6_loopback_and_unspecified_addresses_are_refused_before_any_connection(web_settings):
    import socket
    import threading

    listener = socket.socket(socket.AF_INET6)
    listener.bind(("::1", 0))
    listener.listen(1)
    listener.settimeout(2)
    accepted: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(listener.accept())

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    strict = web_settings.model_copy(update={"fetch_allow_private": False})
    port = listener.getsockname()[1]
    assert reason(strict, f"http://[::1]:{port}/feed.xml") == (
        "the site was not contacted: ::1 is an address on this machine (RAG_FETCH_ALLOW_PRIVATE=true allows it)"
    )
    assert reason(strict, f"http://[::]:{port}/").startswith("the site was not contacted: :: is an address on this")
    assert reason(strict, "http://[::ffff:127.0.0.1]:9/").startswith("the site was not contacted: ::ffff:127.0.0.1 is")
    assert reason(strict, "http://10.1.2.3/").startswith(
        "the site was not contacted: 10.1.2.3 is an address on the local network"
    )
    assert reason(strict, "http://localhost:9/").startswith("the site was not contacted: localhost resolves to")
    thread.join(3)
    listener.close()
    assert accepted == [], "a connection was made to a refused address"


def test_a_refused_redirect_names_its_target_and_does_not_suggest_turning_the_guard_off(
    web_settings, news_site, monkeypatch
):
    from rag.ingest.web import transport as web_http

    real = web_http.address_kind
    monkeypatch.setattr(web_http, "address_kind", lambda a: None if a == "127.0.0.1" else real(a))
    strict = web_settings.model_copy(update={"fetch_allow_private": False})
    message = reason(strict, news_site.at("/go/intranet"))
    assert message == (
        "redirected to http://192.168.1.20/admin, but 192.168.1.20 is an address on the local network or a "
        "reserved one; not followed"
    )
    assert "ALLOW_PRIVATE" not in message


def test_a_sitemap_chain_cut_after_ten_sitemaps_is_reported(web_settings, news_site):
    from rag.ingest.web.sources import MAX_SITEMAPS

    entries = "".join(f"<sitemap><loc>http://BASE/chain/{n}.xml</loc></sitemap>" for n in range(15))
    (news_site.root / "chain.xml").write_text(
        f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
        "</sitemapindex>"
    )
    (news_site.root / "chain").mkdir()
    for n in range(15):
        (news_site.root / "chain" / f"{n}.xml").write_text(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>http://BASE/de/page-{n}.html</loc></url></urlset>"
        )
    [reading] = plan([news_site.at("/chain.xml")], Fetcher(web_settings)).sources
    assert len(reading.listed) == MAX_SITEMAPS - 1
    assert reading.notes == [
        f"{news_site.at('/chain.xml')}: 6 more nested sitemap(s) not read; at most 10 are read for one named "
        "sitemap (name the others to index them)"
    ]


def test_a_304_answer_to_the_stored_validators_costs_no_download(web_settings, news_site):
    fetcher = Fetcher(web_settings)
    first = fetcher.fetch(news_site.at("/de/wahl.html"))
    assert first.etag and first.last_modified
    again = fetcher.fetch(news_site.at("/de/wahl.html"), first.etag, first.last_modified)
    assert again.not_modified and again.data == b""
    page = news_site.root / "de" / "wahl.html"
    page.write_text(page.read_text(encoding="utf-8").replace("Wahl", "Neuwahl"), encoding="utf-8")
    changed = fetcher.fetch(news_site.at("/de/wahl.html"), first.etag, first.last_modified)
    assert not changed.not_modified and b"Neuwahl" in changed.data and changed.etag != first.etag
