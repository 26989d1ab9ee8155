"""rag.settings: the [answer] group and its flat environment names, unknown keys as errors, the answer
fingerprints made from the fields' tags, and the generated docs/configuration.md (no models needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from typer.testing import CliRunner

from rag.cli.main import app
from rag.evaluation.runner import ConfigSpec, fingerprint
from rag.policy import AnswerPolicy
from rag.settings import Settings, UnknownSettingError, answer_settings, changes_answer, user_fields
from rag.wire import server_info
from scripts.settings_doc import HISTORY, PAGE, markdown

runner = CliRunner()


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    """An empty rag.toml of this test's own, read through RAG_CONFIG."""
    path = tmp_path / "rag.toml"
    path.write_text("", encoding="utf-8")
    monkeypatch.setenv("RAG_CONFIG", str(path))
    return path


def test_the_answer_table_and_the_flat_environment_names_set_the_answer_policy(config, monkeypatch):
    config.write_text('top_k = 6\n[answer]\nlead_chunk = "retrieval"\nfocus_windows = 2\n', encoding="utf-8")
    monkeypatch.setenv("RAG_NO_ANSWER_THRESHOLD", "0.3")
    monkeypatch.setenv("RAG_FOCUS_WINDOWS", "3")  # the environment wins over the file, as for every setting
    settings = Settings()
    assert settings.top_k == 6 and settings.answer.lead_chunk == "retrieval"
    assert (settings.answer.no_answer_threshold, settings.answer.focus_windows) == (0.3, 3)
    assert Settings().answer.min_relevance == AnswerPolicy().min_relevance == 0.18  # defaults unchanged


def test_a_dotted_key_is_the_same_as_the_table(config):
    config.write_text('answer.lead_chunk = "retrieval"\n', encoding="utf-8")
    assert Settings().answer.lead_chunk == "retrieval"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("top_kk = 5\n", "unknown setting 'top_kk' in {path}; did you mean 'top_k'?"),
        ('lead_chunk = "retrieval"\n', "unknown setting 'lead_chunk' in {path}; did you mean 'answer.lead_chunk'?"),
        (
            "[answer]\nfocus_window = 1\n",
            "unknown setting 'answer.focus_window' in {path}; did you mean 'answer.focus_windows'?",
        ),
        ("[answer]\ntop_k = 3\n", "unknown setting 'answer.top_k' in {path}; did you mean 'top_k'?"),
    ],
)
def test_an_unknown_key_in_the_config_file_names_the_closest_setting(config, text, message):
    config.write_text(text, encoding="utf-8")
    with pytest.raises(UnknownSettingError) as raised:
        Settings()
    assert str(raised.value) == message.format(path=config)


def test_an_unknown_rag_variable_names_the_closest_one_and_the_project_s_own_are_allowed(config, monkeypatch):
    for name in ("RAG_CONFIG", "RAG_DEBUG", "RAG_FETCH_FAST", "RAG_SETUP_MODELS", "RAG_NO_ANSWER_THRESHOLD_DE"):
        monkeypatch.setenv(name, "0.1" if name.endswith("_DE") else "1")
    monkeypatch.setenv("RAG_CONFIG", str(config))
    Settings()
    monkeypatch.setenv("RAG_LEAD_CHUNKS", "retrieval")
    with pytest.raises(
        UnknownSettingError, match="'RAG_LEAD_CHUNKS' in the environment; did you mean 'RAG_LEAD_CHUNK'"
    ):
        Settings()


def test_rag_docs_stops_with_the_typo_of_the_config_file_and_its_fix(config):
    config.write_text("top_kk = 5\n", encoding="utf-8")
    result = runner.invoke(app, ["docs"])
    assert result.exit_code != 0
    assert "unknown setting 'top_kk'" in result.output and "did you mean 'top_k'?" in result.output
    assert "Traceback" not in result.output


def test_rag_docs_stops_with_the_typo_of_a_rag_variable_and_its_fix(config, monkeypatch):
    monkeypatch.setenv("RAG_TOP_KK", "5")
    result = runner.invoke(app, ["docs"])
    assert result.exit_code != 0
    assert "'RAG_TOP_KK'" in result.output and "did you mean 'RAG_TOP_K'?" in result.output


def test_an_answer_policy_setting_is_not_taken_as_a_plain_attribute():
    with pytest.raises(ValidationError):
        Settings(lead_chunk="retrieval")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings().with_answer(lead_chunk="neither")


# ---------------------------------------------------------------- fingerprints


def candidates(info: FieldInfo, default: Any) -> list[Any]:
    """Values of the field's type other than `default`, for the test below to try in turn."""
    kind = info.annotation
    if default is None:  # optional text, secrets and paths
        return ["x"]
    if get_origin(kind) is Literal:
        return [value for value in get_args(kind) if value != default]
    if kind is bool:
        return [not default]
    if kind in (int, float):
        return [default + 1, default - 1, default / 2]
    if kind is str:
        return [default + "x"]
    return [Path("elsewhere")]  # the paths


def changed(settings: Settings, group: str, name: str, info: FieldInfo) -> Settings:
    """`settings` with field `name` (of the user settings or of the [answer] group) set to another valid value."""
    current = getattr(settings.answer if group == "answer" else settings, name)
    for value in candidates(info, current):
        try:
            if group == "answer":
                return settings.with_answer(**{name: value})
            return Settings.model_validate(settings.model_dump() | {name: value})
        except ValidationError:
            continue
    raise AssertionError(f"no other valid value found for {name}")


def every_field() -> list[tuple[str, str, FieldInfo]]:
    return [("", n, i) for n, i in user_fields().items()] + [
        ("answer", n, i) for n, i in AnswerPolicy.model_fields.items()
    ]


@pytest.mark.parametrize(
    ("group", "name", "info"), every_field(), ids=[f"{g}.{n}".lstrip(".") for g, n, _ in every_field()]
)
def test_a_setting_changes_both_fingerprints_exactly_when_it_is_tagged(config, group, name, info):
    settings = Settings(index_dir=Path("index").resolve())
    other = changed(settings, group, name, info)
    ours = ConfigSpec("x", "ours")
    assert (fingerprint(ours, other) != fingerprint(ours, settings)) is changes_answer(info)
    # The baseline never reads the answer policy: its results stand while the policy is tuned.
    baseline = ConfigSpec("x", "baseline")
    assert (fingerprint(baseline, other) != fingerprint(baseline, settings)) is (changes_answer(info) and not group)
    assert (server_info(other)["fingerprint"] != server_info(settings)["fingerprint"]) is changes_answer(info)


def test_the_tags_cover_what_the_old_eval_fingerprint_missed_and_leave_out_how_the_chat_listens():
    tagged = set(answer_settings(Settings()))
    assert {f"answer.{name}" for name in AnswerPolicy.model_fields} <= tagged
    missed_before = {"chunk_overlap_sentences", "query_prompt", "document_prompt", "llm_context_window"}
    assert missed_before | {"llm_kv_cache", "llm_fallback_extractive"} <= tagged
    assert not tagged & {"host", "port", "auth_password", "chunk_states_mb", "fetch_timeout_s", "llm_api_key"}


def test_the_embedding_backend_is_one_of_three_and_what_changes_the_vectors_is_tagged(config, monkeypatch):
    with pytest.raises(ValidationError, match="embedding_backend"):
        Settings(embedding_backend="tfidf")
    monkeypatch.setenv("RAG_EMBEDDING_BACKEND", "ollama")
    assert Settings().embedding_backend == "ollama"
    tagged = set(answer_settings(Settings()))
    assert {"embedding_backend", "embedding_base_url", "embedding_model", "embedding_batch_size"} <= tagged
    assert not tagged & {"embedding_api_key", "embedding_timeout_s", "embedding_concurrency"}


# ---------------------------------------------------------------- the generated page


def test_docs_configuration_is_the_page_the_settings_make():
    """Regenerate it with `python -m scripts.settings_doc` after changing a setting."""
    assert PAGE.read_text(encoding="utf-8") == markdown()
    for name in [*user_fields(), *AnswerPolicy.model_fields]:
        assert f"| `{name}` |" in markdown()
    history = (PAGE.parent / "experiment-log.md").read_text(encoding="utf-8")
    assert "## Measured history of the answer-policy defaults (moved from the settings, 2026-12-05)" in history
    assert HISTORY.endswith("#measured-history-of-the-answer-policy-defaults-moved-from-the-settings-2026-12-05")
