"""`rag eval`: run a question set through the answer pipeline and write a report (registered in rag.cli.main)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.common import BaseUrlOption, LlmOption, ModelOption, TopKOption, fail, friendly_errors
from rag.evaluation.spec_keys import SPEC_KEYS

FileArgument = Annotated[
    Path,
    typer.Argument(metavar="FILE", help="Question set, JSONL (format: docs/question-sets.md), e.g. eval/dev.jsonl."),
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out", "-o", help="Output folder (default: eval/runs/TIMESTAMP); rerun with the same one to resume."
    ),
]
ContextBudgetOption = Annotated[int | None, typer.Option(min=100, max=8000, help="Passage tokens sent to the LLM.")]
LimitOption = Annotated[int | None, typer.Option(min=1, help="Only the first N questions (after --tag).")]
TagOption = Annotated[list[str] | None, typer.Option("--tag", help="Only questions with this tag (repeatable).")]
FailUnderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-under",
        metavar="METRIC=VALUE",
        help="Exit with 1 when an overall metric is below VALUE (repeatable), e.g. "
        "retrieval_doc_hit@3=0.8; checked on the first configuration that is not the baseline.",
    ),
]
CompareOption = Annotated[
    list[str] | None,
    typer.Option(
        "--compare",
        metavar="CONFIG",
        help="Run several configurations side by side (repeatable): 'ours', 'baseline' (llama-index "
        "defaults), 'extractive' (ours without an LLM) or NAME:key=value,... with keys "
        f"{', '.join(SPEC_KEYS)}. Ratios in the report are to 'baseline'.",
    ),
]
RestartOption = Annotated[bool, typer.Option(help="Discard results already in --out instead of resuming.")]
CorpusOption = Annotated[
    Path | None,
    typer.Option(
        "--corpus",
        metavar="DIR",
        help="Answer from the articles in DIR instead of the index: DIR is indexed into a scratch store "
        "under the cache (reused while DIR and the index settings stay the same).",
    ),
]


def eval_command(
    file: FileArgument,
    out: OutOption = None,
    llm: LlmOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    top_k: TopKOption = None,
    context_budget: ContextBudgetOption = None,
    limit: LimitOption = None,
    tag: TagOption = None,
    fail_under: FailUnderOption = None,
    compare: CompareOption = None,
    restart: RestartOption = False,
    corpus: CorpusOption = None,
) -> None:
    """Evaluate the answer pipeline on a question set: results.jsonl, summary.json, report.md and plots."""
    friendly_errors(_run)(
        file,
        out,
        {"llm_backend": llm, "llm_model": model, "llm_base_url": base_url, "top_k": top_k},
        context_budget,
        limit,
        tag or [],
        fail_under or [],
        compare or [],
        restart,
        corpus,
    )


def _run(
    question_set: Path,
    out: Path | None,
    overrides: dict,
    context_budget: int | None,
    limit: int | None,
    tags: list[str],
    fail_under: list[str],
    compare: list[str],
    restart: bool,
    corpus_dir: Path | None,
) -> None:
    from rag.evaluation.extras import require

    require("rag eval")  # the `eval` extra: one clear line when it is missing
    from rag.evaluation import runner as evaluate
    from rag.evaluation.corpus import CorpusError, corpus_key
    from rag.evaluation.gates import check_gates, parse_fail_under
    from rag.evaluation.questionset import QuestionSetError
    from rag.evaluation.report import format_summary_table

    overrides = {**overrides, "answer.context_budget_tokens": context_budget}
    try:
        gates = parse_fail_under(fail_under)
        specs = evaluate.parse_config_specs(compare)
        configs = [(spec, evaluate.config_settings(spec, overrides)) for spec in specs]
        # The whole set is validated before any question runs.
        questions = evaluate.load_questions(question_set, tags, limit)
        corpus = corpus_key(corpus_dir, configs[0][1]) if corpus_dir is not None else None
    except (evaluate.EvalUsageError, QuestionSetError, CorpusError) as exc:
        fail(str(exc), 2)
    out_dir = out or Path("eval/runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    names = ", ".join(spec.name for spec, _ in configs)
    typer.echo(f"{len(questions)} questions from {question_set}; configuration(s): {names}; writing to {out_dir}")
    if corpus is not None:
        typer.echo(f"Corpus: {corpus.folder} ({corpus.files} files)")
    try:
        result = evaluate.run_evaluation(questions, configs, out_dir, restart=restart, corpus=corpus)
    except evaluate.EvalUsageError as exc:
        fail(str(exc), 2)
    except KeyboardInterrupt:
        typer.secho(
            f"\nInterrupted. The finished questions are kept in {out_dir}; run the same command "
            f"with --out {out_dir} to resume.",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(130) from None
    for name, summary in result.summaries.items():
        typer.echo(f"\n## {name}\n\n{format_summary_table(summary)}")
    typer.echo(f"\nReport: {result.report}")
    # Gates apply to the configuration under test: the first one that is not the baseline.
    primary = next((n for n in result.summaries if n != evaluate.BASELINE), next(iter(result.summaries)))
    failures = check_gates(result.summaries[primary], gates)
    for failure in failures:
        typer.secho(f"FAIL ({primary}): {failure}", fg=typer.colors.RED, err=True)
    if failures:
        raise typer.Exit(1)
