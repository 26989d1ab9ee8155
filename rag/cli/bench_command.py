"""`rag bench`: the command function; rag.cli.main registers it. Heavy imports stay inside the function."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.cli.common import debug_enabled, friendly_errors


def _sizes(text: str | None, option: str = "--sizes") -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        sizes = tuple(
            int(s.strip().lower().replace("k", "000").replace("m", "000000")) for s in text.split(",") if s.strip()
        )
    except ValueError:
        raise typer.BadParameter(f"{option} takes chunk counts like 1k,10k,100k, not {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise typer.BadParameter(f"{option} needs at least one positive chunk count")
    return sizes


def _url(text: str | None) -> str | None:
    if text is None:
        return None
    if not text.startswith(("http://", "https://")):
        raise typer.BadParameter(f"--embedding-server takes a URL like http://127.0.0.1:7997, not {text!r}")
    return text


CacheReplayOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-replay",
        exists=True,
        dir_okay=False,
        help="Only replay the chunk cache's rules over a month of questions on a 500,000-chunk archive, with "
        "the best chunks of this `rag eval` results.jsonl asked again among them and the size of the states "
        "saved by `rag index --warm`; write the hit rates (no model is loaded).",
    ),
]


def _modes(text: str | None) -> tuple[str, ...] | None:
    modes = tuple(m.strip() for m in (text or "").split(",") if m.strip())
    if any(m not in ("persistent", "http") for m in modes):
        raise typer.BadParameter(f"--archive-modes takes persistent, http or both, not {text!r}")
    return modes or None


def _archive(out: Path, sizes: str | None, modes: str | None, work: Path | None, max_build_min: float) -> None:
    """`rag bench --archive`: the Chroma store at archive scale; no model, no `eval` extra."""
    from rag.evaluation.bench.archive import ArchiveConfig, format_archive, run_archive
    from rag.evaluation.bench.harness import write_results
    from rag.settings import Settings

    cfg = ArchiveConfig(work_dir=work or out, k=Settings().top_k, max_build_s=max_build_min * 60)
    cfg.report = lambda line: typer.echo(line, err=True)
    cfg.sizes = _sizes(sizes, "--archive-sizes") or cfg.sizes
    cfg.modes = _modes(modes) or cfg.modes
    results = run_archive(cfg)
    path, latest = write_results(results, out, prefix="archive-")
    typer.echo(format_archive(results))
    for row, error in results["errors"].items():
        typer.secho(f"{row} failed: {error}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"\nWrote {path} and {latest}")
    if results["errors"]:
        raise typer.Exit(1)


ARCHIVE_HELP = (
    "Instead of the usual bench, measure the Chroma store alone at archive scale: stores of 100,000 and 1,000,000 "
    "synthetic chunks (random 768-dimension unit vectors, no model), in persistent mode and behind a local "
    "`chroma run`; retrieval p50/p95, disk, RSS, adding 1,000 chunks, build speed. Writes archive-<time>.json "
    "to --out. CPU-heavy: about an hour or more at 1,000,000 chunks on 2 cores."
)


EmbeddingServerOption = Annotated[
    str | None,
    typer.Option(
        "--embedding-server",
        metavar="URL",
        help="Also embed the seed chunks through this OpenAI-compatible embedding server (e.g. Infinity at "
        "http://127.0.0.1:7997, serving embedding_model) and report its chunks/s beside the in-process model's, "
        "their ratio and the hours for 100,000 articles each. Default: the configured embedding_backend when "
        "it is openai or ollama, else none.",
    ),
]
ArchiveSizesOption = Annotated[
    str | None, typer.Option("--archive-sizes", help="Store sizes for --archive (default 100k,1m), e.g. 2000,5000.")
]
ArchiveModesOption = Annotated[
    str | None, typer.Option("--archive-modes", help="Modes for --archive: persistent,http (default both).")
]
ArchiveDirOption = Annotated[
    Path | None, typer.Option("--archive-dir", help="Where --archive builds its stores (default: --out).")
]
ArchiveMaxBuildOption = Annotated[
    float, typer.Option("--archive-max-build-min", min=0.1, help="Stop a build after this long; measure it there.")
]


@friendly_errors
def bench_command(
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes and one run each (a smoke run).")] = False,
    skip_llm: Annotated[bool, typer.Option("--skip-llm", help="Skip the LLM answers and the LLM cold start.")] = False,
    repeat: Annotated[int | None, typer.Option("--repeat", min=1, help="Runs per figure (median).")] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for <timestamp>.json and latest.json (default: eval/runs/bench).")
    ] = Path("eval/runs/bench"),
    sizes: Annotated[str | None, typer.Option("--sizes", help="Synthetic store sizes, e.g. 1k,10k,100k.")] = None,
    questions: Annotated[int | None, typer.Option("--questions", min=1, help="Seed questions to answer.")] = None,
    llm_repeat: Annotated[int | None, typer.Option("--llm-repeat", min=1, help="LLM runs per question.")] = None,
    no_chat: Annotated[bool, typer.Option("--no-chat", help="Skip the chat-server start-up and RSS.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the table as Markdown.")] = False,
    cache_replay: CacheReplayOption = None,
    embedding_server: EmbeddingServerOption = None,
    archive: Annotated[bool, typer.Option("--archive", help=ARCHIVE_HELP)] = False,
    archive_sizes: ArchiveSizesOption = None,
    archive_modes: ArchiveModesOption = None,
    archive_dir: ArchiveDirOption = None,
    archive_max_build_min: ArchiveMaxBuildOption = 40.0,
) -> None:
    """Benchmark indexing, retrieval, answering, cold start and memory; write JSON and print a table.

    With --archive: the vector store alone at archive scale instead (see --archive)."""
    if archive:
        return _archive(out, archive_sizes, archive_modes, archive_dir, archive_max_build_min)
    from rag.evaluation.extras import require

    require("rag bench")  # the `eval` extra: one clear line when it is missing
    if cache_replay is not None:
        _cache_replay(cache_replay, out)
        return
    from rag.evaluation.bench import BenchConfig, format_table, run_bench, write_results

    cfg = BenchConfig.make(
        quick=quick,
        skip_llm=skip_llm,
        repeat=repeat,
        sizes=_sizes(sizes),
        n_questions=questions,
        llm_repeat=llm_repeat,
        chat=False if no_chat else None,
        embedding_server=_url(embedding_server),
        debug=debug_enabled(),
        report=lambda line: typer.echo(line, err=True),
    )
    results = run_bench(cfg)
    path, latest = write_results(results, out)
    build = results["meta"]["llama_cpp"]
    typer.echo(f"llama.cpp build ({build['flavour'] or 'flavour not recorded'}): {build['system_info']}\n")
    typer.echo(format_table(results, markdown=markdown))
    for section, error in results["errors"].items():
        typer.secho(f"{section} failed: {error}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"\nWrote {path} and {latest}")


def _cache_replay(results: Path, out: Path) -> None:
    import json
    import time

    from rag.cli.common import fail, make_settings
    from rag.evaluation.bench.cache_replay import NoStatesToMeasureError, format_replay, run_cache_replay

    settings = make_settings()
    states = settings.chunk_states_dir or settings.cache_dir / "chunk-states"
    try:
        figures = run_cache_replay(results, states, settings.cache_dir / "prefix-state")
    except (NoStatesToMeasureError, KeyError, ValueError) as exc:
        fail(f"cannot replay the chunk cache: {exc}", 2)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"cache-replay-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    typer.echo(format_replay(figures["runs"]))
    typer.echo(f"\nWrote {path}")
