"""A small news site on 127.0.0.1 for the web tests: the files of tests/data/web plus a few special routes.

- `http://BASE` in a served file becomes the server's address (feeds and sitemaps need absolute URLs);
- /go/bridge redirects (301) to the English article, /go/file redirects (302) to a file: URL,
  /go/loop redirects to itself;
- /gone.html and any other missing file is a 404;
- /slow.html waits SLOW_S seconds before it answers;
- /huge.html is a page of HUGE_BYTES bytes, /huge-stream.html the same without a Content-Length;
- /print/<path> serves <path> (a printer-friendly copy: the same article under a second URL, no canonical link);
- /drip.html sends its body a byte every DRIP_S seconds without a length, /drip-length.html promises 60 bytes
  and drips 30, /drip-headers.html drips its headers (each gives up by itself after DRIP_MAX_S);
- /go/intranet redirects to an address on the local network; robots.txt drips while a file robots.drip exists;
- /de/preise.html is a windows-1252 page labelled iso-8859-1 in its Content-Type and its <meta>;
- /bomb.html and /bomb-encoded.html are a gzip bomb (BOMB_BYTES unpacked), as the body itself and as a
  Content-Encoding;
- files are sent with an ETag and a Last-Modified, and a matching If-None-Match gets a 304;
- every request waits `NewsSite.delay_s` (0 unless a test or a measurement sets it) before it is answered, as a
  distant site would.
Every request is recorded with its time and user agent, so that tests can check what was fetched and when.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
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
DRIP_S = 0.25
DRIP_MAX_S = 20.0
BOMB_BYTES = 17_000_000
LAST_MODIFIED = "Tue, 03 Sep 2024 06:00:00 GMT"
# Words that windows-1252 has and iso-8859-1 lacks (€ „ “ – ’), as older German sites send them.
PREISE_TEXT = "„Größer geht’s nicht“ – der Eintritt kostet 5 €."
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
    delay_s: float = 0.0  # the latency of every request

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


@functools.cache
def _preise_page() -> bytes:
    paragraphs = "".join(
        f"<p>{text}</p>"
        for text in (
            PREISE_TEXT,
            "Das Stadtfest in Beispielstadt öffnet am Samstag seine Tore – mit Musik, Märkten und Führungen.",
            # Without „…“ here, trafilatura's charset guess for the page was latin-1, which drops € „ “ – ’.
            "Die Veranstalter erwarten mehr Besucher als je zuvor, sagte die Sprecherin der Stadt am Freitag.",
            "Kinder unter zwölf Jahren zahlen nichts; Familienkarten kosten 12 € und gelten für zwei Tage.",
        )
    )
    page = (
        '<!DOCTYPE html><html lang="de"><head><meta http-equiv="Content-Type" content="text/html; '
        'charset=iso-8859-1"><title>Stadtfest: Preise</title></head>'
        f"<body><article><h1>Stadtfest: Preise</h1>{paragraphs}</article></body></html>"
    )
    return page.encode("cp1252")


@functools.cache
def _bomb() -> bytes:
    filler = b"<p>" + b"A" * (BOMB_BYTES - 40) + b"</p>"
    return gzip.compress(b"<html><body>" + filler + b"</body></html>", compresslevel=9)


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

        def _drip(self, data: bytes) -> None:
            """Write `data` a byte every DRIP_S seconds until the client leaves or DRIP_MAX_S have passed."""
            self.close_connection = True
            started = time.monotonic()
            for byte in data:
                if time.monotonic() - started > DRIP_MAX_S:
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(DRIP_S)

        def _drip_route(self, path: str) -> None:
            if path == "/drip-headers.html":
                self._drip(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 1000 + b"\r\n\r\n")
                return
            self.send_response(200)
            self.send_header("Content-Type", TYPES[".html"])
            if path == "/drip-length.html":
                self.send_header("Content-Length", "60")
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            self._drip(b"<html><body><p>" + b"drip " * (6 if path == "/drip-length.html" else 10_000))

        def _send_file(self, data: bytes, content_type: str) -> None:
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(data)

        def _redirect(self, status: int, location: str) -> None:
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            path = urlsplit(self.path).path
            site.log.append((time.monotonic(), path, self.headers.get("User-Agent", "")))
            if site.delay_s:
                time.sleep(site.delay_s)
            if path == "/go/bridge":
                return self._redirect(301, "/en/bridge-reopens.html")
            if path == "/go/file":
                return self._redirect(302, "file:///etc/passwd")
            if path == "/go/intranet":
                return self._redirect(302, "http://192.168.1.20/admin")
            if path == "/robots.txt" and (site.root / "robots.drip").exists():
                return self._drip_route("/drip.html")
            if path == "/go/loop":
                return self._redirect(302, "/go/loop")
            if path == "/slow.html":
                time.sleep(SLOW_S)
            if path in ("/huge.html", "/huge-stream.html"):
                return self._send(200, _huge_page(), TYPES[".html"], length=path == "/huge.html")
            if path in ("/drip.html", "/drip-length.html", "/drip-headers.html"):
                return self._drip_route(path)
            if path == "/de/preise.html":
                return self._send(200, _preise_page(), "text/html; charset=iso-8859-1")
            if path == "/bomb.html":
                return self._send(200, _bomb(), TYPES[".html"])
            if path == "/bomb-encoded.html":
                self.send_response(200)
                self.send_header("Content-Type", TYPES[".html"])
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(_bomb())))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(_bomb())
                return None
            path = path.removeprefix("/print")
            file = (site.root / path.lstrip("/")).resolve()
            if not file.is_file() or site.root.resolve() not in file.parents:
                return self._send(404, b"<html><body><h1>Not found</h1></body></html>")
            data = file.read_bytes()
            if file.suffix in (".html", ".xml", ".txt"):
                data = data.replace(b"http://BASE", site.url.encode())
            return self._send_file(data, TYPES.get(file.suffix, "application/octet-stream"))

    return Handler


@contextlib.contextmanager
def serve_news(root: Path, port: int = 0) -> Iterator[NewsSite]:
    """Serve `root` on 127.0.0.1 (a free port unless `port` is given) in a background thread until the block ends."""
    site = NewsSite("", root)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(site))
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
