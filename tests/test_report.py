import json
from pathlib import Path
from typing import Any

import pytest

from rag.evaluation.questionset import Question
from rag.evaluation.report import (
    GROUP_METRICS,
    KEY_METRICS,
    PLOT_METRICS,
    format_ratio,
    format_summary_table,
    format_value,
    write_report,
)
from rag.evaluation.summary import summarize

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def question(qid: str, lang: str, tags: tuple[str, ...]) -> Question:
    return Question(
        id=qid,
        question="Wer?",
        lang=lang,
        answerable=True,
        answers=("Akar",),
        keywords=(("Akar",),),
        relevant_docs=("doc3",),
        evidence=(),
        history=(),
        tags=tags,
        line=1,
    )


def record(qid: str, answer: str, total_ms: float, error: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": qid,
        "answer": answer,
        "refused": False,
        "answer_lang": "de",
        "question_lang": "de",
        "citations": [{"n": 1, "doc_id": "doc3", "chunk_id": "doc3#0", "text": "Akar"}],
        "markers_total": 1,
        "markers_invalid": 0,
        "retrieved": [{"rank": 1, "doc_id": "doc3", "chunk_id": "doc3#0", "score": 0.5, "text": "Akar"}],
        "timings": {"retrieval_ms": 5.0, "ttft_ms": total_ms / 4, "total_ms": total_ms},
        "error": error,
        **extra,
    }


QUESTIONS = [
    question("q1", "de", ("people",)),
    question("q2", "en", ("people", "multi|entity")),
    question("q3", "de", ()),
    question("q4", "de", ()),
]


@pytest.fixture
def runs() -> dict[str, tuple[dict, list[dict]]]:
    base = [
        record("q1", "Akar.", 1000.0),
        record("q2", "Niemand.", 2000.0, answer_lang="en", question_lang="en"),
        record("q3", "Akar", 3000.0),
        record("q4", "Nein.", 4000.0),
    ]
    # Only fast's pipeline checks sentences; q2 invents a year, q1 has an unsupported sentence.
    fast = [
        record("q1", "Akar.", 500.0, unsupported_sentences=["Er rief an."]),
        record("q2", "Akar, 1999.", 600.0, answer_lang="en", question_lang="en", unsupported_sentences=[]),
        record("q3", "", 0.0, error="TimeoutError: model | took\ntoo long"),
        record("q4", "Akar", 700.0, unsupported_sentences=[]),
    ]
    return {"base": (summarize(QUESTIONS, base), base), "fast": (summarize(QUESTIONS, fast), fast)}


def table_row(markdown: str, metric: str) -> list[str]:
    """The cells of the first table row whose first cell is `metric`."""
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if line.startswith("|") and cells[0] == metric:
            return cells
    raise AssertionError(f"no row {metric!r}")


def test_write_report_with_baseline(tmp_path: Path, runs: dict) -> None:
    out = tmp_path / "report"
    path = write_report(out, runs, baseline="base")
    assert path == out / "report.md"
    text = path.read_text(encoding="utf-8")

    assert "| metric | base | fast | fast: ratio to base |" in text
    # answer_match: base 2/4 = 0.5, fast 3/3 (q3 errored) = 1.0, ratio 2.00
    assert table_row(text, "answer_match") == ["answer_match", "0.500", "1.000", "2.00"]
    # total_ms p50: base median of 1000..4000 = 2500, fast median of 500, 600, 700 = 600
    assert table_row(text, "total_ms_p50") == ["total_ms_p50", "2500", "600", "0.24"]
    assert table_row(text, "n_errors") == ["n_errors", "0", "1", "—"]  # ratio to zero is undefined
    assert table_row(text, "error") == ["error", "0.000", "0.250", "—"]
    assert table_row(text, "correct_refusal") == ["correct_refusal", "—", "—", "—"]
    # answer_correct: base right on q1 and q3 (1/2 of 4), fast on all three answered
    assert table_row(text, "answer_correct") == ["answer_correct", "0.500", "1.000", "2.00"]
    assert table_row(text, "invented_numbers_mean") == ["invented_numbers_mean", "0.000", "0.333", "—"]
    assert table_row(text, "invented_numbers_any") == ["invented_numbers_any", "0.000", "0.333", "—"]
    # base's records come from a pipeline without the sentence check: nothing to count
    assert table_row(text, "unsupported_sentences_mean") == ["unsupported_sentences_mean", "—", "0.333", "—"]
    assert table_row(text, "unsupported_sentences_any") == ["unsupported_sentences_any", "—", "0.333", "—"]
    # summary, then by language and by tag for each of the two runs
    assert sum(line.startswith("| invented_numbers_any |") for line in text.splitlines()) == 5

    assert "## By language" in text and "## By tag" in text
    assert "| metric | de | en |" in text
    assert "| metric | multi\\|entity | people |" in text
    assert "- fast: `q3`: TimeoutError: model \\| took too long" in text
    assert "![Latency per configuration](latency.png)" in text
    assert "![Key metrics per language](by_lang.png)" in text

    summaries = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summaries) == {"base", "fast"}
    assert summaries["fast"]["n_errors"] == 1
    assert summaries["base"]["by_lang"]["en"]["answer_match"] == 0.0
    assert summaries["fast"]["by_lang"]["en"]["invented_numbers_any"] == 1.0
    assert summaries["fast"]["by_tag"]["people"]["unsupported_sentences_mean"] == 0.5

    for name in ("latency.png", "by_lang.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE), name
        assert len(data) > 1000


def test_write_report_without_baseline_has_no_ratio(tmp_path: Path, runs: dict) -> None:
    text = write_report(tmp_path, runs).read_text(encoding="utf-8")
    assert "ratio to" not in text
    assert table_row(text, "answer_match") == ["answer_match", "0.500", "1.000"]


def test_write_report_lists_no_errors_and_copes_without_latencies(tmp_path: Path) -> None:
    records = [record("q1", "Akar", 100.0, error="boom")]
    only = {"solo": (summarize(QUESTIONS[:1], records), records)}
    text = write_report(tmp_path, only, baseline="solo").read_text(encoding="utf-8")
    assert "- solo: `q1`: boom" in text
    assert (tmp_path / "latency.png").read_bytes().startswith(PNG_SIGNATURE)


def test_unknown_baseline_is_rejected(tmp_path: Path, runs: dict) -> None:
    with pytest.raises(ValueError, match="baseline 'nope'"):
        write_report(tmp_path, runs, baseline="nope")


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("answer_match", 0.66666, "0.667"),
        ("answer_match", None, "—"),
        ("total_ms_p95", 1234.56, "1235"),
        ("ttft_ms", 99.4, "99"),
        ("n", 12, "12"),
    ],
)
def test_format_value(metric: str, value: float | None, expected: str) -> None:
    assert format_value(metric, value) == expected


def test_format_ratio() -> None:
    assert format_ratio(0.9, 0.6) == "1.50"
    assert format_ratio(None, 0.6) == "—"
    assert format_ratio(0.5, 0.0) == "—"


def test_format_summary_table(runs: dict) -> None:
    table = format_summary_table(runs["fast"][0])
    lines = table.splitlines()
    assert lines[0] == "| metric | value |"
    assert "| n | 4 |" in lines
    assert "| n_errors | 1 |" in lines
    assert "| answer_match | 1.000 |" in lines
    assert "| total_ms_p50 | 600 |" in lines
    for row in (
        "| answer_correct | 1.000 |",
        "| invented_numbers_mean | 0.333 |",
        "| invented_numbers_any | 0.333 |",
        "| unsupported_sentences_mean | 0.333 |",
        "| unsupported_sentences_any | 0.333 |",
    ):
        assert row in lines


def test_group_metrics_show_counts_as_mean_and_share() -> None:
    assert "answer_correct" in GROUP_METRICS
    assert {"invented_numbers_mean", "invented_numbers_any"} <= set(GROUP_METRICS)
    assert {"unsupported_sentences_mean", "unsupported_sentences_any"} <= set(GROUP_METRICS)
    assert "invented_numbers" not in GROUP_METRICS and "unsupported_sentences" not in GROUP_METRICS


def test_the_report_names_only_metrics_that_a_summary_has():
    """KEY_METRICS and PLOT_METRICS are hand-picked names: a renamed metric would print "—" silently."""
    summary = summarize([question("q1", "de", ())], [record("q1", "Akar [1]", 90.0)])
    produced = set(summary["overall"])
    assert set(GROUP_METRICS) == produced
    assert set(KEY_METRICS) <= produced, set(KEY_METRICS) - produced
    assert set(PLOT_METRICS) <= produced, set(PLOT_METRICS) - produced


def test_the_report_breaks_answer_correctness_down_by_kind_of_question(tmp_path: Path):
    from dataclasses import replace

    questions = [
        replace(question("q1", "de", ()), kind="entity"),
        replace(question("q2", "de", ()), question="Hat Akar angerufen?", kind=None),  # kind recognised: yesno
    ]
    records = [record("q1", "Akar [1]", 90.0), record("q2", "Nein [1]", 80.0)]
    summary = summarize(questions, records)
    assert summary["by_kind"]["entity"]["answer_correct"] == 1.0
    assert summary["by_kind"]["yesno"]["answer_correct"] == 0.0 and summary["by_kind"]["yesno"]["n"] == 1
    report = write_report(tmp_path, {"ours": (summary, records)}).read_text(encoding="utf-8")
    assert "## By kind of question" in report and "| entity |" in report and "| yesno |" in report


def test_own_words_leave_out_the_quoted_source_sentence():
    quoted = "Ja [1]\n\n„Hulusi Akar telefonierte mit Schoigu.“ [1]"
    summary = summarize([question("q1", "de", ())], [record("q1", quoted, 90.0)])
    assert summary["overall"]["answer_correct"] == 1.0  # the quote holds "Akar"
    assert summary["overall"]["answer_correct_own_words"] == 0.0  # the model's words do not
