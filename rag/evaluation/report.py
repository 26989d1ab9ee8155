"""Evaluation report: summary.json, report.md with tables, and latency / per-language plots."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.evaluation.extras import require
from rag.evaluation.metrics import SCORE_KEYS
from rag.evaluation.summary import LATENCY_KEYS, summary_names

Runs = Mapping[str, tuple[dict[str, Any], list[dict[str, Any]]]]

MISSING = "—"
GROUP_METRICS: tuple[str, ...] = ("n",) + tuple(name for key in SCORE_KEYS for name in summary_names(key))
KEY_METRICS: tuple[str, ...] = (
    "retrieval_doc_hit@5",
    "retrieval_doc_mrr",
    "retrieval_ev_hit@5",
    "answer_match",
    "answer_f1",
    "keyword_recall",
    "answer_correct",
    "citation_validity",
    "citation_precision",
    "citation_recall",
    "quote_evidence",
    "invented_numbers_mean",
    "invented_numbers_any",
    "unsupported_sentences_mean",
    "unsupported_sentences_any",
    "untranslated_words_any",
    "passage_word",
    "repeats_question",
    "correct_refusal",
    "false_refusal",
    "uncertain",
    "uncertain_right",
    "unanswerable_caught",
    "language_accuracy",
    "ttft_ms_p50",
    "total_ms_p50",
    "total_ms_p95",
    "error",
)
# The per-language bar chart shows rates only; latencies have another scale.
PLOT_METRICS: tuple[str, ...] = (
    "retrieval_doc_hit@5",
    "retrieval_ev_hit@5",
    "answer_match",
    "answer_correct",
    "keyword_recall",
    "citation_precision",
    "correct_refusal",
    "language_accuracy",
)


def format_value(metric: str, value: float | None) -> str:
    """Integers for counts and milliseconds, three decimals for rates, '—' when undefined."""
    if value is None:
        return MISSING
    if metric in ("n", "n_errors") or metric.endswith("_ms") or "_ms_p" in metric:
        return f"{value:.0f}"
    return f"{value:.3f}"


def format_ratio(ours: float | None, baseline: float | None) -> str:
    if ours is None or baseline is None or baseline == 0:
        return MISSING
    return f"{ours / baseline:.2f}"


def format_summary_table(summary: Mapping[str, Any]) -> str:
    """Markdown table of the key overall metrics of one summary."""
    overall = summary["overall"]
    rows = [
        ("n", str(summary["n"])),
        ("n_errors", str(summary["n_errors"])),
        *((metric, format_value(metric, overall.get(metric))) for metric in KEY_METRICS),
    ]
    return _table(["metric", "value"], [list(row) for row in rows])


def write_report(out_dir: Path, runs: Runs, baseline: str | None = None) -> Path:
    """Write summary.json, report.md, latency.png and by_lang.png into out_dir; return report.md."""
    if not runs:
        raise ValueError("no runs to report")
    if baseline is not None and baseline not in runs:
        raise ValueError(f"baseline {baseline!r} is not one of the runs: {', '.join(runs)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries = {name: summary for name, (summary, _) in runs.items()}
    (out_dir / "summary.json").write_text(json.dumps(summaries, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _plot_latency(out_dir / "latency.png", runs)
    _plot_by_lang(out_dir / "by_lang.png", summaries)
    report = out_dir / "report.md"
    report.write_text(_markdown(runs, baseline), encoding="utf-8")
    return report


# ---------------------------------------------------------------- markdown


def _markdown(runs: Runs, baseline: str | None) -> str:
    summaries = {name: summary for name, (summary, _) in runs.items()}
    parts = ["# Evaluation report", ""]
    corpus = next((summary["corpus"] for summary in summaries.values() if summary.get("corpus")), None)
    parts += [f"Corpus: `{corpus}`", ""] if corpus else ["Corpus: the configured index", ""]
    parts += ["## Summary", "", _comparison_table(summaries, baseline), ""]
    parts += ["![Latency per configuration](latency.png)", ""]
    parts += ["## By language", "", "![Key metrics per language](by_lang.png)", ""]
    for name, summary in summaries.items():
        parts += [f"### {_escape(name)}", "", _group_table(summary["by_lang"], "no language known"), ""]
    parts += ["## By kind of question", "", _kind_table(summaries), ""]
    parts += ["## By tag", ""]
    for name, summary in summaries.items():
        parts += [f"### {_escape(name)}", "", _group_table(summary["by_tag"], "no tags"), ""]
    parts += ["## Errored questions", "", *_error_lines(runs), ""]
    return "\n".join(parts)


def _comparison_table(summaries: Mapping[str, Mapping[str, Any]], baseline: str | None) -> str:
    names = list(summaries)
    others = [name for name in names if baseline is not None and name != baseline]
    header = ["metric", *names, *(f"{name}: ratio to {baseline}" for name in others)]
    rows = []
    for metric in ("n", "n_errors", *GROUP_METRICS[1:]):
        values = {name: _overall(summaries[name], metric) for name in names}
        row = [metric, *(format_value(metric, values[name]) for name in names)]
        if baseline is not None:
            row += [format_ratio(values[name], values[baseline]) for name in others]
        rows.append(row)
    return _table(header, rows)


def _overall(summary: Mapping[str, Any], metric: str) -> float | None:
    # The error count lives beside the groups, not inside them.
    return summary["n_errors"] if metric == "n_errors" else summary["overall"].get(metric)


def _group_table(groups: Mapping[str, Mapping[str, Any]], empty: str) -> str:
    if not groups:
        return f"_{empty}_"
    rows = [
        [metric, *(format_value(metric, group.get(metric)) for group in groups.values())] for metric in GROUP_METRICS
    ]
    return _table(["metric", *groups], rows)


# Per kind, side by side: is the answer right, and is it right in the model's own words (without the quote
# the code adds)? For unanswerable questions, the share refused.
KIND_METRICS: tuple[str, ...] = ("answer_correct", "answer_correct_own_words", "answer_f1_own_words")


def _kind_table(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    kinds = list(dict.fromkeys(kind for summary in summaries.values() for kind in summary.get("by_kind", {})))
    if not kinds:
        return "_no kinds_"
    header = ["kind", *(f"{name}: {metric}" for name in summaries for metric in (*KIND_METRICS, "n"))]
    rows = []
    for kind in kinds:
        row = [kind]
        for summary in summaries.values():
            group = summary.get("by_kind", {}).get(kind, {})
            if kind == "none":  # nothing to answer: the share refused, in the first column
                row += [format_value("correct_refusal", group.get("correct_refusal")), MISSING, MISSING]
            else:
                row += [format_value(metric, group.get(metric)) for metric in KIND_METRICS]
            row.append(format_value("n", group.get("n")))
        rows.append(row)
    return _table(header, rows)


def _error_lines(runs: Runs) -> list[str]:
    lines = [
        f"- {_escape(name)}: `{record.get('id')}`: {_escape(str(record['error']))}"
        for name, (_, records) in runs.items()
        for record in records
        if record.get("error")
    ]
    return lines or ["None."]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [_row(header), _row(["---", *(["---:"] * (len(header) - 1))])]
    return "\n".join(lines + [_row(row) for row in rows])


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_escape(cell) for cell in cells) + " |"


def _escape(text: str) -> str:
    # Keep table rows and list items on one line whatever a tag or error message contains.
    return " ".join(text.split()).replace("|", "\\|")


# ---------------------------------------------------------------- plots


def _pyplot() -> Any:
    """matplotlib.pyplot, imported on first use (it comes with the `eval` extra)."""
    require("the report's plots", ("matplotlib",))
    import matplotlib

    matplotlib.use("Agg")  # headless: the report is written on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def _plot_latency(path: Path, runs: Runs) -> None:
    plt = _pyplot()
    names = list(runs)
    fig, axes = plt.subplots(1, len(LATENCY_KEYS), figsize=(5 * len(LATENCY_KEYS), 4), squeeze=False)
    for ax, key in zip(axes[0], LATENCY_KEYS, strict=True):
        data = [_latencies(records, key) for _, records in runs.values()]
        positions = [i for i, values in enumerate(data, start=1) if values]
        if positions:
            ax.boxplot([data[i - 1] for i in positions], positions=positions)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right")
        ax.set_title(key)
        ax.set_ylabel("ms")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def _latencies(records: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    values = ((record.get("timings") or {}).get(key) for record in records if not record.get("error"))
    return [float(value) for value in values if value is not None]


def _plot_by_lang(path: Path, summaries: Mapping[str, Mapping[str, Any]]) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(len(summaries), 1, figsize=(10, 3.5 * len(summaries)), squeeze=False)
    for ax, (name, summary) in zip(axes[:, 0], summaries.items(), strict=True):
        langs = list(summary["by_lang"])
        width = 0.8 / max(1, len(langs))
        for offset, lang in enumerate(langs):
            group = summary["by_lang"][lang]
            # NaN draws no bar, so "does not apply" is not shown as a score of 0.
            heights = [_or_nan(group.get(metric)) for metric in PLOT_METRICS]
            xs = [i + (offset - (len(langs) - 1) / 2) * width for i in range(len(PLOT_METRICS))]
            ax.bar(xs, heights, width=width, label=f"{lang} (n={group['n']})")
        ax.set_xticks(range(len(PLOT_METRICS)), PLOT_METRICS, rotation=20, ha="right")
        ax.set_ylim(0, 1.2)
        ax.set_title(name)
        if langs:
            ax.legend(loc="upper center", ncol=len(langs))
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)
