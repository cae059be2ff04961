"""vigil's TCP fault proxy: sits between the clients and the target and misbehaves on demand.

Clients (probes, load, checks) talk to the proxy's port instead of the target's; with
no fault active it copies bytes both ways and adds well under a millisecond (see
``benchmarks/faults/``). A fault is one :class:`ProxyFault` applied at a time:

* ``latency_ms`` / ``jitter_ms`` -- every chunk waits that long (plus a uniform
  jitter) before it is forwarded, in each direction, order kept;
* ``bytes_per_s`` -- each direction of each connection is paced to that rate;
* ``reset`` -- open connections and every new one are closed with a TCP RST;
* ``blackhole`` -- connections are accepted and read, and nothing is ever answered;
* ``refuse`` -- the listening socket is closed, so connecting is refused.

It runs its own event loop in a daemon thread of vigil's process, so it ends with
that process: a fault of the proxy can never outlive vigil.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass

from vigil.errors import TargetUnavailableError
from vigil.targets.base import TargetEndpoint

_CHUNK = 65_536
_CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ProxyFault:
    """What the proxy does wrong; the default does nothing wrong."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    bytes_per_s: int | None = None
    reset: bool = False
    blackhole: bool = False
    refuse: bool = False

    @property
    def active(self) -> bool:
        """Whether anything is wrong at all."""
        return self != ProxyFault()


NO_FAULT = ProxyFault()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER with a zero timeout)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """A TCP proxy to one upstream; use as a context manager, or :meth:`start` / :meth:`stop`."""

    def __init__(
        self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = port
        self.fault = NO_FAULT
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._random = random.Random(0)

    @classmethod
    def for_endpoint(cls, endpoint: TargetEndpoint) -> FaultProxy:
        """A proxy to the endpoint's host and port (not started)."""
        from urllib.parse import urlsplit

        parts = urlsplit(endpoint.base_url)
        default = 443 if parts.scheme == "https" else 80
        return cls(parts.hostname or "127.0.0.1", parts.port or default)

    def proxied(self, endpoint: TargetEndpoint) -> TargetEndpoint:
        """The same endpoint reached through this proxy (for probes and clients)."""
        scheme = endpoint.base_url.split("://", 1)[0]
        return endpoint.model_copy(update={"base_url": f"{scheme}://{self.host}:{self.port}"})

    # --- life cycle ------------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start listening (once); :attr:`port` is then the bound port."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="vigil-fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._server is None:
            raise TargetUnavailableError(f"the fault proxy could not listen on {self.host}")

    def stop(self) -> None:
        """Close every connection and the listening socket; stop the loop."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None
        self._thread = None

    def set_fault(self, fault: ProxyFault) -> None:
        """Apply `fault` now (to open connections too); NO_FAULT clears it."""
        if self._loop is None:
            raise TargetUnavailableError("the fault proxy is not running")
        asyncio.run_coroutine_threadsafe(self._apply(fault), self._loop).result(10)

    def clear(self) -> None:
        """Stop misbehaving."""
        self.set_fault(NO_FAULT)

    # --- the loop --------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            import uvloop

            loop = uvloop.new_event_loop()
        except ImportError:
            loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._listen())
        except OSError:
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _apply(self, fault: ProxyFault) -> None:
        was_refusing = self.fault.refuse
        self.fault = fault
        if fault.refuse and not was_refusing and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if not fault.refuse and self._server is None:
            await self._listen()
        if fault.reset or fault.refuse:
            for writer in list(self._open):
                _reset(writer)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.fault.reset:
            _reset(writer)
            return
        self._open.add(writer)
        try:
            if self.fault.blackhole:
                await self._swallow(reader)
                return
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(*self.upstream), _CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError):
                _reset(writer)
                return
            up_sock = up_writer.get_extra_info("socket")
            if up_sock is not None:
                with contextlib.suppress(OSError):
                    up_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._open.add(up_writer)
            try:
                await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
            finally:
                self._open.discard(up_writer)
                up_writer.transport.abort()
        finally:
            self._open.discard(writer)
            if self.fault.reset:
                writer.transport.abort()
            else:
                writer.close()

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while await reader.read(_CHUNK):
                pass

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                fault = self.fault
                if fault.blackhole:
                    continue
                if fault.latency_ms or fault.jitter_ms:
                    delay = fault.latency_ms + self._random.uniform(0, fault.jitter_ms)
                    await asyncio.sleep(delay / 1000.0)
                if fault.bytes_per_s:
                    await self._paced(writer, data, fault.bytes_per_s)
                else:
                    writer.write(data)
                    await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, ConnectionError):
            pass

    async def _paced(self, writer: asyncio.StreamWriter, data: bytes, rate: int) -> None:
        step = max(1, min(len(data), rate // 20))
        for start in range(0, len(data), step):
            began = time.monotonic()
            piece = data[start : start + step]
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(max(0.0, len(piece) / rate - (time.monotonic() - began)))
