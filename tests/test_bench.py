"""Smoke test for `rag bench --quick --skip-llm`: it runs and writes JSON with the expected figures.

Not a timed test: nothing here asserts on speed, only that each figure is there and is a number.
It uses the real embedding model (the bench measures it), hence the integration marker.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.evaluation.bench import BenchConfig, format_table
from rag.evaluation.bench.answers import _PromptCounter
from rag.evaluation.bench.checks import build_checks
from rag.evaluation.bench.config import ROOT as BENCH_ROOT
from rag.evaluation.bench.figures import latency_summary
from rag.evaluation.bench.harness import dir_size_mb, free_port, proc_status, run_in_fresh_process, sub_env
from rag.evaluation.bench.llm_speed import bench_llm_speed, llama_build, measure_speed, portable_wheel
from rag.evaluation.bench.run import _section

ROOT = Path(__file__).resolve().parent.parent


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.model
@pytest.mark.slow
def test_quick_bench_writes_json_with_numeric_figures(tmp_path: Path):
    out = tmp_path / "bench"
    env = dict(os.environ, RAG_INDEX_DIR=str(tmp_path / "unused-index"))
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli.main", "bench", "--quick", "--skip-llm", "--out", str(out)],
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
    for key in (
        "chunks",
        "index_chunks_per_s",
        "plain_encode_chunks_per_s",
        "overhead_ratio",
        "hours_for_100k_articles",
    ):
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
    quote = data["answers"]["quote_by_meaning"]
    assert _number(quote["p50_ms"]) and quote["p50_ms"] > 0 and quote["sentences_p50"] >= 1
    assert data["answers"]["local"] == {"skipped": "--skip-llm"}
    for key in ("help_s", "first_ask_none_s"):
        assert _number(data["cold_start"][key]), key
    assert "first_ask_local_s" not in data["cold_start"]

    checks = {c["name"]: c for c in data["checks"]}
    assert checks["quote_by_meaning_p50_ms"]["status"] == "INFO"
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
        "chat": {"available": False, "reason": "skipped"},
    }
    checks = {c["name"]: c for c in build_checks(results)}
    miss = checks["reindex_unchanged_s"]
    assert miss["status"] == "MISS" and miss["miss_by"] == 1.5 and miss["miss_by_pct"] == 50.0
    assert checks["reindex_unchanged_cli_s"]["status"] == "PASS"
    assert checks["retrieval_seeds_p50_ms"]["status"] == "PASS"
    assert checks["chat_peak_rss_gb"]["status"] == "N/A"
    table = format_table({"checks": list(checks.values())})
    assert "by +1.5 s (+50%)" in table and "skipped" in table
    assert format_table({"checks": list(checks.values())}, markdown=True).startswith("| Figure |")


def test_latency_summary_is_the_median_of_per_run_percentiles():
    summary = latency_summary([[1, 2, 3], [10, 20, 30], [4, 5, 6]])
    assert summary["p50"] == 5 and summary["runs"] == 3 and summary["samples_per_run"] == 3
    assert latency_summary([])["p50"] is None


def test_quick_config_is_small():
    cfg = BenchConfig.make(quick=True, repeat=2)
    assert cfg.sizes == (1000,) and cfg.repeat == 2 and not cfg.batch_sizes and not cfg.context_budgets


def _checks(results: dict) -> dict[str, dict]:
    return {c["name"]: c for c in build_checks(results)}


def test_a_strict_target_misses_at_its_limit_and_an_inclusive_one_passes():
    checks = _checks({"reindex_unchanged": {"seconds": 3.0}, "retrieval": {"seeds": {"p50_ms": 100.0}}})
    assert checks["reindex_unchanged_s"]["status"] == "MISS" and checks["reindex_unchanged_s"]["target"] == "< 3 s"
    assert checks["retrieval_seeds_p50_ms"]["status"] == "PASS"
    assert checks["retrieval_seeds_p50_ms"]["target"] == "<= 100 ms"


def test_figures_without_target_are_info_and_figures_without_value_are_na():
    checks = _checks({"indexing": {"index_chunks_per_s": 12.5}, "retrieval": {"seeds": {"p50_ms": float("nan")}}})
    assert checks["index_chunks_per_s"]["status"] == "INFO" and checks["index_chunks_per_s"]["target"] is None
    nan = checks["retrieval_seeds_p50_ms"]  # NaN counts as no value, and the target is still shown
    assert nan["status"] == "N/A" and nan["target"] == "<= 100 ms"
    assert checks["help_s"]["status"] == "N/A" and checks["help_s"]["value"] is None


def test_synthetic_retrieval_adds_the_query_embedding_and_uses_the_100k_target():
    row = {"p50_ms": 30.0, "p95_ms": 40.0, "rss_mb": 500.0, "store_mb": 900.0}
    results = {
        "retrieval": {
            "seeds": {"embed_query_p50_ms": 70.0},
            "synthetic": [{"size": 100_000, **row}, {"size": 1_000, **row, "p50_ms": 190.0}],
        }
    }
    checks = _checks(results)
    assert checks["retrieval_100k_store_p50_ms"]["status"] == "INFO"
    estimate = checks["retrieval_100k_p50_ms"]
    assert estimate["value"] == 100.0 and estimate["status"] == "PASS" and estimate["target"] == "<= 250 ms"
    assert checks["retrieval_1k_p50_ms"]["value"] == 260.0 and checks["retrieval_1k_p50_ms"]["status"] == "MISS"
    no_embed = _checks({"retrieval": {"seeds": {}, "synthetic": [{"size": 500, **row}]}})
    assert no_embed["retrieval_500_p50_ms"]["status"] == "N/A"


def test_answer_figures_are_checked_in_seconds_with_the_ratio_to_the_baseline():
    results = {
        "answers": {
            "extractive": {"total_p50_ms": 456.7},
            "local": {"ttft_p50_ms": 1500.0, "total_p50_ms": 12000.0, "ttft_p95_ms": 5000.0},
            "baseline": {"ttft_p50_ms": 750.0},
        },
        "chat": {"peak_rss": {"peak_rss_mb": 4096.0}},
    }
    checks = _checks(results)
    assert checks["extractive_total_p50_s"]["value"] == 0.457 and checks["extractive_total_p50_s"]["status"] == "PASS"
    assert checks["local_ttft_p50_ms"]["value"] == 1.5 and checks["local_ttft_p50_ms"]["status"] == "PASS"
    total = checks["local_total_p50_ms"]
    assert total["status"] == "MISS" and total["miss_by"] == 4.0 and total["miss_by_pct"] == 50.0
    assert checks["local_ttft_p95_ms"]["status"] == "INFO"  # only the p50s have targets
    assert checks["ratio_ttft_p50_ms"]["value"] == 2.0
    assert checks["ratio_total_p50_ms"]["status"] == "N/A"  # no baseline figure
    rss = checks["chat_peak_rss_gb"]
    assert rss["value"] == 4.0 and rss["unit"] == "GB" and rss["status"] == "MISS"


def test_the_chunk_cache_is_checked_as_a_ratio_to_the_same_run_without_it():
    results = {
        "answers": {
            "local": {
                "ttft_p50_ms": 1800.0,
                "prompt_tokens_evaluated_p50": 140,
                "chunk_states": {"hit_rate": 0.875, "kept": 1, "loaded": 6, "evaluated": 1, "size_mb": 2800.0},
            },
            "local_cache_off": {"ttft_p50_ms": 6000.0, "prompt_tokens_evaluated_p50": 330},
            "follow_ups": {"ttft_p50_ms": 4000.0, "prompt_tokens_evaluated_p50": 200},
            "follow_ups_cache_off": {"ttft_p50_ms": 9000.0, "prompt_tokens_evaluated_p50": 500},
        },
        "chat": {"peak_rss": {"ask_served_s": 2.5, "ask_served_by_chat": True}},
    }
    checks = _checks(results)
    ratio = checks["chunk_cache_ttft_ratio"]
    assert ratio["value"] == 0.3 and ratio["status"] == "PASS" and ratio["target"] == "<= 0.4 x"
    assert checks["prompt_tokens_evaluated_p50"]["status"] == "PASS"
    assert checks["chunk_cache_hit_rate"]["value"] == 0.875 and "6 loaded" in checks["chunk_cache_hit_rate"]["note"]
    assert checks["follow_up_evaluated_p50"]["note"] == "off: 500"
    assert checks["first_ask_server_s"]["note"] == "target: time to first token + 1 s = 2.80 s"
    slower = _checks({"answers": {"local": {"ttft_p50_ms": 3000.0}, "local_cache_off": {"ttft_p50_ms": 6000.0}}})
    assert slower["chunk_cache_ttft_ratio"]["status"] == "MISS"


def test_a_chunk_state_is_checked_against_10_mb_with_its_load_time_and_how_many_the_cap_keeps():
    def checks(mb: float) -> dict:
        states = {"load_ms_p50": 17.4}
        warm = {"mb_per_state": mb, "states_the_cap_keeps": int(4000 / mb)}
        return _checks({"answers": {"local": {"chunk_states": states}, "warm": warm}})["chunk_state_mb"]

    cells, whole = checks(4.72), checks(48.57)
    assert cells["status"] == "PASS" and whole["status"] == "MISS" and cells["target"] == "<= 10 MB"
    assert cells["note"] == "loaded in 17.4 ms p50; chunk_states_mb keeps 847 warm"


def test_simultaneous_user_figures_are_checked_against_30_s_and_say_why_one_is_missing():
    results = {
        "load": {
            "sessions": 16,
            "slots": 4,
            "local": {"latency_p50_s": 111.2, "latency_p95_s": 218.6, "errors": 0},
            "llama_server": {"available": False, "reason": "llama-server is not built"},
        }
    }
    checks = _checks(results)
    local = checks["load_local_p50_s"]
    assert local["status"] == "MISS" and local["miss_by"] == 81.2 and "16 simultaneous users" in local["label"]
    assert checks["load_local_errors"]["value"] == 0
    server = checks["load_llama_server_p50_s"]
    assert server["status"] == "N/A" and server["note"] == "llama-server is not built"
    assert "4 parallel" in server["label"]


def test_load_figures_count_errors_and_take_percentiles_over_the_answered_sessions():
    from rag.evaluation.bench.load import load_figures

    answered = [{"payload": {"refused": i == 0}, "seconds": float(i + 1), "max_rank": i} for i in range(4)]
    figures = load_figures([*answered, {"error": "TimeoutError: x"}], wall_s=8.0)
    assert figures["sessions"] == 5 and figures["errors"] == 1 and figures["error_messages"] == ["TimeoutError: x"]
    assert figures["latency_p50_s"] == 2.5 and figures["latency_p95_s"] == 3.85
    assert figures["refused"] == 1 and figures["sessions_told_their_queue_place"] == 3
    assert figures["throughput_answers_per_s"] == 0.5


def test_plain_table_aligns_columns_and_markdown_escapes_pipes():
    rows = [
        {"label": "A figure", "value": 1.5, "unit": "s", "target": "< 3 s", "status": "PASS", "note": ""},
        {"label": "B | other", "value": None, "unit": "ms", "target": None, "status": "N/A", "note": "why"},
    ]
    lines = format_table({"checks": rows}).splitlines()
    assert len(lines) == 4 and set(lines[1]) <= {"-", " "}
    status = lines[0].index("Status")
    assert lines[2][status:].startswith("PASS") and lines[3][status:].startswith("N/A")
    assert "—" in lines[3] and lines[3].endswith("why")
    markdown = format_table({"checks": rows}, markdown=True).splitlines()
    assert markdown[3].startswith("| B \\| other |") and markdown[3].count(" | ") == 4


def test_make_keeps_defaults_for_unset_options_and_paths_point_into_the_repository():
    cfg = BenchConfig.make(repeat=None, skip_llm=True, chat=None)
    assert cfg.repeat == 3 and cfg.skip_llm and cfg.chat and not cfg.quick and not cfg.debug
    assert cfg.sizes == (1_000, 10_000, 100_000) and cfg.questions_file.is_file()
    assert BENCH_ROOT == ROOT


def test_latency_percentiles_are_interpolated_not_nearest_rank():
    summary = latency_summary([[1.0, 2.0, 3.0, 4.0], []])  # an empty run is left out
    assert summary["p50"] == 2.5 and summary["p95"] == 3.85 and summary["runs"] == 1


def test_a_failing_section_is_recorded_unless_debugging():
    def boom() -> None:
        raise ValueError("no seeds")

    results: dict = {"errors": {}, "section_seconds": {}}
    lines: list[str] = []
    assert _section(results, "indexing", BenchConfig(report=lines.append), boom) is None
    assert results["errors"] == {"indexing": "ValueError: no seeds"} and "indexing" in results["section_seconds"]
    assert lines[-1] == "[bench] indexing FAILED: no seeds"
    assert _section(results, "ok", BenchConfig(report=lines.append), lambda: 42) == 42
    with pytest.raises(ValueError, match="no seeds"):
        _section(results, "indexing", BenchConfig(report=lines.append, debug=True), boom)


def test_fresh_process_returns_the_function_result_and_reports_its_failure():
    runs = [[1.0, 2.0, 3.0]]
    assert run_in_fresh_process(latency_summary, runs, timeout=120) == latency_summary(runs)
    with pytest.raises(RuntimeError, match="latency_summary in a child process failed"):
        run_in_fresh_process(latency_summary, [[1.0, None]], timeout=120)  # None cannot be sorted


def test_harness_helpers(tmp_path: Path, tmp_settings):
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # free: nothing else holds it
    status = proc_status()
    assert status["VmRSS"] > 0 and status["VmHWM"] >= status["VmRSS"]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "blob").write_bytes(b"x" * 2_000_000)
    assert dir_size_mb(tmp_path) == 2.0
    env = sub_env(tmp_settings, tmp_path / "idx", RAG_PORT="1234")
    assert env["RAG_INDEX_DIR"] == str(tmp_path / "idx") and env["RAG_STORE_MODE"] == "persistent"
    assert env["RAG_COLLECTION"] == tmp_settings.collection and env["RAG_PORT"] == "1234"


class FakeLlama:
    """The parts of llama_cpp.Llama the speed figures use; it remembers how many tokens each eval got."""

    def __init__(self) -> None:
        self.n_tokens = 0
        self.evals: list[tuple[int, int]] = []
        self.context_params = SimpleNamespace(n_seq_max=2, kv_unified=True)  # as LlamaModel makes it

    def tokenize(self, text: bytes, add_bos: bool = True) -> list[int]:
        return list(range(len(text.split())))

    def reset(self) -> None:
        self.n_tokens = 0

    def eval(self, tokens: list[int]) -> None:
        self.evals.append((self.n_tokens, len(tokens)))  # (context before, tokens evaluated)
        self.n_tokens += len(tokens)

    def sample(self, temp: float) -> int:
        assert temp == 0.0  # greedy
        return 7


def test_llm_speed_evaluates_the_whole_prompt_from_an_empty_context_then_single_tokens():
    model = FakeLlama()
    figures = measure_speed(model, 2, prompt_tokens=100, generated_tokens=5)
    one_run = [(0, 100), (100, 1), (101, 1), (102, 1), (103, 1), (104, 1)]
    assert model.evals == one_run * 2
    assert figures["runs"] == 2 and figures["prompt_tokens"] == 100 and figures["generated_tokens"] == 5
    assert _number(figures["prompt_tokens_per_s"]) and figures["prompt_tokens_per_s"] > 0
    assert _number(figures["generation_tokens_per_s"]) and figures["generation_tokens_per_s"] > 0


def test_bench_llm_speed_resets_the_context_after_measuring_and_skips_other_backends():
    from types import SimpleNamespace

    from rag.models.llama_model import LlamaModel
    from tests.fakes import scripted_backend

    raw = FakeLlama()
    local = SimpleNamespace(name="local", llama=LlamaModel(raw))
    lines: list[str] = []
    figures = bench_llm_speed(BenchConfig(repeat=2, report=lines.append), local)
    assert figures["runs"] == 2 and raw.n_tokens == 0  # the answers after it start empty
    assert len(lines) == 1 and "generation tok/s" in lines[0]
    assert bench_llm_speed(BenchConfig(), scripted_backend())["available"] is False  # no llama.cpp in process


def test_the_portable_wheel_is_found_by_its_build_record_and_version(tmp_path: Path):
    folder = tmp_path / "wheels" / "llama-cpp-python" / "portable-abc"
    folder.mkdir(parents=True)
    (folder / "x.whl").write_bytes(b"zip")
    (folder / "build.json").write_text(json.dumps({"version": "0.3.36", "wheel": "x.whl"}))
    assert portable_wheel(tmp_path, "0.3.36") == folder / "x.whl"
    assert portable_wheel(tmp_path, "0.3.37") is None  # another version's build does not count
    (folder / "build.json").write_text("{broken")
    assert portable_wheel(tmp_path, "0.3.36") is None


def test_the_portable_build_gives_ratio_rows_or_says_how_to_build_it():
    speed = {"prompt_tokens_per_s": 52.0, "generation_tokens_per_s": 10.0}
    checks = _checks({"llm_speed": speed, "llm_speed_portable": {"prompt_tokens_per_s": 32.5,
                                                                  "generation_tokens_per_s": 10.0}})  # fmt: skip
    assert checks["ratio_prompt_portable"]["value"] == 1.6 and checks["ratio_generation_portable"]["value"] == 1.0
    portable_answers = {"answers": {"ttft_p50_ms": 15000.0, "total_p50_ms": 16000.0}}
    local = {"ttft_p50_ms": 9000.0, "total_p50_ms": 10000.0}
    # Against the cache-off answers: the portable child keeps no chunk states.
    with_answers = _checks({"answers": {"local_cache_off": local}, "llm_speed_portable": portable_answers})
    assert with_answers["portable_ttft_p50_s"]["value"] == 15.0 and with_answers["ratio_ttft_portable"]["value"] == 0.6
    assert with_answers["ratio_total_portable"]["value"] == 0.625
    missing = _checks({"llm_speed": speed, "llm_speed_portable": {"available": False, "reason": "no portable build"}})
    assert missing["portable_prompt_tokens_per_s"]["note"] == "no portable build"
    assert missing["ratio_prompt_portable"]["status"] == "N/A"


def test_prompt_counter_separates_the_kept_prefix_from_the_evaluated_tokens():
    from types import SimpleNamespace

    from rag.models.llama_model import LlamaModel

    model = FakeLlama()
    counter = _PromptCounter(SimpleNamespace(llama=LlamaModel(model)))
    model.eval([1] * 500)  # the prefix, evaluated by an earlier answer
    with counter:
        model.n_tokens = 500  # kept: the new prompt starts with it
        model.eval([2] * 300)
        for _ in range(4):
            model.eval([3])  # generation steps
    assert counter.prompt_tokens == 800 and counter.evaluated == 300
    assert "eval" not in vars(model)  # the counting wrapper is gone after the answer


def test_tokens_per_second_are_info_rows_and_say_why_they_are_missing():
    checks = _checks(
        {"llm_speed": {"prompt_tokens": 512, "prompt_tokens_per_s": 52.0, "generation_tokens_per_s": 10.1}}
    )
    prompt, generation = checks["llm_prompt_tokens_per_s"], checks["llm_generation_tokens_per_s"]
    assert prompt["value"] == 52.0 and prompt["status"] == "INFO" and "512 tokens" in prompt["label"]
    assert generation["value"] == 10.1 and generation["unit"] == "tok/s"
    skipped = _checks({"llm_speed": {"skipped": "--skip-llm"}})["llm_prompt_tokens_per_s"]
    assert skipped["status"] == "N/A" and skipped["note"] == "--skip-llm"


def test_llama_build_reports_the_system_info_and_the_flavour_setup_recorded(tmp_path: Path):
    build = llama_build(tmp_path)
    assert build["system_info"].startswith("CPU : ") and "AVX2 = 1" in build["system_info"]
    assert build["flavour"] is None and build["cmake_args"] is None  # no record in this prefix
    record = {"flavour": "avx512", "cmake_args": "-DGGML_AVX512=ON", "version": "0.3.36"}
    (tmp_path / ".llama-build.json").write_text(json.dumps(record))
    assert llama_build(tmp_path) | {"system_info": ""} == {"system_info": "", "flavour": "avx512",
                                                          "cmake_args": "-DGGML_AVX512=ON"}  # fmt: skip


def test_the_archive_projection_scales_the_measured_speed_by_the_chunks_per_article():
    from rag.evaluation.bench.figures import projected_hours

    # 57 chunks from 5 articles at 4.4 chunks/s: 100,000 articles are 1.14 million chunks, about 72 hours.
    assert projected_hours(57, 5, 4.4) == 72.0
    assert projected_hours(57, 5, 8.8) == 36.0 and projected_hours(57, 5, 4.4, articles=50_000) == 36.0
