"""`rag index`: the command, its progress bar and report, `--warm` and the `--dry-run` listing (registered in
rag.cli.main). Heavy imports stay inside the functions so that --help stays fast."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli.common import fail, friendly_errors, make_settings

if TYPE_CHECKING:
    from rag.ingest import IndexReport
    from rag.settings import Settings

EXIT_ALL_SOURCES_FAILED = 3  # `rag index`: every named file, folder and URL failed (documented in --help)

SourcesArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[PATH_OR_URL]...",
        help="Files or folders of articles (.txt, .md, .html/.htm, .pdf, .docx), or http(s) URLs of "
        "article pages, RSS/Atom feeds and sitemaps (a feed or sitemap brings in the articles it lists).",
    ),
]
RebuildOption = Annotated[bool, typer.Option(help="Re-embed everything (after changing the embedding model).")]
PruneOption = Annotated[
    bool,
    typer.Option(
        help="Remove indexed documents whose source this run checked and found gone: files missing from the "
        "folders named, articles a named feed or sitemap no longer lists. Nothing that could not be read is "
        "removed (an unreachable feed, a failed article, a folder not named)."
    ),
]
WaitOption = Annotated[bool, typer.Option(help="Wait for another running `rag index` instead of stopping.")]
WarmOption = Annotated[
    bool,
    typer.Option(
        "--warm",
        help="Then compute the local LLM's prompt state for every chunk, newest articles first (about 1 s and "
        "7 MB each), so that a question whose best passage is any of them starts answering sooner. "
        "chunk_states_mb caps the space; see --newest.",
    ),
]
NewestOption = Annotated[
    int | None,
    typer.Option(
        "--newest",
        min=1,
        help="With --warm: only the chunks of the N newest articles (by date), e.g. after a feed refresh from "
        "cron: `rag index https://example.org/feed.xml --warm --newest 50`.",
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Show each source (what it was read as, how many articles it lists) and each file or article as "
        "new, changed, unchanged, known (the site is asked whether it changed) or skipped with its reason; "
        "with --prune, what would be removed. Reads the named URLs, their feeds, sitemaps and robots.txt, but "
        "no article, and changes nothing.",
    ),
]


@friendly_errors
def index_command(
    sources: SourcesArgument = None,
    rebuild: RebuildOption = False,
    prune: PruneOption = False,
    wait: WaitOption = False,
    warm: WarmOption = False,
    newest: NewestOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Index articles (default: seeds/). Unchanged documents are skipped; changed ones are replaced.

    Only URLs named here are fetched; everything else stays offline. Exit codes: 0 when the run did what it could
    (failed files and URLs are listed), 3 when every named source failed, 1 on an error, 2 on bad usage or settings.
    """
    from rag.ingest import is_url

    if newest is not None and not warm:
        fail("--newest only limits --warm: add --warm", 2)
    settings = make_settings()
    named = list(sources or [str(settings.seeds_dir)])
    urls = [s for s in named if is_url(s)]
    paths = [Path(s) for s in named if not is_url(s)]
    if dry_run:
        print_dry_run(paths, urls, settings, prune)
        return
    report = _index_with_progress_bar(paths, urls, settings, rebuild=rebuild, prune=prune, wait=wait)
    print_index_report(report)
    if report.every_source_failed:
        failed = ", ".join(s.name for s in report.sources)
        fail(f"nothing could be indexed: every named source failed ({failed})", EXIT_ALL_SOURCES_FAILED)
    if warm:
        warm_prompt_states(settings, newest)


def _index_with_progress_bar(
    paths: list[Path], urls: list[str], settings: Settings, *, rebuild: bool, prune: bool, wait: bool
) -> IndexReport:
    """The index run, with a bar over the chunks embedded (shown only once something is embedded)."""
    from tqdm import tqdm

    from rag.ingest import index_paths
    from rag.models import get_embedder
    from rag.store import open_store

    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="chunk", desc="Embedding")
        bar.total = total  # grows while the articles after these are still being read
        bar.update(done - bar.n)

    def notify(message: str) -> None:  # from the reader's thread: printed above the bar once there is one
        if bar is None:
            typer.echo(message, err=True)
        else:
            tqdm.write(message, file=sys.stderr)

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
        notify=notify,
    )
    if bar is not None:
        bar.close()
    return report


def print_index_report(report: IndexReport) -> None:
    """What the run skipped, found twice, noted and dropped (on stderr, but the dropped lines), then the counts."""
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


def warm_prompt_states(settings: Settings, newest: int | None = None) -> None:
    """`--warm`: the local LLM's prompt state of every chunk (of the `newest` articles), with a progress bar and
    what it cost."""
    from tqdm import tqdm

    from rag.answering import NothingToWarmError, warm_chunk_states
    from rag.wiring import get_service

    service = get_service(settings)
    with tqdm(unit="chunk", desc="Prompt states") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            warmup = warm_chunk_states(service, progress, newest)
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


def print_dry_run(paths: list[Path], urls: list[str], settings: Settings, prune: bool) -> None:
    """`--dry-run`: each source and what indexing would do with each of its files or articles."""
    from rag.ingest import preview_index
    from rag.store import open_store

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
