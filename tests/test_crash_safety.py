"""SIGKILL during `rag index` leaves the previous index queryable, and a rerun equals a clean build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rag.ingest.pipeline import index_paths
from rag.settings import Settings
from rag.store.chroma import open_store
from tests.fakes import HashEmbedder

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from rag.ingest.pipeline import index_paths
    from rag.settings import Settings
    from rag.store.chroma import open_store
    from tests.fakes import HashEmbedder

    class SlowEmbedder(HashEmbedder):
        def embed_documents(self, texts, progress=False):
            print("embedding", flush=True)
            time.sleep(0.1)
            return super().embed_documents(texts, progress)

    settings = Settings(index_dir=Path(sys.argv[1]), embedding_batch_size=2)
    index_paths([Path(sys.argv[2])], settings, open_store(settings), SlowEmbedder, rebuild=True)
    print("done", flush=True)
    """
)


def _many_articles(folder: Path, seeds: Path, copies: int) -> None:
    folder.mkdir()
    for n in range(copies):
        for seed in seeds.glob("*.txt"):
            (folder / f"{seed.stem}_{n}.txt").write_text(seed.read_text(encoding="utf-8") + f"\n\nKopie {n}.\n")


@pytest.mark.slow  # about 20 s: indexes, is killed mid-write, indexes again and once more from clean
def test_sigkill_mid_write_keeps_the_old_index_and_rerun_equals_clean_build(tmp_path, seeds_copy):
    settings = Settings(index_dir=tmp_path / "index")
    index_paths([seeds_copy], settings, open_store(settings), HashEmbedder)
    before = open_store(settings).chunk_ids()
    probe = HashEmbedder().embed_query("Nordkorea Munition")
    top_before = open_store(settings).query(probe, 1)[0].chunk_id

    bigger = tmp_path / "bigger"
    _many_articles(bigger, seeds_copy, copies=2)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    for delay in (0.3, 1.0, 2.5):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(settings.index_dir), str(bigger)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert writer.stdout.readline().strip() == "embedding"
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
        store = open_store(settings)
        assert store.chunk_ids() == before, f"killed after {delay}s: the previous index changed"
        assert store.query(probe, 1)[0].chunk_id == top_before

    finished = subprocess.run(
        [sys.executable, "-c", WRITER, str(settings.index_dir), str(bigger)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    clean = Settings(index_dir=tmp_path / "clean")
    index_paths([bigger], clean, open_store(clean), HashEmbedder)
    after = open_store(settings).chunk_ids()
    assert after == open_store(clean).chunk_ids()
    assert len(after) == len(set(after))


URL_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from rag.ingest.pipeline import index_paths
    from rag.settings import Settings
    from rag.store.chroma import open_store
    from tests.fakes import HashEmbedder

    class SlowEmbedder(HashEmbedder):
        def embed_documents(self, texts, progress=False):
            print("embedding", flush=True)
            time.sleep(0.5)
            return super().embed_documents(texts, progress)

    settings = Settings(
        index_dir=Path(sys.argv[1]), embedding_batch_size=1, fetch_allow_private=True, fetch_host_delay_s=0,
        fetch_timeout_s=2, fetch_max_bytes=50_000,
    )
    report = index_paths([], settings, open_store(settings), SlowEmbedder, urls=sys.argv[2:])
    print("done", len(report.added), flush=True)
    """
)


def test_sigkill_mid_embedding_of_a_url_run_keeps_the_old_index_and_the_next_run_completes(tmp_path, news_site):
    settings = Settings(index_dir=tmp_path / "index", fetch_allow_private=True, fetch_host_delay_s=0)
    index_paths([], settings, open_store(settings), HashEmbedder, urls=[news_site.at("/de/wahl.html")])
    before = open_store(settings).chunk_ids()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    urls = [news_site.at("/de/wahl.html"), news_site.at("/feed.xml")]
    writer = subprocess.Popen(
        [sys.executable, "-c", URL_WRITER, str(settings.index_dir), *urls], stdout=subprocess.PIPE, text=True, env=env
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "embedding"
    time.sleep(0.3)
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    assert open_store(settings).chunk_ids() == before, "the previous index changed"
    finished = subprocess.run(
        [sys.executable, "-c", URL_WRITER, str(settings.index_dir), *urls],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert finished.stdout.splitlines()[-1] == "done 2"  # the feed's other two articles; wahl was there
    assert len(open_store(settings).documents()) == 3
