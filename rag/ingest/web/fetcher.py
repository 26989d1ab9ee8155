"""Fetching news from the web, politely: article pages, RSS/Atom/JSON feeds and sitemaps that a user names.

Nothing here runs unless `rag index` is given URLs. Every request goes through `Fetcher.fetch`, which
- sends a clear user agent (settings.fetch_user_agent) and respects robots.txt (urllib.robotparser),
  read once per site, with its Crawl-delay when it is longer than settings.fetch_host_delay_s;
- waits settings.fetch_host_delay_s between two requests to the same host;
- refuses addresses on this machine or the local network before connecting, unless settings.fetch_allow_private;
- ends by settings.fetch_timeout_s, whatever the server does, and reads at most settings.fetch_max_bytes
  (after unpacking) (rag.ingest.web.transport);
- follows at most settings.fetch_max_redirects redirects, each one only to http(s), a public address (unless
  allowed) and a path robots.txt allows;
- sends the validators of an earlier fetch (ETag, Last-Modified), so an unchanged article costs no download.

A failure is a `FetchError` whose message is the one-line reason ("HTTP 404", "forbidden by robots.txt", …).
"""

from __future__ import annotations

import re
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from rag.errors import NewsragError
from rag.ingest.decoding import charset_of
from rag.ingest.web import transport as web_http
from rag.settings import Settings

MAX_CRAWL_DELAY_S = 30.0  # a robots.txt Crawl-delay is honoured up to this
_ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/feed+json,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
)
_REDIRECTS = (301, 302, 303, 307, 308)
UNREACHABLE = "the site was not contacted"
ALLOW_PRIVATE = "RAG_FETCH_ALLOW_PRIVATE=true"


class FetchError(NewsragError, RuntimeError):
    """A URL could not be used; the message is the reason in one line."""


def is_url(text: str) -> bool:
    """Whether a command-line argument names a web address (anything else is a file or folder)."""
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", text.strip(), re.IGNORECASE))


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked
    final_url: str  # after redirects
    content_type: str  # e.g. "text/html", without parameters
    data: bytes  # empty when not_modified
    charset: str | None = None  # the charset the server declared in Content-Type
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # a 304 answer to the validators sent


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"not an http(s) address ({parts.scheme or 'no scheme'})")
    if not parts.hostname:
        raise FetchError("the address has no host name")


def _error_reason(exc: Exception, timeout: float) -> str:
    import urllib3

    if isinstance(exc, web_http.DeadlineError):
        return f"timed out after {timeout:g} s ({exc.phase})"
    if isinstance(exc, web_http.TransportError):
        return str(exc) if str(exc).startswith("the page") else f"{UNREACHABLE}: {exc}"
    # Checked in this order: urllib3's NewConnectionError is a kind of ConnectTimeoutError.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return f"{UNREACHABLE}: the connection was refused or there is no route"
    if isinstance(exc, urllib3.exceptions.TimeoutError | TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, urllib3.exceptions.SSLError) or "SSL" in type(exc).__name__:
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
        self._addresses: dict[tuple[str, int], list[str]] = {}  # (host, port) -> its checked addresses
        self.requests = 0

    # -- transport ---------------------------------------------------------
    def _pause(self, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        delay = max(self.settings.fetch_host_delay_s, self._delay.get(origin_of(url), 0.0))
        last = self._last.get(host)
        if last is not None:
            wait = last + delay - self._clock()
            if wait > 0:
                self._sleep(wait)

    def addresses_of(self, url: str) -> list[str]:
        """The checked addresses of the URL's host; a web_http.AddressRefusedError names a private one."""
        parts = urlsplit(url)
        key = ((parts.hostname or "").lower(), parts.port or (443 if parts.scheme.lower() == "https" else 80))
        if key not in self._addresses:
            self._addresses[key] = web_http.resolve(
                key[0], key[1], self.settings.fetch_timeout_s, self.settings.fetch_allow_private
            )
        return self._addresses[key]

    def _get_once(self, url: str, extra: dict[str, str] | None = None) -> web_http.RawResponse:
        """One GET, no redirects followed, over within fetch_timeout_s."""
        timeout = self.settings.fetch_timeout_s
        headers = {"User-Agent": self.agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate", **(extra or {})}
        self._pause(url)
        self.requests += 1
        started = self._clock()
        try:
            addresses = self.addresses_of(url)
            return web_http.get(url, addresses, headers, timeout, self.settings.fetch_max_bytes, self._clock, started)
        except web_http.BodyTooLargeError as exc:
            raise FetchError(self._too_large(exc.size, exc.unpacked)) from exc
        except Exception as exc:  # urllib3 raises many types: timeouts, resets, TLS, DNS, decoding
            raise FetchError(_error_reason(exc, timeout)) from exc
        finally:
            self._last[(urlsplit(url).hostname or "").lower()] = self._clock()

    def _too_large(self, size: int | None = None, unpacked: bool = False) -> str:
        limit = f"the page is larger than the limit of {self.settings.fetch_max_bytes:,} bytes (RAG_FETCH_MAX_BYTES)"
        if unpacked:
            return f"{limit} once unpacked"
        return f"{limit}: it has {size:,}" if size else limit

    # -- robots.txt --------------------------------------------------------
    def _robots_for(self, url: str) -> urllib.robotparser.RobotFileParser | str:
        origin = origin_of(url)
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin)
        return self._robots[origin]

    def _read_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | str:
        parser = urllib.robotparser.RobotFileParser(f"{origin}/robots.txt")
        try:
            response = self._get_once(f"{origin}/robots.txt")
        except FetchError as exc:  # a site that cannot be reached at all is reported as such
            return str(exc) if str(exc).startswith(UNREACHABLE) else f"robots.txt could not be read ({exc})"
        status = response.status
        if status in (401, 403):  # the site locks robots.txt away: treat it as forbidding everything
            parser.parse(["User-agent: *", "Disallow: /"])
        elif 400 <= status < 500 or status in _REDIRECTS:  # no robots.txt: everything is allowed
            parser.parse([])
        elif status != 200:
            return f"robots.txt could not be read (HTTP {status})"
        else:
            parser.parse(response.body.decode("utf-8", errors="replace").splitlines())
            delay = parser.crawl_delay(self.agent)
            if delay:
                self._delay[origin] = min(float(delay), MAX_CRAWL_DELAY_S)
        return parser

    def allowed(self, url: str) -> None:
        """Raise FetchError unless the URL's address is allowed and robots.txt lets this user agent fetch it."""
        _check_scheme(url)
        try:
            self.addresses_of(url)
        except web_http.AddressRefusedError as exc:
            raise FetchError(f"{UNREACHABLE}: {exc} ({ALLOW_PRIVATE} allows it)") from exc
        except web_http.TransportError as exc:
            raise FetchError(_error_reason(exc, self.settings.fetch_timeout_s)) from exc
        robots = self._robots_for(url)
        if isinstance(robots, str):
            raise FetchError(robots)
        if not robots.can_fetch(self.agent, url):
            raise FetchError("forbidden by the site's robots.txt")

    # -- fetching ----------------------------------------------------------
    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """GET a URL politely, following allowed redirects; anything but a 200 (or a 304 to the validators given)
        is a FetchError."""
        current = urldefrag(url.strip())[0]
        conditional = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}
        for hop in range(self.settings.fetch_max_redirects + 1):
            if hop == 0:
                self.allowed(current)
            else:
                self._allowed_redirect(current)
            response = self._get_once(current, conditional)
            headers = response.headers
            if response.status in _REDIRECTS and headers.get("location"):
                target = urldefrag(urljoin(current, headers["location"].strip()))[0]
                if urlsplit(target).scheme.lower() not in ("http", "https"):
                    raise FetchError(f"redirected to a non-http(s) address ({urlsplit(target).scheme}:)")
                if hop == self.settings.fetch_max_redirects:
                    raise FetchError(f"more than {self.settings.fetch_max_redirects} redirects")
                current = target
                continue
            if response.status == 304 and conditional:
                return Fetched(url, current, "", b"", etag=etag, last_modified=last_modified, not_modified=True)
            if response.status != 200:
                raise FetchError(f"HTTP {response.status}")
            content_type = headers.get("content-type", "")
            return Fetched(
                url,
                current,
                content_type.split(";")[0].strip().lower(),
                response.body,
                charset=charset_of(content_type),
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
            )
        raise AssertionError("unreachable")

    def _allowed_redirect(self, target: str) -> None:
        try:
            self.allowed(target)
        except FetchError as exc:
            cause = exc.__cause__
            if isinstance(cause, web_http.AddressRefusedError):
                raise FetchError(f"redirected to {target}, but {cause}; not followed") from exc
            raise FetchError(f"redirected to {target}: {exc}") from exc
