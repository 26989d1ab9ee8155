"""One HTTP GET that ends by its deadline and connects only to addresses it has checked.

- The host name is resolved once, and every address it has is checked before any connection is made:
  loopback, private, link-local, reserved and multicast addresses (IPv4 and IPv6) are refused unless allowed.
  The connection then goes to the checked address, so a second DNS answer cannot swap it.
- A watchdog shuts the socket down at the deadline, so that connecting, reading the headers and reading the
  body all end by then, whatever the server does: drip a byte a second, stall, or promise a length it never sends.
- The body is read up to a byte limit, then unpacked (Content-Encoding gzip/deflate, or a gzip file sent as is)
  within the same limit.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rag.ingest.decoding import TooLargeError, unpack

_CHUNK = 64 * 1024


class TransportError(RuntimeError):
    """The request failed; the message is the reason in one line."""


class AddressRefusedError(TransportError):
    """The host is (or resolves to) an address on this machine or a private network."""

    def __init__(self, host: str, address: str, what: str) -> None:
        super().__init__(f"{host} is {what}" if host == address else f"{host} resolves to {address}, {what}")
        self.host, self.address, self.what = host, address, what


class BodyTooLargeError(TransportError):
    def __init__(self, size: int | None, unpacked: bool = False) -> None:
        super().__init__("too large")
        self.size, self.unpacked = size, unpacked


class DeadlineError(TransportError):
    def __init__(self, phase: str) -> None:
        super().__init__(phase)
        self.phase = phase  # what was under way: "connecting", "waiting for the headers", "reading the page"


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes  # unpacked; empty for redirects and 304


def address_kind(address: str) -> str | None:
    """Why an address is not on the public internet ("an address on this machine", …), or None when it is."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:
        return "an address on this machine"
    if ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast or not ip.is_global:
        return "an address on the local network or a reserved one"
    return None


def resolve(host: str, port: int, timeout: float, allow_private: bool) -> list[str]:
    """The addresses to try for `host`, in order; every address the name has must be public unless allow_private."""
    try:
        ipaddress.ip_address(host.split("%")[0])
        addresses = [host]
    except ValueError:
        addresses = _lookup(host, port, timeout)
    if not allow_private:
        for address in addresses:
            if what := address_kind(address):
                raise AddressRefusedError(host, address, what)
    return addresses


def _lookup(host: str, port: int, timeout: float) -> list[str]:
    # getaddrinfo has no timeout of its own; a resolver that hangs must not hang the run.
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout)
    except FutureTimeout:
        raise DeadlineError("looking up the host name") from None
    except OSError as exc:
        raise TransportError("its host name could not be resolved") from exc
    finally:
        pool.shutdown(wait=False)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TransportError("its host name could not be resolved")
    return addresses


class _Watchdog:
    """Shuts a connection's socket down at the deadline, which ends any read that is blocked on it."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            # The plain socket's shutdown, also for TLS: it must not touch the TLS state another thread uses.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)


def _connection(url: str, address: str, timeout: float) -> Any:
    import certifi
    from urllib3.connection import HTTPConnection, HTTPSConnection

    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme.lower() == "https":
        return HTTPSConnection(
            address,
            parts.port or 443,
            timeout=timeout,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    return HTTPConnection(address, parts.port or 80, timeout=timeout)


def _connect(url: str, addresses: Sequence[str], timeout: float, watchdog: _Watchdog) -> Any:
    """A connection to the first address that answers (a name may have an IPv6 and an IPv4 address)."""
    failure: Exception | None = None
    for address in addresses:
        conn = _connection(url, address, timeout)
        try:
            conn.connect()
        except Exception as exc:  # refused, unreachable: try the next address while time is left
            conn.close()
            failure = exc
            if watchdog.expired:
                break
            continue
        watchdog.watch(conn.sock)
        return conn
    assert failure is not None  # addresses is never empty
    raise failure


def get(
    url: str,
    addresses: Sequence[str],
    headers: Mapping[str, str],
    timeout: float,
    max_bytes: int,
    clock: Callable[[], float],
    started: float,
) -> RawResponse:
    """GET `url` from one of `addresses` (already checked) without following redirects; over by `started + timeout`."""
    import urllib3

    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_headers = {"Host": parts.netloc.rpartition("@")[2], **headers}
    remaining = max(0.01, started + timeout - clock())
    phase = "connecting"
    with _Watchdog(remaining) as watchdog:
        conn: Any = None
        try:
            conn = _connect(url, addresses, remaining, watchdog)
            phase = "waiting for the headers"
            conn.request("GET", path, headers=request_headers, preload_content=False)
            response = conn.getresponse()
            if watchdog.expired:  # the headers ended only because the socket was shut down
                raise DeadlineError(phase)
            phase = "reading the page"
            head = {k.lower(): v for k, v in response.headers.items()}
            body = b"" if response.status in (301, 302, 303, 304, 307, 308) else _read_body(response, head, max_bytes)
        except Exception as exc:  # timeouts, resets, TLS, protocol errors: urllib3 and ssl raise many types
            # Whatever a shut-down socket made of the read, the reason is the deadline; so it is when the socket's
            # own timeout (the time left) ran out first. urllib3's NewConnectionError is a timeout by type only.
            timed_out = isinstance(exc, TimeoutError | urllib3.exceptions.TimeoutError) and not isinstance(
                exc, urllib3.exceptions.NewConnectionError
            )
            if watchdog.expired or timed_out:
                raise DeadlineError(phase) from exc
            raise
        finally:
            if conn is not None:
                conn.close()
        if watchdog.expired:  # a shut-down socket reads as the end of a body without a length
            raise DeadlineError(phase)
    return RawResponse(response.status, head, body)


def _read_body(response: Any, head: dict[str, str], max_bytes: int) -> bytes:
    length = head.get("content-length", "")
    if response.status == 200 and length.isdigit() and int(length) > max_bytes:
        raise BodyTooLargeError(int(length))
    body = bytearray()
    while chunk := response.read(_CHUNK, decode_content=False):
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLargeError(None)
    try:
        return unpack(bytes(body), max_bytes, head.get("content-encoding", ""))
    except TooLargeError:
        raise BodyTooLargeError(None, unpacked=True) from None
    except ValueError as exc:
        raise TransportError(f"the page {exc}") from exc
