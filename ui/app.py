"""The Gradio chat: streamed answers with clickable citations, an evidence panel and a document library.

`launch(settings)` indexes the seeds into an empty index, then serves the app while the models load.
`build_app(settings, service)` only builds it (tests and other hosts can launch it themselves): the Chat tab
(ui/chat_tab.py, its logic in ui/chat.py) and the Documents tab (ui/documents_tab.py).

API endpoints (gradio_client): /ask, /documents, /upload, /delete, /preview. `launch` adds the JSON routes
that `rag ask` uses (ui/api.py).
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from rag.answering import InvalidQuestionError
from rag.ingest import delete_upload, document_rows, ensure_index
from rag.models import LLMUnavailableError
from rag.settings import Settings, get_settings
from rag.store import StoreError
from rag.wiring import AnswerSource, BackgroundService, check_models, get_service
from ui.api import api_routes
from ui.chat import Services, parse_history
from ui.chat_tab import build_chat_tab, wire_chat_tab
from ui.documents_tab import DocumentLibrary, build_documents_tab, wire_documents_tab
from ui.errors import FriendlyError, error_text
from ui.render import CSS

log = logging.getLogger("newsrag.ui")


def build_app(settings: Settings, service: AnswerSource | None = None) -> gr.Blocks:
    """Build the Blocks app (queued, not launched)."""
    service = service or get_service(settings)
    services = Services(settings, service)
    docs = DocumentLibrary(settings, service)
    initial_rows, initial_choices = docs.refresh()
    with gr.Blocks(title="News RAG", analytics_enabled=False, fill_width=True, delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        gr.Markdown("## News RAG – answers from the articles, with sources")
        with gr.Tabs():
            chat_tab = build_chat_tab(settings)
            documents_tab = build_documents_tab(settings, initial_rows, initial_choices)
        wire_chat_tab(chat_tab, turns, services)
        wire_documents_tab(documents_tab, docs, demo)
        register_api(settings, service, services)
    demo.queue(default_concurrency_limit=settings.concurrency_limit, max_size=settings.max_queue)
    return demo


def register_api(settings: Settings, service: AnswerSource, services: Services) -> None:
    """The API endpoints /ask, /documents and /delete (gradio_client), inside the app being built."""

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
            return document_rows(settings, service)
        except StoreError as exc:
            raise gr.Error(str(exc)) from exc

    def delete(doc_id: str) -> dict:
        """Delete an uploaded document and re-index; returns {ok, message}."""
        ok, message = delete_upload(settings, service, doc_id)
        return {"ok": ok, "message": message}

    gr.api(ask, api_name="ask", concurrency_id="llm")
    gr.api(documents, api_name="documents", concurrency_limit=None)
    gr.api(delete, api_name="delete", concurrency_id="index", concurrency_limit=1)


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
        ensure_index(settings, service.wait())
    demo = build_app(settings, service)
    # `rag ask` answers through this server when it runs the same settings (ui/api.py); the routes are
    # handed to the FastAPI app Gradio creates, so they exist from the first request on.
    app_kwargs = {"routes": api_routes(settings, service)}
    demo.launch(**launch_options(settings), app_kwargs=app_kwargs, prevent_thread_lock=True)
    service.start()  # after the server is up: two cores and one GIL would otherwise slow its start-up
    demo.block_thread()
