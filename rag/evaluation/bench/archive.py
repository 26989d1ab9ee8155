"""`rag bench --archive`: the Chroma store at archive scale (issue 39), with synthetic chunks and no model.

Per mode (`persistent`: on disk in-process; `http`: a real `chroma run` on 127.0.0.1) and size (100k and 1M chunks):
a fresh store of seeded random unit vectors (768 dimensions, EmbeddingGemma's), ~500-character texts and a web
article's chunk metadata, added at Chroma's max batch size; then, in a fresh process, random unit vectors searched
through `ChunkStore.query` with the product's k, and 1,000 chunks added to the full store. A build past the time
limit stops and its partial store is measured. Stores live in a temporary folder that the run removes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import NewsragError
from rag.evaluation.bench.config import ROOT, Report
from rag.evaluation.bench.figures import latency_summary
from rag.evaluation.bench.harness import (
    ServerProcess,
    dir_size_mb,
    free_port,
    load_average,
    proc_status,
)

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api import ClientAPI

ARCHIVE_SIZES = (100_000, 1_000_000)
ARCHIVE_MODES = ("persistent", "http")
DIM = 768  # EmbeddingGemma-300M
ADD_CHUNKS = 1_000
P95_TARGET_MS = 250.0
COLLECTION = "archive"
CHUNKS_PER_ARTICLE = 8
TEXT_WORDS = 55  # about 550 characters, near a real chunk (chunk_max_chars=600)
WARM_UP = 5
FITS = "chunks_fitting_80pct_memory"
SITE = "news.example"
_SYLLABLES = ("ber", "lin", "kanz", "ler", "wahl", "re", "gie", "rung", "mi", "nis", "ter", "ukra", "ine", "na", "to")


class ArchiveError(NewsragError, RuntimeError):
    """The archive bench cannot run (no `chroma` command, the server does not start, a child process failed)."""


@dataclass
class ArchiveConfig:
    sizes: tuple[int, ...] = ARCHIVE_SIZES
    modes: tuple[str, ...] = ARCHIVE_MODES
    queries: int = 300
    k: int = 4
    work_dir: Path = Path("eval/runs/bench")  # the stores go into a temporary folder made here
    max_build_s: float = 2400.0  # a build stops after this long; its partial store is measured
    seed: int = 0
    report: Report = field(default=print)


# -- figure maths -------------------------------------------------------------------
def rate(count: float, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def chunks_that_fit(rows: list[dict[str, Any]], budget_mb: float) -> int | None:
    """The chunk count at which a mode's RSS reaches budget_mb, on the line through its two largest complete rows;
    None without two such rows or when RSS does not grow."""
    points = sorted((r["chunks"], r["rss_mb"]) for r in rows if r["complete"] and r.get("rss_mb"))[-2:]
    if len(points) < 2 or points[1][0] <= points[0][0] or points[1][1] <= points[0][1]:
        return None
    (x0, y0), (x1, y1) = points
    return max(0, int(x1 + (budget_mb - y1) * (x1 - x0) / (y1 - y0)))


def mode_verdict(rows: list[dict[str, Any]], memory_mb: float) -> dict[str, Any]:
    """For one mode's rows: the largest complete size that meets the p95 target, the first that does not,
    and how many chunks fit in 80% of the machine's memory by the fitted RSS."""
    rows = sorted(rows, key=lambda r: r["size"])
    meets, misses = [r for r in rows if r["meets_target"]], [r for r in rows if not r["meets_target"]]
    return {
        "largest_meeting_target": meets[-1]["size"] if meets else None,
        "first_missing_target": misses[0]["size"] if misses else None,
        FITS: chunks_that_fit(rows, 0.8 * memory_mb),
    }


def verdicts(rows: list[dict[str, Any]], memory_mb: float) -> dict[str, Any]:
    """Each mode's verdict, and whether the largest size meets the p95 target in at least one mode."""
    modes = {m: mode_verdict([r for r in rows if r["mode"] == m], memory_mb) for m in sorted({r["mode"] for r in rows})}
    top = max((r["size"] for r in rows), default=0)
    return {"modes": modes, "target_met_at_largest": any(r["size"] == top and r["meets_target"] for r in rows)}


# -- synthetic chunks -----------------------------------------------------------------
def unit_vectors(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    import numpy as np

    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


@functools.cache
def _vocabulary(size: int = 3000) -> list[str]:
    """Made-up words of three syllables, the same in every run."""
    import numpy as np

    picks = np.random.default_rng(12345).integers(0, len(_SYLLABLES), size=(size, 3))
    return ["".join(_SYLLABLES[s] for s in row) for row in picks]


def synthetic_columns(rng: np.random.Generator, start: int, n: int, dim: int = DIM) -> dict[str, Any]:
    """Chunks start..start+n as Chroma columns: unit vectors, ~500-character texts and a web article's metadata
    (eight chunks to an article), written as `rag index` writes a chunk."""
    from rag.store import chunk_metadata
    from rag.types import Document, WebOrigin

    vocabulary = _vocabulary()
    picks = rng.integers(0, len(vocabulary), size=(n, TEXT_WORDS))
    ids, texts, metas = [], [], []
    for j in range(n):
        i = start + j
        article, index = divmod(i, CHUNKS_PER_ARTICLE)
        text = " ".join(vocabulary[w] for w in picks[j]).capitalize() + "."
        url = f"https://{SITE}/{article // 1000}/{article}.html"
        origin = WebOrigin(url, f"https://{SITE}/feed.xml", f'"{article:x}"', "Mon, 01 Dec 2025 08:00:00 GMT")
        date = f"20{15 + article % 11:02d}-{1 + article % 12:02d}-{1 + article % 28:02d}"
        doc = Document(
            f"a{article:08d}", f"Artikel {article}", date, url, text, (), "Redaktion", "html", url, SITE, origin
        )
        sentences = [(s, min(s + 120, len(text))) for s in range(0, len(text), 120)]
        metas.append(chunk_metadata(doc, f"{article:040x}", index, 0, len(text), sentences))
        ids.append(f"c{i:09d}")
        texts.append(text)
    return {"ids": ids, "embeddings": unit_vectors(rng, n, dim), "documents": texts, "metadatas": metas}


# -- the child processes: build, then search and add ----------------------------------
def _client(args: dict[str, Any]) -> ClientAPI:
    """A chromadb client made as rag.store's make_client makes it (telemetry off)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if args["mode"] == "http":
        return chromadb.HttpClient(host="127.0.0.1", port=int(args["port"]), settings=settings)
    return chromadb.PersistentClient(path=str(args["dir"]), settings=settings)


def build_store(args: dict[str, Any]) -> dict[str, Any]:
    """A new generation of the archive collection (as ChunkStore.begin makes it), filled at Chroma's max batch."""
    import numpy as np
    from tqdm import tqdm

    from rag.store import ChunkStore, Signature

    client = _client(args)
    store = ChunkStore(client, COLLECTION, str(args["dir"]))
    store.begin(Signature("synthetic-unit-vectors", DIM, "synthetic")).commit()
    collection = client.get_collection(str(store.active_name()), embedding_function=None)
    size, batch = int(args["size"]), client.get_max_batch_size()
    rng, started, add_s, curve = np.random.default_rng(int(args["seed"])), time.perf_counter(), 0.0, []
    with tqdm(total=size, unit="chunk", desc=f"{args['mode']} {size:,}", file=sys.stderr) as bar:
        for start in range(0, size, batch):
            columns = synthetic_columns(rng, start, min(batch, size - start), DIM)
            seconds = _timed(collection.add, **columns)
            add_s += seconds
            curve.append([start + len(columns["ids"]), rate(len(columns["ids"]), seconds)])
            bar.update(len(columns["ids"]))
            if time.perf_counter() - started > float(args["max_build_s"]):
                break
    built, wall_s = collection.count(), round(time.perf_counter() - started, 1)
    figures = {"built": built, "complete": built >= size, "batch_size": batch, "build_chunks_per_s": rate(built, add_s)}
    curve = curve[:-1][:: max(1, len(curve) // 10)] + curve[-1:]  # [chunks so far, chunks/s of that batch]
    return {**figures, "build_add_s": round(add_s, 1), "build_wall_s": wall_s, "build_rate_curve": curve}


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


def search_and_add(args: dict[str, Any]) -> dict[str, Any]:
    """Open the store as the product does, time `queries` searches of random unit vectors, then add 1,000 chunks."""
    import numpy as np

    from rag.settings import Settings
    from rag.store import open_store

    settings = Settings(
        store_mode=args["mode"], index_dir=Path(args["dir"]), chroma_host="127.0.0.1", collection=COLLECTION
    )
    if args["mode"] == "http":
        settings = settings.model_copy(update={"chroma_port": int(args["port"]), "chroma_ssl": False})
    rng, k = np.random.default_rng(int(args["seed"]) + 1), int(args["k"])
    queries = unit_vectors(rng, int(args["queries"]) + WARM_UP, DIM)
    started = time.perf_counter()
    store = open_store(settings)
    count = store.count()
    first = store.query(queries[0].tolist(), k)
    first_ms = (time.perf_counter() - started) * 1000
    if len(first) != min(k, count):
        raise RuntimeError(f"the first search returned {len(first)} chunks, not {min(k, count)}")
    times = [_timed(store.query, q.tolist(), k) * 1000 for q in queries[1:]][WARM_UP - 1 :]
    memory = proc_status()
    collection = _client(args).get_collection(str(store.active_name()), embedding_function=None)
    add_s = _timed(collection.add, **synthetic_columns(rng, count, ADD_CHUNKS, DIM))
    latency = latency_summary([times])
    figures = {"p50_ms": latency["p50"], "p95_ms": latency["p95"], "queries": len(times), "add_1000_s": round(add_s, 2)}
    memory_mb = {"rss_mb": memory.get("VmRSS"), "peak_rss_mb": memory.get("VmHWM")}
    return {**figures, **memory_mb, "first_query_ms": round(first_ms, 1), "count_after_add": collection.count()}


def child_main(args_json: str) -> None:
    """Entry of a child process: run the named job, print its figures (or its error) as the last stdout line."""
    args = json.loads(args_json)
    jobs = {"build": build_store, "search": search_and_add}
    try:
        result = jobs[args["job"]](args)
    except Exception as exc:  # reported by the parent as one line
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)


def _run_child(args: dict[str, Any], timeout: float) -> dict[str, Any]:
    """A job in a fresh interpreter (its RSS its own); its stderr (the progress bar) goes to ours."""
    code = f"import sys; from {__name__} import child_main; child_main(sys.argv[1])"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    step = f"the {args['job']} step of {args['mode']} {args['size']:,}"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(args)],
            stdout=subprocess.PIPE, text=True, timeout=timeout, env=env, cwd=ROOT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ArchiveError(f"{step} ran over {timeout:.0f} s") from None
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {"error": f"exit {done.returncode}"}
    if "error" in result:
        raise ArchiveError(f"{step} failed: {result['error']}")
    return dict(result)


# -- the chroma server ------------------------------------------------------------------
def chroma_command(bin_dir: Path = Path(sys.executable).parent) -> Path:
    """The `chroma` CLI in bin_dir (this interpreter's), else on PATH; ArchiveError (one line) when there is none."""
    found = bin_dir / "chroma" if (bin_dir / "chroma").is_file() else shutil.which("chroma")
    if not found:
        raise ArchiveError(
            f"http mode needs the `chroma` command of chromadb, found neither in {bin_dir} nor on PATH; "
            "install chromadb into this environment or run with --archive-modes persistent"
        )
    return Path(found)


@contextlib.contextmanager
def chroma_server(chroma: Path, data: Path, log: Path) -> Iterator[tuple[ServerProcess, int, float]]:
    """`chroma run --path data --host 127.0.0.1` on a free port: the process, its port and its seconds to ready;
    ArchiveError (one line, no traceback) when it does not start."""
    port = free_port()
    command = [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess(command, log, f"http://127.0.0.1:{port}/api/v2/heartbeat")
    try:
        try:
            ready_s = server.wait_ready(timeout=600)
        except RuntimeError as exc:
            raise ArchiveError(f"the Chroma server did not start: {exc}") from None
        yield server, port, round(ready_s, 1)
    finally:
        server.stop()


# -- one row, and the run -----------------------------------------------------------------
def bench_row(cfg: ArchiveConfig, mode: str, size: int, folder: Path, chroma: Path | None) -> dict[str, Any]:
    """Build a store of `size` chunks in `mode` under folder, measure it, then remove folder."""
    data = folder / "data"
    args = {"mode": mode, "size": size, "dir": str(data), "seed": cfg.seed}
    build_args = {**args, "job": "build", "max_build_s": cfg.max_build_s}
    search_args = {**args, "job": "search", "queries": cfg.queries, "k": cfg.k}
    folder.mkdir(parents=True)
    row: dict[str, Any] = {"mode": mode, "size": size, "k": cfg.k}
    try:
        if chroma is None:
            row.update(_run_child(build_args, timeout=cfg.max_build_s + 3600))
            row["store_mb"] = dir_size_mb(data)
            row.update(_run_child(search_args, timeout=7200))
            return _finish(row)
        with chroma_server(chroma, data, folder / "build.log") as (_, port, _):
            row.update(_run_child({**build_args, "port": port}, timeout=cfg.max_build_s + 3600))
        row["store_mb"] = dir_size_mb(data)  # the server's data dir, after it stopped
        with chroma_server(chroma, data, folder / "search.log") as (server, port, ready_s):
            row.update(_run_child({**search_args, "port": port}, timeout=7200))
            memory = proc_status(server.proc.pid)  # `chroma run` is one process (its Rust server runs in it)
            row.update(rss_mb=memory.get("VmRSS"), peak_rss_mb=memory.get("VmHWM"), server_ready_s=ready_s)
        return _finish(row)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    row["chunks"] = row["built"]
    row["meets_target"] = bool(row["complete"] and row["p95_ms"] is not None and row["p95_ms"] <= P95_TARGET_MS)
    row["rss_of"] = "the chroma server process" if row["mode"] == "http" else "the searching process"
    return row


def _meta(cfg: ArchiveConfig) -> dict[str, Any]:
    import chromadb

    memory_mb = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    machine = {"timestamp": stamp, "chromadb": chromadb.__version__, "cpus": os.cpu_count(), "memory_mb": memory_mb}
    plan = {"dim": DIM, "queries": cfg.queries, "k": cfg.k, "add_chunks": ADD_CHUNKS, "max_build_s": cfg.max_build_s}
    what = "seeded random unit vectors; queries: random unit vectors through ChunkStore.query"
    return {**machine, **plan, "p95_target_ms": P95_TARGET_MS, "load_average": load_average(), "vectors": what}


def run_archive(cfg: ArchiveConfig) -> dict[str, Any]:
    """Every size in every mode (sizes outer, so both modes of a size come together); a failing row is recorded
    in results["errors"] and the run goes on."""
    chroma = chroma_command() if "http" in cfg.modes else None
    results: dict[str, Any] = {"meta": _meta(cfg), "rows": [], "errors": {}}
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="archive-", dir=cfg.work_dir))
    try:
        for size in cfg.sizes:
            for mode in cfg.modes:
                try:
                    row = bench_row(cfg, mode, size, work / f"{mode}-{size}", chroma if mode == "http" else None)
                except ArchiveError as exc:
                    results["errors"][f"{mode}-{size}"] = str(exc)
                    cfg.report(f"{mode} {size:,}: {exc}")
                    continue
                results["rows"].append(row)
                cfg.report(format_rows([row], header=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["verdicts"] = verdicts(results["rows"], results["meta"]["memory_mb"])
    results["meta"]["load_average_end"] = load_average()
    return results


# (title, key, format) of the table's columns
_TABLE = "mode mode {}|chunks chunks {:,}|p50 ms p50_ms {:.1f}|p95 ms p95_ms {:.1f}|1st query ms first_query_ms {:.0f}"
_TABLE += "|RSS MB rss_mb {:,.0f}|disk MB store_mb {:,.0f}|add 1k s add_1000_s {:.2f}"
_TABLE += "|build chunks/s build_chunks_per_s {:,.0f}|build min build_add_s {}|p95 target meets_target {}"
COLUMNS = [tuple(c.rsplit(" ", 2)) for c in _TABLE.split("|")]


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    if key == "build_add_s" and value is not None:
        return f"{value / 60:.1f}" + ("" if row.get("complete") else f" (stopped at {row['built']:,})")
    if key == "meets_target":
        return "met" if value else "MISS"
    return "–" if value is None else fmt.format(value)


def format_rows(rows: list[dict[str, Any]], header: bool = True) -> str:
    """The rows as an aligned text table."""
    cells = [[_cell(r, key, fmt) for _, key, fmt in COLUMNS] for r in rows]
    titles = [title for title, _, _ in COLUMNS]
    widths = [max([len(t)] + [len(c[i]) for c in cells]) for i, t in enumerate(titles)]
    lines = [titles] if header else []
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines + cells)


def _count(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def format_archive(results: dict[str, Any]) -> str:
    """The table and, per mode, where it meets the target and how many chunks fit in memory."""
    lines = [format_rows(results["rows"]), ""]
    for mode, verdict in results["verdicts"]["modes"].items():
        meets, miss, fit = (verdict[key] for key in ("largest_meeting_target", "first_missing_target", FITS))
        lines.append(
            f"{mode}: p95 <= {P95_TARGET_MS:g} ms up to {_count(meets)} chunks; first miss at {_count(miss)}; "
            f"RSS would reach 80% of memory at {_count(fit)} chunks (extrapolated)"
        )
    met = results["verdicts"]["target_met_at_largest"]
    lines.append(f"target p95 <= {P95_TARGET_MS:g} ms at the largest size in one mode: {'met' if met else 'MISSED'}")
    return "\n".join(lines)
