"""`rag bench --archive` (rag/evaluation/bench/archive.py): the figure maths, the synthetic chunks, the clear errors,
and one real run of small stores in both modes through a real `chroma run` server."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from rag.cli.main import app
from rag.evaluation.bench import archive
from rag.evaluation.bench.archive import (
    ADD_CHUNKS,
    DIM,
    ArchiveConfig,
    ArchiveError,
    chroma_command,
    chroma_server,
    chunks_that_fit,
    format_archive,
    format_rows,
    mode_verdict,
    rate,
    run_archive,
    synthetic_columns,
    verdicts,
)
from rag.settings import Settings
from rag.store import chunk_metadata
from rag.types import Document, WebOrigin

ROOT = Path(__file__).resolve().parent.parent
CHROMA = Path(sys.executable).parent / "chroma"


def _row(mode: str, size: int, p95: float, rss: float, complete: bool = True) -> dict[str, Any]:
    row = {"mode": mode, "size": size, "built": size if complete else size // 3, "complete": complete, "p95_ms": p95}
    row.update(p50_ms=p95 / 2, rss_mb=rss, store_mb=1.0, add_1000_s=0.5, build_chunks_per_s=900.0, build_add_s=120.0)
    return archive._finish(row)


# -- figure maths -------------------------------------------------------------------------
def test_rate_is_per_second_and_none_without_time():
    assert rate(1000, 2.0) == 500.0
    assert rate(5, 0.0) is None


def test_a_row_meets_the_target_only_when_complete_and_under_250_ms():
    assert _row("persistent", 1000, 250.0, 100)["meets_target"] is True
    assert _row("persistent", 1000, 250.1, 100)["meets_target"] is False
    partial = _row("http", 1000, 5.0, 100, complete=False)
    assert partial["meets_target"] is False and partial["chunks"] == 333


def test_chunks_that_fit_extrapolates_the_line_through_the_two_largest_complete_rows():
    rows = [_row("p", 10_000, 5, 500), _row("p", 100_000, 5, 1_000), _row("p", 1_000_000, 5, 4_000)]
    # 3,000 MB per 900,000 chunks above 1M: 10,000 MB is reached 6,000 MB * 300 chunks/MB later
    assert chunks_that_fit(rows, 10_000) == 2_800_000
    assert chunks_that_fit(rows, 3_000) == 700_000  # below the largest row too
    assert chunks_that_fit(rows[:1], 10_000) is None  # one row: no line
    assert chunks_that_fit(rows[:2] + [_row("p", 1_000_000, 5, 4_000, complete=False)], 10_000) == 1_720_000
    assert chunks_that_fit([_row("p", 1_000, 5, 900), _row("p", 2_000, 5, 800)], 10_000) is None  # not growing


def test_mode_verdict_names_the_largest_size_that_meets_and_the_first_that_misses():
    rows = [_row("http", 1_000_000, 900.0, 5_000), _row("http", 100_000, 40.0, 800), _row("http", 10_000, 4.0, 300)]
    verdict = mode_verdict(rows, memory_mb=20_000)
    assert verdict["largest_meeting_target"] == 100_000 and verdict["first_missing_target"] == 1_000_000
    assert verdict["chunks_fitting_80pct_memory"] == 1_000_000 + int((16_000 - 5_000) * 900_000 / 4_200)


def test_the_target_is_met_when_one_mode_meets_it_at_the_largest_size():
    both = [_row("persistent", 1_000_000, 60.0, 4_000), _row("http", 1_000_000, 400.0, 4_000)]
    assert verdicts(both, 20_000)["target_met_at_largest"] is True
    assert set(verdicts(both, 20_000)["modes"]) == {"persistent", "http"}
    neither = [_row("persistent", 1_000_000, 300.0, 4_000), _row("http", 1_000_000, 400.0, 4_000)]
    assert verdicts(neither, 20_000)["target_met_at_largest"] is False
    small_only = [_row("persistent", 100_000, 10.0, 900), _row("http", 1_000_000, 5.0, 4_000, complete=False)]
    assert verdicts(small_only, 20_000)["target_met_at_largest"] is False  # the 1M build never finished


def test_the_table_shows_every_row_a_stopped_build_and_the_verdicts():
    rows = [_row("persistent", 1_000_000, 60.0, 4_000), _row("http", 1_000_000, 400.0, 4_000, complete=False)]
    table = format_rows(rows)
    assert table.splitlines()[0].split()[:2] == ["mode", "chunks"] and len(table.splitlines()) == 3
    assert "stopped at 333,333" in table and "MISS" in table and "met" in table
    text = format_archive({"rows": rows, "verdicts": verdicts(rows, 20_000)})
    assert "persistent: p95 <= 250 ms up to 1,000,000 chunks" in text and text.endswith("met")


# -- synthetic chunks ------------------------------------------------------------------------
def test_synthetic_chunks_carry_a_web_article_s_metadata_keys_and_unit_vectors():
    columns = synthetic_columns(np.random.default_rng(0), 7, 10)
    assert columns["ids"] == [f"c{i:09d}" for i in range(7, 17)]
    vectors = columns["embeddings"]
    assert vectors.shape == (10, DIM) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert all(400 <= len(t) <= 700 for t in columns["documents"])
    origin = WebOrigin("https://x/1", "https://x/feed", "e", "m")
    doc = Document("a", "t", "2025-01-01", "s", "text", (), "au", "html", "https://x/1", "x", origin)
    real_keys = set(chunk_metadata(doc, "sha", 1, 0, 4, [(0, 4)]))
    assert all(set(m) - {"removed"} == real_keys for m in columns["metadatas"])
    first = columns["metadatas"][1]  # c000000008: the first chunk of article 1
    assert first["chunk_index"] == 0 and "removed" in first and first["doc_id"] == "a00000001"
    assert json.loads(first["sentences"])[0] == [0, 120]


# -- clear errors -----------------------------------------------------------------------------
def test_no_chroma_command_is_one_clear_line_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.setattr(chroma_command, "__defaults__", (tmp_path,))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ArchiveError, match="--archive-modes persistent"):
        chroma_command()
    result = CliRunner().invoke(app, ["bench", "--archive", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "needs the `chroma` command" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_a_server_that_does_not_start_is_an_archive_error(tmp_path):
    fake = tmp_path / "chroma"
    fake.write_text("#!/bin/sh\necho 'address already in use' >&2\nexit 3\n")
    fake.chmod(0o755)
    server = chroma_server(fake, tmp_path / "data", tmp_path / "server.log")
    with pytest.raises(ArchiveError, match="did not start.*exited with 3.*address already in use"), server:
        pass


def test_bad_archive_options_are_usage_errors(tmp_path):
    for option in (["--archive-modes", "persistent,cloud"], ["--archive-sizes", "lots"]):
        result = CliRunner().invoke(app, ["bench", "--archive", "--out", str(tmp_path), *option])
        assert result.exit_code == 2, result.output


def test_a_failing_row_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch):
    def fake_row(cfg, mode, size, folder, chroma):
        if mode == "http":
            raise ArchiveError("the Chroma server did not start: boom")
        assert folder.parent.parent == tmp_path and folder.parent.name.startswith("archive-")
        return _row(mode, size, 3.0, 100)

    monkeypatch.setattr(archive, "bench_row", fake_row)
    monkeypatch.setattr(archive, "chroma_command", lambda: Path("chroma"))
    results = run_archive(ArchiveConfig(sizes=(100,), work_dir=tmp_path, report=lambda line: None))
    assert [r["mode"] for r in results["rows"]] == ["persistent"]
    assert results["errors"] == {"http-100": "the Chroma server did not start: boom"}
    assert list(tmp_path.iterdir()) == []  # its temporary folder is gone, nothing else was made


# -- the real path ------------------------------------------------------------------------------
FIGURES = ("p50_ms", "p95_ms", "first_query_ms", "rss_mb", "store_mb", "add_1000_s", "build_chunks_per_s")


def _plausible(row: dict[str, Any], size: int, max_batch: int) -> None:
    assert all(isinstance(row[f], int | float) and math.isfinite(row[f]) and row[f] > 0 for f in FIGURES), row
    assert row["built"] == row["chunks"] == size and row["complete"] is True
    assert row["count_after_add"] == size + ADD_CHUNKS
    assert row["batch_size"] == max_batch > 500  # Chroma's max batch, not the product's 500
    assert row["queries"] == 300 and row["k"] == Settings().top_k
    assert row["p50_ms"] <= row["p95_ms"] < 2_000 and row["first_query_ms"] < 60_000
    assert 0.5 * size * DIM * 4 / 1e6 < row["store_mb"] < 500  # at least the vectors, but not absurd
    assert 50 < row["rss_mb"] < 4_000 and row["peak_rss_mb"] >= row["rss_mb"]
    assert 0 < row["add_1000_s"] < 120 and 10 < row["build_chunks_per_s"] < 1e6


@pytest.mark.slow  # about a minute: two small stores, one of them behind two starts of a real `chroma run`
def test_small_stores_in_both_modes_through_a_real_chroma_server(tmp_path):
    if not CHROMA.is_file():
        pytest.skip(f"the chroma CLI is not installed at {CHROMA}")
    import chromadb

    max_batch = chromadb.PersistentClient(path=str(tmp_path / "probe")).get_max_batch_size()
    out, work = tmp_path / "out", tmp_path / "work"
    command = [sys.executable, "-m", "rag.cli.main", "bench", "--archive", "--archive-sizes", "2000"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [*command, "--out", str(out), "--archive-dir", str(work)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    latest = json.loads((out / "archive-latest.json").read_text())
    stamped = list(out.glob("archive-2*.json"))
    assert len(stamped) == 1 and json.loads(stamped[0].read_text()) == latest
    assert latest["errors"] == {} and [r["mode"] for r in latest["rows"]] == ["persistent", "http"]
    for row in latest["rows"]:
        _plausible(row, 2000, max_batch)
    http = latest["rows"][1]
    assert http["rss_of"] == "the chroma server process" and http["server_ready_s"] > 0
    assert latest["verdicts"]["target_met_at_largest"] is True
    assert "persistent   2,000" in done.stdout and "http   2,000" in done.stdout
    assert list(work.iterdir()) == []  # the stores are gone
    assert "chunk/s" in done.stderr  # the progress bar
