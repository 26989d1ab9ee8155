"""Writes docs/configuration.md from rag.settings, so that the page lists every setting as the code has it.

Run from the repository root: `python -m scripts.settings_doc` rewrites the page (tests/test_settings.py fails
when the committed page differs from what this makes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from rag.policy import AnswerPolicy
from rag.settings import changes_answer, env_name, user_fields

PAGE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
HISTORY = "experiment-log.md#measured-history-of-the-answer-policy-defaults-moved-from-the-settings-2026-12-05"
# Defaults computed when the settings are read, in words.
COMPUTED_DEFAULTS = {
    "cache_dir": "`$XDG_CACHE_HOME/newsrag`, else `~/.cache/newsrag`",
    "llm_threads": "the CPU count",
}

INTRO = """# Configuration

<!-- Generated from rag/settings.py and rag/policy.py by `python -m scripts.settings_doc`; do not edit. -->

Settings come from defaults, then a TOML file (`./rag.toml`, or `RAG_CONFIG`, or `rag --config FILE`),
then environment variables. A user setting's TOML key is its name (`llm_backend = "none"`); the answer
policy's settings sit in the `[answer]` table (`[answer]` then `lead_chunk = "retrieval"`, or
`answer.lead_chunk = "retrieval"`). Every environment variable is `RAG_` and the name in capitals, for the
answer policy too (`RAG_LLM_BACKEND=none`, `RAG_NO_ANSWER_THRESHOLD=0.3`).

A key in the file or a `RAG_*` variable that names no setting is an error that names the closest setting
(`unknown setting 'top_kk' in rag.toml; did you mean 'top_k'?`). Besides the settings, the project reads
`RAG_CONFIG`, `RAG_DEBUG` (tracebacks instead of one-line errors) and, in `scripts/setup.sh`,
`RAG_FETCH_FAST` and `RAG_SETUP_MODELS`.

*Changes answers* marks the settings that can change an answer's words. They make the fingerprint that
`rag ask` compares with a running chat's before asking it, and the one a resumed `rag eval --out DIR`
must match.
"""

ANSWER_INTRO = f"""## Answer policy: the `[answer]` table

How the pipeline answers: refusals, the answer's shape, and the passages the model reads. Every default was
chosen by measurement: [the measured history]({HISTORY}).
Many can be changed for one evaluation with `rag eval --compare NAME:key=value` (`rag eval --help` lists them).
"""


def default_text(name: str, info: FieldInfo) -> str:
    if name in COMPUTED_DEFAULTS:
        return COMPUTED_DEFAULTS[name]
    value: Any = info.default
    if value is None or value == "" or value is PydanticUndefined:
        return "–"
    if isinstance(value, Path):
        value = str(value)
    return "`" + json.dumps(value, ensure_ascii=False) + "`"


def table(fields: dict[str, FieldInfo]) -> list[str]:
    rows = ["| setting | environment | default | changes answers | what it does |", "|---|---|---|---|---|"]
    for name, info in fields.items():
        cells = [f"`{name}`", f"`{env_name(name)}`", default_text(name, info), "yes" if changes_answer(info) else ""]
        cells.append(info.description or "")
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return rows


def markdown() -> str:
    """The whole page."""
    user = ["## User settings", "", *table(user_fields()), ""]
    answer = [ANSWER_INTRO, *table(dict(AnswerPolicy.model_fields))]
    return "\n".join([INTRO, *user, *answer]) + "\n"


if __name__ == "__main__":
    PAGE.write_text(markdown(), encoding="utf-8")
    print(f"wrote {PAGE}")
