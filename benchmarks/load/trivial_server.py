"""A minimal HTTP/1.1 server for measuring the load generator's own ceiling.

It answers every request with a fixed ``200 ok`` straight from an asyncio protocol on uvloop,
without routing or parsing beyond the end of the headers, so that the client, not the server,
is what runs out of CPU first. Bodies are not supported (GET only). Prints ``PORT <n>`` once
it listens on 127.0.0.1.

With ``--service-us N`` it busy-waits N µs (on ``perf_counter``, exact, unlike a timer) before
each answer: a server of known service time for the latency-truth benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import uvloop

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


SERVICE_SECONDS = 0.0


class _Answerer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport: asyncio.WriteTransport = transport  # type: ignore[assignment]
        self._pending = b""

    def data_received(self, data: bytes) -> None:
        self._pending += data
        requests = self._pending.count(b"\r\n\r\n")
        if requests:
            self._pending = self._pending[self._pending.rfind(b"\r\n\r\n") + 4 :]
            if SERVICE_SECONDS:
                until = time.perf_counter() + SERVICE_SECONDS * requests
                while time.perf_counter() < until:
                    pass
            self._transport.write(RESPONSE * requests)


async def serve() -> None:
    """Serve until the process is terminated."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Answerer, "127.0.0.1", 0, backlog=4096)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service-us", type=float, default=0.0, help="busy-wait per request")
    SERVICE_SECONDS = parser.parse_args().service_us / 1e6
    uvloop.run(serve())
