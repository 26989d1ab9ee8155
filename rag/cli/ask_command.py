"""`rag ask`: answered by a running `rag chat` with the same settings, else in this process (registered in
rag.cli.main). Heavy imports stay inside the function so that --help stays fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.answer_printing import print_answer
from rag.cli.common import BaseUrlOption, LlmOption, ModelOption, TopKOption, friendly_errors, make_settings

QuestionArgument = Annotated[str, typer.Argument(help="The question, in German or English.")]
HistoryOption = Annotated[Path | None, typer.Option(help="JSON file with earlier turns [{role, content}].")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the whole Answer as JSON.")]
LocalOption = Annotated[
    bool,
    typer.Option(
        "--local",
        help="Answer in this process (loading the models) even when a `rag chat` with the same settings is "
        "running at host:port; without --local that chat answers, its models being loaded already.",
    ),
]


@friendly_errors
def ask_command(
    question: QuestionArgument,
    llm: LlmOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    top_k: TopKOption = None,
    history: HistoryOption = None,
    as_json: JsonOption = False,
    local: LocalOption = False,
) -> None:
    """Answer a question from the articles, streaming the text, then list the numbered sources.

    A running `rag chat` with the same settings answers it (same output, without loading the models here);
    otherwise, or with --local, it is answered in this process.
    """
    settings = make_settings(llm_backend=llm, llm_model=model, llm_base_url=base_url, top_k=top_k)
    turns = load_history(history)
    if not local:
        from rag.cli.remote import ask_running_chat, chat_url

        remote = ask_running_chat(settings, question, turns, note=lambda text: typer.secho(text, dim=True, err=True))
        if remote is not None:
            print_answer(remote, as_json)
            typer.secho(f"(answered by the chat at {chat_url(settings)})", dim=True, err=True)
            return
    from rag.answering import validate_question
    from rag.wiring import get_service

    validate_question(question, settings.max_question_chars)
    print_answer(get_service(settings).stream(question, turns), as_json)


def load_history(path: Path | None) -> list[dict[str, str]] | None:
    """The earlier turns of `--history`: a JSON list of {role, content} objects."""
    if path is None:
        return None
    try:
        turns = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read history file {path}: {exc}") from exc
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        raise ValueError(f"history file {path} must hold a JSON list of {{role, content}} objects")
    return turns
