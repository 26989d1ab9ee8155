"""A fake embedding server on 127.0.0.1 that speaks OpenAI's /v1/embeddings and Ollama's /api/embed.

Its vector of a text is derived from the text's SHA-256 and is not of unit length, so tests can tell that the
client sent the prompt before the text and normalised what came back. It records every request (path, body,
headers, how many were in flight) and misbehaves on demand: failing statuses first, a delay, no answer at all,
vectors of another size, one vector too few, a reply that is not JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSION = 8


def raw_vector(text: str, dimension: int = DIMENSION) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [(digest[i] - 127.5) / 10 for i in range(dimension)]  # lengths around 2-3, never 1


def unit_vector(text: str) -> list[float]:
    vector = raw_vector(text)
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


@dataclass
class Request:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class EmbeddingServer:
    url: str = ""  # http://127.0.0.1:PORT
    requests: list[Request] = field(default_factory=list)
    fail_first: list[int] = field(default_factory=list)  # statuses answered, one per request, before any vector
    delay_s: float = 0.0
    hang: bool = False  # never answer (until the server stops)
    dimension_after: int | None = None  # after the first request, vectors of this size
    drop_one: bool = False  # one vector fewer than texts
    not_json: bool = False
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def inputs(self) -> list[list[str]]:
        """The texts of each request, in the order they came."""
        return [r.body["input"] for r in self.requests]

    def reply(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        with self.lock:
            first = len(self.requests) == 1
            status = self.fail_first.pop(0) if self.fail_first else 200
        if status != 200:
            return status, json.dumps({"error": f"status {status} on purpose"}).encode()
        if self.not_json:
            return 200, b"<html>a proxy's error page</html>"
        texts = list(body["input"])
        size = self.dimension_after if self.dimension_after and not first else DIMENSION
        vectors = [raw_vector(text, size) for text in texts[: len(texts) - self.drop_one]]
        if path == "/api/embed":
            return 200, json.dumps({"model": body["model"], "embeddings": vectors}).encode()
        # Listed backwards: the client must put them in order by their index.
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)][::-1]
        return 200, json.dumps({"object": "list", "model": body["model"], "data": data}).encode()


def _handler(server: EmbeddingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            with server.lock:
                server.requests.append(Request(self.path, body, dict(self.headers)))
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                if server.hang:
                    server.stop.wait()
                    return
                time.sleep(server.delay_s)
                if self.path not in ("/v1/embeddings", "/api/embed"):
                    status, payload = 404, b'{"error": "no such route"}'
                else:
                    status, payload = server.reply(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            finally:
                with server.lock:
                    server.in_flight -= 1

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Handler


@contextlib.contextmanager
def serve_embeddings() -> Iterator[EmbeddingServer]:
    state = EmbeddingServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
