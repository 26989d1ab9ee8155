"""A small news site on 127.0.0.1 for the web tests: the files of tests/data/web plus a few special routes.

- `http://BASE` in a served file becomes the server's address (feeds and sitemaps need absolute URLs);
- /go/bridge redirects (301) to the English article, /go/file redirects (302) to a file: URL,
  /go/loop redirects to itself;
- /gone.html and any other missing file is a 404;
- /slow.html waits SLOW_S seconds before it answers;
- /huge.html is a page of HUGE_BYTES bytes, /huge-stream.html the same without a Content-Length;
- /print/<path> serves <path> (a printer-friendly copy: the same article under a second URL, no canonical link).
Every request is recorded with its time and user agent, so that tests can check what was fetched and when.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SLOW_S = 3.0
HUGE_BYTES = 200_000
# The pages the feed lists that cannot be indexed: robots.txt forbids one, and the others are gone, too slow,
# too large, redirected to file:, without article text, or not HTML.
UNINDEXABLE_PATHS = frozenset(
    {"/private/secret.html", "/gone.html", "/slow.html", "/huge.html", "/go/file", "/empty.html", "/report.pdf"}
)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".pdf": "application/pdf",
}


@dataclass
class NewsSite:
    url: str  # "http://127.0.0.1:PORT"
    root: Path  # the served files (a copy the test may change)
    log: list[tuple[float, str, str]] = field(default_factory=list)  # (monotonic time, path, user agent)

    def at(self, path: str) -> str:
        return f"{self.url}{path}"

    def requested(self) -> list[str]:
        return [path for _, path, _ in self.log]


def _huge_page() -> bytes:
    paragraph = "<p>" + "A very long report that no reader needs in full. " * 20 + "</p>\n"
    body = paragraph * (HUGE_BYTES // len(paragraph) + 1)
    return (
        f"<!DOCTYPE html><html><head><title>Huge</title></head><body><article>{body}</article></body></html>".encode()
    )


def _handler(site: NewsSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
            pass

        def _send(self, status: int, body: bytes, content_type: str = "text/html", length: bool = True) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may have given up (timeout, size limit)
                self.wfile.write(body)

        def _redirect(self, status: int, location: str) -> None:
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            path = urlsplit(self.path).path
            site.log.append((time.monotonic(), path, self.headers.get("User-Agent", "")))
            if path == "/go/bridge":
                return self._redirect(301, "/en/bridge-reopens.html")
            if path == "/go/file":
                return self._redirect(302, "file:///etc/passwd")
            if path == "/go/loop":
                return self._redirect(302, "/go/loop")
            if path == "/slow.html":
                time.sleep(SLOW_S)
            if path in ("/huge.html", "/huge-stream.html"):
                return self._send(200, _huge_page(), TYPES[".html"], length=path == "/huge.html")
            path = path.removeprefix("/print")
            file = (site.root / path.lstrip("/")).resolve()
            if not file.is_file() or site.root.resolve() not in file.parents:
                return self._send(404, b"<html><body><h1>Not found</h1></body></html>")
            data = file.read_bytes()
            if file.suffix in (".html", ".xml", ".txt"):
                data = data.replace(b"http://BASE", site.url.encode())
            return self._send(200, data, TYPES.get(file.suffix, "application/octet-stream"))

    return Handler


@contextlib.contextmanager
def serve_news(root: Path) -> Iterator[NewsSite]:
    """Serve `root` on a free port of 127.0.0.1 in a background thread until the block ends."""
    site = NewsSite("", root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def web_env(monkeypatch: Any, tmp_path: Path) -> None:
    """Settings by environment for `rag index URL` against the local news site: an empty config file, a
    scratch index, private addresses allowed (the site is on 127.0.0.1), short timeouts and no delay."""
    (tmp_path / "rag.toml").write_text("")
    for key, value in {
        "RAG_CONFIG": str(tmp_path / "rag.toml"),
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_FETCH_ALLOW_PRIVATE": "true",
        "RAG_FETCH_TIMEOUT_S": "1",
        "RAG_FETCH_HOST_DELAY_S": "0",
        "RAG_FETCH_MAX_BYTES": "50000",
    }.items():
        monkeypatch.setenv(key, value)
