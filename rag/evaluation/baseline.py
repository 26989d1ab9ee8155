"""The llama-index DEFAULT baseline that `rag eval --compare ours --compare baseline` measures us against.

What it is: `VectorStoreIndex.from_documents` over the seed articles (llama-index's default chunking,
SentenceSplitter with chunk_size=1024, chunk_overlap=200) held in memory, and
`index.as_query_engine()` with its defaults (similarity_top_k=2, the "compact" response synthesizer
and its default English QA prompt). Only what a fair comparison needs is fixed:

- the SAME embedding model, through llama-index's HuggingFaceEmbedding with EmbeddingGemma's
  retrieval prompts (set explicitly, so llama-index never falls back to OpenAI);
- the SAME LLM object as our pipeline (rag.models.llm.build_backend(...).llm), also set explicitly;
- documents loaded with rag.ingest.documents.load_document, so doc ids are file stems; the title is shown to
  embedding and LLM as metadata, the doc id is kept out of both (it is a meaningless hash);
- streaming=True, only so time to first token can be measured; it does not change the answer.

A follow-up question (one with `history`) goes to llama-index's default chat engine over the same index,
`index.as_chat_engine()` (CondensePlusContextChatEngine: the LLM condenses the question with the
conversation, then answers from the retrieved nodes), given the earlier turns as its chat history; its
retrieval time then includes the condensing. Its "citations" are the source nodes it answered from; a
refusal (rag.answering.refusal.is_refusal) cites nothing, as in our pipeline.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rag.answering import is_refusal
from rag.errors import NewsragError
from rag.evaluation.extras import require
from rag.evaluation.questionset import Question
from rag.ingest import SUPPORTED_SUFFIXES, load_document
from rag.question import detect_language
from rag.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.base.response.schema import StreamingResponse
    from llama_index.core.chat_engine.types import StreamingAgentChatResponse


class BaselineError(NewsragError, RuntimeError):
    """The baseline cannot be built with these settings."""


def embedding_model(settings: Settings) -> Any:
    require("the llama-index baseline", ("llama_index.embeddings.huggingface",))
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from rag.models import resolve_embedding_path

    return HuggingFaceEmbedding(
        model_name=resolve_embedding_path(settings.embedding_model, settings.models_dir),
        query_instruction=settings.query_prompt,
        text_instruction=settings.document_prompt,
        device="cpu",
    )


def llama_documents(folder: Path) -> list[Any]:
    """llama-index Documents of the articles in `folder`, with id and metadata doc_id = file stem."""
    from llama_index.core import Document

    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
    if not files:
        raise BaselineError(f"no .txt/.md articles in {folder} to build the baseline index from")
    documents = []
    for file in files:
        doc = load_document(file)
        documents.append(
            Document(
                id_=doc.doc_id,
                text=doc.text,
                metadata={"doc_id": doc.doc_id, "title": doc.title},
                excluded_embed_metadata_keys=["doc_id"],
                excluded_llm_metadata_keys=["doc_id"],
            )
        )
    return documents


class BaselinePipeline:
    """Built once (embeds the articles); then called with one Question at a time, giving a result record."""

    def __init__(self, settings: Settings, documents_dir: Path | None = None, embed_model: Any = None, llm: Any = None):
        from llama_index.core import Settings as LlamaSettings
        from llama_index.core import VectorStoreIndex

        from rag.models import build_backend

        if llm is None:
            backend = build_backend(settings)
            llm = backend.llm if backend is not None else None
        if llm is None:
            raise BaselineError("the llama-index baseline needs an LLM; the backend 'none' has none")
        embed_model = embed_model if embed_model is not None else embedding_model(settings)
        # Explicit, so that no llama-index default (OpenAI) is ever resolved.
        LlamaSettings.llm = llm
        LlamaSettings.embed_model = embed_model
        started = time.perf_counter()
        self.documents = llama_documents(documents_dir or settings.seeds_dir)
        self.index = VectorStoreIndex.from_documents(self.documents, embed_model=embed_model)
        self.engine = self.index.as_query_engine(llm=llm, streaming=True)
        self.chat_engine = self.index.as_chat_engine(llm=llm)
        self.build_s = time.perf_counter() - started

    def __call__(self, question: Question) -> dict[str, Any]:
        from llama_index.core import QueryBundle

        started = time.perf_counter()
        if question.history:
            from llama_index.core.llms import ChatMessage

            history = [ChatMessage(role=turn.role, content=turn.content) for turn in question.history]
            # The chat history given replaces the engine's memory, so no question sees another's turns.
            response: StreamingAgentChatResponse | StreamingResponse = self.chat_engine.stream_chat(
                question.question, chat_history=history
            )
            retrieval_ms = (time.perf_counter() - started) * 1000
        else:
            bundle = QueryBundle(question.question)
            # engine.query() is exactly retrieve() then synthesize(); split to time the retrieval.
            nodes = self.engine.retrieve(bundle)
            retrieval_ms = (time.perf_counter() - started) * 1000
            # A streaming engine's synthesize() returns a StreamingResponse; its type names every response.
            response = cast("StreamingResponse", self.engine.synthesize(bundle, nodes))
        text, ttft_ms = "", None
        for delta in response.response_gen:
            if delta and ttft_ms is None:
                ttft_ms = round((time.perf_counter() - started) * 1000, 1)
            text += delta
        total_ms = round((time.perf_counter() - started) * 1000, 1)
        text = text.strip()
        refused = is_refusal(text)
        question_lang = detect_language(question.question)
        retrieved = [
            {
                "rank": rank,
                "doc_id": _doc_id(scored.node),
                "chunk_id": scored.node.node_id,
                "score": round(float(scored.score or 0.0), 4),
                "text": scored.node.get_content(),
            }
            for rank, scored in enumerate(response.source_nodes, start=1)
        ]
        citations = [
            {"n": item["rank"], "doc_id": item["doc_id"], "chunk_id": item["chunk_id"], "passage": item["text"]}
            for item in ([] if refused else retrieved)
        ]
        return {
            "id": question.id,
            "question": question.question,
            "condensed_question": None,
            "mode": "baseline",
            "answer": text,
            "refused": refused,
            "answer_lang": detect_language(text, default=question_lang),
            "question_lang": question_lang,
            "citations": citations,
            "markers_total": 0,
            "markers_invalid": 0,
            "retrieved": retrieved,
            "timings": {"retrieval_ms": round(retrieval_ms, 1), "ttft_ms": ttft_ms, "total_ms": total_ms},
            "error": None,
        }


def _doc_id(node: Any) -> str:
    return str(node.metadata.get("doc_id") or node.ref_doc_id)
