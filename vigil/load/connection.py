"""HTTP/1.1 keep-alive client connections: an asyncio ``Protocol`` parsed by ``httptools``.

This is the load engine's hot path, written for cost per request rather than generality: one
request at a time per connection (no pipelining), pre-encoded request bytes, a response parsed
by llhttp (through ``httptools``) straight from ``data_received``, and the completion time taken
with ``time.perf_counter_ns()`` inside ``on_message_complete`` -- the moment the last byte of
the answer has been parsed, before any coroutine is woken. That timestamp, not the time the
awaiting task resumes, is what the engine records, so scheduler delays in the generator do not
inflate the measured latency.

A :class:`ConnectionPool` hands connections out last-in first-out (so a virtual user keeps
reusing the same warm connection), opens new ones up to its limit, and queues waiters first
come, first served when the limit is reached.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

_now_ns = time.perf_counter_ns


@dataclass(frozen=True, slots=True)
class Origin:
    """Where requests go: scheme, host, port and the ``Host`` header to send."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, base_url: str) -> Origin:
        """The origin of an ``http(s)://host[:port]`` URL (the caller validated its shape)."""
        parts = urlsplit(base_url)
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme=scheme, host=parts.hostname or "", port=port)

    @property
    def host_header(self) -> str:
        """The ``Host`` header value (port omitted when it is the scheme's default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def encode_request(
    method: str, path: str, origin: Origin, body: bytes | None, *, close: bool
) -> bytes:
    """The bytes of one HTTP/1.1 request (JSON body when `body` is given)."""
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {origin.host_header}",
        "User-Agent: vigil-load",
        "Accept: */*",
    ]
    if close:
        lines.append("Connection: close")
    if body is not None:
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    elif method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: 0")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body is not None else head


class ResponseError(Exception):
    """The answer could not be parsed as HTTP/1.1."""


class HttpConnection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one request at a time.

    After :meth:`request` returns, ``status``, ``body`` (when asked for) and ``completed_ns``
    describe the answer.
    """

    __slots__ = (
        "_deadline_ns",
        "_keep_body",
        "_parser",
        "_timer",
        "_transport",
        "_waiter",
        "body",
        "closed",
        "completed_ns",
        "idle_since_ns",
        "status",
    )

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._keep_body = False
        self._deadline_ns = 0
        self.body: list[bytes] = []
        self.status = 0
        self.completed_ns = 0
        self.idle_since_ns = 0
        self.closed = False

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Small requests must leave at once, not wait for Nagle's algorithm.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            # Bytes nobody asked for (e.g. a late answer after a timeout): the stream is no
            # longer in step with our requests, so this connection cannot be reused.
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ResponseError(f"unparsable HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionResetError("the server closed the connection before answering"))

    # -- httptools callbacks ---------------------------------------------------------------

    def on_body(self, body: bytes) -> None:
        if self._keep_body:
            self.body.append(body)

    def on_message_complete(self) -> None:
        # The measurement point: the answer is complete now, whatever the scheduler does next.
        self.completed_ns = _now_ns()
        self.status = self._parser.get_status_code()
        keep_alive = self._parser.should_keep_alive()
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not keep_alive:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- use -------------------------------------------------------------------------------

    async def request(self, data: bytes, timeout_seconds: float, *, keep_body: bool) -> None:
        """Send `data` and wait for the complete answer.

        Raises:
            TimeoutError: no complete answer within `timeout_seconds` (the connection is closed).
            ConnectionError: the connection was closed before the answer was complete.
            ResponseError: the answer is not valid HTTP/1.1.
        """
        transport = self._transport
        if transport is None or self.closed or transport.is_closing():
            raise ConnectionResetError("the connection is closed")
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        self._keep_body = keep_body
        self.body = []
        self.status = 0
        self._deadline_ns = _now_ns() + int(timeout_seconds * 1e9)
        self._timer = loop.call_later(timeout_seconds, self._time_out)
        transport.write(data)
        try:
            await waiter
        except BaseException:
            # Cancelled or failed mid-answer: what arrives later would be out of step.
            self._waiter = None
            self.close()
            raise
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.closed = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def _time_out(self) -> None:
        self._timer = None
        remaining_ns = self._deadline_ns - _now_ns()
        if remaining_ns > 0 and self._waiter is not None:
            # The loop's timers run on a cached millisecond clock and may fire a little early.
            self._timer = asyncio.get_running_loop().call_later(remaining_ns / 1e9, self._time_out)
            return
        self._fail(TimeoutError("no complete answer within the request timeout"))
        self.close()

    def _fail(self, exc: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


class ConnectionPool:
    """Keep-alive connections to one origin, at most `limit` open at once.

    Args:
        origin: Where to connect.
        limit: Most connections open at once.
        connect_timeout_seconds: Time allowed to open one connection.
        keepalive_seconds: Idle time after which a connection is not reused (0: never reused).
    """

    def __init__(
        self, origin: Origin, limit: int, connect_timeout_seconds: float, keepalive_seconds: float
    ) -> None:
        self._origin = origin
        self._limit = limit
        self._connect_timeout = connect_timeout_seconds
        self._keepalive_ns = int(keepalive_seconds * 1e9)
        self._ssl = ssl.create_default_context() if origin.scheme == "https" else None
        self._free: list[HttpConnection] = []
        self._waiters: deque[asyncio.Future[HttpConnection | None]] = deque()
        self._all: set[HttpConnection] = set()
        self._opening = 0
        self.opened_total = 0

    @property
    def open_count(self) -> int:
        """Connections open or being opened."""
        return len(self._all) + self._opening

    def take(self) -> HttpConnection | None:
        """A free, fresh connection at once, or None (then call :meth:`acquire`)."""
        free = self._free
        while free:
            connection = free.pop()
            if connection.closed:
                self._all.discard(connection)
                continue
            if _now_ns() - connection.idle_since_ns > self._keepalive_ns:
                self._forget(connection)
                continue
            return connection
        return None

    async def acquire(self, timeout_seconds: float) -> HttpConnection:
        """A connection: a free one, a new one under the limit, or the next one released.

        Raises:
            TimeoutError: none became available or could be opened within `timeout_seconds`.
            OSError: the connection could not be opened (refused, unreachable).
        """
        deadline = _now_ns() + int(timeout_seconds * 1e9)
        while True:
            connection = self.take()
            if connection is not None:
                return connection
            if self.open_count < self._limit:
                return await self._open(min(self._connect_timeout, timeout_seconds))
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[HttpConnection | None] = loop.create_future()
            self._waiters.append(waiter)
            remaining = (deadline - _now_ns()) / 1e9
            if remaining <= 0:
                self._waiters.remove(waiter)
                raise TimeoutError("no connection became free within the request timeout")
            timer = loop.call_later(remaining, _expire, waiter)
            try:
                handed = await waiter
            except BaseException:
                # Cancelled just after being handed a connection: give it to the next waiter.
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    connection = waiter.result()
                    if connection is not None:
                        self.release(connection)
                raise
            finally:
                timer.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if handed is not None:
                return handed
            timeout_seconds = max((deadline - _now_ns()) / 1e9, 0.0)

    def release(self, connection: HttpConnection) -> None:
        """Give a connection back after its request (closed ones are dropped)."""
        if connection.closed or self._keepalive_ns == 0:
            self._forget(connection)
            self._wake(None)
            return
        connection.idle_since_ns = _now_ns()
        if not self._wake(connection):
            self._free.append(connection)

    def close(self) -> None:
        """Close every connection and fail every waiter."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionAbortedError("the pool is closed"))
        self._waiters.clear()
        for connection in list(self._all):
            connection.close()
        self._all.clear()
        self._free.clear()

    async def _open(self, timeout_seconds: float) -> HttpConnection:
        loop = asyncio.get_running_loop()
        connection = HttpConnection()
        self._opening += 1
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: connection,
                    self._origin.host,
                    self._origin.port,
                    ssl=self._ssl,
                    server_hostname=self._origin.host if self._ssl else None,
                ),
                timeout=timeout_seconds,
            )
        except BaseException:
            connection.close()
            self._wake(None)
            raise
        finally:
            self._opening -= 1
        self._all.add(connection)
        self.opened_total += 1
        return connection

    def _forget(self, connection: HttpConnection) -> None:
        connection.close()
        self._all.discard(connection)

    def _wake(self, connection: HttpConnection | None) -> bool:
        """Hand `connection` (or a free slot, when None) to the oldest waiter still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False


def _expire(waiter: asyncio.Future[HttpConnection | None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no connection became free within the request timeout"))
