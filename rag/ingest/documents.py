"""Cleaning article text into `Document`s (rag.ingest.formats reads the files: .txt, .md, .html, .pdf, .docx).

Cleaning is deliberately conservative: a line is dropped only when it is short and matches a
general boilerplate pattern (share buttons, photo credits, "read more" teasers, agency credits),
and every dropped line is reported in `Document.removed_lines`. The title is derived for display;
the heading line stays in the text. Chunk offsets refer to `Document.text`.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.errors import NewsragError
from rag.ingest.formats import SUPPORTED_SUFFIXES, FormatError, extract
from rag.sentences import split_sentences
from rag.types import Document

__all__ = ["SUPPORTED_SUFFIXES", "Document", "DocumentError", "load_document", "parse_bytes", "parse_document"]

MAX_TITLE_CHARS = 150
MAX_BOILERPLATE_WORDS = 12  # longer lines are always kept, whatever they contain

_ISO_DATE = r"((?:19|20)\d\d-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)"
# " date 2022-11 <article text...>": a date marker that opens the file and runs into the text.
_DATE_MARKER_RE = re.compile(rf"\A\s*(?:date|datum)\s*:?\s*{_ISO_DATE}(?![\d-])[ \t]*", re.IGNORECASE)
# A header line that holds nothing but a date, e.g. "Datum: 2022-11-20" below the title.
_DATE_LINE_RE = re.compile(rf"(?:(?:date|datum)\s*:?\s*)?{_ISO_DATE}", re.IGNORECASE)
_DATE_LINE_SEARCH = 4  # non-empty lines at the top (title included) that may hold the date
_MARKDOWN_HEADING_RE = re.compile(r"#{1,6}\s+")

_SHARE_WORDS = (
    r"teilen|twittern|tweet|tweeten|twitter|facebook|whatsapp|e-mail|email|guardar|compartir|drucken|share"
    r"|print|linkedin|xing|pinterest|telegram|messenger|reddit|flipboard|bluesky|mastodon"
)
_AGENCIES = r"(?:dpa|afp|ap|reuters|efe|kna|epd|sda|apa|ddp|ani|ansa|tass|xinhua)"
_BOILERPLATE_RES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"^(?:(?:{_SHARE_WORDS})(?![\w-])[\s|·•/,:]*)+$",  # share buttons: "Teilen", "Facebook | WhatsApp"
        # Photo/graphic credits and captions: "(Foto: dpa)", "Bild: Getty", "Quelle: dpa".
        r"^\(?\s*(?:foto|fotos|bild|bilder|photo|image|grafik|video|quelle|source|credit|bildquelle|copyright)\s*:",
        r"©|\(archivbild\)|\b(?:getty images|picture[ -]alliance|imago|shutterstock|istock|ap photo)\b",
        rf"\b(?:{_AGENCIES}|epa)\s*/",  # "REUTERS/Gonzalo Fuentes", "EFE/..."
        rf"^\(?\s*{_AGENCIES}(?:\s*[/,|·]\s*{_AGENCIES})*\s*\)?\.?$",  # bare agency credit: "AFP/dpa"
        # Agency and editing credits at the end of wire stories.
        r"^\(?\s*mit (?:material|informationen|agenturmaterial) (?:von|der|des)\b",
        r"^(?:berichterstattung|redaktion|reporting|editing|writing) (?:von|by)\b",
        r"^(?:unsere standards|our standards)\s*:",
        r"^(?:von|by|autor|autorin|author)\s*:\s*\S",  # byline "Von: Felix Durach"
        r"^\([^\W\d_]{1,4}(?:\s*[/,]\s*[^\W\d_]{1,4})*\)$",  # author/agency initials: "(fd)", "(dpa/red)"
        # "Read more" teasers pointing at other articles.
        r"^(?:lesen sie (?:auch|weiter|mehr)|mehr zum thema|read more|weiterlesen|weiter lesen"
        r"|das könnte sie auch interessieren|auch interessant)\b",
        r"^(?:mehr dazu|siehe auch|zum thema|related|empfehlungen)\s*(?::.*)?$",
    )
)


class DocumentError(NewsragError, ValueError):
    """A file cannot be used as a document; the message says which file and why."""


def _normalise(raw: str) -> str:
    text = raw.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def is_boilerplate(line: str) -> bool:
    """Whether a (stripped) line is a short share/credit/teaser line that carries no article content."""
    if not line or len(line.split()) > MAX_BOILERPLATE_WORDS:
        return False
    return any(pattern.search(line) for pattern in _BOILERPLATE_RES)


def _shorten(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:–—-") + "…"


def _is_heading(line: str, rest: list[str]) -> bool:
    """A first line that names the article rather than opening it: short, no closing period, text below."""
    if _MARKDOWN_HEADING_RE.match(line):
        return True
    has_more = any(other.strip() for other in rest)
    return has_more and len(line) <= MAX_TITLE_CHARS and not line.rstrip().endswith((".", ",", ";", ":"))


def derive_title(lines: list[str]) -> str:
    """The first line when it is a heading, else the opening sentence, shortened for display."""
    for i, line in enumerate(lines):
        if line.strip():
            if _is_heading(line.strip(), lines[i + 1 :]):
                return _shorten(_MARKDOWN_HEADING_RE.sub("", line.strip(), count=1))
            sentences = split_sentences(line)
            return _shorten(sentences[0].text if sentences else line)
    return ""


def _take_date_line(lines: list[str]) -> tuple[str | None, list[str], str | None]:
    """Find a line near the top that holds only a date; return the date, the other lines and that line."""
    seen = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        match = _DATE_LINE_RE.fullmatch(line.strip())
        if match:
            return match.group(1), lines[:i] + lines[i + 1 :], line.strip()
        seen += 1
        if seen >= _DATE_LINE_SEARCH:
            break
    return None, lines, None


def _drop_boilerplate(lines: list[str]) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    removed: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if is_boilerplate(stripped) or _is_caption_echo(stripped, lines[i + 1 :]):
            removed.append(stripped)
        else:
            kept.append(line)
    return kept, removed


def _is_caption_echo(line: str, following: list[str]) -> bool:
    """A short line repeated as the start of the next line (image alt text above its caption)."""
    if not line or len(line.split()) > MAX_BOILERPLATE_WORDS:
        return False
    nxt = next((f.strip() for f in following if f.strip()), "")
    return len(nxt) > len(line) and nxt.startswith(line + " ")


def _join_body(lines: list[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def parse_document(
    raw: str,
    doc_id: str,
    source: str = "",
    title: str | None = None,
    date: str | None = None,
    author: str | None = None,
    format: str = "text",
) -> Document:
    """Clean raw article text; `title`, `date` and `author` come from the file format when it has them.

    Nothing is dropped silently: the body keeps every line except the date marker or date-only line
    (which becomes `date`) and boilerplate lines, and those are listed in `removed_lines`.
    """
    text = _normalise(raw)
    if not text.strip():
        raise DocumentError(f"{source or doc_id}: the document is empty")
    removed: list[str] = []
    lines = text.split("\n")
    marker = _DATE_MARKER_RE.match(text)
    if marker:  # " date 2022-11 <article text…>": the marker runs into the text
        removed.append(marker.group(0).strip())
        date = date or marker.group(1)
        lines = text[marker.end() :].split("\n")
    else:
        found, lines, date_line = _take_date_line(lines)
        date = date or found
        removed += [date_line] if date_line else []
    body_lines, boilerplate = _drop_boilerplate(lines)
    removed += boilerplate
    body = _join_body(body_lines)
    if not body:
        raise DocumentError(f"{source or doc_id}: the document has no text besides its date or boilerplate lines")
    shown_title = _shorten(title) if title and title.strip() else derive_title(body.split("\n"))
    return Document(doc_id, shown_title, date, source, body, tuple(removed), author, format)


def load_document(path: str | Path) -> Document:
    """Read a supported file and parse it; problems raise `DocumentError` naming the file."""
    source, path = str(path), Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    return parse_bytes(data, path.name, path.stem, source)


def parse_bytes(data: bytes, name: str, doc_id: str, source: str = "") -> Document:
    """Extract and parse a file's content; `name` (for its suffix and messages) may be untrusted."""
    try:
        extracted = extract(data, Path(name).suffix)
    except FormatError as exc:
        raise DocumentError(f"{name}: {exc}") from exc
    if not extracted.text.strip():
        raise DocumentError(f"{name}: the file is empty (it has no text)")
    return parse_document(
        extracted.text,
        doc_id,
        source or name,
        extracted.title,
        extracted.date,
        extracted.author,
        extracted.format,
    )
