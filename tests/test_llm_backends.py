"""The remote backends against real servers on 127.0.0.1: llama.cpp's OpenAI-compatible server,
and a small HTTP server that speaks Ollama's chat protocol (no Ollama can be installed here)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from llama_index.core.llms import ChatMessage

from rag.evaluation.bench.harness import free_port
from rag.models.files import QWEN_15B, model_path
from rag.models.llama_model import llama_build_info
from rag.models.llm import LLMUnavailableError, build_backend
from rag.settings import Settings

MESSAGES = [ChatMessage(role="user", content="Antworte nur mit dem Wort: Hallo")]


class OllamaChatHandler(BaseHTTPRequestHandler):
    """POST /api/chat streams NDJSON chunks the way `ollama serve` does."""

    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        OllamaChatHandler.requests.append(body)
        if self.path != "/api/chat":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for word in ["Nordkorea ", "lieferte ", "Munition [1]."]:
            chunk = {
                "model": body["model"],
                "created_at": "2026-11-21T00:00:00Z",
                "message": {"role": "assistant", "content": word},
                "done": False,
            }
            self.wfile.write((json.dumps(chunk) + "\n").encode())
            self.wfile.flush()
        final = {
            "model": body["model"],
            "created_at": "2026-11-21T00:00:00Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1,
            "prompt_eval_count": 3,
            "eval_count": 3,
        }
        self.wfile.write((json.dumps(final) + "\n").encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def ollama_server():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), OllamaChatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_ollama_backend_streams_from_an_ollama_protocol_server(ollama_server):
    backend = build_backend(Settings(llm_backend="ollama", llm_base_url=ollama_server, llm_model="qwen2.5:1.5b"))
    assert backend is not None and backend.endpoint == ollama_server and backend.llama is None
    deltas = list(backend.stream(MESSAGES))
    assert deltas == ["Nordkorea ", "lieferte ", "Munition [1]."]
    request = OllamaChatHandler.requests[-1]
    assert request["model"] == "qwen2.5:1.5b" and request["stream"] is True
    assert request["messages"][0]["content"] == "Antworte nur mit dem Wort: Hallo"


@pytest.mark.parametrize("backend", ["ollama", "openai"])
def test_a_backend_that_is_down_gives_a_clear_error_naming_the_url(backend):
    url = f"http://127.0.0.1:{free_port()}" + ("/v1" if backend == "openai" else "")
    built = build_backend(Settings(llm_backend=backend, llm_base_url=url, llm_timeout_s=5))
    assert built is not None
    with pytest.raises(LLMUnavailableError, match=url.replace(".", r"\.")):
        built.complete(MESSAGES)


@pytest.fixture(scope="module")
def llama_cpp_server():
    gguf = model_path(QWEN_15B, Settings().models_dir)
    if not gguf.is_file():
        pytest.fail(f"{gguf} is missing: run `make setup`")
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        "2",
        "--model_alias",
        "qwen",
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{base}/models", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not start")
                time.sleep(1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


@pytest.mark.model
def test_openai_backend_answers_and_streams_from_a_real_llama_cpp_server(llama_cpp_server):
    settings = Settings(llm_backend="openai", llm_base_url=llama_cpp_server, llm_model="qwen", max_new_tokens=40)
    backend = build_backend(settings)
    assert backend is not None and not backend.reuses_prompt_prefix
    count = [ChatMessage(role="user", content="Zähle in Worten von eins bis fünf, durch Kommas getrennt.")]
    deltas = list(backend.stream(count))
    assert len(deltas) > 3, "the answer must arrive in several streamed pieces"
    assert "drei" in "".join(deltas).lower()


@pytest.mark.model
def test_full_answer_through_the_openai_backend(llama_cpp_server, tmp_path):
    from rag.ingest.pipeline import index_paths
    from rag.models.embedding import get_embedder
    from rag.store.chroma import open_store
    from rag.wiring import get_service

    settings = Settings(
        llm_backend="openai", llm_base_url=llama_cpp_server, llm_model="qwen", index_dir=tmp_path / "index"
    )
    index_paths([settings.seeds_dir], settings, open_store(settings), lambda: get_embedder(settings))
    answer = get_service(settings).answer("Wer ist der Generalsekretär der NATO?")
    assert "Stoltenberg" in answer.text and answer.mode == "llm"
    assert "001_0bda7b3f5836d6c8" in {c.doc_id for c in answer.citations.values()}


def test_server_dying_mid_answer_falls_back_to_extractive(tmp_path):
    from rag.answering.service import AnswerService
    from rag.ingest.pipeline import index_paths
    from rag.store.chroma import open_store
    from tests.fakes import HashEmbedder

    class DyingHandler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            chunk = {
                "model": "m",
                "created_at": "x",
                "message": {"role": "assistant", "content": "Nord"},
                "done": False,
            }
            self.wfile.write((json.dumps(chunk) + "\n").encode())
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the server dies mid-answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), DyingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = Settings(
        llm_backend="ollama", llm_base_url=url, index_dir=tmp_path / "i", answer={"min_relevance": 0.05}
    )
    embedder = HashEmbedder()
    store = open_store(settings)
    index_paths([settings.seeds_dir], settings, store, lambda: embedder)
    try:
        answer = AnswerService(settings, store, embedder, build_backend(settings)).answer(
            "Welches Land lieferte Artilleriemunition an Russland?"
        )
    finally:
        server.shutdown()
    assert answer.mode == "extractive" and url in answer.warning
    assert answer.citations


def test_llama_build_info_lists_the_cpu_features_of_the_installed_build():
    info = llama_build_info()
    assert info.startswith("CPU : ") and not info.endswith("|") and "AVX2 = 1" in info
    record = Path(sys.prefix) / ".llama-build.json"  # written by scripts/setup.sh
    if record.is_file() and json.loads(record.read_text())["flavour"] == "avx512":
        assert "AVX512 = 1" in info and "AVX512_VNNI = 1" in info
    elif record.is_file():
        assert "AVX512 = 1" not in info


def _verdict_messages(question: str):
    from rag.answering.prompt import build_messages
    from rag.types import Passage
    from tests.fakes import make_chunk

    source = "Der Brite Ben Wallace telefonierte am Sonntag mit Sergej Schoigu über die Lage in der Ukraine."
    chunk = make_chunk(source, title="Telefonat", date="2022-10-24", score=0.8)
    return build_messages(question, [Passage(number=1, chunk=chunk, text=source)], "de")


@pytest.mark.model
def test_openai_backend_gives_the_no_answer_verdict_from_the_servers_log_probabilities(llama_cpp_server):
    backend = build_backend(Settings(llm_backend="openai", llm_base_url=llama_cpp_server, llm_model="qwen"))
    assert backend is not None
    answerable = backend.no_answer_probability(_verdict_messages("Mit wem telefonierte Ben Wallace?"))
    unanswerable = backend.no_answer_probability(
        _verdict_messages("Wie viele Tore schoss Brasilien im WM-Finale 2002?")
    )
    assert answerable is not None and unanswerable is not None
    assert 0.0 <= answerable < unanswerable <= 1.0
    assert answerable < Settings().answer.no_answer_threshold <= unanswerable


def test_a_dead_openai_server_makes_the_verdict_raise_unavailable_not_a_traceback():
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = build_backend(Settings(llm_backend="openai", llm_base_url=url, llm_timeout_s=5))
    assert backend is not None
    with pytest.raises(LLMUnavailableError, match=url.replace(".", r"\.")):
        backend.no_answer_probability(MESSAGES)


def test_a_server_that_rejects_log_probabilities_leaves_the_answer_without_a_verdict():
    class Rejecting(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = json.dumps({"error": {"message": "logprobs is not supported", "type": "invalid_request_error"}})
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Rejecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        backend = build_backend(Settings(llm_backend="openai", llm_base_url=url, llm_timeout_s=5))
        assert backend is not None and backend.no_answer_probability(MESSAGES) is None
    finally:
        server.shutdown()
