"""What the URLs named to `rag index` stand for: a page is itself, a feed or sitemap the articles it lists.

Each named URL is fetched once and reported as a `SourceReading`: what it was read as, every article it lists,
or why it could not be read. Pruning relies on that list: a feed's stored articles are checked against the feed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit

from rag.ingest.decoding import decode_markup
from rag.ingest.web.fetcher import Fetched, Fetcher, FetchError, origin_of

Kind = Literal["page", "feed", "sitemap"]
Notify = Callable[[str], None]

MAX_SITEMAPS = 10  # sitemaps read for one named sitemap (an index and the sitemaps it lists)
HTML_TYPES = ("text/html", "application/xhtml+xml")
_SITEMAP_RE = re.compile(r"<(?:[\w.-]+:)?(?:urlset|sitemapindex)\b")
_FEED_RE = re.compile(r"<(?:[\w.-]+:)?(?:rss|feed|RDF)\b")
HTML_RE = re.compile(r"<(?:!doctype\s+html|html)\b", re.IGNORECASE)


def markup_text(fetched: Fetched) -> str:
    """The fetched bytes as text, decoded as a browser would (rag.ingest.decoding)."""
    return decode_markup(fetched.data, fetched.charset).lstrip(" \t\r\n")


def kind_of(fetched: Fetched) -> Kind:
    """Feed, sitemap or web page, judged by the content (a server's content type is often wrong for feeds)."""
    from trafilatura.feeds import is_potential_feed

    text = markup_text(fetched)
    head = text[:2000]
    if _SITEMAP_RE.search(head):
        return "sitemap"
    if (is_potential_feed(text) and _FEED_RE.search(head)) or (text.startswith("{") and "jsonfeed.org" in head):
        return "feed"
    if fetched.content_type in HTML_TYPES or HTML_RE.search(head):
        return "page"
    raise FetchError(f"not a web page, feed or sitemap (content type {fetched.content_type or 'unknown'})")


def _article_links(links: Iterable[str], base: str) -> list[str]:
    """Absolute http(s) links without fragments, in order, once each; home pages and `base` itself left out."""
    found: dict[str, None] = {}
    for link in links:
        url = urldefrag(urljoin(base, link.strip()))[0]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname and parts.path not in ("", "/") and url != base:
            found.setdefault(url, None)
    return list(found)


def feed_links(fetched: Fetched) -> list[str]:
    """The article links of an RSS, Atom or JSON feed (trafilatura's feed parser)."""
    from trafilatura.feeds import FeedParameters, find_links

    host = urlsplit(fetched.final_url).hostname or ""
    params = FeedParameters(origin_of(fetched.final_url), host, fetched.final_url)
    return _article_links(find_links(markup_text(fetched), params), fetched.final_url)


def sitemap_links(fetched: Fetched) -> tuple[list[str], list[str]]:
    """(pages, nested sitemaps) that a sitemap lists (trafilatura's sitemap parser)."""
    from trafilatura.sitemaps import DETECT_SITEMAP_LINK, SitemapObject

    class Sitemap(SitemapObject):
        def handle_link(self, link: str) -> None:  # any http(s) link; trafilatura's own filter drops IP hosts
            (self.sitemap_urls if DETECT_SITEMAP_LINK.search(link) else self.urls).append(link)

    host = urlsplit(fetched.final_url).hostname or ""
    sitemap = Sitemap(origin_of(fetched.final_url), host, [])
    sitemap.current_url, sitemap.content = fetched.final_url, markup_text(fetched)
    sitemap.process()
    return _article_links(sitemap.urls, fetched.final_url), _article_links(sitemap.sitemap_urls, fetched.final_url)


@dataclass
class SourceReading:
    """One named URL as this run read it."""

    url: str  # as named
    kind: Kind | None = None  # None: it could not be read (see reason)
    listed: list[str] = field(default_factory=list)  # every article URL it lists (a page: itself)
    taken: int = 0  # how many of them this run fetches (at most fetch_max_articles)
    reason: str | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # nested sitemaps that failed: (URL, reason)
    notes: list[str] = field(default_factory=list)

    @property
    def read(self) -> bool:
        return self.kind is not None

    @property
    def lists_articles(self) -> bool:
        """A feed or sitemap that was read: its stored articles can be checked against `listed`."""
        return self.kind in ("feed", "sitemap")


@dataclass
class Plan:
    """What a set of named URLs stands for: the articles to fetch, each with the source that named or listed it."""

    articles: list[tuple[str, SourceReading]] = field(default_factory=list)
    fetched: dict[str, Fetched] = field(default_factory=dict)  # named pages, already fetched
    sources: list[SourceReading] = field(default_factory=list)


def _sitemap_pages(fetcher: Fetcher, fetched: Fetched, reading: SourceReading) -> list[str]:
    pages, pending = sitemap_links(fetched)
    seen = {fetched.final_url}
    while pending and len(seen) < MAX_SITEMAPS:
        nested = pending.pop(0)
        if nested in seen:
            continue
        seen.add(nested)
        try:
            more, deeper = sitemap_links(fetcher.fetch(nested))
        except FetchError as exc:
            reading.skipped.append((nested, str(exc)))
            continue
        pages += more
        pending += [p for p in deeper if p not in seen]
    if pending:
        reading.notes.append(
            f"{reading.url}: {len(pending)} more nested sitemap(s) not read; at most {MAX_SITEMAPS} are read for "
            "one named sitemap (name the others to index them)"
        )
    return list(dict.fromkeys(pages))


def read_source(url: str, fetcher: Fetcher, plan: Plan) -> SourceReading:
    reading = SourceReading(url)
    try:
        fetched = fetcher.fetch(url)
        kind = kind_of(fetched)
        if kind == "page":
            listed = [url]
        elif kind == "feed":
            listed = feed_links(fetched)
        else:
            listed = _sitemap_pages(fetcher, fetched, reading)
    except FetchError as exc:
        reading.reason = str(exc)
        return reading
    reading.kind, reading.listed = kind, listed
    limit = fetcher.settings.fetch_max_articles
    reading.taken = min(len(listed), limit)
    if len(listed) > limit:
        reading.notes.append(f"{url}: {len(listed) - limit} more articles listed than RAG_FETCH_MAX_ARTICLES={limit}")
    if kind == "page":
        plan.fetched[url] = fetched
    return reading


def plan(urls: Iterable[str], fetcher: Fetcher, notify: Notify | None = None) -> Plan:
    """Read each named URL once; a feed or sitemap stands for the articles it lists (the first fetch_max_articles)."""
    result = Plan()
    queued: set[str] = set()
    for url in urls:
        reading = read_source(url, fetcher, result)
        result.sources.append(reading)
        if notify and reading.read:
            count = "" if reading.kind == "page" else f": {len(reading.listed)} article(s) listed"
            notify(f"{reading.kind} {url}{count}")
        for link in reading.listed[: reading.taken]:
            if link not in queued:
                queued.add(link)
                result.articles.append((link, reading))
    return result
