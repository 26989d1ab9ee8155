"""The checks of a bench run against TARGETS (PASS, MISS and by how much, INFO without a target, N/A without a
value) and the table that `rag bench` prints."""

from __future__ import annotations

from typing import Any

from rag.evaluation.bench.config import TARGETS


def _get(data: dict[str, Any], path: str) -> Any:
    """data["a"]["b"] for path "a.b"; None when a part is missing (a failed section leaves None behind)."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _check(name: str, label: str, value: Any, unit: str, key: str | None = None, note: str = "") -> dict[str, Any]:
    """One table row; key names the target when it is not the row's name (a size-specific row, or ms vs s)."""
    row: dict[str, Any] = {"name": name, "label": label, "value": value, "unit": unit, "note": note}
    target = TARGETS.get(key or name)
    if value is None or (isinstance(value, float) and value != value):  # value != value: NaN
        row.update(status="N/A", target=None)
        if target:
            row["target"] = f"{target[0]} {target[1]:g} {unit}"
        return row
    if target is None:
        row.update(status="INFO", target=None)
        return row
    op, limit = target
    ok = value < limit if op == "<" else value <= limit
    row.update(status="PASS" if ok else "MISS", target=f"{op} {limit:g} {unit}")
    if not ok:
        row["miss_by"] = round(value - limit, 3)
        row["miss_by_pct"] = round((value / limit - 1) * 100, 1)
    return row


def build_checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the table, in the order of the sections, from the results of run_bench."""
    return [
        *_indexing_and_retrieval_rows(results),
        *_embedding_server_rows(results),
        *_answer_rows(results),
        *_llm_speed_rows(results),
        *_chunk_cache_rows(results),
        *_start_up_rows(results),
        *_load_rows(results),
    ]


def _indexing_and_retrieval_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Indexing, re-indexing, retrieval on the seeds and on each synthetic store size."""
    seeds = _get(r, "retrieval.seeds") or {}
    rows = [
        _check("index_chunks_per_s", "Indexing throughput (index_paths)", _get(r, "indexing.index_chunks_per_s"),
               "chunks/s"),
        _check("plain_encode_chunks_per_s", "  baseline: plain ST encode, same texts",
               _get(r, "indexing.plain_encode_chunks_per_s"), "chunks/s"),
        _check("index_overhead_ratio", "  overhead ratio (index/plain time)", _get(r, "indexing.overhead_ratio"), "x"),
        _check("hours_for_100k_articles", "  projected: 100,000 articles at the seeds' chunks per article",
               _get(r, "indexing.hours_for_100k_articles"), "h"),
        _check("reindex_unchanged_s", "Re-index, nothing changed (in process)", _get(r, "reindex_unchanged.seconds"),
               "s"),
        _check("reindex_unchanged_cli_s", "Re-index, nothing changed (`rag index`)",
               _get(r, "reindex_unchanged.cli_seconds"), "s"),
        _check("retrieval_seeds_p50_ms", "Retrieval p50, seed articles (real query)", seeds.get("p50_ms"), "ms"),
        _check("retrieval_seeds_p95_ms", "Retrieval p95, seed articles", seeds.get("p95_ms"), "ms"),
        _check("embed_query_p50_ms", "  of which query embedding p50", seeds.get("embed_query_p50_ms"), "ms"),
    ]  # fmt: skip
    embed_p50 = seeds.get("embed_query_p50_ms")
    for row in _get(r, "retrieval.synthetic") or []:
        size = row["size"]
        label = f"{size // 1000}k" if size >= 1000 else str(size)
        p50 = row.get("p50_ms")
        est = round(p50 + embed_p50, 1) if embed_p50 is not None and p50 is not None else None
        rows += [
            _check(f"retrieval_{label}_store_p50_ms", f"Store query p50 @ {label} (random vectors)", p50, "ms"),
            _check(f"retrieval_{label}_store_p95_ms", f"Store query p95 @ {label}", row.get("p95_ms"), "ms"),
            _check(f"retrieval_{label}_p50_ms", f"Retrieval p50 @ {label} (store p50 + query-embed p50)", est, "ms",
                   key="retrieval_100k_p50_ms"),
            _check(f"retrieval_{label}_rss_mb", f"  RSS of a query process @ {label}", row.get("rss_mb"), "MB"),
            _check(f"retrieval_{label}_store_mb", f"  store on disk @ {label}", row.get("store_mb"), "MB"),
        ]  # fmt: skip
    return rows


def _embedding_server_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The seed chunks through an embedding server beside the in-process model, in the same run."""
    server = r.get("embedding_server") or {}
    note = server.get("reason") or (f"{server['backend']} at {server['url']}" if server.get("url") else "")
    return [
        _check("server_embed_chunks_per_s", "Embedding through the server (embed_documents)",
               server.get("server_chunks_per_s"), "chunks/s", note=note),
        _check("in_process_embed_chunks_per_s", "  in process, the same chunks in the same run",
               server.get("in_process_chunks_per_s"), "chunks/s"),
        _check("server_embed_ratio", "  ratio server/in-process (chunks/s)",
               server.get("ratio_server_in_process"), "x"),
        _check("server_hours_for_100k_articles", "  projected: 100,000 articles through the server",
               server.get("hours_for_100k_articles_server"), "h"),
        _check("in_process_hours_for_100k_articles", "  projected: 100,000 articles in process (embedding only)",
               server.get("hours_for_100k_articles_in_process"), "h"),
        _check("server_embed_min_cosine", "  lowest cosine server/in-process over the chunks",
               server.get("min_cosine"), ""),
    ]  # fmt: skip


def _answer_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Extractive answers, the quote by meaning, and the local LLM's answers against the baseline's."""
    p50 = _get(r, "answers.extractive.total_p50_ms")
    rows = [_check("extractive_total_p50_s", "Extractive answer p50", _sec(p50, 3), "s")]
    rows.append(
        _check(
            "quote_by_meaning_p50_ms",
            "Quote by meaning p50 (across languages, after streaming)",
            _get(r, "answers.quote_by_meaning.p50_ms"),
            "ms",
        )
    )
    ours, base = _get(r, "answers.local") or {}, _get(r, "answers.baseline") or {}
    for metric, label in (("ttft", "time to first token"), ("total", "total time")):
        for q in ("p50", "p95"):
            key = f"{metric}_{q}_ms"
            o, b = ours.get(key), base.get(key)
            rows += [
                _check(f"local_{key}", f"LLM answer {label} {q} (ours)", _sec(o), "s", key=f"local_{metric}_{q}_s"),
                _check(f"baseline_{key}", f"  llama-index default baseline {q}", _sec(b), "s"),
                _check(f"ratio_{key}", "  ratio ours/baseline", round(o / b, 3) if o and b else None, "x"),
            ]
    return rows


def _llm_speed_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The LLM's tokens/s, and this build against the portable one (tokens/s and answers, chunk cache off)."""
    off = _get(r, "answers.local_cache_off") or {}
    speed = r.get("llm_speed") or {}
    rows = [
        _check("llm_prompt_tokens_per_s", f"LLM prompt processing ({speed.get('prompt_tokens', '?')} tokens, local)",
               speed.get("prompt_tokens_per_s"), "tok/s", note=speed.get("reason") or speed.get("skipped") or ""),
        _check("llm_generation_tokens_per_s", "LLM generation (local, greedy)", speed.get("generation_tokens_per_s"),
               "tok/s"),
    ]  # fmt: skip
    portable = r.get("llm_speed_portable") or {}
    for kind in ("prompt", "generation"):
        built, plain = speed.get(f"{kind}_tokens_per_s"), portable.get(f"{kind}_tokens_per_s")
        rows += [
            _check(f"portable_{kind}_tokens_per_s", f"  portable build, {kind}", plain, "tok/s",
                   note=portable.get("reason") or ""),
            _check(f"ratio_{kind}_portable", "  ratio this build/portable", round(built / plain, 2)
                   if built and plain else None, "x"),
        ]  # fmt: skip
    answers = portable.get("answers") or {}
    for metric, label in (("ttft", "time to first token"), ("total", "total time")):
        built, plain = off.get(f"{metric}_p50_ms"), answers.get(f"{metric}_p50_ms")
        rows += [
            _check(f"portable_{metric}_p50_s", f"  portable build, answer {label} p50 (cache off)", _sec(plain), "s",
                   note=portable.get("reason") or ""),
            _check(f"ratio_{metric}_portable", "  ratio this build/portable", round(built / plain, 3)
                   if built and plain else None, "x"),
        ]  # fmt: skip
    return rows


def _chunk_cache_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Time to first token with the chunk cache on and off, its hits and size, `--warm`, prompt tokens, follow-ups."""
    ours, off = _get(r, "answers.local") or {}, _get(r, "answers.local_cache_off") or {}
    on_ttft, off_ttft = ours.get("ttft_p50_ms"), off.get("ttft_p50_ms")
    states = ours.get("chunk_states") or {}
    warm = _get(r, "answers.warm") or {}
    follow, follow_off = _get(r, "answers.follow_ups") or {}, _get(r, "answers.follow_ups_cache_off") or {}
    return [
        _check("local_cache_off_ttft_p50_s", "Time to first token p50, chunk cache off (prefix state only)",
               _sec(off_ttft), "s"),
        _check("chunk_cache_ttft_ratio", "  ratio chunk cache on/off", round(on_ttft / off_ttft, 3)
               if on_ttft and off_ttft else None, "x"),
        _check("chunk_cache_hit_rate", "  chunk states kept or loaded, of the questions",
               states.get("hit_rate"), "", note=f"{states.get('kept')} kept, {states.get('loaded')} loaded, "
               f"{states.get('evaluated')} evaluated"),
        _check("chunk_cache_mb", "  chunk states on disk (every seed chunk)", states.get("size_mb"), "MB"),
        _check("chunk_state_mb", "  a chunk state (its passage's KV cells)", warm.get("mb_per_state"), "MB",
               note=f"loaded in {states.get('load_ms_p50')} ms p50; chunk_states_mb keeps "
               f"{warm.get('states_the_cap_keeps')} warm"),
        _check("warm_s", "  `rag index --warm`, every seed chunk", warm.get("seconds"), "s",
               note=f"{warm.get('evaluated')} states"),
        _check("prompt_tokens_p50", "Prompt tokens per question p50 (ours)", ours.get("prompt_tokens_p50"),
               "tokens"),
        _check("prompt_tokens_evaluated_p50", "  of which evaluated, chunk cache on",
               ours.get("prompt_tokens_evaluated_p50"), "tokens"),
        _check("prompt_tokens_evaluated_off_p50", "  of which evaluated, chunk cache off (the prefix is kept)",
               off.get("prompt_tokens_evaluated_p50"), "tokens"),
        _check("follow_up_ttft_p50_s", "Follow-up time to first token p50 (its search included), cache on",
               _sec(follow.get("ttft_p50_ms")), "s"),
        _check("follow_up_ttft_off_p50_s", "  the same, chunk cache off", _sec(follow_off.get("ttft_p50_ms")), "s"),
        _check("follow_up_evaluated_p50", "  tokens evaluated p50, cache on / off",
               follow.get("prompt_tokens_evaluated_p50"), "tokens",
               note=f"off: {follow_off.get('prompt_tokens_evaluated_p50')}"),
    ]  # fmt: skip


def _start_up_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Cold start of `rag --help` and a first `rag ask`, the chat server's start-up and peak memory."""
    ours = _get(r, "answers.local") or {}
    cs = r.get("cold_start") or {}
    chat = r.get("chat") or {}
    peak = chat.get("peak_rss") or {}
    peak_mb = peak.get("peak_rss_mb")
    return [
        _check("help_s", "`rag --help` wall time", cs.get("help_s"), "s"),
        _check("first_ask_none_s", "First `rag ask --llm none` wall time", cs.get("first_ask_none_s"), "s"),
        _check("first_ask_local_s", "First `rag ask --llm local` wall time (prompt prefix state on disk)",
               cs.get("first_ask_local_s"), "s"),
        _check("first_ask_local_prefix_evaluated_s", "  the same without a saved prefix state",
               cs.get("first_ask_local_prefix_evaluated_s"), "s"),
        _check("first_ask_server_s", "First `rag ask` wall time with a `rag chat` running (same settings)",
               peak.get("ask_served_s"), "s", note=_served_note(peak, ours)),
        _check("chat_ready_s", "Chat server ready (HTTP 200, backend none)", chat.get("ready_s"), "s",
               note=chat.get("reason") or chat.get("ready_error") or ""),
        _check("chat_peak_rss_gb", "Chat server peak RSS after one local answer",
               None if peak_mb is None else round(peak_mb / 1024, 2), "GB",
               note=peak.get("reason") or chat.get("reason") or ""),
    ]  # fmt: skip


def _load_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Simultaneous users, in process and through llama-server."""
    rows = []
    load = r.get("load") or {}
    servers = (("local", "in-process model, one answer at a time"),
               ("llama_server", f"llama-server, {load.get('slots', '?')} parallel slots"))  # fmt: skip
    for name, label in servers:
        run = load.get(name) or {}
        note = run.get("reason") or load.get("reason") or ""
        rows += [
            _check(f"load_{name}_p50_s", f"{load.get('sessions', 16)} simultaneous users p50 ({label})",
                   run.get("latency_p50_s"), "s", note=note),
            _check(f"load_{name}_p95_s", "  p95", run.get("latency_p95_s"), "s"),
            _check(f"load_{name}_errors", "  errors", run.get("errors"), "sessions"),
        ]  # fmt: skip
    return rows


def _served_note(peak: dict[str, Any], ours: dict[str, Any]) -> str:
    """The target of a served `rag ask`: the chat's own time to first token + 1 s."""
    if peak.get("ask_served_by_chat") is False:
        return "answered in its own process, not by the chat"
    ttft = ours.get("ttft_p50_ms")
    return f"target: time to first token + 1 s = {ttft / 1000 + 1:.2f} s" if ttft else ""


def _sec(ms: float | None, digits: int = 2) -> float | None:
    return None if ms is None else round(ms / 1000, digits)


def format_table(results: dict[str, Any], markdown: bool = False) -> str:
    """results["checks"] as a plain-text table (aligned columns) or a Markdown one."""
    rows = results.get("checks") or []

    def cells(row: dict[str, Any]) -> list[str]:
        value = "—" if row["value"] is None else f"{row['value']:g} {row['unit']}"
        status = row["status"]
        miss = ""
        if status == "MISS":
            miss = f"by {row['miss_by']:+g} {row['unit']} ({row['miss_by_pct']:+g}%)"
        elif row.get("note"):
            miss = row["note"]
        return [row["label"], value, row.get("target") or "", status, miss]

    header = ["Figure", "Value", "Target", "Status", "Miss by / note"]
    body = [cells(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return "\n".join(lines)
