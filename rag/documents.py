"""Loading and cleaning of news article files (.txt / .md) into `Document`s.

Cleaning is deliberately conservative: a line is dropped only when it is short and matches a
general boilerplate pattern (share buttons, photo credits, "read more" teasers, agency credits),
so article content is never lost. Chunk offsets refer to `Document.text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rag.chunking import split_sentences

SUPPORTED_SUFFIXES = (".txt", ".md")

MAX_TITLE_CHARS = 150
MAX_BOILERPLATE_WORDS = 12  # longer lines are always kept, whatever they contain

_ISO_DATE = r"((?:19|20)\d\d-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)"
# " date 2022-11 <article text...>": a date marker that opens the file and runs into the text.
_DATE_MARKER_RE = re.compile(rf"\A\s*(?:date|datum)\s*:?\s*{_ISO_DATE}(?![\d-])[ \t]*", re.IGNORECASE)
# A header line that holds nothing but a date, e.g. "Datum: 2022-11-20" below the title.
_DATE_LINE_RE = re.compile(rf"(?:(?:date|datum)\s*:?\s*)?{_ISO_DATE}", re.IGNORECASE)
_DATE_LINE_SEARCH = 3  # non-empty lines below the title that may hold the date
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


class DocumentError(ValueError):
    """A file cannot be used as a document; the message says which file and why."""


@dataclass(frozen=True)
class Document:
    doc_id: str  # file stem
    title: str
    date: str | None  # "2022-11" or "2022-11-20" when the text gives one
    source: str  # the source path as given
    text: str  # cleaned body text; all chunk offsets refer to this string
    removed_lines: tuple[str, ...]  # boilerplate lines that were dropped


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


def _split_title(lines: list[str]) -> tuple[str, list[str]]:
    """Take the first non-empty line as the title; return it and the remaining lines."""
    for i, line in enumerate(lines):
        if line.strip():
            title = _MARKDOWN_HEADING_RE.sub("", line.strip(), count=1)
            return _shorten(title), lines[i + 1 :]
    return "", []


def _take_date_line(lines: list[str]) -> tuple[str | None, list[str]]:
    """Find a header line below the title that holds only a date, and remove it."""
    seen = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        match = _DATE_LINE_RE.fullmatch(line.strip())
        if match:
            return match.group(1), lines[:i] + lines[i + 1 :]
        seen += 1
        if seen >= _DATE_LINE_SEARCH:
            break
    return None, lines


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


def parse_document(raw: str, doc_id: str, source: str = "") -> Document:
    """Clean raw article text and split off its title and date."""
    text = _normalise(raw)
    if not text.strip():
        raise DocumentError(f"{source or doc_id}: the document is empty")
    marker = _DATE_MARKER_RE.match(text)
    if marker:
        # The date marker runs into the article text, so the first sentence doubles as title.
        date: str | None = marker.group(1)
        body_lines, removed = _drop_boilerplate(text[marker.end() :].split("\n"))
        body = _join_body(body_lines)
        sentences = split_sentences(body)
        title = _shorten(sentences[0].text) if sentences else ""
    else:
        title, rest = _split_title(text.split("\n"))
        date, rest = _take_date_line(rest)
        body_lines, removed = _drop_boilerplate(rest)
        # A one-line file is all title; keep it as body too so it can still be retrieved.
        body = _join_body(body_lines) or title
    if not body:
        raise DocumentError(f"{source or doc_id}: the document has no text besides its date marker")
    return Document(doc_id, title, date, source, body, tuple(removed))


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data:
        raise DocumentError(f"{name}: looks like a binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not valid UTF-8 (bad byte at offset {exc.start})") from exc


def load_document(path: str | Path) -> Document:
    """Read a .txt/.md file and parse it; problems raise `DocumentError` naming the file."""
    source, path = str(path), Path(path)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{path}: unsupported file type {path.suffix or '(none)'}; use .txt or .md")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    text = _decode(data, str(path))
    if not text.strip():
        raise DocumentError(f"{path}: the file is empty")
    return parse_document(text, path.stem, source)
