"""From the planned article URLs to documents: each article fetched once, asked first whether it changed.

An article the index holds is fetched with the validators of its last fetch (ETag, Last-Modified); a 304 answer
costs no download and no re-embedding. The same article reached by two URLs (one canonical URL, or the same site
and text) is kept once. A page that fails is listed with its reason; the others are still returned.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urldefrag, urlsplit

from rag.ingest.documents import DocumentError, parse_document
from rag.ingest.formats import FormatError, extract
from rag.ingest.web.fetcher import Fetched, Fetcher, FetchError
from rag.ingest.web.sources import HTML_RE, HTML_TYPES, Notify, Plan, markup_text, plan
from rag.types import Document, WebOrigin


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


def page_document(fetched: Fetched, listed_by: str | None = None) -> Document:
    """The article of a fetched page, extracted like a saved HTML page, identified by its canonical URL."""
    if fetched.content_type and fetched.content_type not in HTML_TYPES and not HTML_RE.search(markup_text(fetched)):
        raise FetchError(f"not an HTML page (content type {fetched.content_type})")
    try:
        extracted = extract(fetched.data, ".html", url=fetched.final_url, charset=fetched.charset)
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
    origin = WebOrigin(fetched.url, listed_by, fetched.etag, fetched.last_modified)
    return replace(doc, url=url, site=site, origin=origin)


def content_key(doc: Document) -> str:
    """What makes two copies of an article the same article: the site and the text."""
    return hashlib.sha256(f"{doc.site}\x00{' '.join(doc.text.split())}".encode()).hexdigest()


@dataclass(frozen=True)
class KnownArticle:
    """An article the index holds, by the address it was fetched from."""

    doc_id: str
    origin: WebOrigin


@dataclass
class WebArticles:
    documents: list[Document] = field(default_factory=list)
    not_modified: list[tuple[str, str]] = field(default_factory=list)  # (URL, stored doc id) answered with a 304
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (URL, reason)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (URL, id of the document it repeats)
    plan: Plan = field(default_factory=Plan)
    outcome: dict[str, bool] = field(default_factory=dict)  # article URL -> whether it gave (or kept) an article


def fetch_articles(
    urls: Iterable[str],
    fetcher: Fetcher,
    notify: Notify | None = None,
    known: Mapping[str, KnownArticle] | None = None,
) -> WebArticles:
    """Fetch the named pages and the articles of the named feeds and sitemaps; each article once."""
    result = WebArticles()
    result.documents = list(iter_articles(result, urls, fetcher, notify, known))
    return result


def iter_articles(
    result: WebArticles,
    urls: Iterable[str],
    fetcher: Fetcher,
    notify: Notify | None = None,
    known: Mapping[str, KnownArticle] | None = None,
) -> Iterator[Document]:
    """fetch_articles one article at a time: each new document is yielded as soon as it is read, and `result`
    gets everything else (its plan first, then what was skipped, repeated or unchanged); its `documents` stay
    empty, so that a long feed is not held in memory."""
    result.plan = plan(urls, fetcher, notify)
    known = known or {}
    by_id: dict[str, str] = {}
    by_content: dict[str, str] = {}
    for url, source in result.plan.articles:
        listed_by = source.url if source.lists_articles else None
        before = known.get(url)
        try:
            fetched = result.plan.fetched.get(url) or fetcher.fetch(
                url, *((before.origin.etag, before.origin.last_modified) if before else (None, None))
            )
            if fetched.not_modified and before is not None:
                result.not_modified.append((url, before.doc_id))
                result.outcome[url] = True
                by_id[before.doc_id] = before.doc_id  # a later copy (an AMP page) of the same article is a copy
                continue
            doc = page_document(fetched, listed_by)
        except FetchError as exc:
            result.skipped.append((url, str(exc)))
            result.outcome[url] = False
            continue
        result.outcome[url] = True
        key = content_key(doc)
        first = by_id.get(doc.doc_id) or by_content.get(key)
        if first is not None:
            result.duplicates.append((url, first))
            continue
        by_id[doc.doc_id] = by_content[key] = doc.doc_id
        if notify:
            notify(f"fetched {url}")
        yield doc
