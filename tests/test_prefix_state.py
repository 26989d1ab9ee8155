"""The prompt prefix's llama.cpp state on disk: saved by one model instance, loaded by the next, same logits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.answering.prompt import build_messages, prefix_messages
from rag.models.llama_model import LlamaModel
from rag.models.prefix_state import read_state, warm_prefix
from rag.types import Passage
from tests.fakes import make_chunk, scripted_backend
from tests.models import fresh_local_model

SOURCE = "Der Brite Ben Wallace telefonierte am Sonntag mit Sergej Schoigu."


def test_unreadable_or_foreign_files_are_not_loaded(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01")
    assert read_state(garbage, "key") is None
    not_a_dict = tmp_path / "list.bin"
    not_a_dict.write_bytes((2).to_bytes(8, "little") + b"[]state")
    assert read_state(not_a_dict, "key") is None


def test_other_backends_have_nothing_to_warm(tmp_path: Path) -> None:
    assert warm_prefix(scripted_backend(), prefix_messages(), tmp_path).outcome == "unsupported"
    assert warm_prefix(None, prefix_messages(), tmp_path).outcome == "unsupported"
    assert not list(tmp_path.iterdir())


def _logits_after(model: LlamaModel, prompt_tokens: list[int]) -> np.ndarray:
    """Evaluate what follows the model's kept prefix, as generate() does; the last position's logits."""
    model.evaluate(prompt_tokens)
    return model.last_logits()


@pytest.mark.model
def test_a_saved_prefix_gives_the_next_process_the_same_logits(tmp_path: Path) -> None:
    first = fresh_local_model()
    evaluated = warm_prefix(first, prefix_messages(), tmp_path)
    assert evaluated.outcome == "evaluated" and evaluated.tokens > 100
    assert evaluated.path is not None and evaluated.path.exists()

    second = fresh_local_model()
    loaded = warm_prefix(second, prefix_messages(), tmp_path)
    assert loaded.outcome == "loaded" and loaded.tokens == evaluated.tokens
    assert second.llama.evaluated_tokens == evaluated.tokens

    chunk = make_chunk(SOURCE, title="Telefonat", date="2022-10-24", score=0.8)
    messages = build_messages("Mit wem telefonierte Ben Wallace?", [Passage(number=1, chunk=chunk, text=SOURCE)], "de")
    prompt = second.llama.chat_tokens(messages)
    calls: list[int] = []
    raw = second.llama.llama_cpp
    original = raw.eval
    raw.eval = lambda tokens: (calls.append(len(tokens)), original(tokens))[1]
    from_disk = _logits_after(second.llama, prompt)
    del raw.eval
    assert calls == [len(prompt) - evaluated.tokens], "only the tokens after the loaded prefix are evaluated"

    # The process that evaluated the prefix itself, then the same question: the same numbers. (Evaluating the
    # whole prompt in one go differs in the last digits anyway, because the batches are cut differently.)
    in_process = _logits_after(first.llama, prompt)
    assert np.allclose(from_disk, in_process, atol=1e-4)
    assert int(from_disk.argmax()) == int(in_process.argmax())


@pytest.mark.model
def test_a_corrupt_state_file_is_evaluated_again(tmp_path: Path) -> None:
    model = fresh_local_model()
    path = warm_prefix(model, prefix_messages(), tmp_path).path
    assert path is not None
    path.write_bytes(b"not a state")
    again = warm_prefix(model, prefix_messages(), tmp_path)
    assert again.outcome == "evaluated" and path.stat().st_size > 1_000_000
