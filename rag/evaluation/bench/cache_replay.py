"""`rag bench --cache-replay`: the chunk cache's hit rate on a month of newsroom questions over an archive.

Loading a saved chunk state instead of evaluating the passage is what gives the sub-second first word, so the
figure that matters is how often the best chunk's state is on disk when a question comes. Computing real states
for an archive would take days, so this replays the cache's own rules (rag.models.state_ledger's worth and
eviction, the size cap, `rag index --warm --newest N` after each day's feed refresh) over a stream of best
chunks, at the measured size of a state:
- the archive: `archive_articles` articles of `chunks_per_article` chunks, dated over the three years before the
  month; every day `new_per_day` articles arrive, dated that day;
- the questions, `questions_per_day` a day: a share about the last three days' articles (the stories of the
  day, a few much asked), a share about any archive chunk, and the rest the given question set's questions
  (their real best chunks from a `rag eval` run) asked again in turn: passages cited again and again.
The hit rate is counted per kind of question. A state saved is the question's own best chunk's (as in the
product: a miss evaluates and saves it).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rag.models import StateEntry, eviction_order, used

_DAY = 86400.0
_START = date(2026, 11, 1)  # the replayed month; only the gaps between dates matter


@dataclass(frozen=True)
class ReplayConfig:
    archive_articles: int = 50_000
    chunks_per_article: int = 10
    new_per_day: int = 100
    days: int = 30
    questions_per_day: int = 200
    share_recent: float = 0.5
    share_archive: float = 0.3  # the rest: the question set's questions again
    cap_mb: float = 4000.0
    seed: int = 7


@dataclass(frozen=True)
class Policy:
    """How the cache is run: the state's size, which state a full cache drops, what is warmed each day."""

    name: str
    state_mb: float
    by_worth: bool  # False: least recently used, the rule before rag.models.state_ledger
    warm_newest: int = 0  # articles warmed after each feed refresh


@dataclass(frozen=True)
class Question:
    kind: str  # "recent", "archive" or "replayed"
    chunk: str
    published: str


def replayed_chunks(results: Path) -> list[tuple[str, str]]:
    """(doc id, best chunk id) of each answered question of a `rag eval` run's results.jsonl, in order."""
    rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["retrieved"][0]["doc_id"], r["retrieved"][0]["chunk_id"]) for r in rows if r.get("retrieved")]


def _questions(
    config: ReplayConfig, replayed: list[tuple[str, str, str]], day: int, rng: random.Random
) -> list[Question]:
    today = _START + timedelta(days=day)
    out = []
    for i in range(config.questions_per_day):
        draw = rng.random()
        if draw < config.share_recent:  # a story of the last three days; the first few of a day much asked
            age = min(int(rng.expovariate(1.0)), 2)
            article = min(int(rng.paretovariate(1.2)) - 1, config.new_per_day - 1)
            chunk = rng.randrange(config.chunks_per_article)
            published = (today - timedelta(days=age)).isoformat()
            out.append(Question("recent", f"new-{day - age}-{article}-{chunk}", published))
        elif draw < config.share_recent + config.share_archive:
            article = rng.randrange(config.archive_articles)
            chunk = rng.randrange(config.chunks_per_article)
            published = (_START - timedelta(days=1 + article % 1095)).isoformat()
            out.append(Question("archive", f"old-{article}-{chunk}", published))
        else:
            _, chunk_id, published = replayed[(day * config.questions_per_day + i) % len(replayed)]
            out.append(Question("replayed", chunk_id, published))
    return out


class _Cache:
    """The folder of states as rag.models.chunk_states keeps it: names, sizes, uses and dates."""

    def __init__(self, policy: Policy, cap_mb: float) -> None:
        self.policy, self.capacity = policy, max(1, int(cap_mb // policy.state_mb))
        self.entries: dict[str, StateEntry] = {}

    def use(self, chunk: str, published: str, now: float, save: bool = True) -> bool:
        """A question whose best chunk is `chunk`: True when its state was on disk. A miss saves it."""
        hit = chunk in self.entries
        if hit or save:
            self.entries[chunk] = used(self.entries.get(chunk), chunk, 1, published, now)
            self._evict(keep=chunk, now=now)
        return hit

    def full(self) -> bool:
        return len(self.entries) >= self.capacity

    def _evict(self, keep: str, now: float) -> None:
        if len(self.entries) <= self.capacity:
            return
        if self.policy.by_worth:
            order = eviction_order(self.entries.values(), now)
        else:
            order = sorted(self.entries.values(), key=lambda e: e.last_used)
        for entry in order:
            if len(self.entries) <= self.capacity:
                break
            if entry.name != keep:
                del self.entries[entry.name]


def _warm(cache: _Cache, config: ReplayConfig, day: int, now: float) -> None:
    """`rag index --warm --newest N` after the day's refresh: newest first, stopping when the cache is full."""
    published = (_START + timedelta(days=day)).isoformat()
    for article in range(cache.policy.warm_newest):
        for chunk in range(config.chunks_per_article):
            name = f"new-{day}-{article}-{chunk}"
            if name not in cache.entries and cache.full():
                return  # as warm.py: the next state would push out one already there
            cache.use(name, published, now)


def replay(config: ReplayConfig, policy: Policy, replayed: list[tuple[str, str]]) -> dict[str, Any]:
    """The hit rate of each kind of question over the month, and overall."""
    rng = random.Random(config.seed)  # the same questions for every policy
    dates = {doc: (_START - timedelta(days=rng.randrange(1, 1095))).isoformat() for doc, _ in replayed}
    dated = [(doc, chunk, dates[doc]) for doc, chunk in replayed]  # the question set's articles: the archive's
    cache = _Cache(policy, config.cap_mb)
    hits: dict[str, list[int]] = {"recent": [0, 0], "archive": [0, 0], "replayed": [0, 0]}
    for day in range(config.days):
        start = (day + 1) * _DAY  # days from the epoch of the replay; only differences count
        _warm(cache, config, day, start)
        for i, question in enumerate(_questions(config, dated, day, rng)):
            now = start + 3600 + i * (12 * 3600 / config.questions_per_day)
            hits[question.kind][0] += cache.use(question.chunk, question.published, now)
            hits[question.kind][1] += 1
    total_hits, total = sum(h for h, _ in hits.values()), sum(n for _, n in hits.values())
    return {
        **asdict(policy),
        "states_kept": cache.capacity,
        "hit_rate": round(total_hits / total, 3),
        **{f"hit_rate_{kind}": round(h / n, 3) if n else None for kind, (h, n) in hits.items()},
    }


def default_policies(state_mb_before: float, state_mb_after: float, warm_newest: int) -> Iterator[Policy]:
    yield Policy("whole states, least recently used (before)", state_mb_before, by_worth=False)
    yield Policy("passage cells, least recently used", state_mb_after, by_worth=False)
    yield Policy("passage cells, by worth", state_mb_after, by_worth=True)
    yield Policy(f"passage cells, by worth, warm newest {warm_newest}", state_mb_after, True, warm_newest)


class NoStatesToMeasureError(ValueError):
    """The replay needs the size of a real state: none is saved yet."""


def measured_state_mb(states_dir: Path, prefix_dir: Path) -> tuple[float, float]:
    """The mean size of a saved chunk state (the passage's cells) and of a whole head's state as saved before
    them (the prefix's state plus the cells), in MB."""
    cells = [p.stat().st_size for p in states_dir.glob("chunk-*.bin")]
    prefixes = [p.stat().st_size for p in prefix_dir.glob("prefix-*.bin")]
    if not cells or not prefixes:
        raise NoStatesToMeasureError(
            f"No saved prompt states in {states_dir} and {prefix_dir} to measure: run `rag index --warm` first."
        )
    mean_cells = sum(cells) / len(cells) / 2**20
    return max(prefixes) / 2**20 + mean_cells, mean_cells


def run_cache_replay(results: Path, states_dir: Path, prefix_dir: Path, warm_newest: int = 20) -> dict[str, Any]:
    """Every default policy on the default month and on two with the question set's questions asked rarer."""
    replayed = replayed_chunks(results)
    if not replayed:
        raise NoStatesToMeasureError(f"{results} has no answered question with a retrieved chunk.")
    before, after = measured_state_mb(states_dir, prefix_dir)
    mixes = {
        "default (replayed 20%)": ReplayConfig(),
        "replayed 5%": ReplayConfig(share_archive=0.45),
        "replayed 1%": ReplayConfig(share_archive=0.49),
    }
    return {
        "results": str(results),
        "distinct_replayed_chunks": len({chunk for _, chunk in replayed}),
        "state_mb_whole": round(before, 2),
        "state_mb_cells": round(after, 2),
        "mixes": {name: asdict(config) for name, config in mixes.items()},
        "runs": [
            {"mix": name, **replay(config, policy, replayed)}
            for name, config in mixes.items()
            for policy in default_policies(before, after, warm_newest)
        ],
    }


def format_replay(runs: list[dict[str, Any]]) -> str:
    lines = ["| mix | policy | states kept | hit rate | recent | archive | replayed |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(
            f"| {r['mix']} | {r['name']} | {r['states_kept']} | {r['hit_rate']:.3f} | {r['hit_rate_recent']:.3f} "
            f"| {r['hit_rate_archive']:.3f} | {r['hit_rate_replayed']:.3f} |"
        )
    return "\n".join(lines)
