"""Fetching news from the web, politely: article pages, RSS/Atom/JSON feeds and sitemaps that a user names.

Nothing here runs unless `rag index` is given URLs. Every request goes through `Fetcher.fetch`, which
- sends a clear user agent (settings.fetch_user_agent) and respects robots.txt (urllib.robotparser),
  read once per site, with its Crawl-delay when it is longer than settings.fetch_host_delay_s;
- waits settings.fetch_host_delay_s between two requests to the same host;
- gives up after settings.fetch_timeout_s (connecting, each read, and the whole response);
- reads at most settings.fetch_max_bytes (after decompression);
- follows at most settings.fetch_max_redirects redirects, each one only to http(s) and allowed by robots.txt;
- refuses addresses on this machine or the local network unless settings.fetch_allow_private (trafilatura's
  SSRF-safe connection pool).
trafilatura's `fetch_url` is not called directly: it logs failures instead of returning their reason, retries
timeouts and follows redirects unchecked. Its pool, feed parser, sitemap parser and text extraction are used.

A failure is a `FetchError` whose message is the one-line reason ("HTTP 404", "forbidden by robots.txt", …).
"""

from __future__ import annotations

import hashlib
import re
import time
import urllib.robotparser
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urldefrag, urljoin, urlsplit

from rag.documents import Document, DocumentError, parse_document
from rag.formats import FormatError, extract
from rag.settings import Settings

Kind = Literal["page", "feed", "sitemap"]
Notify = Callable[[str], None]

MAX_CRAWL_DELAY_S = 30.0  # a robots.txt Crawl-delay is honoured up to this
MAX_SITEMAPS = 10  # sitemaps read for one named sitemap (an index and the sitemaps it lists)
_CHUNK = 64 * 1024
_ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/feed+json,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_SITEMAP_RE = re.compile(r"<(?:[\w.-]+:)?(?:urlset|sitemapindex)\b")
_FEED_RE = re.compile(r"<(?:[\w.-]+:)?(?:rss|feed|RDF)\b")
_HTML_RE = re.compile(r"<(?:!doctype\s+html|html)\b", re.IGNORECASE)
_REDIRECTS = (301, 302, 303, 307, 308)
UNREACHABLE = "the site was not contacted"
ALLOW_PRIVATE = "RAG_FETCH_ALLOW_PRIVATE=true"


class FetchError(RuntimeError):
    """A URL could not be used; the message is the reason in one line."""


def is_url(text: str) -> bool:
    """Whether a command-line argument names a web address (anything else is a file or folder)."""
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", text.strip(), re.IGNORECASE))


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked
    final_url: str  # after redirects
    content_type: str  # e.g. "text/html", without parameters
    data: bytes


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _check_address(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"not an http(s) address ({parts.scheme or 'no scheme'})")
    if not parts.hostname:
        raise FetchError("the address has no host name")


def _error_reason(exc: Exception, timeout: float) -> str:
    import urllib3

    text = str(exc)
    # Checked in this order: urllib3's NewConnectionError is a kind of ConnectTimeoutError.
    if "SSRF protection" in text:
        return f"{UNREACHABLE}: the address is on this machine or the local network ({ALLOW_PRIVATE} allows it)"
    if isinstance(exc, urllib3.exceptions.NameResolutionError):
        return f"{UNREACHABLE}: its host name could not be resolved"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return f"{UNREACHABLE}: the connection was refused or there is no route"
    if isinstance(exc, urllib3.exceptions.TimeoutError) or "timed out" in text:
        return f"timed out after {timeout:g} s"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "the secure connection failed (certificate or TLS error)"
    return f"the download failed ({type(exc).__name__})"


class Fetcher:
    """One polite HTTP client for an index run: robots.txt per site, a pause per host, limits per request."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.agent = settings.fetch_user_agent
        self._clock = clock
        self._sleep = sleep
        self._robots: dict[str, urllib.robotparser.RobotFileParser | str] = {}  # origin -> parser or reason
        self._delay: dict[str, float] = {}  # origin -> pause between requests
        self._last: dict[str, float] = {}  # host -> when the last request to it ended
        self._pool: Any = None
        self.requests = 0

    # -- transport ---------------------------------------------------------
    def _http(self) -> Any:
        if self._pool is None:
            import certifi
            from trafilatura.downloads import create_pool

            self._pool = create_pool(
                ssrf_protection=not self.settings.fetch_allow_private,
                ca_certs=certifi.where(),
                cert_reqs="CERT_REQUIRED",
            )
        return self._pool

    def _pause(self, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        delay = max(self.settings.fetch_host_delay_s, self._delay.get(_origin(url), 0.0))
        last = self._last.get(host)
        if last is not None:
            wait = last + delay - self._clock()
            if wait > 0:
                self._sleep(wait)

    def _get_once(self, url: str) -> tuple[int, dict[str, str], bytes]:
        """One GET, no redirects followed: status, lower-case headers and at most fetch_max_bytes of body."""
        import urllib3
        from trafilatura.downloads import DEFAULT_HEADERS

        timeout = self.settings.fetch_timeout_s
        limit = self.settings.fetch_max_bytes
        headers = {**DEFAULT_HEADERS, "User-Agent": self.agent, "Accept": _ACCEPT}
        self._pause(url)
        self.requests += 1
        started = self._clock()
        try:
            response = self._http().request(
                "GET",
                url,
                headers=headers,
                redirect=False,
                retries=False,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                preload_content=False,
            )
            complete = False
            try:
                head = {k.lower(): v for k, v in response.headers.items()}
                length = head.get("content-length", "")
                if response.status == 200 and length.isdigit() and int(length) > limit:
                    raise FetchError(self._too_large(int(length)))
                body = bytearray()
                if response.status not in _REDIRECTS:
                    for chunk in response.stream(_CHUNK):
                        body += chunk
                        if len(body) > limit:
                            raise FetchError(self._too_large())
                        if self._clock() - started > timeout:
                            raise FetchError(f"timed out after {timeout:g} s (the page kept loading)")
                    complete = True
            finally:
                if not complete:  # unread data would spoil the connection for the next request
                    response.close()
                response.release_conn()
        except FetchError:
            raise
        except Exception as exc:  # urllib3 raises many types: timeouts, resets, TLS, DNS, decoding
            raise FetchError(_error_reason(exc, timeout)) from exc
        finally:
            self._last[(urlsplit(url).hostname or "").lower()] = self._clock()
        return response.status, head, bytes(body)

    def _too_large(self, size: int | None = None) -> str:
        limit = f"the page is larger than the limit of {self.settings.fetch_max_bytes:,} bytes (RAG_FETCH_MAX_BYTES)"
        return f"{limit}: it has {size:,}" if size else limit

    # -- robots.txt --------------------------------------------------------
    def _robots_for(self, url: str) -> urllib.robotparser.RobotFileParser | str:
        origin = _origin(url)
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin)
        return self._robots[origin]

    def _read_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | str:
        parser = urllib.robotparser.RobotFileParser(f"{origin}/robots.txt")
        try:
            status, _headers, data = self._get_once(f"{origin}/robots.txt")
        except FetchError as exc:  # a site that cannot be reached at all is reported as such
            return str(exc) if str(exc).startswith(UNREACHABLE) else f"robots.txt could not be read ({exc})"
        if status in (401, 403):  # the site locks robots.txt away: treat it as forbidding everything
            parser.parse(["User-agent: *", "Disallow: /"])
        elif 400 <= status < 500 or status in _REDIRECTS:  # no robots.txt: everything is allowed
            parser.parse([])
        elif status != 200:
            return f"robots.txt could not be read (HTTP {status})"
        else:
            parser.parse(data.decode("utf-8", errors="replace").splitlines())
            delay = parser.crawl_delay(self.agent)
            if delay:
                self._delay[origin] = min(float(delay), MAX_CRAWL_DELAY_S)
        return parser

    def allowed(self, url: str) -> None:
        """Raise FetchError unless robots.txt of the URL's site lets this user agent fetch it."""
        robots = self._robots_for(url)
        if isinstance(robots, str):
            raise FetchError(robots)
        if not robots.can_fetch(self.agent, url):
            raise FetchError("forbidden by the site's robots.txt")

    # -- fetching ----------------------------------------------------------
    def fetch(self, url: str) -> Fetched:
        """GET a URL politely, following allowed redirects; anything but a 200 is a FetchError."""
        current = urldefrag(url.strip())[0]
        for hop in range(self.settings.fetch_max_redirects + 1):
            _check_address(current)
            self.allowed(current)
            status, headers, data = self._get_once(current)
            if status in _REDIRECTS and headers.get("location"):
                target = urldefrag(urljoin(current, headers["location"].strip()))[0]
                if urlsplit(target).scheme.lower() not in ("http", "https"):
                    raise FetchError(f"redirected to a non-http(s) address ({urlsplit(target).scheme}:)")
                if hop == self.settings.fetch_max_redirects:
                    raise FetchError(f"more than {self.settings.fetch_max_redirects} redirects")
                current = target
                continue
            if status != 200:
                raise FetchError(f"HTTP {status}")
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            return Fetched(url, current, content_type, data)
        raise AssertionError("unreachable")


# -- what a URL holds --------------------------------------------------------
def _text(data: bytes) -> str:
    from trafilatura.utils import decode_file

    return str(decode_file(data)).lstrip("\ufeff \t\r\n")


def kind_of(fetched: Fetched) -> Kind:
    """Feed, sitemap or web page, judged by the content (a server's content type is often wrong for feeds)."""
    from trafilatura.feeds import is_potential_feed

    text = _text(fetched.data)
    head = text[:2000]
    if _SITEMAP_RE.search(head):
        return "sitemap"
    if (is_potential_feed(text) and _FEED_RE.search(head)) or (text.startswith("{") and "jsonfeed.org" in head):
        return "feed"
    if fetched.content_type in _HTML_TYPES or _HTML_RE.search(head):
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
    links = find_links(_text(fetched.data), FeedParameters(_origin(fetched.final_url), host, fetched.final_url))
    return _article_links(links, fetched.final_url)


def sitemap_links(fetched: Fetched) -> tuple[list[str], list[str]]:
    """(pages, nested sitemaps) that a sitemap lists (trafilatura's sitemap parser)."""
    from trafilatura.sitemaps import DETECT_SITEMAP_LINK, SitemapObject

    class Sitemap(SitemapObject):
        def handle_link(self, link: str) -> None:  # any http(s) link; trafilatura's own filter drops IP hosts
            (self.sitemap_urls if DETECT_SITEMAP_LINK.search(link) else self.urls).append(link)

    host = urlsplit(fetched.final_url).hostname or ""
    sitemap = Sitemap(_origin(fetched.final_url), host, [])
    sitemap.current_url, sitemap.content = fetched.final_url, _text(fetched.data)
    sitemap.process()
    return _article_links(sitemap.urls, fetched.final_url), _article_links(sitemap.sitemap_urls, fetched.final_url)


# -- from named URLs to articles -----------------------------------------------
@dataclass
class Plan:
    """What a set of named URLs stands for: the articles to fetch, and what failed on the way."""

    articles: list[tuple[str, str]] = field(default_factory=list)  # (article URL, the feed/sitemap or "named")
    fetched: dict[str, Fetched] = field(default_factory=dict)  # named pages, already fetched
    sources: list[tuple[str, str, int]] = field(default_factory=list)  # (named URL, kind, articles it gives)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (URL, reason)
    notes: list[str] = field(default_factory=list)


def _listed(fetcher: Fetcher, fetched: Fetched, kind: Kind, plan: Plan) -> list[str]:
    if kind == "feed":
        return feed_links(fetched)
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
            plan.skipped.append((nested, str(exc)))
            continue
        pages += more
        pending += deeper
    return pages


def plan(urls: Iterable[str], fetcher: Fetcher, notify: Notify | None = None) -> Plan:
    """Fetch each named URL once; a feed or sitemap stands for the articles it lists (the first fetch_max_articles)."""
    result = Plan()
    limit = fetcher.settings.fetch_max_articles
    queued: set[str] = set()
    for url in urls:
        try:
            fetched = fetcher.fetch(url)
            kind = kind_of(fetched)
            links = [url] if kind == "page" else _listed(fetcher, fetched, kind, result)
        except FetchError as exc:
            result.skipped.append((url, str(exc)))
            continue
        if kind == "page":
            result.fetched[url] = fetched
        elif len(links) > limit:
            result.notes.append(f"{url}: {len(links) - limit} more articles listed than RAG_FETCH_MAX_ARTICLES={limit}")
            links = links[:limit]
        result.sources.append((url, kind, len(links)))
        if notify:
            notify(f"{kind} {url}: {len(links)} article(s)" if kind != "page" else f"page {url}")
        for link in links:
            if link not in queued:
                queued.add(link)
                result.articles.append((link, "named" if kind == "page" else url))
    return result


def canonical_url(claimed: str | None, fetched_from: str) -> str:
    """The page's canonical URL when it is on the same host as the page (a page cannot claim another site)."""
    from courlan import normalize_url

    def host(url: str) -> str:
        return (urlsplit(url).hostname or "").lower().removeprefix("www.")

    url = fetched_from
    if claimed and urlsplit(claimed).scheme in ("http", "https") and host(claimed) == host(fetched_from):
        url = claimed
    try:
        return str(normalize_url(urldefrag(url)[0], strict=True))
    except Exception:  # courlan rejects odd URLs; the plain address is still a fine identity
        return urldefrag(url)[0]


def web_doc_id(url: str) -> str:
    """A readable, stable document id for a canonical URL: host, the last path part, and a hash of the whole."""
    parts = urlsplit(url)
    host = (parts.hostname or "web").lower().removeprefix("www.")
    slug = re.sub(r"\.(?:s?html?|php|aspx?)$", "", parts.path.rstrip("/").rpartition("/")[2], flags=re.IGNORECASE)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", slug).strip("-")[:40].strip("-")
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    return "_".join(p for p in (host[:30], slug, digest) if p)


def page_document(fetched: Fetched) -> Document:
    """The article of a fetched page, extracted like a saved HTML page, identified by its canonical URL."""
    if fetched.content_type and fetched.content_type not in _HTML_TYPES and not _HTML_RE.search(_text(fetched.data)):
        raise FetchError(f"not an HTML page (content type {fetched.content_type})")
    try:
        extracted = extract(fetched.data, ".html", url=fetched.final_url)
    except FormatError as exc:
        raise FetchError(f"the page {exc}") from exc
    url = canonical_url(extracted.url, fetched.final_url)
    site = extracted.site or (urlsplit(url).hostname or "").removeprefix("www.")
    try:
        doc = parse_document(
            extracted.text, web_doc_id(url), url, extracted.title, extracted.date, extracted.author, "html"
        )
    except DocumentError as exc:
        raise FetchError(str(exc).removeprefix(f"{url}: ")) from exc
    return replace(doc, url=url, site=site)


def content_key(doc: Document) -> str:
    """What makes two copies of an article the same article: the site and the text."""
    return hashlib.sha256(f"{doc.site}\x00{' '.join(doc.text.split())}".encode()).hexdigest()


@dataclass
class WebArticles:
    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (URL, reason)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (URL, id of the document it repeats)
    plan: Plan = field(default_factory=Plan)


def fetch_articles(urls: Iterable[str], fetcher: Fetcher, notify: Notify | None = None) -> WebArticles:
    """Fetch the named pages and the articles of the named feeds and sitemaps; each article once.

    The same article reached by two URLs (one canonical URL, or the same site and text) is kept once.
    A page that fails is listed with its reason; the others are still returned.
    """
    result = WebArticles(plan=plan(urls, fetcher, notify))
    result.skipped += result.plan.skipped
    by_id: dict[str, str] = {}
    by_content: dict[str, str] = {}
    for url, _via in result.plan.articles:
        try:
            fetched = result.plan.fetched.get(url) or fetcher.fetch(url)
            doc = page_document(fetched)
        except FetchError as exc:
            result.skipped.append((url, str(exc)))
            continue
        key = content_key(doc)
        first = by_id.get(doc.doc_id) or by_content.get(key)
        if first is not None:
            result.duplicates.append((url, first))
            continue
        by_id[doc.doc_id] = by_content[key] = doc.doc_id
        result.documents.append(doc)
        if notify:
            notify(f"fetched {url}")
    return result
