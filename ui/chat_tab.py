"""The Chat tab: the conversation with clickable citations, the question box, the evidence panel and the answer
settings; and its events (ask, new chat, a clicked citation, the details switch)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.settings import ANSWER_LANGUAGES, LLM_BACKENDS, Settings
from ui.chat import PLACEHOLDER, ChatUpdate, Services, chat_stream, evidence_for, latest_evidence
from ui.render import render_chat, render_evidence

EXAMPLES = [
    "Welches Land soll Russland heimlich Artilleriemunition geliefert haben?",
    "Mit welchen Verteidigungsministern telefonierte Schoigu?",
    "Who is the Secretary General of NATO?",
    "What did Jens Stoltenberg ask Moscow to stop?",
]

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


@dataclass
class ChatTab:
    """The components of the Chat tab that its events read or write."""

    chat_log: gr.HTML
    question: gr.Textbox
    ask_btn: gr.Button
    new_btn: gr.Button
    evidence: gr.HTML
    backend: gr.Dropdown
    model: gr.Textbox
    top_k: gr.Slider
    language: gr.Radio
    details: gr.Checkbox


def build_chat_tab(settings: Settings) -> ChatTab:
    """The Chat tab's layout (inside gr.Tabs)."""
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
        backend, model, top_k, language, details = _settings_accordion(settings)
    return ChatTab(chat_log, question, ask_btn, new_btn, evidence, backend, model, top_k, language, details)


def _settings_accordion(settings: Settings) -> tuple[gr.Dropdown, gr.Textbox, gr.Slider, gr.Radio, gr.Checkbox]:
    """The answer settings a question is asked with: backend, model, passages, language, retrieval details."""
    with gr.Accordion("Settings", open=False, elem_id="settings"), gr.Row():
        backend = gr.Dropdown(list(LLM_BACKENDS), value=settings.llm_backend, label="LLM backend", elem_id="backend")
        model = gr.Textbox(
            settings.llm_model,
            label="Model",
            info="ollama/openai model name, or a GGUF path for local; empty = default",
        )
        top_k = gr.Slider(1, max(20, settings.top_k), value=settings.top_k, step=1, label="Passages to retrieve")
        language = gr.Radio(list(ANSWER_LANGUAGES), value=settings.answer_language, label="Answer language")
        details = gr.Checkbox(False, label="Show retrieval details (scores, search query, timings)")
    return backend, model, top_k, language, details


def show_evidence(turns: list[dict[str, Any]], evt: gr.EventData) -> Any:
    html = evidence_for(turns, getattr(evt, "_data", None))
    return gr.skip() if html is None else html


def new_chat() -> tuple[str, list[Any], str]:
    return render_chat([], False, PLACEHOLDER), [], render_evidence(None)


def rerender(turns: list[dict[str, Any]], details: bool) -> str:
    return render_chat(turns or [], details, PLACEHOLDER)


def wire_chat_tab(tab: ChatTab, turns: gr.State, services: Services) -> None:
    """The Chat tab's events; answers share the "llm" queue with the /ask endpoint."""

    def respond(
        question: str, turns: list[dict[str, Any]], backend: str, model: str, top_k: float, language: str, details: bool
    ) -> Iterator[ChatUpdate]:
        yield from chat_stream(services, question, turns, backend, model, top_k, language, details)

    chat_inputs = [tab.question, turns, tab.backend, tab.model, tab.top_k, tab.language, tab.details]
    chat_outputs = [tab.chat_log, turns, tab.question]
    common: dict[str, Any] = {
        "concurrency_id": "llm",
        "api_visibility": "private",
        "show_progress": "full",
        "show_progress_on": [tab.chat_log],  # the queue position shows on the conversation
    }
    submit = tab.question.submit(respond, chat_inputs, chat_outputs, **common)
    click = tab.ask_btn.click(respond, chat_inputs, chat_outputs, **common)
    for answered in (submit, click):  # a finished answer opens the evidence panel on its first citation
        answered.then(
            latest_evidence,
            [turns],
            [tab.evidence],
            api_visibility="private",
            show_progress="hidden",
            concurrency_limit=None,
        )
    tab.new_btn.click(
        new_chat,
        None,
        [tab.chat_log, turns, tab.evidence],
        cancels=[submit, click],
        api_visibility="private",
        queue=False,
    )
    tab.chat_log.click(
        show_evidence, [turns], [tab.evidence], concurrency_limit=None, api_visibility="private", show_progress="hidden"
    )
    tab.details.change(rerender, [turns, tab.details], [tab.chat_log], api_visibility="private", queue=False)
