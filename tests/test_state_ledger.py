"""Which chunk states the cache keeps: decayed uses plus the article's freshness, shared through a SQLite ledger,
and the files on disk as the truth when the ledger does not know them or cannot be read."""

from __future__ import annotations

import logging
import os
import time
from datetime import date
from pathlib import Path

import pytest

from rag.models.state_ledger import StateEntry, StateLedger, eviction_order, used, worth

NOW = 1_800_000_000.0
DAY = 86400.0


def _entry(name: str, uses: float = 1.0, days_idle: float = 0.0, published: str | None = None) -> StateEntry:
    return StateEntry(name, 100, uses, NOW - days_idle * DAY, published)


def test_uses_lose_half_their_worth_in_a_week() -> None:
    assert worth(_entry("a", uses=4.0, days_idle=7.0), NOW, None) == pytest.approx(2.0)
    assert worth(_entry("a", uses=4.0), NOW, None) == pytest.approx(4.0)


def test_the_newest_article_is_worth_one_more_use_and_older_ones_less() -> None:
    newest = _entry("new", published="2024-03-10")
    older = _entry("old", published="2024-03-07")
    day = date(2024, 3, 10)
    assert worth(newest, NOW, day) == pytest.approx(2.0)
    assert worth(older, NOW, day) == pytest.approx(1.5), "three days older: half a use"
    assert worth(_entry("month", published="2024-03"), NOW, day) == pytest.approx(1.125), "read as the 1st"


def test_an_old_article_goes_before_a_recent_one_and_a_once_used_before_an_often_used() -> None:
    entries = [
        _entry("recent-once", published="2024-03-10"),
        _entry("archive-once", published="2019-01-02"),
        _entry("archive-often", uses=5.0, days_idle=1.0, published="2019-01-02"),
        _entry("undated-once", days_idle=0.5),
    ]
    order = [e.name for e in eviction_order(entries, NOW)]
    assert order == ["undated-once", "archive-once", "recent-once", "archive-often"]


def test_a_use_adds_one_to_the_decayed_count_and_keeps_a_known_date() -> None:
    first = used(None, "a", 10, "2024-03-01", NOW - 7 * DAY)
    again = used(first, "a", 10, None, NOW)
    assert first.uses == 1.0 and again.uses == pytest.approx(1.5) and again.published == "2024-03-01"


def test_the_ledger_is_shared_by_its_folder_and_files_it_does_not_know_count_once(tmp_path: Path) -> None:
    known, unknown = tmp_path / "chunk-a.bin", tmp_path / "chunk-b.bin"
    known.write_bytes(b"x" * 10)
    unknown.write_bytes(b"y" * 20)
    os.utime(unknown, (NOW - DAY, NOW - DAY))
    StateLedger(tmp_path).record_use(known, "2024-03-01")
    StateLedger(tmp_path).record_use(known, None)  # another process
    entries = {e.name: e for e in StateLedger(tmp_path).entries([known, unknown])}
    assert entries["chunk-a.bin"].uses == pytest.approx(2.0, abs=1e-3)
    assert entries["chunk-a.bin"].published == "2024-03-01" and entries["chunk-a.bin"].size == 10
    assert entries["chunk-b.bin"] == StateEntry("chunk-b.bin", 20, 1.0, NOW - DAY, None)
    StateLedger(tmp_path).forget(["chunk-a.bin"])
    assert StateLedger(tmp_path).entries([known])[0].uses == 1.0


def test_a_ledger_that_cannot_be_opened_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    state = tmp_path / "chunk-a.bin"
    state.write_bytes(b"x")
    ledger = StateLedger(blocked)
    with caplog.at_level(logging.WARNING):
        ledger.record_use(state, None)
        entries = ledger.entries([state])
    assert entries[0].uses == 1.0 and abs(entries[0].last_used - time.time()) < 60
    assert "evicting by last use" in caplog.text


def test_a_corrupt_ledger_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "ledger.sqlite").write_bytes(b"not a database" * 100)
    state = tmp_path / "chunk-a.bin"
    state.write_bytes(b"x")
    with caplog.at_level(logging.WARNING):
        StateLedger(tmp_path).record_use(state, "2024-01-01")
        assert StateLedger(tmp_path).entries([state])[0].published is None
    assert "not usable" in caplog.text
