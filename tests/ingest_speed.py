"""`rag index` timed on a folder of articles and on a feed of the same articles from a slow local site.

Not a test: a measurement with the real embedding model (run it under the shared lock, `flock
/tmp/newsrag-heavy.lock`). The articles are copies of seeds/ (each copy a distinct document), half as .txt and
half as saved news pages (.html, read with trafilatura); the feed lists the pages on tests/newsserver.py's site,
which answers each request after `--delay` seconds, and the fetcher waits its usual `fetch_host_delay_s` between
requests. Each run starts from an empty index; `--code DIR` measures another checkout of the project. With the
same `--work` and `--port`, two checkouts index the same paths and URLs, and `--compare A B` then checks that two
work folders' indexes hold the same chunks (ids, texts, metadata, vectors).

    python -m tests.ingest_speed --copies 6 --delay 0.3 [--code DIR] [--work DIR] [--port N]
    python -m tests.ingest_speed --compare WORK_A WORK_B
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.newsserver import serve_news

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SUMMARY = re.compile(r"(\d+) chunks embedded, (\d+) in the index \(([\d.]+) s\)")


def _page(title: str, paragraphs: list[str], n: int) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    return (
        '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} ({n})</title>"
        '<meta property="og:site_name" content="Tagesblatt Beispielstadt">'
        '<meta property="article:published_time" content="2024-06-10"></head><body>'
        '<nav><a href="/">Start</a> <a href="/politik">Politik</a></nav>'
        f"<article><h1>{html.escape(title)} ({n})</h1>\n{body}</article>"
        "<footer>Impressum · Datenschutz</footer></body></html>"
    )


def build_corpus(work: Path, copies: int) -> tuple[Path, Path]:
    """A folder of copies x 5 articles (.txt and .html alternately) and a site root with the pages and a feed."""
    folder, site = work / "articles", work / "site"
    (site / "a").mkdir(parents=True)
    folder.mkdir()
    items = []
    for n in range(copies):
        for k, seed in enumerate(sorted(SEEDS.glob("*.txt"))):
            lines = [line for line in seed.read_text(encoding="utf-8").splitlines() if line.strip()]
            title, paragraphs = lines[0], [*lines[1:], f"Kopie {n} dieses Berichts."]
            page = _page(title, paragraphs, n)
            if (n * 5 + k) % 2:
                (folder / f"{seed.stem}_{n}.html").write_text(page, encoding="utf-8")
            else:
                (folder / f"{seed.stem}_{n}.txt").write_text("\n\n".join([title, *paragraphs]) + "\n", encoding="utf-8")
            (site / "a" / f"{seed.stem}_{n}.html").write_text(page, encoding="utf-8")
            items.append(f"<item><title>{n}-{k}</title><link>http://BASE/a/{seed.stem}_{n}.html</link></item>")
    feed = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
    (site / "feed.xml").write_text(feed + "".join(items) + "</channel></rss>", encoding="utf-8")
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    return folder, site


def run_index(code: Path, work: Path, name: str, source: str) -> dict[str, float]:
    """One `rag index SOURCE` into an empty index: wall time, the run's own seconds, chunks and chunks/s."""
    (work / "rag.toml").write_text("")
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "RAG_CONFIG": str(work / "rag.toml"),
        "RAG_INDEX_DIR": str(work / f"index-{name}"),
        "RAG_FETCH_ALLOW_PRIVATE": "true",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from rag.cli.main import main; main()", "index", source],
        capture_output=True,
        text=True,
        env=env,
        cwd=code,  # `python -c` puts its folder first on sys.path, before PYTHONPATH
        check=False,
    )
    wall = time.perf_counter() - started
    found = SUMMARY.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{name}: rag index failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-2000:]}")
    chunks, seconds = int(found.group(1)), float(found.group(3))
    return {"wall_s": round(wall, 1), "run_s": seconds, "chunks": chunks, "chunks_per_s": round(chunks / seconds, 2)}


def _contents(index_dir: Path) -> dict[str, tuple[str, dict[str, object], list[float]]]:
    """Every chunk of the index's active generation: id -> (text, metadata, vector)."""
    from rag.settings import Settings
    from rag.store.chroma import open_store

    store = open_store(Settings(index_dir=index_dir))
    collection = store._require_active()  # a measurement may look inside
    page: Any = collection.get(include=["documents", "metadatas", "embeddings"])
    return {
        i: (t, dict(m), [float(x) for x in e])
        for i, t, m, e in zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"], strict=True)
    }


def compare(first: Path, second: Path) -> None:
    """Whether each index of two work folders holds the same chunks; prints what differs."""
    for name in ("folder", "feed"):
        a, b = _contents(first / f"index-{name}"), _contents(second / f"index-{name}")
        same_ids = sorted(a) == sorted(b)
        texts = sum(a[i][0] != b[i][0] for i in a if i in b)
        metadata = sum(a[i][1] != b[i][1] for i in a if i in b)
        vectors = sum(a[i][2] != b[i][2] for i in a if i in b)
        print(
            f"{name}: {len(a)} vs {len(b)} chunks, same ids {same_ids}, differing texts {texts}, "
            f"metadata {metadata}, vectors {vectors}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds the site waits before each answer")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose `rag index` is measured")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--only", choices=("folder", "feed"), default=None)
    parser.add_argument("--port", type=int, default=0, help="the site's port (the same URLs for two checkouts)")
    parser.add_argument("--compare", type=Path, nargs=2, default=None, metavar="WORK")
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="ingest-speed-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    folder, root = build_corpus(work, args.copies)
    if args.only != "feed":
        print("folder", run_index(args.code, work, "folder", str(folder)), flush=True)
    if args.only != "folder":
        with serve_news(root, args.port) as site:
            site.delay_s = args.delay
            print("feed", run_index(args.code, work, "feed", site.at("/feed.xml")), flush=True)


if __name__ == "__main__":
    main()
