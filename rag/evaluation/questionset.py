"""Evaluation question sets: parse and validate the JSONL format of docs/question-sets.md.

The whole file is validated before any question is returned, so a malformed line stops
`rag eval` before the pipeline runs. Every error names the file and the line number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import NewsragError

LANGS = ("de", "en")
ROLES = ("user", "assistant")
# The shape of answer a question asks for; "none" marks a question the articles do not answer.
KINDS = ("entity", "number", "statement", "yesno", "list", "none")


class QuestionSetError(NewsragError, ValueError):
    """A question set that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    lang: str | None
    answerable: bool
    answers: tuple[str, ...]
    keywords: tuple[tuple[str, ...], ...]
    relevant_docs: tuple[str, ...]
    evidence: tuple[str, ...]
    history: tuple[Turn, ...]
    tags: tuple[str, ...]
    line: int
    kind: str | None = None


class _LineError(Exception):
    """Raised inside one line's validation; the caller adds file name and line number."""


def parse_question_set(path: str | Path) -> list[Question]:
    """Read and validate a question set file; raise QuestionSetError on the first problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise QuestionSetError(f"{path}: question set file not found") from None
    except OSError as exc:
        raise QuestionSetError(f"{path}: cannot read question set: {exc.strerror or exc}") from None
    return parse_question_lines(_decode_lines(raw, str(path)), name=str(path))


def _decode_lines(raw: bytes, name: str) -> list[str]:
    # Decode line by line so a bad byte is reported with its line number.
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines = []
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            lines.append(chunk.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise QuestionSetError(
                f"{name} line {number}: not valid UTF-8 (byte {exc.start + 1} of the line)"
            ) from None
    return lines


def parse_question_lines(lines: Iterable[str], name: str = "<input>") -> list[Question]:
    """Validate JSONL lines (blank lines allowed) and return the questions in file order."""
    questions: list[Question] = []
    first_line_of: dict[str, int] = {}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            question = _parse_line(text, number)
        except _LineError as exc:
            raise QuestionSetError(f"{name} line {number}: {exc}") from None
        if question.id in first_line_of:
            raise QuestionSetError(
                f"{name} line {number}: duplicate id {question.id!r} (first used on line {first_line_of[question.id]})"
            )
        first_line_of[question.id] = number
        questions.append(question)
    if not questions:
        raise QuestionSetError(f"{name}: no questions (the file is empty or has only blank lines)")
    return questions


def _parse_line(text: str, number: int) -> Question:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _LineError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise _LineError(f"expected a JSON object, got {_type_name(obj)}")

    qid = _required_text(obj, "id")
    question = _required_text(obj, "question")
    answerable = _optional(obj, "answerable", True)
    if not isinstance(answerable, bool):
        raise _LineError(f"field 'answerable' must be true or false, got {_type_name(answerable)}")
    lang = _optional(obj, "lang", None)
    if lang is not None and lang not in LANGS:
        raise _LineError(f"field 'lang' must be one of {', '.join(LANGS)}, got {lang!r}")
    kind = _optional(obj, "kind", None)
    if kind is not None and kind not in KINDS:
        raise _LineError(f"field 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")

    relevant_docs = _str_list(obj, "relevant_docs")
    if answerable and not relevant_docs:
        raise _LineError("answerable question needs a non-empty 'relevant_docs' list")

    return Question(
        id=qid,
        question=question,
        lang=lang,
        answerable=answerable,
        answers=_str_list(obj, "answers"),
        keywords=_keyword_groups(obj),
        relevant_docs=relevant_docs,
        evidence=_str_list(obj, "evidence"),
        history=_history(obj),
        tags=_str_list(obj, "tags"),
        line=number,
        kind=kind,
    )


def _optional(obj: dict[str, Any], field: str, default: Any) -> Any:
    # An explicit null means the same as leaving an optional field out.
    value = obj.get(field)
    return default if value is None else value


def _required_text(obj: dict[str, Any], field: str) -> str:
    if field not in obj or obj[field] is None:
        raise _LineError(f"missing required field {field!r}")
    value = obj[field]
    if not isinstance(value, str):
        raise _LineError(f"field {field!r} must be a string, got {_type_name(value)}")
    if not value.strip():
        raise _LineError(f"field {field!r} is empty")
    return value


def _str_list(obj: dict[str, Any], field: str) -> tuple[str, ...]:
    value = _optional(obj, field, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _LineError(f"field {field!r} must be a list of strings")
    return tuple(value)


def _keyword_groups(obj: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    value = _optional(obj, "keywords", [])
    message = "field 'keywords' must be a list of non-empty lists of strings"
    if not isinstance(value, list):
        raise _LineError(message)
    groups = []
    for group in value:
        # An empty group could never match, which would silently cap keyword recall.
        if not isinstance(group, list) or not group or not all(isinstance(item, str) for item in group):
            raise _LineError(message)
        groups.append(tuple(group))
    return tuple(groups)


def _history(obj: dict[str, Any]) -> tuple[Turn, ...]:
    value = _optional(obj, "history", [])
    if not isinstance(value, list):
        raise _LineError("field 'history' must be a list of turns")
    turns = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or item.get("role") not in ROLES or not isinstance(item.get("content"), str):
            raise _LineError(
                f"history item {index} must be an object with 'role' (user or assistant) and 'content' (a string)"
            )
        turns.append(Turn(role=item["role"], content=item["content"]))
    return tuple(turns)


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
