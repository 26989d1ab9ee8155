"""The chunk cache replayed over a month of questions: the cache's rules as rag.models.chunk_states runs them,
the hit rates they give, and `rag bench --cache-replay` on a results file and saved states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.evaluation.bench.cache_replay import (
    NoStatesToMeasureError,
    Policy,
    ReplayConfig,
    measured_state_mb,
    replay,
    replayed_chunks,
)

SMALL = ReplayConfig(archive_articles=500, new_per_day=20, days=6, questions_per_day=60)
REPLAYED = [(f"doc{i % 3}", f"chunk{i % 8}") for i in range(12)]


def _results(path: Path) -> Path:
    rows = [{"id": f"q{i}", "retrieved": [{"doc_id": d, "chunk_id": c}]} for i, (d, c) in enumerate(REPLAYED)]
    rows.append({"id": "failed", "retrieved": []})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_the_best_chunks_are_read_from_a_results_file_in_order(tmp_path: Path) -> None:
    assert replayed_chunks(_results(tmp_path / "results.jsonl")) == REPLAYED


def test_a_cache_that_holds_everything_misses_each_chunk_once() -> None:
    figures = replay(SMALL, Policy("all", state_mb=1.0, by_worth=False), REPLAYED)
    replayed = round(SMALL.days * SMALL.questions_per_day * (1 - SMALL.share_recent - SMALL.share_archive))
    assert figures["states_kept"] == 4000
    assert figures["hit_rate_replayed"] == pytest.approx((replayed - 8) / replayed, abs=0.05)


def test_least_recently_used_never_gains_from_a_smaller_cache() -> None:
    rates = [replay(SMALL, Policy("lru", mb, by_worth=False), REPLAYED)["hit_rate"] for mb in (400.0, 40.0, 4.0)]
    assert rates[0] <= rates[1] <= rates[2] and rates[0] < rates[2]


def test_warming_the_newest_articles_raises_the_recent_hit_rate() -> None:
    cold = replay(SMALL, Policy("cold", 20.0, by_worth=True), REPLAYED)
    warm = replay(SMALL, Policy("warm", 20.0, by_worth=True, warm_newest=5), REPLAYED)
    assert warm["hit_rate_recent"] > cold["hit_rate_recent"]


def test_the_state_sizes_come_from_the_saved_files(tmp_path: Path) -> None:
    states, prefix = tmp_path / "states", tmp_path / "prefix"
    with pytest.raises(NoStatesToMeasureError, match="rag index --warm"):
        measured_state_mb(states, prefix)
    states.mkdir()
    prefix.mkdir()
    (states / "chunk-a.bin").write_bytes(b"x" * 2**20)
    (states / "chunk-b.bin").write_bytes(b"x" * 3 * 2**20)
    (prefix / "prefix-a.bin").write_bytes(b"x" * 10 * 2**20)
    assert measured_state_mb(states, prefix) == (12.0, 2.0)


def test_rag_bench_cache_replay_writes_the_hit_rates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.cli.main import app

    cache = tmp_path / "cache"
    (cache / "chunk-states").mkdir(parents=True)
    (cache / "prefix-state").mkdir()
    (cache / "chunk-states" / "chunk-a.bin").write_bytes(b"x" * 7 * 2**20)
    (cache / "prefix-state" / "prefix-a.bin").write_bytes(b"x" * 44 * 2**20)
    (tmp_path / "rag.toml").write_text(f'cache_dir = "{cache}"\n')
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "rag.toml"))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["bench", "--cache-replay", str(_results(tmp_path / "r.jsonl")), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    (written,) = out.glob("cache-replay-*.json")
    figures = json.loads(written.read_text())
    assert figures["state_mb_whole"] == 51.0 and figures["state_mb_cells"] == 7.0 and len(figures["runs"]) == 12
    before, after = figures["runs"][0], figures["runs"][1]
    assert before["states_kept"] == 78 and after["states_kept"] == 571 and after["hit_rate"] > before["hit_rate"]
    assert "| default (replayed 20%) | passage cells, by worth |" in result.output


def test_rag_bench_cache_replay_without_states_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.cli.main import app

    (tmp_path / "rag.toml").write_text(f'cache_dir = "{tmp_path / "empty"}"\n')
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "rag.toml"))
    result = CliRunner().invoke(app, ["bench", "--cache-replay", str(_results(tmp_path / "r.jsonl"))])
    assert result.exit_code == 2 and "run `rag index --warm` first" in result.output
