"""The Gradio chat: streamed answers with clickable citations, an evidence panel and a document library.

`launch(settings)` indexes the seeds into an empty index, then serves the app while the models load.
`build_app(settings, service)` only builds it (tests and other hosts can launch it themselves).

API endpoints (gradio_client): /ask, /documents, /upload, /delete, /preview. `launch` adds the JSON routes
that `rag ask` uses (ui/api.py).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answering.citations import strip_markers
from rag.answering.service import InvalidQuestionError
from rag.ingest import library
from rag.models.llm import LLMUnavailableError
from rag.settings import ANSWER_LANGUAGES, LLM_BACKENDS, Settings, get_settings, top_k_bounds
from rag.store.chroma import StoreError
from rag.types import Answer, Delta, Preview
from rag.wiring import AnswerSource, BackgroundService, check_models, get_service
from ui.api import api_routes
from ui.errors import FriendlyError, error_text
from ui.render import (
    CSS,
    render_chat,
    render_document,
    render_evidence,
    status_html,
    upload_label,
)

log = logging.getLogger("newsrag.ui")

EXAMPLES = [
    "Welches Land soll Russland heimlich Artilleriemunition geliefert haben?",
    "Mit welchen Verteidigungsministern telefonierte Schoigu?",
    "Who is the Secretary General of NATO?",
    "What did Jens Stoltenberg ask Moscow to stop?",
]
PLACEHOLDER = "Ask a question about the articles, in German or English. Answers cite their sources as [1], [2], …"
_STREAM_EVERY_S = 0.08

# Clicking a citation link in the chat sends (turn, n) to Python, which fills the evidence panel.
CITE_JS = """
element.addEventListener('click', function (event) {
  const link = event.target.closest('a.cite');
  if (!link || !element.contains(link)) return;
  event.preventDefault();
  element.querySelectorAll('a.cite.active').forEach(function (a) { a.classList.remove('active'); });
  link.classList.add('active');
  trigger('click', {turn: parseInt(link.dataset.turn, 10), n: parseInt(link.dataset.n, 10)});
});
"""


# -- services ----------------------------------------------------------------
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


# -- the app -------------------------------------------------------------------
def build_app(settings: Settings, service: AnswerSource | None = None) -> gr.Blocks:
    """Build the Blocks app (queued, not launched)."""
    service = service or get_service(settings)
    services = Services(settings, service)
    max_mb = settings.upload_max_bytes / 1_000_000

    def respond(
        question: str, turns: list[dict[str, Any]], backend: str, model: str, top_k: float, language: str, details: bool
    ) -> Iterator[ChatUpdate]:
        yield from chat_stream(services, question, turns, backend, model, top_k, language, details)

    def show_evidence(turns: list[dict[str, Any]], evt: gr.EventData) -> Any:
        html = evidence_for(turns, getattr(evt, "_data", None))
        return gr.skip() if html is None else html

    def new_chat() -> tuple[str, list[Any], str]:
        return render_chat([], False, PLACEHOLDER), [], render_evidence(None)

    def rerender(turns: list[dict[str, Any]], details: bool) -> str:
        return render_chat(turns or [], details, PLACEHOLDER)

    # -- API -------------------------------------------------------------------
    def ask(question: str, history_json: str = "[]", backend: str = "") -> dict:
        """Answer a question from the articles; history_json is a JSON list of {role, content} turns."""
        try:
            chosen = services.get(backend or None)
            return chosen.answer(question, parse_history(history_json)).to_dict()
        except (InvalidQuestionError, FriendlyError, StoreError, LLMUnavailableError) as exc:
            raise gr.Error(str(exc)) from exc
        except Exception as exc:
            log.exception("/ask failed")
            raise gr.Error(error_text(exc)) from exc

    def documents() -> list[dict]:
        """The indexed documents: doc_id, title, date, chunks, kind (seed, upload or indexed elsewhere)."""
        try:
            return library.document_rows(settings, service)
        except StoreError as exc:
            raise gr.Error(str(exc)) from exc

    def delete(doc_id: str) -> dict:
        """Delete an uploaded document and re-index; returns {ok, message}."""
        ok, message = library.delete_upload(settings, service, doc_id)
        return {"ok": ok, "message": message}

    # -- library ----------------------------------------------------------------
    def library_rows() -> list[list[Any]]:
        try:
            rows = library.document_rows(settings, service)
        except StoreError as exc:
            gr.Warning(str(exc))
            return []
        return [[d["title"], d["date"] or "", d["chunks"], d["doc_id"], d["kind"]] for d in rows]

    def refresh(value: str | None = None) -> tuple[list[list[Any]], Any]:
        rows = library_rows()
        ids = [r[3] for r in rows]
        return rows, gr.update(
            choices=[(f"{r[3]} – {r[0][:60]}", r[3]) for r in rows], value=value if value in ids else None
        )

    def reporter(progress: gr.Progress) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            progress((done, total), desc="Embedding", unit="chunks")

        return report

    def preview(doc_id: str | None) -> str:
        """The indexed text of a document as HTML (escaped)."""
        doc_id = (doc_id or "").strip()
        if not doc_id:
            return render_document(None, [], "")
        try:
            info = next((d for d in service.store.documents() if d.doc_id == doc_id), None)
            if info is None:
                return status_html(f"No document {doc_id} in the index.", "warn")
            return render_document(info, service.store.chunks_of(doc_id), library.kind_of(settings, doc_id))
        except StoreError as exc:
            return status_html(str(exc), "error")

    def on_upload(path: str | None, progress: gr.Progress = gr.Progress()) -> tuple[str, Any, Any, str]:  # noqa: B008
        progress(0, desc="Checking and saving")
        ok, message = library.add_upload(settings, service, path, reporter(progress))
        (gr.Info if ok else gr.Warning)(message)
        stem = library.safe_stem(Path(path).name) if ok and path else None
        rows, update = refresh(stem)
        return status_html(message, "ok" if ok else "error"), rows, update, preview(stem) if stem else gr.skip()

    def on_delete(doc_id: str | None, progress: gr.Progress = gr.Progress()) -> tuple[str, Any, Any, str]:  # noqa: B008
        progress(0, desc="Re-indexing")
        ok, message = library.delete_upload(settings, service, doc_id, reporter(progress))
        (gr.Info if ok else gr.Warning)(message)
        rows, update = refresh(None if ok else doc_id)
        return status_html(message, "ok" if ok else "error"), rows, update, preview(None if ok else doc_id)

    # -- layout ----------------------------------------------------------------------
    initial_rows, initial_choices = refresh()
    with gr.Blocks(title="News RAG", analytics_enabled=False, fill_width=True, delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        gr.Markdown("## News RAG – answers from the articles, with sources")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chat_log = gr.HTML(
                            render_chat([], False, PLACEHOLDER),
                            elem_id="chat-log",
                            js_on_load=CITE_JS,
                            autoscroll=True,
                            max_height=620,
                            padding=False,
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                placeholder="Frage oder Question … (Enter sends)",
                                show_label=False,
                                lines=1,
                                max_lines=4,
                                scale=6,
                                container=False,
                                elem_id="question",
                            )
                            ask_btn = gr.Button("Ask", variant="primary", scale=0, min_width=90, elem_id="ask")
                            new_btn = gr.Button("New chat", scale=0, min_width=130, elem_id="new-chat")
                        gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question], label="Examples / Beispiele")
                    with gr.Column(scale=2):
                        gr.Markdown("### Evidence")
                        evidence = gr.HTML(render_evidence(None), elem_id="evidence", js_on_load=None)
                with gr.Accordion("Settings", open=False, elem_id="settings"), gr.Row():
                    backend = gr.Dropdown(
                        list(LLM_BACKENDS), value=settings.llm_backend, label="LLM backend", elem_id="backend"
                    )
                    model = gr.Textbox(
                        settings.llm_model,
                        label="Model",
                        info="ollama/openai model name, or a GGUF path for local; empty = default",
                    )
                    top_k = gr.Slider(
                        1, max(20, settings.top_k), value=settings.top_k, step=1, label="Passages to retrieve"
                    )
                    language = gr.Radio(list(ANSWER_LANGUAGES), value=settings.answer_language, label="Answer language")
                    details = gr.Checkbox(False, label="Show retrieval details (scores, search query, timings)")
            with gr.Tab("Documents", id="documents"):
                docs_table = gr.Dataframe(
                    value=initial_rows,
                    headers=["Title", "Date", "Chunks", "Doc id", "Kind"],
                    interactive=False,
                    wrap=True,
                    elem_id="docs-table",
                )
                with gr.Row():
                    with gr.Column():
                        upload_file = gr.File(
                            label=upload_label(max_mb, library.UPLOAD_SUFFIXES),
                            file_types=list(library.UPLOAD_SUFFIXES),
                            type="filepath",
                            elem_id="upload-file",
                        )
                        upload_btn = gr.Button("Upload and index", variant="primary", elem_id="upload")
                        library_status = gr.HTML("", elem_id="library-status", js_on_load=None)
                    with gr.Column():
                        selected = gr.Dropdown(
                            choices=initial_choices["choices"],
                            value=None,
                            label="Document",
                            allow_custom_value=True,
                            elem_id="doc-select",
                        )
                        with gr.Row():
                            refresh_btn = gr.Button("Refresh list")
                            delete_btn = gr.Button("Delete upload", variant="stop", elem_id="delete")
                doc_preview = gr.HTML(render_document(None, [], ""), elem_id="doc-preview", js_on_load=None)

        # -- events --------------------------------------------------------------------
        chat_inputs = [question, turns, backend, model, top_k, language, details]
        chat_outputs = [chat_log, turns, question]
        common: dict[str, Any] = {
            "concurrency_id": "llm",
            "api_visibility": "private",
            "show_progress": "full",
            "show_progress_on": [chat_log],  # the queue position shows on the conversation
        }
        submit = question.submit(respond, chat_inputs, chat_outputs, **common)
        click = ask_btn.click(respond, chat_inputs, chat_outputs, **common)
        for answered in (submit, click):  # a finished answer opens the evidence panel on its first citation
            answered.then(
                latest_evidence,
                [turns],
                [evidence],
                api_visibility="private",
                show_progress="hidden",
                concurrency_limit=None,
            )
        new_btn.click(
            new_chat, None, [chat_log, turns, evidence], cancels=[submit, click], api_visibility="private", queue=False
        )
        chat_log.click(
            show_evidence, [turns], [evidence], concurrency_limit=None, api_visibility="private", show_progress="hidden"
        )
        details.change(rerender, [turns, details], [chat_log], api_visibility="private", queue=False)

        upload_btn.click(
            on_upload,
            [upload_file],
            [library_status, docs_table, selected, doc_preview],
            api_name="upload",
            concurrency_id="index",
            concurrency_limit=1,
        )
        delete_btn.click(
            on_delete,
            [selected],
            [library_status, docs_table, selected, doc_preview],
            api_name="delete_selected",
            api_visibility="private",
            concurrency_id="index",
            concurrency_limit=1,
        )
        selected.change(preview, [selected], [doc_preview], api_name="preview", concurrency_limit=None)
        refresh_btn.click(refresh, None, [docs_table, selected], api_visibility="private", queue=False)
        demo.load(refresh, None, [docs_table, selected], api_visibility="private", queue=False)

        gr.api(ask, api_name="ask", concurrency_id="llm")
        gr.api(documents, api_name="documents", concurrency_limit=None)
        gr.api(delete, api_name="delete", concurrency_id="index", concurrency_limit=1)

    demo.queue(default_concurrency_limit=settings.concurrency_limit, max_size=settings.max_queue)
    return demo


def theme() -> gr.themes.Base:
    """System fonts only: the app must not reach out to Google Fonts (it runs offline)."""
    return gr.themes.Soft(
        font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )


def launch_options(settings: Settings) -> dict[str, Any]:
    auth = None
    if settings.auth_user and settings.auth_password:
        auth = (settings.auth_user, settings.auth_password.get_secret_value())
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "share": False,
        "auth": auth,
        "max_file_size": settings.upload_max_bytes,
        "show_error": False,
        "css": CSS,
        "theme": theme(),
    }


def launch(settings: Settings | None = None) -> None:
    """Serve the chat at once while the models load; questions asked meanwhile wait for them. An empty index
    gets the seeds first. A missing or broken model stops the start-up before anything is served."""
    settings = settings or get_settings()
    check_models(settings)
    service = BackgroundService(settings, start=False)
    if service.store.count() == 0:  # nothing to read yet: index the seeds before serving
        service.start()
        library.ensure_index(settings, service.wait())
    demo = build_app(settings, service)
    # `rag ask` answers through this server when it runs the same settings (ui/api.py); the routes are
    # handed to the FastAPI app Gradio creates, so they exist from the first request on.
    app_kwargs = {"routes": api_routes(settings, service)}
    demo.launch(**launch_options(settings), app_kwargs=app_kwargs, prevent_thread_lock=True)
    service.start()  # after the server is up: two cores and one GIL would otherwise slow its start-up
    demo.block_thread()
