"""Which saved chunk states to keep when the cache is full: the often used and the recent news first.

Least-recently-used alone forgets a passage that the newsroom cites every day as soon as a burst of other
questions passes, and treats yesterday's article like one from ten years ago. Each state's worth is its
uses, decayed by how long ago they were, plus the freshness of its article's date next to the newest article
in the cache. The least worth goes first.

The ledger is a SQLite file beside the states, shared by every process (the chat, `rag ask`, `rag index
--warm`). The files on disk are the truth: a state the ledger does not know counts as used once, when its
file was last touched, and a ledger that cannot be read or written only logs a warning.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

log = logging.getLogger("newsrag.state_ledger")
USE_HALF_LIFE_DAYS = 7.0  # a use counts half after a week: last month's burst does not hold the cache forever
NEWS_HALF_LIFE_DAYS = 3.0  # an article three days older than the newest is worth half a use more, not one
_DAY = 86400.0


@dataclass(frozen=True)
class StateEntry:
    """One saved state as the eviction sees it."""

    name: str
    size: int
    uses: float  # decayed to `last_used`
    last_used: float  # seconds since the epoch
    published: str | None  # the article's date, "2024-03-01" or "2024-03"


def worth(entry: StateEntry, now: float, newest: date | None) -> float:
    """Decayed uses plus the article's freshness: what keeping the state is expected to save."""
    idle_days = max(0.0, now - entry.last_used) / _DAY
    uses = entry.uses * 0.5 ** (idle_days / USE_HALF_LIFE_DAYS)
    published = _day(entry.published)
    if published is None or newest is None:
        return uses
    return uses + 0.5 ** (max(0, (newest - published).days) / NEWS_HALF_LIFE_DAYS)


def eviction_order(entries: Iterable[StateEntry], now: float) -> list[StateEntry]:
    """The entries, least worth first (then least recently used)."""
    entries = list(entries)
    newest = max((d for e in entries if (d := _day(e.published)) is not None), default=None)
    return sorted(entries, key=lambda e: (worth(e, now, newest), e.last_used))


def used(entry: StateEntry | None, name: str, size: int, published: str | None, now: float) -> StateEntry:
    """The entry after one more use."""
    if entry is None:
        return StateEntry(name, size, 1.0, now, published)
    idle_days = max(0.0, now - entry.last_used) / _DAY
    uses = entry.uses * 0.5 ** (idle_days / USE_HALF_LIFE_DAYS) + 1.0
    return StateEntry(name, size, uses, now, published or entry.published)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text if len(text) > 7 else f"{text}-01")
    except ValueError:
        return None


class StateLedger:
    """The uses and article dates of the states in one cache folder."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "ledger.sqlite"

    def record_use(self, file: Path, published: str | None) -> None:
        """A state was loaded or saved: one more use, now."""
        now = time.time()
        with self._connection() as db:
            if db is None:
                return
            row = db.execute("SELECT * FROM states WHERE name = ?", (file.name,)).fetchone()
            entry = used(StateEntry(*row) if row else None, file.name, _size(file), published, now)
            db.execute("INSERT OR REPLACE INTO states VALUES (?, ?, ?, ?, ?)", _row(entry))

    def entries(self, files: Iterable[Path]) -> list[StateEntry]:
        """An entry for each file on disk: the ledger's, or one use at its modification time."""
        known: dict[str, StateEntry] = {}
        with self._connection() as db:
            if db is not None:
                known = {row[0]: StateEntry(*row) for row in db.execute("SELECT * FROM states")}
        return [known.get(f.name) or StateEntry(f.name, _size(f), 1.0, _mtime(f), None) for f in files]

    def forget(self, names: Iterable[str]) -> None:
        with self._connection() as db:
            if db is not None:
                db.executemany("DELETE FROM states WHERE name = ?", [(n,) for n in names])

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection | None]:
        try:
            db = self._open()
        except (OSError, sqlite3.Error) as exc:
            self._warn(exc)
            yield None
            return
        try:
            with db:  # one transaction: committed on success, rolled back on an error
                yield db
        except (OSError, sqlite3.Error) as exc:
            self._warn(exc)
        finally:
            db.close()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5.0)
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS states (name TEXT PRIMARY KEY, size INTEGER, uses REAL, "
                "last_used REAL, published TEXT)"
            )
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _warn(self, exc: Exception) -> None:
        log.warning("the chunk state ledger %s is not usable (%s): evicting by last use", self.path, exc)


def _row(entry: StateEntry) -> tuple[str, int, float, float, str | None]:
    return entry.name, entry.size, entry.uses, entry.last_used, entry.published


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
