"""The prompt's state up to the best chunk, kept per chunk: which part is the head, when it is kept, loaded,
evaluated or saved, the size cap, and the same answer with the cache on and off through the real model."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from llama_index.core.llms import ChatMessage

from rag.answering.prompt import best_chunk_chars, build_messages, prefix_messages, restore_best_chunk
from rag.models.chunk_states import ChunkStates
from rag.types import Passage
from tests.fakes import char_backend, make_chunk, scripted_backend
from tests.models import fresh_local_model

BEST = make_chunk("Der Streik dauerte fünf Tage. Die Züge fuhren wieder.", chunk_id="best", title="Streik")
OTHER = make_chunk("Die Gewerkschaft forderte mehr Lohn.", chunk_id="other", doc_id="d1", title="Lohn")


def _messages(question: str, passages: list[Passage]) -> list[ChatMessage]:
    return build_messages(question, passages, "de", "shaped")


def _passages(*chunks) -> list[Passage]:
    return [Passage(number=i, chunk=c, text=c.text) for i, c in enumerate(chunks, 1)]


def _cache(tmp_path: Path, max_bytes: int = 10**9) -> ChunkStates:
    return ChunkStates(tmp_path / "chunks", max_bytes, tmp_path / "prefix")


def test_the_head_is_the_header_and_the_best_chunks_passages() -> None:
    passages = [*_passages(BEST), Passage(number=2, chunk=BEST, text="Die Züge fuhren wieder."), *_passages(OTHER)]
    passages[2] = Passage(number=3, chunk=OTHER, text=OTHER.text)
    content = _messages("Wie lange?", passages)[-1].content or ""
    head = content[: best_chunk_chars(passages)]
    assert head.startswith("Sources:\n[1] «Streik»") and head.endswith("[2] «Streik»: Die Züge fuhren wieder.")
    assert "Lohn" not in head and best_chunk_chars([]) == 0


def test_a_chunk_that_ranks_first_again_is_loaded_and_only_the_rest_evaluated(tmp_path: Path) -> None:
    passages = _passages(BEST, OTHER)
    first, second = _messages("Wie lange dauerte der Streik?", passages), _messages("Wer streikte?", passages)
    cache = _cache(tmp_path)
    backend = char_backend(tmp_path)
    use = cache.restore(backend, first, best_chunk_chars(passages))
    assert use.outcome == "evaluated" and len(cache.files()) == 1
    prefix = len(backend.llama.chat_tokens(first[:-1], open_reply=False))
    assert backend.llama.evaluated == [prefix, use.tokens - prefix], "the prefix, then the head from its end"

    fresh = char_backend(tmp_path)  # another process: the prefix and the head come from disk
    use2 = cache.restore(fresh, second, best_chunk_chars(passages))
    assert use2.outcome == "loaded" and use2.tokens == use.tokens and fresh.llama.evaluated == []
    prompt = fresh.llama.chat_tokens(second)
    assert fresh.llama.evaluate(prompt) == len(prompt) - use.tokens
    assert cache.stats.loaded == 1 and cache.stats.evaluated == 1 and cache.stats.hit_rate == 0.5
    assert cache.stats.load_seconds == [use2.seconds], "the bench's load time: loads only"
    assert fresh.llama.loaded == 2, "the prefix's state, then the chunk's cells after it"


def test_a_chunk_state_holds_only_the_cells_after_the_prefix(tmp_path: Path) -> None:
    passages = _passages(BEST, OTHER)
    messages = _messages("Wie lange dauerte der Streik?", passages)
    cache, backend = _cache(tmp_path), char_backend(tmp_path)
    use = cache.restore(backend, messages, best_chunk_chars(passages))
    prefix = backend.llama.chat_tokens(messages[:-1], open_reply=False)
    (saved,) = cache.files()
    cells = saved.read_bytes().split(b"}", 1)[1]  # after the JSON header
    assert cells == bytes(str(backend.llama.ids[len(prefix) : use.tokens]), "utf-8")


def test_the_same_best_chunk_in_the_model_is_kept_and_cut_back_to_the_head(tmp_path: Path) -> None:
    passages = _passages(BEST, OTHER)
    messages = _messages("Wie lange dauerte der Streik?", passages)
    cache, backend = _cache(tmp_path), char_backend(tmp_path)
    cache.restore(backend, messages, best_chunk_chars(passages))
    backend.llama.evaluate(backend.llama.chat_tokens(messages))  # the answer ran
    use = cache.restore(backend, _messages("Und warum?", passages), best_chunk_chars(passages))
    assert use.outcome == "kept" and backend.llama.evaluated_tokens == use.tokens, "the rest is evaluated afresh"


def test_without_disk_space_nothing_is_written_and_the_prompt_is_split_the_same(tmp_path: Path) -> None:
    passages = _passages(BEST, OTHER)
    messages = _messages("Wie lange dauerte der Streik?", passages)
    off, on = char_backend(tmp_path), char_backend(tmp_path)
    _cache(tmp_path, max_bytes=0).restore(off, messages, best_chunk_chars(passages))
    assert not (tmp_path / "chunks").exists()
    _cache(tmp_path).restore(on, messages, best_chunk_chars(passages))
    # The prefix came from disk the second time; the head was evaluated from the prefix's end both times.
    assert off.llama.evaluated[-1] == on.llama.evaluated[-1] and off.llama.ids == on.llama.ids


def test_the_least_recently_used_states_go_when_the_cap_is_reached(tmp_path: Path) -> None:
    cache, backend = _cache(tmp_path, max_bytes=1), char_backend(tmp_path)
    for chunk in (BEST, OTHER):
        passages = _passages(chunk)
        cache.restore(backend, _messages("Was?", passages), best_chunk_chars(passages))
    [kept] = cache.files()
    passages = _passages(OTHER)
    assert (
        cache.restore(char_backend(tmp_path), _messages("Was?", passages), best_chunk_chars(passages)).outcome
        == "loaded"
    )
    assert cache.size_bytes() == kept.stat().st_size


def test_a_full_cache_keeps_the_often_used_state_and_the_recent_article(tmp_path: Path) -> None:
    """Not the least recently used: the state used three times, and the newest article's, outlive one used once."""
    often = make_chunk("Die Züge fuhren wieder.", chunk_id="often", title="Züge", date="2019-05-01")
    once = make_chunk("Die Busse fuhren nicht.", chunk_id="once", title="Busse", date="2019-05-01")
    recent = make_chunk("Der Flughafen blieb offen.", chunk_id="recent", title="Flug", date="2024-03-10")
    cache, backend = _cache(tmp_path), char_backend(tmp_path)

    def ask(chunk) -> str:
        passages = _passages(chunk)
        return restore_best_chunk(cache, char_backend(tmp_path), _messages("Was?", passages), passages).outcome

    assert [ask(often), ask(often), ask(often), ask(once)] == ["evaluated", "loaded", "loaded", "evaluated"]
    cache.max_bytes = cache.size_bytes() * 3 // 2  # room for two of about the same size
    assert ask(recent) == "evaluated" and len(cache.files()) == 2
    assert [ask(often), ask(recent), ask(once)] == ["loaded", "loaded", "evaluated"], "the once-used one went"
    assert backend.llama.evaluated == []


def test_a_corrupt_state_is_evaluated_again_and_replaced(tmp_path: Path) -> None:
    passages = _passages(BEST)
    cache = _cache(tmp_path)
    cache.restore(char_backend(tmp_path), _messages("Was?", passages), best_chunk_chars(passages))
    [path] = cache.files()
    path.write_bytes(b"garbage")
    assert cache.restore(char_backend(tmp_path), _messages("Was?", passages), best_chunk_chars(passages)).outcome == (
        "evaluated"
    )
    assert path.stat().st_size > len(b"garbage")


def test_a_cache_that_cannot_be_written_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    cache = ChunkStates(blocked / "chunks", 10**9, tmp_path / "prefix")
    passages = _passages(BEST)
    with caplog.at_level(logging.WARNING, logger="newsrag.chunk_states"):
        use = cache.restore(char_backend(tmp_path), _messages("Was?", passages), best_chunk_chars(passages))
    assert use.outcome == "evaluated" and "could not save a chunk state" in caplog.text


def test_other_backends_and_prompts_without_passages_are_left_alone(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    passages = _passages(BEST)
    assert cache.restore(scripted_backend(), _messages("Was?", passages), 50).outcome == "unsupported"
    assert cache.restore(char_backend(tmp_path), _messages("Was?", []), 0).outcome == "unsupported"
    assert not cache.files()


def test_a_follow_up_after_another_prompt_gets_the_prefix_back_from_disk(tmp_path: Path) -> None:
    passages = _passages(BEST)
    cache, backend = ChunkStates(tmp_path / "chunks", 0, tmp_path / "prefix"), char_backend(tmp_path)
    cache.restore(backend, _messages("Was?", passages), best_chunk_chars(passages))
    backend.llama.evaluate([1, 2, 3])  # the condensing prompt took the model
    other = _passages(OTHER)
    use = cache.restore(backend, _messages("Und dann?", other), best_chunk_chars(other))
    assert use.outcome == "evaluated" and backend.llama.loaded == 1, "the prefix state saved the first time"


# -- through the real model ---------------------------------------------------------------------------------


@pytest.mark.model
def test_a_loaded_chunk_state_gives_the_logits_of_one_evaluated_in_process(tmp_path: Path) -> None:
    passages = _passages(BEST, OTHER)
    messages = build_messages("Wie lange dauerte der Streik?", passages, "de", "shaped")
    assert [m.content for m in messages[:-1]] == [m.content for m in prefix_messages("shaped")]
    cache = _cache(tmp_path)
    first = fresh_local_model()
    assert cache.restore(first, messages, best_chunk_chars(passages)).outcome == "evaluated"
    prompt = first.llama.chat_tokens(messages)
    first.llama.evaluate(prompt)
    in_process = first.llama.last_logits()

    second = fresh_local_model()
    use = cache.restore(second, messages, best_chunk_chars(passages))
    assert use.outcome == "loaded" and second.llama.evaluated_tokens == use.tokens
    assert second.llama.evaluate(prompt) == len(prompt) - use.tokens
    assert (second.llama.last_logits() == in_process).all(), "bit for bit: the same split, the same numbers"


ARTICLE = """Bahnstreik nach fünf Tagen beendet
Datum: 2024-03-06

Die Gewerkschaft GDL und die Deutsche Bahn haben sich am Mittwoch in Berlin auf einen neuen Tarifvertrag geeinigt. \
Der Streik im Personenverkehr hatte fünf Tage gedauert und Millionen Pendler getroffen. Die Löhne steigen in zwei \
Stufen um insgesamt elf Prozent, die Laufzeit beträgt 26 Monate. GDL-Chef Claus Weselsky sprach von einem großen \
Erfolg für die Lokführer. Die Bahn erklärte, der Abschluss sei teuer, aber tragbar.

Der Fahrgastverband Pro Bahn forderte eine Entschädigung für alle Inhaber von Monatskarten. Ein Sprecher des \
Verbands sagte, die Pendler hätten die Hauptlast des Arbeitskampfes getragen. Die Deutsche Bahn lehnte die \
Forderung am Donnerstag ab und verwies auf die gesetzlichen Fahrgastrechte. Verkehrsminister Volker Wissing \
kündigte an, das Schlichtungsverfahren im Bahnverkehr gesetzlich zu regeln.
"""

OLDER = """Fahrplanwechsel im Mai
Datum: 2019-05-01

Die Bahn stellte am Mittwoch den neuen Sommerfahrplan vor. Zwischen Hamburg und Berlin fahren die Züge künftig
im Halbstundentakt.
"""


@pytest.mark.model
def test_rag_index_warm_then_the_same_answer_from_a_saved_state_as_without_the_cache(tmp_path, monkeypatch):
    """`rag index --warm --newest 1` with the real models warms the newest article's chunks only; a question
    whose best chunk was warmed gets its state from disk and the same answer, word for word, as the same
    question with the cache off."""
    from typer.testing import CliRunner

    from rag.cli.main import app
    from rag.settings import Settings
    from rag.wiring import get_service

    articles, states = tmp_path / "articles", tmp_path / "states"
    articles.mkdir()
    (articles / "bahnstreik.txt").write_text(ARTICLE, encoding="utf-8")
    (articles / "archiv.txt").write_text(OLDER, encoding="utf-8")
    (tmp_path / "rag.toml").write_text("")
    for key, value in {
        "RAG_CONFIG": str(tmp_path / "rag.toml"),
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_CHUNK_STATES_DIR": str(states),
    }.items():
        monkeypatch.setenv(key, value)
    warmed = CliRunner().invoke(app, ["index", str(articles), "--warm", "--newest", "1"])
    assert warmed.exit_code == 0, warmed.output
    saved = sorted(states.glob("chunk-*.bin"))
    assert f"Prompt states: {len(saved)} computed, 0 already there" in warmed.output

    settings = Settings()
    newest = {d.title: d.chunks for d in get_service(settings).store.documents()}
    assert len(saved) == newest["Bahnstreik nach fünf Tagen beendet"] >= 2, "the older article's chunk is not warm"
    on, off = get_service(settings), get_service(settings.model_copy(update={"chunk_states_mb": 0}))
    question, other = "Um wie viel Prozent steigen die Löhne?", "Was forderte der Fahrgastverband Pro Bahn?"
    without = off.answer(question)  # evaluated from the prefix's end, nothing read or written
    assert off.answer(other).retrieved[0].chunk_id != without.retrieved[0].chunk_id  # the model holds another chunk
    loaded_before = on.chunk_states.stats.loaded
    with_cache = on.answer(question)
    assert on.chunk_states.stats.loaded == loaded_before + 1, "the question's best chunk came from disk"
    assert with_cache.text == without.text and not with_cache.refused
    assert sorted(states.glob("chunk-*.bin")) == saved, "nothing new was computed"
