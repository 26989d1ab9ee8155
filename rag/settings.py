"""Typed settings: defaults < config file (rag.toml or $RAG_CONFIG) < environment (RAG_*)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.types import AnswerFormat

LLMBackend = Literal["local", "fast", "ollama", "openai", "none"]
StoreMode = Literal["persistent", "http"]
AnswerLanguage = Literal["auto", "de", "en"]
YesNoVerdict = Literal["calibrated", "model"]
LeadChunk = Literal["retrieval", "sentence"]
StatementHint = Literal["own", "verbatim"]
QuoteAcrossLanguages = Literal["meaning", "words"]
FollowUpSearch = Literal["auto", "turn", "condense"]
KVCacheType = Literal["f16", "q8_0"]
LLM_BACKENDS: tuple[str, ...] = get_args(LLMBackend)
ANSWER_LANGUAGES: tuple[str, ...] = get_args(AnswerLanguage)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsrag"


def config_file() -> Path:
    return Path(os.environ.get("RAG_CONFIG", "rag.toml"))


class Settings(BaseSettings):
    """Every knob of the pipeline. Environment variables are RAG_<NAME>, e.g. RAG_LLM_BACKEND=none."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", validate_default=True)

    # Paths
    cache_dir: Path = Field(default_factory=default_cache_dir, description="Where models and wheels live")
    seeds_dir: Path = Field(Path("seeds"), description="Default folder that `rag index` reads")

    # Embedding
    embedding_model: str = Field(
        "embeddinggemma-300m",
        description="Embedded model name, or a path to a SentenceTransformers folder, or a hub id",
    )
    embedding_batch_size: int = Field(8, ge=1, le=256)
    query_prompt: str = "task: search result | query: "
    document_prompt: str = "title: none | text: "

    # Chunking
    chunk_max_chars: int = Field(600, ge=100, le=8000)
    chunk_overlap_sentences: int = Field(1, ge=0, le=5)

    # Store
    store_mode: StoreMode = "persistent"
    index_dir: Path = Field(Path("index"), description="Chroma folder in persistent mode")
    collection: str = "articles"
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8000
    chroma_ssl: bool = False
    chroma_token: SecretStr | None = None

    # Retrieval
    top_k: int = Field(4, ge=1, le=50)
    min_relevance: float = Field(0.18, description="Refuse without calling the LLM below this top score")

    # Answering
    llm_backend: LLMBackend = "local"
    llm_model: str = Field("", description="Model name for ollama/openai, or a GGUF path for local")
    llm_base_url: str = Field("", description="Base URL for ollama (http://host:11434) or openai (…/v1)")
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 120.0
    llm_fallback_extractive: bool = Field(True, description="Answer extractively when the LLM is unreachable")
    llm_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    llm_context_window: int = 4096
    llm_kv_cache: KVCacheType = Field(
        "f16",
        description="Local LLM: the KV cache's type; q8_0 halves it and the saved prompt states (flash attention)",
    )
    max_new_tokens: int = 256
    temperature: float = 0.0  # greedy: the same question gives the same answer, which fact-checks and evals need
    no_answer_threshold: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="Local LLM: refuse when the first answer token is the no-answer word with this probability",
    )
    no_answer_threshold_de: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="The same, for German questions over German sources (tuned on XQuAD-de)",
    )
    no_answer_threshold_cross_lingual: float = Field(
        0.6, ge=0.0, le=1.0, description="The same, when the question's language differs from the sources'"
    )
    answer_format: AnswerFormat = Field(
        "shaped",
        description="shaped: the shape the question asks for (short answer, sentence, yes/no, every item); "
        "short: the short answer only",
    )
    yesno_verdict: YesNoVerdict = Field(
        "calibrated",
        description="shaped format, yes/no questions: calibrated: yes or no is decided from the first word's "
        "log-odds against yesno_threshold and the model writes the fact after it (LLMs with logits); "
        "model: the model decides",
    )
    yesno_threshold: float = Field(
        -2.4,
        description="Answer no when log P(no) - log P(yes) of the first word is above this (tuned on "
        "eval/tuning.jsonl; the model leans to yes)",
    )
    refuse_unsupported_numbers: bool = Field(
        True,
        description="Refuse instead of answering with a number that neither the passages nor the question "
        'hold, in digits or words (the 1.5B model answers an unanswerable "how many" with a number)',
    )
    refuse_unheld_question_numbers: bool = Field(
        True,
        description="Refuse before asking the LLM when the question names a number that none of the retrieved "
        'chunks holds ("the 58 richest people" where the source says 85): the articles do not hold its premise',
    )
    chunk_states_mb: int = Field(
        4000,
        ge=0,
        description="Local LLM: disk space (MB, in cache_dir/chunk-states) for the evaluated prompt up to each "
        "best chunk, so a chunk that ranks first again costs only the rest of the prompt; 0 turns it off",
    )
    chunk_states_dir: Path | None = Field(
        None, description="Where the chunk states live (default cache_dir/chunk-states)"
    )
    statement_hint: StatementHint = Field(
        "verbatim",
        description="A statement asked in the sources' language: verbatim: the model is asked for the source's "
        "sentence that answers it, word for word (full runs: own-words F1 up on every set, own words right +1 on "
        "XQuAD-de and SQuAD 2.0, level elsewhere); own: one sentence in the sources' words",
    )
    quote_across_languages: QuoteAcrossLanguages = Field(
        "meaning",
        description="The source sentence quoted under an answer in another language than its passage (an "
        "English answer over a German article): meaning: the sentence closest to the answer by embedding, "
        "when no sentence shares enough of its words; words: the sentence sharing most words, as within a "
        "language",
    )
    quote_by_question: bool = Field(
        True,
        description="The source sentence quoted under a yes/no answer is the one that best matches the question "
        "(the sentence that decides it), not the one that best matches the model's sentence after its verdict "
        "(replayed over saved answers: answer with its quote right +1 on tuning and on held-out yes/no "
        "questions; the model's words are the same)",
    )
    follow_up_search: FollowUpSearch = Field(
        "auto",
        description="What a follow-up question is searched with: turn: the previous question, its answer and the "
        "follow-up, joined (first follow-ups: 23 vs 17 of 33 right, first token 0.8 vs 2.1 s); condense: a "
        "standalone question the LLM writes from the last turns first (second follow-ups: 7 vs 3 of 10); "
        "auto: turn after one exchange, condense after more",
    )
    lead_chunk: LeadChunk = Field(
        "sentence",
        description="The chunk the model reads whole: sentence: the retrieved chunk holding the sentence that best "
        "matches the question, when question and chunks share a language (tuned: +4 of 196 answerable tuning "
        "questions, +3 of 71 confirming); retrieval: the embedding's first",
    )
    focus_windows: int = Field(
        0,
        ge=0,
        le=10,
        description="Sentences of the other chunks shown after the best chunk (tuned: 0 answers in about half "
        "the time of 1, as many questions right, and refuses more of the unanswerable ones)",
    )
    list_windows: int = Field(
        1,
        ge=0,
        le=10,
        description="The same, for a question that asks for several things (tuned: without them lists lose)",
    )
    split_two_part_questions: bool = Field(
        True,
        description='Answer a question that asks two things ("…, and where …?", "laut X und laut Y") as two '
        "questions, each from its own best passage",
    )
    focus_neighbours: int = Field(0, ge=0, le=5, description="Sentences kept on each side of such a sentence")
    context_budget_tokens: int = Field(700, ge=100, le=8000, description="Passage tokens sent to the LLM")
    answer_language: AnswerLanguage = "auto"
    max_question_chars: int = Field(1000, ge=10)

    # Chat server
    host: str = "127.0.0.1"
    port: int = 7860
    auth_user: str | None = None
    auth_password: SecretStr | None = None
    upload_max_bytes: int = 2_000_000
    concurrency_limit: int = 1
    max_queue: int = 64

    # Fetching news from the web (only for URLs given to `rag index`)
    fetch_user_agent: str = Field("newsrag/0.1 (+local news QA)", description="Sent with every request")
    fetch_timeout_s: float = Field(15.0, gt=0, le=300, description="Per request: connecting, each read, and in total")
    fetch_max_bytes: int = Field(5_000_000, ge=1000, description="Larger pages, feeds and sitemaps are not read")
    fetch_host_delay_s: float = Field(1.0, ge=0, le=600, description="Pause between requests to one host")
    fetch_max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per request, http(s) only")
    fetch_max_articles: int = Field(100, ge=1, description="Articles taken from one feed or sitemap")
    fetch_allow_private: bool = Field(
        False, description="Allow addresses on this machine or the local network (intranet sites)"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml, file_secret_settings)

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def top_k_bounds() -> tuple[int, int]:
    """The allowed range of top_k, read from the field's constraints so that clients do not copy it."""
    bounds = {type(m).__name__: m for m in Settings.model_fields["top_k"].metadata}
    return bounds["Ge"].ge, bounds["Le"].le
