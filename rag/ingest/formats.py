"""Turning a file's bytes into text plus the metadata its format carries.

One library per format does the real work: trafilatura finds the article in a saved web page,
pypdf reads PDFs, python-docx reads Word files. They are imported only when a file of their
kind is read, so the command line starts fast. Nothing here touches the network: trafilatura
only parses the string it is given.

Every problem is a `FormatError` whose message completes a sentence that starts with the file
name, e.g. ``f"{name} {exc}"`` gives "report.pdf has no extractable text (is it a scan?)".
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rag.errors import NewsragError

SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")

_ISO_DATE_RE = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?")
_PDF_MAGIC = b"%PDF-"
MAX_UNPACKED_HTML_BYTES = 20_000_000  # a gzipped saved page unpacks to at most this
# Stand-in for trafilatura's <lb/> (a <br> in the page) while whitespace is collapsed.
_LINE_BREAK = "\ue000"
_PARAGRAPH_BREAK_RE = re.compile(rf"\s*{_LINE_BREAK}\s*(?:{_LINE_BREAK}\s*)+")
# Elements of trafilatura's output tree that hold whole blocks of text.
_BLOCK_TAGS = frozenset({"p", "head", "list", "quote", "table", "code", "div", "ab"})
# Trafilatura options, chosen by trying them on the pages in tests/data/formats/ and on the 990
# real pages of trafilatura's own evaluation set (snippets that must / must not be in the text):
# - balanced mode (favor_precision=False): it found more of the article text (recall 0.944 against
#   0.920) for a little more boilerplate (precision 0.906 against 0.923). A missed paragraph cannot
#   be retrieved, while short leftover lines are dropped later (rag.ingest.documents.is_boilerplate).
#   Precision mode also switches off trafilatura's baseline rescue and recall retry.
# - include_tables=True: old sites lay out whole pages in tables (without tables, the table-layout
#   test page came out whole, navigation, ads and footer included) and data tables carry facts
#   such as election results (recall 0.934 without tables).
# - no comments, and dates only from the page's metadata: htmldate's extensive search took a date
#   mentioned in the article text as the publication date.
_TRAFILATURA_OPTIONS: dict[str, Any] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": True,
    "favor_precision": False,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
}
# python-docx's built-in template stamps these on every file made from it.
_DOCX_TEMPLATE_AUTHOR = "python-docx"
_DOCX_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15).date()


class FormatError(NewsragError, ValueError):
    """The file cannot be read; the message says why in user words (the caller prefixes the file name)."""


@dataclass(frozen=True)
class Extracted:
    text: str  # the body text (for .txt/.md: the whole decoded file, unchanged apart from BOM removal)
    title: str | None  # from the format's metadata (None for txt/md)
    date: str | None  # ISO date "YYYY-MM-DD" (or "YYYY-MM") when the format carries one
    author: str | None
    format: str  # "text", "markdown", "html", "pdf", "docx"
    url: str | None = None  # web pages: the page's canonical URL (or the address it was read from)
    site: str | None = None  # web pages: the site's name (og:site_name), when the page gives one


def extract(data: bytes, suffix: str, url: str | None = None, charset: str | None = None) -> Extracted:
    """Text and metadata of a file with the given suffix (".pdf", "PDF" and "pdf" all work).

    `url` is where a web page was fetched from; trafilatura then also reports its canonical URL and site.
    `charset` is the one its server declared (rag.ingest.decoding weighs it against the page's own).
    """
    suffix = suffix.lower() if suffix.startswith(".") or not suffix else f".{suffix.lower()}"
    if suffix in (".txt", ".md"):
        return Extracted(_decode_text(data), None, None, None, "text" if suffix == ".txt" else "markdown")
    if suffix in (".html", ".htm"):
        return _extract_html(data, url, charset)
    if suffix == ".pdf":
        return _extract_pdf(data)
    if suffix == ".docx":
        return _extract_docx(data)
    if not suffix:
        raise FormatError(f"has no file suffix; supported are {', '.join(SUPPORTED_SUFFIXES)}")
    hint = " (save it as .docx)" if suffix == ".doc" else ""
    raise FormatError(f"has the unsupported type {suffix}{hint}; supported are {', '.join(SUPPORTED_SUFFIXES)}")


def _clean(value: object) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _iso_date(value: str | date | None) -> str | None:
    if isinstance(value, date):  # datetime is a date too
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    match = _ISO_DATE_RE.match(value or "")
    return match.group(0) if match else None


def _missing(package: str, kind: str, exc: ImportError) -> FormatError:
    return FormatError(f"cannot be read: {kind} files need the {package} package (pip install {package}): {exc}")


# --- .txt / .md ---------------------------------------------------------------------------------


def _decode_text(data: bytes) -> str:
    if data.startswith(_PDF_MAGIC):
        raise FormatError("is a PDF, not text; give it a .pdf name")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FormatError("is UTF-16 encoded; save it as UTF-8 text")
    nul = data.find(b"\x00")
    if nul != -1:
        raise FormatError(f"looks like a binary file, not text (NUL byte at offset {nul})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"is not valid UTF-8 text (byte 0x{data[exc.start]:02X} at offset {exc.start}); save it as UTF-8"
        ) from exc
    return text.removeprefix("\ufeff")


# --- .html / .htm -------------------------------------------------------------------------------


def _collapse(raw: str) -> list[str]:
    """Paragraphs of one text block: two or more <br> in a row split paragraphs, one keeps a line break."""
    from trafilatura.utils import sanitize  # what trafilatura's own text output does to each line

    text = " ".join(raw.split())
    paragraphs = []
    for part in _PARAGRAPH_BREAK_RE.split(text):
        if paragraph := sanitize(part.replace(_LINE_BREAK, "\n")):
            paragraphs.append(paragraph)
    return paragraphs


def _ordered_text(element: Any) -> str:
    """All text of `element` in document order; <lb/> and nested blocks become `_LINE_BREAK`s, items "- " lines."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append(_LINE_BREAK)
        elif child.tag == "item":
            parts.append(f"{_LINE_BREAK}- {_ordered_text(child)}")
        elif child.tag == "list":  # its items start their own lines
            parts.append(f"{_ordered_text(child)}{_LINE_BREAK}")
        elif child.tag in _BLOCK_TAGS:
            parts.append(f"{_LINE_BREAK}{_ordered_text(child)}{_LINE_BREAK}")
        else:
            parts.append(_ordered_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _is_layout_table(table: Any) -> bool:
    """A table whose cells hold paragraphs or headings lays out a page; a data table holds short values."""
    return any(block.tag in _BLOCK_TAGS for row in table for cell in row for block in cell)


def _blocks(container: Any) -> Iterator[str]:
    """Text blocks of trafilatura's output tree, one per paragraph, in document order."""
    from trafilatura.xml import xmltotxt

    yield from _collapse(container.text or "")
    for child in container:
        if child.tag == "table" and _is_layout_table(child):
            for row in child:
                for cell in row:
                    yield from _blocks(cell)
        elif child.tag in ("p", "head"):
            yield from _collapse(_ordered_text(child))
        elif child.tag in ("quote", "div", "ab") and any(block.tag in _BLOCK_TAGS for block in child):
            yield from _blocks(child)
        elif text := xmltotxt(child, False).strip():  # lists, data tables, code: trafilatura's rendering
            yield "\n".join(line.rstrip() for line in text.splitlines())
        yield from _collapse(child.tail or "")


def _extract_html(data: bytes, url: str | None = None, charset: str | None = None) -> Extracted:
    try:
        import trafilatura
    except ImportError as exc:
        raise _missing("trafilatura", "HTML", exc) from exc
    from rag.ingest.decoding import TooLargeError, decode_markup, unpack

    try:  # a saved page may be gzipped; it is unpacked only up to a limit
        page = decode_markup(unpack(data, MAX_UNPACKED_HTML_BYTES), charset)
    except TooLargeError as exc:
        raise FormatError(f"{exc} (a compressed page; the limit is for pages unpacked)") from exc
    except ValueError as exc:
        raise FormatError(str(exc)) from exc
    if "\x00" in page:
        raise FormatError("looks like a binary file, not a web page (it contains NUL bytes)")
    date_params = {"original_date": True, "extensive_search": False, "max_date": date.today().isoformat()}
    try:
        # A trafilatura Document (title, author, date, body: its output tree) or None when it found nothing.
        document: Any = trafilatura.bare_extraction(
            page, url=url, date_extraction_params=date_params, **_TRAFILATURA_OPTIONS
        )
        text = "\n\n".join(_blocks(document.body)) if document is not None and document.body is not None else ""
        if not text:
            # trafilatura's own last resort (it usually runs it already): embedded JSON, <article>, <p>, all text
            _body, baseline_text, _length = trafilatura.baseline(page)
            text = "\n\n".join(line.strip() for line in baseline_text.splitlines() if line.strip())
            if text and document is None:
                document = trafilatura.extract_metadata(page, default_url=url, date_config=date_params)
    except Exception as exc:  # lxml and trafilatura raise many types on malformed input
        raise FormatError(f"cannot be read as a web page ({type(exc).__name__}: {exc})") from exc
    if not text:
        raise FormatError(
            "has no article text that could be extracted (is the page empty, or does it load its text with JavaScript?)"
        )
    return Extracted(
        text=text,
        title=_clean(getattr(document, "title", None)),
        date=_iso_date(getattr(document, "date", None)),
        author=_clean(getattr(document, "author", None)),
        format="html",
        url=_clean(getattr(document, "url", None)) if url else None,
        site=_clean(getattr(document, "sitename", None)) if url else None,
    )


# --- .pdf ---------------------------------------------------------------------------------------


def _extract_pdf(data: bytes) -> Extracted:
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError
    except ImportError as exc:
        raise _missing("pypdf", "PDF", exc) from exc
    if _PDF_MAGIC not in data[:1024]:
        raise FormatError("is not a PDF (it does not start with %PDF-)")
    try:
        reader = PdfReader(io.BytesIO(data))
        # Many "protected" PDFs are encrypted with an empty user password; those open without one.
        if reader.is_encrypted and not reader.decrypt(""):
            raise FormatError("is a password-protected PDF; save an unprotected copy")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        metadata = reader.metadata
    except FormatError:
        raise
    except DependencyError as exc:  # AES encryption needs the optional cryptography package
        raise FormatError(f"is an encrypted PDF that pypdf cannot open here ({exc}); save an unencrypted copy") from exc
    except Exception as exc:  # pypdf raises many unrelated types on broken files
        raise FormatError(f"cannot be read as a PDF; the file is damaged or incomplete ({type(exc).__name__})") from exc
    text = "\n\n".join(page for page in pages if page)
    if not text:
        raise FormatError("has no extractable text (is it a scan?)")
    title = author = created = None
    if metadata is not None:
        title, author = _clean(metadata.title), _clean(metadata.author)
        try:
            created = _iso_date(metadata.creation_date)
        except Exception:  # a malformed date string in the metadata is not worth rejecting the file
            created = None
    return Extracted(text=text, title=title, date=created, author=author, format="pdf")


# --- .docx --------------------------------------------------------------------------------------


def _extract_docx(data: bytes) -> Extracted:
    try:
        import docx
    except ImportError as exc:
        raise _missing("python-docx", "Word", exc) from exc
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for item in document.iter_inner_content():  # paragraphs and tables in document order
            if hasattr(item, "rows"):
                rows = (" | ".join(_clean(cell.text) or "" for cell in row.cells) for row in item.rows)
                blocks.append("\n".join(row for row in rows if row.strip(" |")))
            else:
                blocks.append(item.text.strip())
        properties = document.core_properties
        title, author, created = _clean(properties.title), _clean(properties.author), properties.created
    except Exception as exc:  # zipfile, lxml and python-docx raise many types on broken files
        raise FormatError(
            f"cannot be read as a Word .docx file; the file is damaged or not a .docx ({type(exc).__name__})"
        ) from exc
    text = "\n\n".join(block for block in blocks if block)
    if not text:
        raise FormatError("has no text")
    if author == _DOCX_TEMPLATE_AUTHOR and created is not None and created.date() == _DOCX_TEMPLATE_CREATED:
        author = created = None  # python-docx's template defaults, not facts about this document
    return Extracted(text=text, title=title, date=_iso_date(created), author=author, format="docx")
