"""The Documents tab: the table of indexed documents, upload, delete and a preview of a document's indexed text;
and its events. Uploads and deletions share the "index" queue with the /delete endpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.ingest import UPLOAD_SUFFIXES, add_upload, delete_upload, document_rows, kind_of, safe_stem
from rag.settings import Settings
from rag.store import StoreError
from rag.wiring import AnswerSource
from ui.render import render_document, status_html, upload_label


class DocumentLibrary:
    """The Documents tab's callbacks over the service's store and the uploads folder."""

    def __init__(self, settings: Settings, service: AnswerSource):
        self.settings = settings
        self.service = service

    def library_rows(self) -> list[list[Any]]:
        try:
            rows = document_rows(self.settings, self.service)
        except StoreError as exc:
            gr.Warning(str(exc))
            return []
        return [[d["title"], d["date"] or "", d["chunks"], d["doc_id"], d["kind"]] for d in rows]

    def refresh(self, value: str | None = None) -> tuple[list[list[Any]], Any]:
        rows = self.library_rows()
        ids = [r[3] for r in rows]
        return rows, gr.update(
            choices=[(f"{r[3]} – {r[0][:60]}", r[3]) for r in rows], value=value if value in ids else None
        )

    def preview(self, doc_id: str | None) -> str:
        """The indexed text of a document as HTML (escaped)."""
        doc_id = (doc_id or "").strip()
        if not doc_id:
            return render_document(None, [], "")
        try:
            info = next((d for d in self.service.store.documents() if d.doc_id == doc_id), None)
            if info is None:
                return status_html(f"No document {doc_id} in the index.", "warn")
            chunks = self.service.store.chunks_of(doc_id)
            return render_document(info, chunks, kind_of(self.settings, doc_id))
        except StoreError as exc:
            return status_html(str(exc), "error")

    def on_upload(self, path: str | None, progress: gr.Progress = gr.Progress()) -> tuple[str, Any, Any, str]:  # noqa: B008
        progress(0, desc="Checking and saving")
        ok, message = add_upload(self.settings, self.service, path, _reporter(progress))
        (gr.Info if ok else gr.Warning)(message)
        stem = safe_stem(Path(path).name) if ok and path else None
        rows, update = self.refresh(stem)
        return status_html(message, "ok" if ok else "error"), rows, update, self.preview(stem) if stem else gr.skip()

    def on_delete(self, doc_id: str | None, progress: gr.Progress = gr.Progress()) -> tuple[str, Any, Any, str]:  # noqa: B008
        progress(0, desc="Re-indexing")
        ok, message = delete_upload(self.settings, self.service, doc_id, _reporter(progress))
        (gr.Info if ok else gr.Warning)(message)
        rows, update = self.refresh(None if ok else doc_id)
        return status_html(message, "ok" if ok else "error"), rows, update, self.preview(None if ok else doc_id)


def _reporter(progress: gr.Progress) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        progress((done, total), desc="Embedding", unit="chunks")

    return report


@dataclass
class DocumentsTab:
    """The components of the Documents tab that its events read or write."""

    docs_table: gr.Dataframe
    upload_file: gr.File
    upload_btn: gr.Button
    library_status: gr.HTML
    selected: gr.Dropdown
    refresh_btn: gr.Button
    delete_btn: gr.Button
    doc_preview: gr.HTML


def build_documents_tab(settings: Settings, initial_rows: list[list[Any]], initial_choices: Any) -> DocumentsTab:
    """The Documents tab's layout (inside gr.Tabs), filled with the documents indexed when the app is built."""
    max_mb = settings.upload_max_bytes / 1_000_000
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
                    label=upload_label(max_mb, UPLOAD_SUFFIXES),
                    file_types=list(UPLOAD_SUFFIXES),
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
    return DocumentsTab(
        docs_table, upload_file, upload_btn, library_status, selected, refresh_btn, delete_btn, doc_preview
    )


def wire_documents_tab(tab: DocumentsTab, docs: DocumentLibrary, demo: gr.Blocks) -> None:
    """The Documents tab's events, and the table's refresh when the page loads."""
    changed = [tab.library_status, tab.docs_table, tab.selected, tab.doc_preview]
    tab.upload_btn.click(
        docs.on_upload, [tab.upload_file], changed, api_name="upload", concurrency_id="index", concurrency_limit=1
    )
    tab.delete_btn.click(
        docs.on_delete,
        [tab.selected],
        changed,
        api_name="delete_selected",
        api_visibility="private",
        concurrency_id="index",
        concurrency_limit=1,
    )
    tab.selected.change(docs.preview, [tab.selected], [tab.doc_preview], api_name="preview", concurrency_limit=None)
    tab.refresh_btn.click(docs.refresh, None, [tab.docs_table, tab.selected], api_visibility="private", queue=False)
    demo.load(docs.refresh, None, [tab.docs_table, tab.selected], api_visibility="private", queue=False)
