"""How `rag ask` prints an answer: the streamed text, the checked answer with its shape, warnings and numbered
sources, and the timings; or the whole answer as JSON."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rag.types import Answer, Citation, StreamEvent


def print_answer(events: Iterable[StreamEvent], as_json: bool) -> None:
    """The streamed text, then the checked answer, its shape, warnings and numbered sources, and the timings;
    or the whole answer as JSON."""
    from rag.types import Delta, Final

    streamed, answer = False, None
    for event in events:
        if isinstance(event, Delta) and not as_json:
            typer.echo(event.text, nl=False)
            sys.stdout.flush()
            streamed = True
        elif isinstance(event, Final):
            answer = event.answer
    assert answer is not None  # every stream ends with its Final
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    # The streamed text is the model's, unchecked; an answer made without the model's words arrives whole.
    typer.echo(f"\n\nChecked answer: {answer.text}\n" if streamed else f"{answer.text}\n")
    if answer.doubt:
        typer.secho(f"Uncertain: {answer.doubt}", fg=typer.colors.YELLOW, bold=True)
    for line in shape_lines(answer):
        typer.secho(line, bold=line.startswith("Verdict"))
    if answer.warning:
        typer.secho(answer.warning, fg=typer.colors.YELLOW, err=True)
    for sentence in answer.unsupported_sentences:
        typer.secho(f"Not found in the sources: {sentence}", fg=typer.colors.YELLOW)
    if answer.refused and answer.searched:
        typer.echo("Searched: " + " · ".join(answer.searched))
    for n, c in answer.citations.items():
        typer.echo(citation_text(n, c))
    t = answer.timings
    typer.secho(
        f"retrieval {t.retrieval_ms:.0f} ms, first words {t.ttft_ms:.0f} ms, total {t.total_ms:.0f} ms",
        dim=True,
    )


def shape_lines(answer: Answer) -> list[str]:
    """The shape the answer path read: a yes/no answer's verdict, a list answer's items (a two-part
    question's answers each after the part it answers)."""
    verdict = [f"Verdict: {answer.verdict.upper()}"] if answer.verdict else []
    return verdict + [f"  • {'' if part is None else part + ' '}{item}" for part, item in answer.part_items]


def citation_text(n: int, c: Citation) -> str:
    """One numbered source: title, (site,) author, date and id, the article's URL if it has one, and the quote."""
    byline = "".join(f"{part}, " for part in (c.site if c.url else None, c.author) if part)
    link = f"\n    {c.url}" if c.url else ""
    return f"[{n}] {c.title} ({byline}{c.date or 'no date'}, {c.doc_id}){link}\n    „{c.quote}“"
