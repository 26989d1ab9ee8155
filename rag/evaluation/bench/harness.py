"""The process harness of the bench: memory and timing, free ports, `rag` and Python subprocesses, the chat server
and one question through its Gradio API."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rag.evaluation.bench.config import ROOT

if TYPE_CHECKING:
    from rag.settings import Settings

T = TypeVar("T")

# The chat app's JSON API: `ask(question, history_json="[]", backend="")` in ui.app.register_api, registered with
# gr.api(ask, api_name="ask"). A constant, not an import: evaluation never imports ui.
ASK_ENDPOINT = "/ask"


# -- measurements ---------------------------------------------------------------
def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak) in MB from /proc; getrusage's peak when /proc is missing."""
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = round(int(rest.split()[0]) / 1024, 1)
    except (OSError, ValueError):
        if pid == "self":
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
            out = {"VmRSS": round(peak, 1), "VmHWM": round(peak, 1)}
    return out


def dir_size_mb(path: Path) -> float:
    total = sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
    return round(total / 1e6, 2)


def load_average() -> list[float] | None:
    """The 1/5/15-minute load, recorded so a slow run on a busy machine can be told apart."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """fn's wall time in seconds and its value."""
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


@contextmanager
def workspace(parent: Path | None) -> Iterator[Path]:
    """A temporary folder for the run's indexes and logs (under parent when given), removed afterwards."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="ragbench-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- subprocesses -----------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rag_command() -> list[str]:
    """The installed `rag` script next to this interpreter, else `python -m rag.cli.main`."""
    script = Path(sys.executable).parent / "rag"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "rag.cli.main"]


def sub_env(settings: Settings, index_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a `rag` subprocess that uses index_dir and the bench's collection."""
    env = dict(os.environ)
    env.update(
        {
            "RAG_STORE_MODE": "persistent",
            "RAG_INDEX_DIR": str(index_dir),
            "RAG_COLLECTION": settings.collection,
            "RAG_CACHE_DIR": str(settings.cache_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
    """Run `rag ARGS` to completion; its wall time (start-up included) and result. Raises when it fails."""
    started = time.perf_counter()
    result = subprocess.run(
        rag_command() + args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"`rag {' '.join(args)}` failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return seconds, result


def run_in_fresh_process(
    fn: Callable[[Any], Any], args: Any, timeout: float = 1800, path_first: Path | None = None
) -> Any:
    """fn(args) in a new interpreter, so that its RSS and timings are its own. fn must be a module-level function;
    args and its result go through JSON. path_first goes before the venv's packages (another build of one)."""
    code = (
        f"import json, sys; from {fn.__module__} import {fn.__name__}; "
        f"print(json.dumps({fn.__name__}(json.loads(sys.argv[1]))))"
    )
    paths = [str(path_first) if path_first else None, str(ROOT), os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, paths)))
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{fn.__name__} in a child process failed: {result.stderr.strip()[-1500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # the last line: imports may print before it


# -- server subprocesses ------------------------------------------------------------
class ServerProcess:
    """A server subprocess in its own process group, its output in a log, polled until `ready_url` answers 200."""

    name = "server"
    grace_s = 20.0

    def __init__(self, command: list[str], log: Path, ready_url: str, env: dict[str, str] | None = None) -> None:
        self.log_path = log
        self.ready_url = ready_url
        self._log = log.open("w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() also ends its children
        )

    def wait_ready(self, timeout: float = 600) -> float:
        """Seconds from the start until ready_url answers 200; raises when the server exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} did not answer at {self.ready_url} within {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def stop(self) -> None:
        stop_process_group(self.proc, grace_s=self.grace_s)
        self._log.close()


class ChatServer(ServerProcess):
    """`rag chat --port N`, ready when http://127.0.0.1:N/ answers 200."""

    name = "`rag chat`"

    def __init__(self, settings: Settings, index_dir: Path, backend: str, log: Path, **env_extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = sub_env(
            settings, index_dir, RAG_LLM_BACKEND=backend, RAG_HOST="127.0.0.1", RAG_PORT=str(self.port), **env_extra
        )
        command = rag_command() + ["chat", "--port", str(self.port), "--host", "127.0.0.1"]
        super().__init__(command, log, self.url, env)


def stop_process_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the process's group, then SIGKILL it if it has not exited within grace_s seconds."""
    if proc.poll() is not None:
        return
    with _gone():
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with _gone():
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _gone() -> contextlib.suppress:
    """The process group may have exited between poll() and killpg()."""
    return contextlib.suppress(ProcessLookupError, PermissionError)


def ask_through_gradio(url: str, question: str, timeout: float = 600) -> None:
    """Ask one question through the chat server's ASK_ENDPOINT with gradio_client and wait for the answer;
    history and backend keep the endpoint's defaults (no history, the server's backend)."""
    from gradio_client import Client

    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    client.submit(question, api_name=ASK_ENDPOINT).result(timeout=timeout)


def write_results(results: dict[str, Any], out_dir: Path, prefix: str = "") -> tuple[Path, Path]:
    """<out_dir>/<prefix><timestamp>.json and the same text in <out_dir>/<prefix>latest.json; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = results["meta"]["timestamp"].replace("-", "").replace(":", "")
    path, latest = out_dir / f"{prefix}{stamp}.json", out_dir / f"{prefix}latest.json"
    text = json.dumps(results, ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    latest.write_text(text, encoding="utf-8")
    return path, latest
