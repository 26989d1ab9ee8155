"""HTML for the chat: every piece of document text and model output is escaped here.

Only the tags written by this module are raw HTML (<a class="cite">, <mark>, <span>, <details>, <div>...).
The chat is shown in a gr.HTML component, whose template engine treats `${...}` and `{{...}}` specially,
so `esc` also turns `$`, `{` and `}` into character references.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from rag.answering import MARKER, marker_group_numbers, verdict_words
from rag.ingest import SUPPORTED_SUFFIXES
from rag.types import QUOTE_SEPARATOR, paired_items
from ui.style import CSS as CSS  # the chat's style sheet, kept apart from the HTML it styles

_TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;"})

REFUSAL_LABEL = {"de": "Keine Antwort in den Artikeln", "en": "Not answered by the articles"}
SEARCHED_LABEL = "Searched"
UNSUPPORTED_LABEL = "not found in the sources"
PREVIEW_LABEL = "Quick extractive preview – the model is writing its answer…"
WRITING_LABEL = "The model is writing…"
EVIDENCE_HINT = "Click a citation such as [1] in an answer to see its source here."


def esc(text: Any) -> str:
    """Escape untrusted text for HTML (and for the gr.HTML template engine)."""
    return html.escape("" if text is None else str(text), quote=True).translate(_TEMPLATE_CHARS)


def paragraphs(escaped: str) -> str:
    """Escaped text with blank lines as paragraph breaks and single newlines as <br>."""
    parts = [p.strip() for p in re.split(r"\n\s*\n", escaped.strip()) if p.strip()]
    return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in parts)


def cite_link(turn: int, n: int) -> str:
    turn, n = int(turn), int(n)
    return f'<a href="#" class="cite" data-turn="{turn}" data-n="{n}" title="Show source {n}">[{n}]</a>'


def link_citations(text: str, turn: int, numbers: Iterable[int]) -> str:
    """Escape `text` and turn each [n] with a known citation n into a link; other brackets stay text."""
    known = {int(n) for n in numbers}

    def replace(match: re.Match[str]) -> str:
        group = marker_group_numbers(match.group(1))
        return "".join(cite_link(turn, n) for n in group) if known.issuperset(group) else match.group(0)

    return MARKER.sub(replace, esc(text))


def mark_unsupported(html_text: str, sentences: Iterable[str]) -> str:
    """Set apart each answer sentence the citation check tied to no passage (`html_text` is escaped)."""
    for sentence in sentences:
        escaped = esc(sentence)
        if escaped and escaped in html_text:
            marked = (
                f'<span class="unsupported" title="{UNSUPPORTED_LABEL}">{escaped}</span>'
                f' <span class="unsupported-label">({UNSUPPORTED_LABEL})</span>'
            )
            html_text = html_text.replace(escaped, marked, 1)
    return html_text


def pending_citations(text: str) -> str:
    """Streamed model text: markers are numbered by passage until the checker renumbers them, so no links yet."""
    return MARKER.sub(r'<span class="cite-pending">[\1]</span>', esc(text))


def highlight_span(passage: str, start: int, quote_start: int, quote_end: int, quote: str = "") -> tuple[int, int]:
    """The quote's offsets inside the passage; passage, start and quote offsets are document offsets.

    Falls back to searching the quote text when the offsets do not point into the passage.
    Returns (-1, -1) when the quote cannot be found.
    """
    lo, hi = quote_start - start, quote_end - start
    if 0 <= lo < hi <= len(passage) and (not quote or passage[lo:hi].strip() == quote.strip()):
        return lo, hi
    if quote:
        found = passage.find(quote.strip())
        if found >= 0:
            return found, found + len(quote.strip())
    if 0 <= lo < hi <= len(passage):
        return lo, hi
    return -1, -1


def highlight(passage: str, start: int, quote_start: int, quote_end: int, quote: str = "") -> str:
    """The escaped passage with the supporting sentence wrapped in <mark>."""
    lo, hi = highlight_span(passage, start, quote_start, quote_end, quote)
    if lo < 0:
        return paragraphs(esc(passage))
    marked = f"{esc(passage[:lo])}<mark>{esc(passage[lo:hi])}</mark>{esc(passage[hi:])}"
    # A paragraph break inside the quote would split the <mark>; close and reopen it around breaks.
    out = []
    inside = False
    for piece in re.split(r"(<mark>|</mark>)", marked):
        if piece == "<mark>":
            inside = True
            out.append(piece)
        elif piece == "</mark>":
            inside = False
            out.append(piece)
        elif inside:
            out.append(re.sub(r"\n\s*\n", "</mark>\n\n<mark>", piece))
        else:
            out.append(piece)
    return paragraphs("".join(out))


def safe_link(url: Any) -> str | None:
    """A document's URL when it is an absolute http(s) address, else None (never javascript:, data:, …)."""
    text = str(url or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        return None
    return text


def article_link(url: Any, label: Any) -> str:
    """An escaped link to the article that opens in a new tab, or the escaped label alone when the URL is unsafe."""
    link = safe_link(url)
    if link is None:
        return esc(label)
    return f'<a class="ev-url" href="{esc(link)}" target="_blank" rel="noopener noreferrer nofollow">{esc(label)}</a>'


def _meta_line(title: Any, date: Any, doc_id: Any, author: Any = None, url: Any = None, site: Any = None) -> str:
    date_text = (f"{esc(author)}, " if author else "") + (esc(date) if date else "no date")
    source = ""
    if safe_link(url):
        source = f'<div class="ev-source">{esc(site) + " · " if site else ""}{article_link(url, url)}</div>'
    return (
        f'<div class="ev-title">{esc(title) or "(untitled)"}</div>'
        f'<div class="ev-meta"><span class="ev-date">{date_text}</span> · '
        f'<code class="ev-doc">{esc(doc_id)}</code></div>{source}'
    )


def render_evidence(citation: Mapping[str, Any] | None) -> str:
    """The evidence panel for one citation (a dict with Citation's fields)."""
    if not citation:
        return f'<div class="evidence empty">{esc(EVIDENCE_HINT)}</div>'
    body = highlight(
        str(citation.get("passage", "")),
        int(citation.get("start", 0)),
        int(citation.get("quote_start", 0)),
        int(citation.get("quote_end", 0)),
        str(citation.get("quote", "")),
    )
    return (
        f'<div class="evidence" data-n="{int(citation.get("n", 0))}">'
        f'<div class="ev-label">Source [{int(citation.get("n", 0))}]</div>'
        + _meta_line(
            citation.get("title"),
            citation.get("date"),
            citation.get("doc_id"),
            citation.get("author"),
            citation.get("url"),
            citation.get("site"),
        )
        + f'<div class="ev-passage">{body}</div></div>'
    )


def _uncited(answer: Mapping[str, Any]) -> str:
    rows = answer.get("uncited") or []
    if not rows:
        return ""
    items = "".join(
        f'<li><div class="un-head">{esc(r.get("title")) or "(untitled)"} · <code>{esc(r.get("doc_id"))}</code>'
        f" · score {float(r.get('score', 0.0)):.2f}</div>"
        f'<div class="un-text">{paragraphs(esc(r.get("text")))}</div></li>'
        for r in rows
    )
    return (
        f'<details class="uncited"><summary>Other retrieved passages, not cited ({len(rows)})</summary>'
        f"<ol>{items}</ol></details>"
    )


def _details(answer: Mapping[str, Any]) -> str:
    timings = answer.get("timings") or {}

    def ms(key: str) -> str:
        value = timings.get(key)
        return "–" if value is None else f"{float(value):.0f} ms"

    scores = ", ".join(
        f"{esc(r.get('doc_id'))}#{int(r.get('chunk_index', 0))}: {float(r.get('score', 0.0)):.3f}"
        for r in answer.get("retrieved") or []
    )
    rows = [
        ("Mode", esc(answer.get("mode"))),
        ("Backend", esc(answer.get("backend"))),
        ("Search query", esc(answer.get("condensed_question") or answer.get("question") or "")),
        ("Languages", f"question {esc(answer.get('question_lang'))}, answer {esc(answer.get('answer_lang'))}"),
        ("Timings", f"retrieval {ms('retrieval_ms')}, first token {ms('ttft_ms')}, total {ms('total_ms')}"),
        ("Scores", scores or "–"),
    ]
    markers = answer.get("markers_total")
    if markers:
        rows.append(
            (
                "Citation check",
                f"{int(markers)} markers, {int(answer.get('markers_invalid', 0))} invalid, "
                f"{int(answer.get('markers_added', 0))} added",
            )
        )
    cells = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<details class="retrieval" open><summary>Retrieval details</summary><table>{cells}</table></details>'


def _site(citation: Mapping[str, Any]) -> str:
    """A web article's site, linked to the article, and a separator; nothing for files."""
    if not safe_link(citation.get("url")):
        return ""
    return f"{article_link(citation.get('url'), citation.get('site') or citation.get('url'))}, "


def _verdict(answer: Mapping[str, Any]) -> str:
    """A yes/no answer leads with its verdict, set apart."""
    verdict = answer.get("verdict")
    if verdict not in ("yes", "no"):
        return ""
    label = verdict_words(str(answer.get("answer_lang")))[verdict]
    return f'<div class="verdict {verdict}">{esc(label)}</div>'


def _items(answer: Mapping[str, Any], turn: int, numbers: list[int]) -> str:
    """A list answer's items as a list, in place of the model's words; a two-part question's answers each
    under the part it answers."""
    items = answer.get("items") or []
    if not items:
        return ""
    rows = "".join(
        f"<li>{_part_label(part)}{link_citations(str(item), turn, numbers)}</li>"
        for part, item in paired_items(answer.get("parts") or [], items)
    )
    return f'<ul class="items">{rows}</ul>'


def _part_label(part: str | None) -> str:
    return "" if part is None else f'<span class="part">{esc(part)}</span> '


def render_answer(answer: Mapping[str, Any], turn: int, show_details: bool = False) -> str:
    """A finished answer: linked citations, a distinct look for refusals, warnings, uncited passages."""
    parts = []
    if answer.get("warning"):
        parts.append(f'<div class="note warn">⚠ {esc(answer["warning"])}</div>')
    if answer.get("refused"):
        label = REFUSAL_LABEL.get(str(answer.get("answer_lang")), REFUSAL_LABEL["en"])
        searched = answer.get("searched") or []
        looked = f'<div class="searched">{esc(SEARCHED_LABEL)}: {esc(" · ".join(searched))}</div>' if searched else ""
        parts.append(
            f'<div class="answer refusal"><span class="refusal-label">{esc(label)}</span>'
            f"{paragraphs(esc(answer.get('answer', '')))}{looked}</div>"
        )
    else:
        citations = answer.get("citations") or []
        numbers = [int(c["n"]) for c in citations]
        written = str(answer.get("answer", ""))
        if answer.get("items"):  # the items stand for the model's words; the quote under them stays
            quote = str(answer.get("quote") or "")
            written = QUOTE_SEPARATOR.lstrip() + quote if quote else ""
        text = link_citations(written, turn, numbers)
        text = paragraphs(mark_unsupported(text, answer.get("unsupported_sentences") or []))
        text = _verdict(answer) + _items(answer, turn, numbers) + text
        sources = "".join(
            f"<li>{cite_link(turn, int(c['n']))} {esc(c.get('title')) or '(untitled)'}"
            f' <span class="src-meta">({_site(c)}{esc(c.get("date") or "no date")}, '
            f"<code>{esc(c.get('doc_id'))}</code>)</span></li>"
            for c in citations
        )
        # Given, but marked: the signals doubt that the articles say this (rag.answering.doubts).
        doubt = f'<div class="note doubt">? {esc(answer["doubt"])}</div>' if answer.get("doubt") else ""
        uncertain = " uncertain" if answer.get("doubt") else ""
        parts.append(f'<div class="answer{uncertain}">{doubt}{text}</div>')
        if sources:
            parts.append(f'<ul class="sources">{sources}</ul>')
    parts.append(_uncited(answer))
    if show_details:
        parts.append(_details(answer))
    return "".join(parts)


def render_turn(turn: Mapping[str, Any], index: int, show_details: bool = False) -> str:
    question = f'<div class="msg user"><div class="bubble">{paragraphs(esc(turn.get("question", "")))}</div></div>'
    status = turn.get("status")
    if status == "error":
        body = f'<div class="note error">{esc(turn.get("error"))}</div>'
    elif status == "preview":
        body = f'<div class="status-line">{esc(PREVIEW_LABEL)}</div>' + render_answer(
            turn.get("answer") or {}, index, show_details=False
        )
    elif status == "streaming":
        body = (
            f'<div class="status-line">{esc(WRITING_LABEL)}</div><div class="answer streaming">'
            f'{paragraphs(pending_citations(turn.get("text", "")))}<span class="cursor">▌</span></div>'
        )
    else:
        body = render_answer(turn.get("answer") or {}, index, show_details)
    return f'{question}<div class="msg bot {esc(status)}" data-turn="{index}"><div class="bubble">{body}</div></div>'


def render_chat(turns: Sequence[Mapping[str, Any]], show_details: bool = False, placeholder: str = "") -> str:
    if not turns:
        return f'<div class="chat-log empty"><div class="placeholder">{esc(placeholder)}</div></div>'
    inner = "".join(render_turn(t, i, show_details) for i, t in enumerate(turns))
    return f'<div class="chat-log">{inner}</div>'


def _join_chunks(chunks: list[Any]) -> str:
    """Rebuild the indexed text from overlapping chunks (each knows its document offsets)."""
    text, cursor = "", None
    for chunk in sorted(chunks, key=lambda c: c.start):
        if cursor is None or chunk.start >= cursor:
            text += ("\n\n" if text else "") + chunk.text
        elif chunk.end > cursor:
            text += chunk.text[cursor - chunk.start :]
        cursor = max(cursor or 0, chunk.end)
    return text


def render_document(info: Any, chunks: list[Any], kind: str) -> str:
    """Preview of an indexed document, rebuilt from its chunks."""
    if info is None:
        return '<div class="doc-preview empty">Select a document to preview it.</div>'
    return (
        '<div class="doc-preview">'
        + _meta_line(
            info.title, info.date, info.doc_id, url=getattr(info, "url", None), site=getattr(info, "site", None)
        )
        + f'<div class="ev-meta">{int(info.chunks)} chunks · {esc(kind)}</div>'
        f'<div class="doc-text">{paragraphs(esc(_join_chunks(chunks)))}</div></div>'
    )


def upload_label(max_mb: float, suffixes: Sequence[str] = SUPPORTED_SUFFIXES) -> str:
    """The upload field's label, naming every suffix the ingester reads (rag.ingest.UPLOAD_SUFFIXES)."""
    named = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else "".join(suffixes)
    return f"Upload an article ({named}, at most {max_mb:.1f} MB)"


def status_html(message: str, kind: str = "ok") -> str:
    kind = kind if kind in ("ok", "warn", "error", "info") else "info"
    return f'<div class="note {kind}">{esc(message)}</div>'
