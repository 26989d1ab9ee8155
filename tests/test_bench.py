"""Smoke test for `rag bench --quick --skip-llm`: it runs and writes JSON with the expected figures.

Not a timed test: nothing here asserts on speed, only that each figure is there and is a number.
It uses the real embedding model (the bench measures it), hence the integration marker.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.bench import BenchConfig, build_checks, format_table, latency_summary

ROOT = Path(__file__).resolve().parent.parent


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.integration
def test_quick_bench_writes_json_with_numeric_figures(tmp_path: Path):
    out = tmp_path / "bench"
    env = dict(os.environ, RAG_INDEX_DIR=str(tmp_path / "unused-index"))
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "bench", "--quick", "--skip-llm", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    latest = out / "latest.json"
    stamped = [p for p in out.glob("*.json") if p.name != "latest.json"]
    assert latest.is_file() and len(stamped) == 1
    data = json.loads(latest.read_text())
    assert data == json.loads(stamped[0].read_text())
    assert data["errors"] == {}, data["errors"]

    assert {"meta", "indexing", "reindex_unchanged", "retrieval", "answers", "cold_start", "chat", "checks"} <= set(
        data
    )
    assert data["meta"]["quick"] is True and data["meta"]["skip_llm"] is True
    for key in ("chunks", "index_chunks_per_s", "plain_encode_chunks_per_s", "overhead_ratio"):
        assert _number(data["indexing"][key]), key
    assert data["indexing"]["chunks"] > 0
    assert _number(data["reindex_unchanged"]["seconds"]) and _number(data["reindex_unchanged"]["cli_seconds"])
    seeds = data["retrieval"]["seeds"]
    for key in ("p50_ms", "p95_ms", "embed_query_p50_ms", "store_query_p50_ms", "store_mb"):
        assert _number(seeds[key]), key
    assert seeds["chunks"] == data["indexing"]["chunks"]
    synthetic = data["retrieval"]["synthetic"]
    assert [row["size"] for row in synthetic] == [1000]
    for key in ("p50_ms", "p95_ms", "first_query_ms", "rss_mb", "peak_rss_mb", "store_mb", "write_chunks_per_s"):
        assert _number(synthetic[0][key]), key
    assert synthetic[0]["count"] == 1000 and synthetic[0]["dim"] == 768
    assert _number(data["answers"]["extractive"]["total_p50_ms"])
    assert data["answers"]["local"] == {"skipped": "--skip-llm"}
    for key in ("help_s", "first_ask_none_s"):
        assert _number(data["cold_start"][key]), key
    assert "first_ask_local_s" not in data["cold_start"]

    checks = {c["name"]: c for c in data["checks"]}
    for name in ("reindex_unchanged_s", "retrieval_seeds_p50_ms", "retrieval_1k_p50_ms", "extractive_total_p50_s"):
        assert checks[name]["status"] in ("PASS", "MISS"), name
        assert _number(checks[name]["value"]), name
    assert checks["local_ttft_p50_ms"]["status"] == "N/A"
    # The table names every figure with its status.
    assert "Re-index, nothing changed" in result.stdout and ("PASS" in result.stdout or "MISS" in result.stdout)


def test_checks_say_by_how_much_a_target_is_missed():
    results = {
        "reindex_unchanged": {"seconds": 4.5, "cli_seconds": 2.0},
        "retrieval": {"seeds": {"p50_ms": 80.0, "embed_query_p50_ms": 70.0}, "synthetic": []},
        "chat": {"available": False, "reason": "not available: ui/app.py does not exist yet"},
    }
    checks = {c["name"]: c for c in build_checks(results)}
    miss = checks["reindex_unchanged_s"]
    assert miss["status"] == "MISS" and miss["miss_by"] == 1.5 and miss["miss_by_pct"] == 50.0
    assert checks["reindex_unchanged_cli_s"]["status"] == "PASS"
    assert checks["retrieval_seeds_p50_ms"]["status"] == "PASS"
    assert checks["chat_peak_rss_gb"]["status"] == "N/A"
    table = format_table({"checks": list(checks.values())})
    assert "by +1.5 s (+50%)" in table and "ui/app.py does not exist yet" in table
    assert format_table({"checks": list(checks.values())}, markdown=True).startswith("| Figure |")


def test_latency_summary_is_the_median_of_per_run_percentiles():
    summary = latency_summary([[1, 2, 3], [10, 20, 30], [4, 5, 6]])
    assert summary["p50"] == 5 and summary["runs"] == 3 and summary["samples_per_run"] == 3
    assert latency_summary([])["p50"] is None


def test_quick_config_is_small():
    cfg = BenchConfig.make(quick=True, repeat=2)
    assert cfg.sizes == (1000,) and cfg.repeat == 2 and not cfg.batch_sizes and not cfg.context_budgets
