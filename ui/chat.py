"""The chat's logic, without any layout: which service answers (backend, model, top-k and language chosen in the
page), one chat turn streamed into the conversation, and the evidence panel of a citation."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.answering import InvalidQuestionError, strip_markers
from rag.models import LLMUnavailableError
from rag.settings import ANSWER_LANGUAGES, LLM_BACKENDS, Settings, top_k_bounds
from rag.store import StoreError
from rag.types import Answer, Delta, Preview
from rag.wiring import AnswerSource, get_service
from ui.errors import FriendlyError, error_text
from ui.render import render_chat, render_evidence

log = logging.getLogger("newsrag.ui")

PLACEHOLDER = "Ask a question about the articles, in German or English. Answers cite their sources as [1], [2], …"
_STREAM_EVERY_S = 0.08


class Services:
    """The default service plus one per choice of backend, model, top-k and language (cached by get_service)."""

    def __init__(self, settings: Settings, service: AnswerSource):
        self.settings = settings
        self.default = service

    def get(
        self, backend: str | None = None, model: str | None = None, top_k: Any = None, language: str | None = None
    ) -> AnswerSource:
        update: dict[str, Any] = {}
        if backend and backend != self.settings.llm_backend:
            if backend not in LLM_BACKENDS:
                raise FriendlyError(f"Unknown backend {backend!r}; choose one of {', '.join(LLM_BACKENDS)}.")
            update["llm_backend"] = backend
        if model is not None and model.strip() != self.settings.llm_model:
            update["llm_model"] = model.strip()
        if top_k not in (None, ""):
            k = int(top_k)
            low, high = top_k_bounds()
            if not low <= k <= high:
                raise FriendlyError(f"top-k must be between {low} and {high}.")
            if k != self.settings.top_k:
                update["top_k"] = k
        if language and language != self.settings.answer_language:
            if language not in ANSWER_LANGUAGES:
                raise FriendlyError(
                    f"Unknown answer language {language!r}; choose one of {', '.join(ANSWER_LANGUAGES)}."
                )
            update["answer_language"] = language
        if not update:
            return self.default
        try:
            return get_service(self.settings.model_copy(update=update))
        except StoreError:
            raise
        except Exception as exc:  # a missing GGUF file, a bad model name, ...
            raise FriendlyError(f"Cannot start the {update.get('llm_backend', backend)} backend: {exc}") from exc


# -- answers -----------------------------------------------------------------
def answer_payload(answer: Answer, backend: str = "") -> dict[str, Any]:
    """Everything the chat needs to render and re-open an answer; JSON-serialisable."""
    data = answer.to_dict()
    cited = {c["chunk_id"] for c in data["citations"]}
    return {**data, "backend": backend, "uncited": [r for r in data["retrieved"] if r["chunk_id"] not in cited]}


def chat_history(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Finished turns as [{role, content}] for the answer service (citation markers removed)."""
    history: list[dict[str, str]] = []
    for turn in turns:
        answer = turn.get("answer") or {}
        if turn.get("status") != "final" or not answer.get("answer"):
            continue
        history.append({"role": "user", "content": str(turn["question"])})
        history.append({"role": "assistant", "content": strip_markers(str(answer["answer"])).strip()})
    return history


def parse_history(history_json: str) -> list[dict[str, str]]:
    try:
        turns = json.loads(history_json or "[]")
    except ValueError as exc:
        raise FriendlyError(f"history_json is not valid JSON ({exc}).") from exc
    if not isinstance(turns, list) or not all(
        isinstance(t, dict) and isinstance(t.get("role"), str) and isinstance(t.get("content"), str) for t in turns
    ):
        raise FriendlyError('history_json must be a JSON list like [{"role": "user", "content": "..."}].')
    return turns


# -- chat ---------------------------------------------------------------------------
ChatUpdate = tuple[Any, Any, Any]  # (chat html, turns, question box)


def chat_stream(
    services: Services,
    question: str,
    turns: list[dict[str, Any]] | None,
    backend: str | None = None,
    model: str | None = None,
    top_k: Any = None,
    language: str | None = None,
    details: bool = False,
) -> Iterator[ChatUpdate]:
    """One chat turn: the extractive preview at once, then the streamed text, then the checked answer."""
    turns = list(turns or [])
    if not getattr(services.default, "ready", True):
        gr.Info("The models are still loading (about 15 s after the start); the answer follows then.")
    turn: dict[str, Any] | None = None  # appended with the first event: an invalid question adds no turn
    text, last = "", 0.0
    try:
        chosen = services.get(backend, model, top_k, language)
        used = chosen.settings.llm_backend
        for event in chosen.stream(question, chat_history(turns)):
            if turn is None:
                turn = {"question": question.strip()}
                turns.append(turn)
            if isinstance(event, Preview):
                turn.update(status="preview", answer=answer_payload(event.answer, used))
                yield render_chat(turns, details, PLACEHOLDER), turns, ""
            elif isinstance(event, Delta):
                text += event.text
                turn.update(status="streaming", text=text)
                if time.monotonic() - last >= _STREAM_EVERY_S:
                    last = time.monotonic()
                    yield render_chat(turns, details, PLACEHOLDER), turns, gr.skip()
            else:
                turn.update(status="final", answer=answer_payload(event.answer, used), text="")
                if event.answer.warning:
                    gr.Warning(event.answer.warning)
    except InvalidQuestionError as exc:
        gr.Warning(str(exc))
        yield gr.skip(), gr.skip(), gr.skip()
        return
    except Exception as exc:
        if not isinstance(exc, FriendlyError | StoreError | LLMUnavailableError):
            log.exception("answering failed")
        if turn is None:
            gr.Warning(error_text(exc))
            turn = {"question": (question or "").strip()}
            turns.append(turn)
        turn.update(status="error", error=error_text(exc))
    yield render_chat(turns, details, PLACEHOLDER), turns, ""


def latest_evidence(turns: list[dict[str, Any]] | None) -> Any:
    """The evidence panel on the newest answer's first citation; unchanged when it has none."""
    turns = turns or []
    final = bool(turns) and turns[-1].get("status") == "final"
    citations = (turns[-1].get("answer") or {}).get("citations") if final else None
    html = evidence_for(turns, {"turn": len(turns) - 1, "n": citations[0]["n"]}) if citations else None
    return gr.skip() if html is None else html


def evidence_for(turns: list[dict[str, Any]] | None, data: Any) -> str | None:
    """The evidence panel for a clicked citation {turn, n}; None when it does not exist."""
    try:
        turn, n = int(data["turn"]), int(data["n"])
        if turn < 0:
            return None
        citations = (turns or [])[turn]["answer"]["citations"]
        return next((render_evidence(c) for c in citations if int(c["n"]) == n), None)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
