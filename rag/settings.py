"""Typed settings: defaults < config file (rag.toml or $RAG_CONFIG) < environment (RAG_*).

`Settings` holds what a user sets; the answer policy, tuned by measurement, is its group `Settings.answer`
(the `[answer]` table of rag.toml), whose environment names stay flat (RAG_NO_ANSWER_THRESHOLD=0.3). Unknown
keys and RAG_* variables are errors. Fields declared with `answering(...)` can change an answer's text;
`answer_settings` reads that tag for both fingerprints (rag.wire and rag.evaluation.runner), and
scripts/settings_doc.py writes docs/configuration.md from the fields.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.errors import NewsragError
from rag.policy import AnswerPolicy, answering

LLMBackendName = Literal["local", "fast", "ollama", "openai", "none"]
EmbeddingBackendName = Literal["local", "openai", "ollama"]
StoreMode = Literal["persistent", "http"]
AnswerLanguage = Literal["auto", "de", "en"]
KVCacheType = Literal["f16", "q8_0"]
LLM_BACKENDS: tuple[str, ...] = get_args(LLMBackendName)
ANSWER_LANGUAGES: tuple[str, ...] = get_args(AnswerLanguage)

ENV_PREFIX = "RAG_"
# RAG_* variables that are not settings but that the project reads, so they are not "unknown settings".
OTHER_ENV_VARIABLES = frozenset(
    {
        "RAG_CONFIG",  # the config file (config_file below; `rag --config` sets it)
        "RAG_DEBUG",  # tracebacks instead of one-line errors (rag/cli/common.py)
        "RAG_FETCH_FAST",  # scripts/setup.sh: fetch the fast model too
        "RAG_SETUP_MODELS",  # scripts/setup.sh: 0 installs the packages only (make test-fast)
    }
)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsrag"


def config_file() -> Path:
    return Path(os.environ.get("RAG_CONFIG", "rag.toml"))


class Settings(BaseSettings):
    """Every knob of the pipeline. Environment variables are RAG_<NAME>, e.g. RAG_LLM_BACKEND=none."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    # Paths. The cache holds downloads under their names: the same model wherever it lives.
    cache_dir: Path = Field(
        default_factory=default_cache_dir, description="Where models, wheels and saved prompt states live"
    )
    seeds_dir: Path = Field(Path("seeds"), description="The folder `rag index` reads when given none")

    # Embedding. The batch size counts: a batch pads its texts, which can move an embedding's last digits.
    embedding_model: str = answering(
        "embeddinggemma-300m",
        description="Embedded model name, or a path to a SentenceTransformers folder, or a hub id; for a server, "
        "the model name it is sent",
    )
    # A server computes the vectors of its own build of a model, so the backend is recorded with the index.
    embedding_backend: EmbeddingBackendName = answering(
        "local",
        description="local (SentenceTransformers in this process), openai (an OpenAI-compatible /embeddings: "
        "Text Embeddings Inference, vLLM, Infinity, llama.cpp's server) or ollama (/api/embed)",
    )
    embedding_base_url: str = answering(
        "",
        description="Base URL for openai (http://host:port/v1, as an OpenAI client takes it; default "
        "http://127.0.0.1:8080/v1) or ollama (default http://127.0.0.1:11434)",
    )
    embedding_api_key: SecretStr | None = Field(None, description="Key for the OpenAI-compatible embedding server")
    embedding_timeout_s: float = Field(
        60.0, gt=0, le=600, description="Seconds to wait for the embedding server: connecting, and each read"
    )
    embedding_concurrency: int = Field(4, ge=1, le=32, description="Batches sent to the embedding server at once")
    embedding_batch_size: int = answering(8, ge=1, le=256, description="Texts embedded per batch")
    query_prompt: str = answering(
        "task: search result | query: ",
        description="Put before a question when it is embedded (the embedding model's query instruction)",
    )
    document_prompt: str = answering(
        "title: none | text: ",
        description="Put before a chunk when it is embedded (the embedding model's document instruction)",
    )

    # Chunking (when indexing)
    chunk_max_chars: int = answering(600, ge=100, le=8000, description="Longest chunk, in characters")
    chunk_overlap_sentences: int = answering(1, ge=0, le=5, description="Sentences a chunk repeats from the one before")

    # Store: which index is read changes what is retrieved; the token only grants access.
    store_mode: StoreMode = answering(
        "persistent",
        description="persistent: the Chroma folder index_dir; http: a Chroma server",
    )
    index_dir: Path = answering(Path("index"), description="Chroma folder in persistent mode")
    collection: str = answering("articles", description="Chroma collection name")
    chroma_host: str = answering("127.0.0.1", description="Chroma server (http mode)")
    chroma_port: int = answering(8000, description="Its port")
    chroma_ssl: bool = answering(False, description="Reach it over HTTPS")
    chroma_token: SecretStr | None = Field(None, description="Its access token, if it asks for one")

    # Retrieval
    top_k: int = answering(4, ge=1, le=50, description="Chunks retrieved")

    # The LLM. Threads and the timeout change how long an answer takes, not its words.
    llm_backend: LLMBackendName = answering(
        "local",
        description="local (llama.cpp, 1.5B), fast (llama.cpp, 0.5B), ollama, openai (any OpenAI-compatible "
        "server) or none (extractive answers, no LLM)",
    )
    llm_model: str = answering("", description="Model name for ollama/openai, or a GGUF path for local")
    llm_base_url: str = answering(
        "",
        description="Base URL for ollama (http://host:11434) or openai (http://host:port/v1)",
    )
    llm_api_key: SecretStr | None = Field(None, description="Key for the OpenAI-compatible server")
    llm_timeout_s: float = Field(120.0, description="Seconds to wait for the LLM server")
    llm_fallback_extractive: bool = answering(True, description="Answer extractively when the LLM is unreachable")
    llm_threads: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1), description="Local LLM: CPU threads (default: all)"
    )
    llm_context_window: int = answering(4096, description="Local LLM: context window in tokens")
    llm_kv_cache: KVCacheType = answering(
        "f16",
        description="Local LLM: the KV cache's type; q8_0 halves it and the saved prompt states (flash attention)",
    )
    max_new_tokens: int = answering(256, description="Longest answer, in tokens")
    temperature: float = answering(0.0, description="0 is greedy: the same question gets the same answer")
    # Saved prompt states save time, never change an answer (rag.models.chunk_states evaluates the same split).
    chunk_states_mb: int = Field(
        4000,
        ge=0,
        description="Local LLM: disk space (MB) for the evaluated prompt up to each best chunk, so a chunk that "
        "ranks first again costs only the rest of the prompt; 0 keeps none. Answers are the same either way",
    )
    chunk_states_dir: Path | None = Field(
        None, description="Where the chunk states live (default cache_dir/chunk-states)"
    )

    # The question and the answer
    answer_language: AnswerLanguage = answering("auto", description="auto (the question's language), de or en")
    max_question_chars: int = answering(1000, ge=10, description="Longer questions are rejected with a message")
    answer: AnswerPolicy = Field(default_factory=AnswerPolicy, description="The `[answer]` table")

    # Chat server
    host: str = Field("127.0.0.1", description="Address the chat listens on; `rag ask` looks for a chat there")
    port: int = Field(7860, description="Its port")
    auth_user: str | None = Field(None, description="Optional login for the chat; `rag ask` sends it")
    auth_password: SecretStr | None = Field(None, description="Its password")
    upload_max_bytes: int = Field(2_000_000, description="Largest file the chat's document library accepts")
    concurrency_limit: int = Field(1, description="Answers generated at once")
    max_queue: int = Field(64, description="Questions waiting in the chat's queue")

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
        check_environment(os.environ)
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        check_file_keys(toml.toml_data, config_file())
        return (init_settings, env_settings, _AnswerEnvSource(settings_cls), toml, file_secret_settings)

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"

    def with_answer(self, **changes: Any) -> Settings:
        """A copy whose answer policy has `changes` (validated, unlike a plain model_copy)."""
        answer = AnswerPolicy.model_validate(self.answer.model_dump() | changes)
        return self.model_copy(update={"answer": answer})


class _AnswerEnvSource(PydanticBaseSettingsSource):
    """RAG_<NAME> for a field of the answer policy, as before it moved into `[answer]`."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole group at once

    def __call__(self) -> dict[str, Any]:
        environ = {name.upper(): value for name, value in os.environ.items()}
        found = {name: environ[env_name(name)] for name in AnswerPolicy.model_fields if env_name(name) in environ}
        return {"answer": found} if found else {}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def top_k_bounds() -> tuple[int, int]:
    """The allowed range of top_k, read from the field's constraints so that clients do not copy it."""
    bounds = {type(m).__name__: m for m in Settings.model_fields["top_k"].metadata}
    return bounds["Ge"].ge, bounds["Le"].le


# ---------------------------------------------------------------- names and unknown keys


def env_name(field_name: str) -> str:
    """The environment variable of a setting, a user one or one of the answer policy."""
    return f"{ENV_PREFIX}{field_name.upper()}"


def user_fields() -> dict[str, FieldInfo]:
    return {name: info for name, info in Settings.model_fields.items() if name != "answer"}


def setting_names() -> list[str]:
    """Every setting as a rag.toml key: user ones by name, the policy's as answer.<name> (a valid dotted key)."""
    return [*user_fields(), *(f"answer.{name}" for name in AnswerPolicy.model_fields)]


class UnknownSettingError(NewsragError, ValueError):
    """A key in rag.toml or a RAG_* variable that names no setting."""


def unknown(what: str, where: str, known: Sequence[str]) -> UnknownSettingError:
    """The error for an unknown name, with the closest known one when there is one."""
    bare = what.rpartition(".")[2]  # answer.top_k: the setting is top_k, in the wrong table
    close = [bare] if bare in known else difflib.get_close_matches(what, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "; see docs/configuration.md"
    return UnknownSettingError(f"unknown setting {what!r} in {where}{hint}")


def check_file_keys(data: Mapping[str, Any], path: Path) -> None:
    """Every key of the config file names a setting; the `[answer]` table holds only the policy's."""
    known = setting_names()
    for key, value in data.items():
        if key == "answer" and isinstance(value, Mapping):
            for name in value:
                if name not in AnswerPolicy.model_fields:
                    raise unknown(f"answer.{name}", str(path), known)
        elif key not in user_fields():
            raise unknown(key, str(path), known)


def check_environment(environ: Mapping[str, str]) -> None:
    """Every RAG_* variable is a setting's or one of OTHER_ENV_VARIABLES (names compare case-blind, as read)."""
    known = [env_name(name) for name in [*user_fields(), *AnswerPolicy.model_fields]] + sorted(OTHER_ENV_VARIABLES)
    for name in environ:
        if name.upper().startswith(ENV_PREFIX) and name.upper() not in known:
            raise unknown(name, "the environment", known)


# ---------------------------------------------------------------- what changes an answer


def changes_answer(info: FieldInfo) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and extra.get("changes_answer") is True


def answer_settings(settings: Settings) -> dict[str, Any]:
    """The values (JSON types) of the settings tagged CHANGES_ANSWER, by rag.toml key (answer.<name> for the
    policy); paths count by where they point, so processes in two folders differ when a relative index_dir does."""
    groups: list[tuple[str, BaseModel]] = [("", settings), ("answer.", settings.answer)]
    values: dict[str, Any] = {}
    for prefix, model in groups:
        for name, info in type(model).model_fields.items():
            if changes_answer(info):
                value = getattr(model, name)
                values[prefix + name] = str(value.resolve()) if isinstance(value, Path) else value
    return values


def answer_fingerprint(settings: Settings) -> str:
    """Equal for settings that answer alike: a short hash of answer_settings."""
    text = json.dumps(answer_settings(settings), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
