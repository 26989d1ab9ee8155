"""rag.ingest.web.transport against raw sockets on 127.0.0.1: the deadline holds in every phase; addresses first."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from rag.ingest.web.transport import AddressRefusedError, DeadlineError, address_kind, get, resolve


def serve_raw(reply: bytes | None, hold_s: float = 5.0) -> tuple[str, threading.Event]:
    """A server that reads the request, sends `reply` (None: nothing at all) and holds the connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    done = threading.Event()

    def run() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        if reply:
            conn.sendall(reply)
        done.wait(hold_s)
        conn.close()
        listener.close()

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/", done


@pytest.mark.parametrize(
    ("reply", "phase"),
    [
        (None, "waiting for the headers"),  # a server that accepts and says nothing
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", "waiting for the headers"),  # headers never end
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<html>", "reading the page"),  # a length never reached
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<html>", "reading the page"),  # no length, never closed
    ],
)
def test_a_stalled_server_is_left_at_the_deadline(reply, phase):
    url, done = serve_raw(reply)
    started = time.monotonic()
    with pytest.raises(DeadlineError) as caught:
        get(url, ["127.0.0.1"], {}, 0.5, 10_000, time.monotonic, started)
    done.set()
    assert caught.value.phase == phase
    assert time.monotonic() - started < 0.9


def test_addresses_are_classified_for_ipv4_ipv6_and_mapped_ipv6():
    assert address_kind("93.184.216.34") is None and address_kind("2606:2800:220:1::1") is None
    for local in ("127.0.0.1", "::1", "0.0.0.0", "::", "::ffff:127.0.0.1"):
        assert address_kind(local) == "an address on this machine"
    for private in ("10.0.0.1", "192.168.1.1", "172.16.0.1", "169.254.169.254", "fe80::1", "fc00::1", "100.64.0.1"):
        assert address_kind(private) == "an address on the local network or a reserved one"


def test_a_host_name_is_refused_when_any_of_its_addresses_is_private():
    with pytest.raises(AddressRefusedError, match="localhost resolves to .*, an address on this machine"):
        resolve("localhost", 80, 2.0, allow_private=False)
    assert set(resolve("localhost", 80, 2.0, allow_private=True)) & {"127.0.0.1", "::1"}


def test_a_name_with_an_address_that_refuses_is_reached_through_its_next_address():
    url, done = serve_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    port = url.rsplit(":", 1)[1].rstrip("/")
    started = time.monotonic()
    response = get(f"http://localhost:{port}/", ["::1", "127.0.0.1"], {}, 2.0, 10_000, time.monotonic, started)
    done.set()
    assert (response.status, response.body) == (200, b"ok")  # ::1 refused (the server is on 127.0.0.1 only)
