"""Evaluation runner: a question set through the chat's answer pipeline, one result record per question.

Layout of an evaluation folder (`rag eval --out DIR`):

    DIR/<config>/results.jsonl   one record per question, appended (and flushed) as each finishes
    DIR/<config>/config.json     what the records depend on; a resumed run must match it (both: results_files.py)
    DIR/summary.json, DIR/report.md, DIR/latency.png, DIR/by_lang.png   (rag.evaluation.report.write_report)

A record holds what rag.evaluation.metrics.score_question reads (answer, refused, answer_lang, question_lang,
citations, markers_total, markers_invalid, retrieved, unsupported_sentences when the pipeline checks
sentences, timings, error) plus id, question, condensed_question, mode and a few diagnostics. A question
whose pipeline raises is recorded with `error` set and the run goes on. Re-running with the same folder
skips the ids already recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.evaluation.corpus import Corpus, corpus_settings, index_corpus
from rag.evaluation.errors import EvalUsageError
from rag.evaluation.questionset import Question, parse_question_set
from rag.evaluation.results_files import RESULTS_FILE, load_results, prepare_folder
from rag.evaluation.spec_keys import SPEC_KEYS
from rag.evaluation.summary import summarize
from rag.settings import Settings, answer_settings

if TYPE_CHECKING:
    from rag.types import Answer

PIPELINES = ("ours", "baseline")
BASELINE = "baseline"
EXTRACTIVE = "extractive"  # as a name alone: our pipeline without an LLM (`--llm none`), the yardstick

# The baseline keeps llama-index's defaults: only the choice of LLM applies to it.
BASELINE_KEYS = ("llm_backend", "llm_model", "llm_base_url")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


# ---------------------------------------------------------------- configurations


@dataclass(frozen=True)
class ConfigSpec:
    """One configuration to evaluate: a name (its folder), a pipeline and setting overrides."""

    name: str
    pipeline: str = "ours"
    overrides: Mapping[str, Any] = field(default_factory=dict)


def parse_config_spec(text: str) -> ConfigSpec:
    """`ours`, `baseline`, `extractive` (ours with llm=none), or `NAME:key=value,key=value` with the keys of
    SPEC_KEYS (pipeline: ours|baseline; default: baseline only for the name "baseline").
    Example: `k8:top_k=8`, `fast:llm=fast`."""
    name, _, rest = text.strip().partition(":")
    name = name.strip()
    if not _NAME.match(name):
        raise EvalUsageError(
            f"configuration name {name!r} in {text!r}: use letters, digits, '.', '_' or '-' (it names a folder)"
        )
    values: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        key, value = key.strip().replace("-", "_"), value.strip()
        if not sep or key not in SPEC_KEYS:
            raise EvalUsageError(
                f"configuration {text!r}: {item!r} is not KEY=VALUE with KEY one of {', '.join(SPEC_KEYS)}"
            )
        values[SPEC_KEYS[key]] = value
    if name == EXTRACTIVE:
        values.setdefault("llm_backend", "none")
    pipeline = values.pop("pipeline", BASELINE if name == BASELINE else "ours")
    if pipeline not in PIPELINES:
        raise EvalUsageError(f"configuration {text!r}: pipeline must be one of {', '.join(PIPELINES)}")
    if pipeline == BASELINE and set(values) - set(BASELINE_KEYS):
        raise EvalUsageError(
            f"configuration {text!r}: the baseline keeps llama-index's defaults; only llm, model and base_url apply"
        )
    return ConfigSpec(name, pipeline, values)


def parse_config_specs(texts: Sequence[str]) -> list[ConfigSpec]:
    specs = [parse_config_spec(text) for text in texts] or [ConfigSpec("ours")]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise EvalUsageError(f"configuration names must be unique; repeated: {', '.join(duplicates)}")
    return specs


def config_settings(spec: ConfigSpec, overrides: Mapping[str, Any]) -> Settings:
    """Settings of one configuration: defaults < config file < env < command line < the spec's own keys."""
    merged = {k: v for k, v in overrides.items() if v is not None}
    merged.update(spec.overrides)
    settings = Settings(**nested(merged))
    if spec.pipeline == BASELINE and settings.llm_backend == "none":
        raise EvalUsageError(
            f"configuration {spec.name!r}: the llama-index baseline needs an LLM; choose --llm other than none"
        )
    return settings


def nested(values: Mapping[str, Any]) -> dict[str, Any]:
    """Settings arguments from rag.toml keys: {"answer.top_k": 3, "port": 1} -> {"answer": {"top_k": 3}, "port": 1}."""
    flat = {key: v for key, v in values.items() if not key.startswith("answer.")}
    return flat | {"answer": {key.removeprefix("answer."): v for key, v in values.items() if key not in flat}}


def fingerprint(spec: ConfigSpec, settings: Settings) -> dict[str, Any]:
    """What a configuration's records depend on; results are only resumed when this matches. Every setting
    that can change an answer counts; the baseline never reads our answer policy (the `answer.` keys), so a
    policy change leaves its runs standing."""
    values = answer_settings(settings)
    if spec.pipeline == BASELINE:
        values = {key: value for key, value in values.items() if not key.startswith("answer.")}
    return {"pipeline": spec.pipeline, **values}


# ---------------------------------------------------------------- questions


def select_questions(
    questions: Sequence[Question], tags: Sequence[str] = (), limit: int | None = None
) -> list[Question]:
    """Questions carrying any of `tags` (all when none given), then the first `limit` of them."""
    wanted = set(tags)
    chosen = [q for q in questions if not wanted or wanted & set(q.tags)]
    return chosen[:limit] if limit is not None else chosen


def load_questions(path: str | Path, tags: Sequence[str] = (), limit: int | None = None) -> list[Question]:
    """Parse and validate the whole set (QuestionSetError on any bad line), then filter it."""
    questions = select_questions(parse_question_set(path), tags, limit)
    if not questions:
        raise EvalUsageError(f"no question of {path} has any of the tags {', '.join(tags)}")
    return questions


def question_history(question: Question) -> list[dict[str, str]]:
    return [{"role": turn.role, "content": turn.content} for turn in question.history]


# ---------------------------------------------------------------- pipelines


class Pipeline(Protocol):
    def __call__(self, question: Question) -> dict[str, Any]: ...


class ServicePipeline:
    """The chat's own path: AnswerService.stream(question, history) to its Final answer."""

    def __init__(self, service: Any):
        self.service = service

    def __call__(self, question: Question) -> dict[str, Any]:
        from rag.types import final_answer

        return answer_record(question, final_answer(self.service.stream(question.question, question_history(question))))


def answer_record(question: Question, answer: Answer) -> dict[str, Any]:
    """The result record of one rag.types.Answer."""
    return {"id": question.id, **answer.to_dict(), "error": None}


def error_record(question: Question, exc: BaseException) -> dict[str, Any]:
    return {
        "id": question.id,
        "question": question.question,
        "condensed_question": None,
        "mode": None,
        "answer": "",
        "refused": False,
        "answer_lang": None,
        "question_lang": question.lang,
        "citations": [],
        "markers_total": 0,
        "markers_invalid": 0,
        "retrieved": [],
        "timings": {"retrieval_ms": None, "ttft_ms": None, "total_ms": None},
        "error": str(exc) or type(exc).__name__,
    }


def run_one(pipeline: Pipeline, question: Question) -> dict[str, Any]:
    """The question's record; a pipeline failure becomes an error record (Ctrl-C still stops the run)."""
    try:
        return pipeline(question)
    except Exception as exc:
        return error_record(question, exc)


def run_questions(
    questions: Sequence[Question],
    make_pipeline: Callable[[], Pipeline],
    path: Path,
    desc: str = "eval",
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run the questions not yet in `path`, appending each record as it finishes; return all records.

    The pipeline is built only when there is something left to run (a finished run resumes for free).
    KeyboardInterrupt propagates after the finished records are safely on disk.
    """
    from tqdm import tqdm

    done = load_results(path)
    todo = [q for q in questions if q.id not in done]
    if todo:
        pipeline = make_pipeline()
        path.parent.mkdir(parents=True, exist_ok=True)
        with (
            path.open("a", encoding="utf-8") as handle,
            tqdm(
                total=len(questions),
                initial=len(questions) - len(todo),
                desc=desc,
                unit="q",
                disable=not progress,
                dynamic_ncols=True,
            ) as bar,
        ):
            for question in todo:
                record = run_one(pipeline, question)
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                handle.flush()
                done[question.id] = record
                bar.update(1)
                if record["error"]:
                    bar.write(f"{question.id}: error: {record['error']}")
    return [done[q.id] for q in questions]


# ---------------------------------------------------------------- building pipelines (patched in tests)


def make_service(settings: Settings) -> Any:
    """The same AnswerService the chat uses, with its models loaded once per process."""
    from rag.wiring import get_service

    return get_service(settings)


def make_baseline(settings: Settings) -> Pipeline:
    from rag.evaluation.baseline import BaselinePipeline

    return BaselinePipeline(settings)


def build_pipeline(spec: ConfigSpec, settings: Settings) -> Pipeline:
    if spec.pipeline == BASELINE:
        return make_baseline(settings)
    return ServicePipeline(make_service(settings))


# ---------------------------------------------------------------- a whole evaluation


@dataclass
class EvalResult:
    out_dir: Path
    report: Path
    summaries: dict[str, dict[str, Any]]
    baseline: str | None


def report_baseline(names: Sequence[str]) -> str | None:
    """The configuration the report divides by: "baseline" when present, else the first of several."""
    if BASELINE in names:
        return BASELINE
    return names[0] if len(names) > 1 else None


def run_evaluation(
    questions: Sequence[Question],
    configs: Sequence[tuple[ConfigSpec, Settings]],
    out_dir: Path,
    restart: bool = False,
    progress: bool = True,
    corpus: Corpus | None = None,
) -> EvalResult:
    """Run every configuration on the same questions, then write summary.json, report.md and plots.

    With a corpus, every configuration reads it instead of the configured index: ours through a
    scratch store (indexed here once), the baseline through its own in-memory index of the folder.
    """
    from rag.evaluation.report import write_report

    out_dir = Path(out_dir)
    if corpus is not None:
        configs = [(spec, corpus_settings(settings, corpus)) for spec, settings in configs]
        for settings in {str(s.index_dir): s for spec, s in configs if spec.pipeline != BASELINE}.values():
            index_corpus(settings)
    runs: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for spec, settings in configs:
        folder = out_dir / spec.name
        expected = fingerprint(spec, settings)
        if corpus is not None:
            expected["corpus"] = f"{corpus.folder} ({corpus.key})"
        prepare_folder(folder, expected, restart)
        records = run_questions(
            questions,
            partial(build_pipeline, spec, settings),
            folder / RESULTS_FILE,
            desc=spec.name,
            progress=progress,
        )
        summary = summarize(questions, records)
        if corpus is not None:
            summary["corpus"] = f"{corpus.folder} ({corpus.files} files, store {corpus.key})"
        runs[spec.name] = (summary, records)
    baseline = report_baseline(list(runs))
    report = write_report(out_dir, runs, baseline=baseline)
    return EvalResult(out_dir, report, {name: summary for name, (summary, _) in runs.items()}, baseline)
