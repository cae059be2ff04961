"""Unit tests of the HTTP/1.1 client's request bytes and of the parser driving a connection."""

from __future__ import annotations

import asyncio

import pytest

from vigil.load.connection import HttpConnection, Origin, ResponseError, encode_request

GET = b"GET / HTTP/1.1\r\n\r\n"


class _Transport(asyncio.Transport):
    """A transport that records writes; the test plays the server by feeding bytes back."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


def test_origins_and_host_headers() -> None:
    assert Origin.of("http://127.0.0.1:8080").host_header == "127.0.0.1:8080"
    assert Origin.of("http://localhost").port == 80
    assert Origin.of("https://[::1]").host_header == "[::1]"
    assert Origin.of("http://[::1]:81").host_header == "[::1]:81"


def test_a_request_carries_its_body_length_and_close_when_asked() -> None:
    origin = Origin.of("http://127.0.0.1:9000")

    get = encode_request("GET", "/ok?x=1", origin, None, close=False)
    post = encode_request("POST", "/predict", origin, b'{"a":1}', close=True)

    assert get.startswith(b"GET /ok?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n")
    assert get.endswith(b"\r\n\r\n") and b"Content-Length" not in get
    assert b"Connection: close\r\n" in post
    assert b"Content-Length: 7\r\n" in post
    assert post.endswith(b'\r\n\r\n{"a":1}')


def _connected() -> tuple[HttpConnection, _Transport]:
    connection = HttpConnection()
    transport = _Transport()
    connection.connection_made(transport)
    return connection, transport


def test_an_answer_split_into_single_bytes_completes_once_with_its_body() -> None:
    async def exchange() -> tuple[HttpConnection, _Transport]:
        connection, transport = _connected()
        pending = asyncio.ensure_future(
            connection.request(b"GET / HTTP/1.1\r\n\r\n", 5, keep_body=True)
        )
        await asyncio.sleep(0)
        answer = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello"
        for index in range(len(answer)):
            connection.data_received(answer[index : index + 1])
        await pending
        return connection, transport

    connection, transport = asyncio.run(exchange())

    assert transport.written == [b"GET / HTTP/1.1\r\n\r\n"]
    assert connection.status == 201
    assert b"".join(connection.body) == b"hello"
    assert connection.completed_ns > 0
    assert not connection.closed, "a keep-alive answer closed the connection"


def test_a_connection_close_answer_closes_the_connection() -> None:
    async def exchange() -> HttpConnection:
        connection, _ = _connected()
        pending = asyncio.ensure_future(
            connection.request(b"GET / HTTP/1.1\r\n\r\n", 5, keep_body=False)
        )
        await asyncio.sleep(0)
        connection.data_received(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        )
        await pending
        return connection

    assert asyncio.run(exchange()).closed


def test_garbage_is_a_response_error_and_an_early_close_a_connection_error() -> None:
    async def garbage() -> None:
        connection, _ = _connected()
        pending = asyncio.ensure_future(
            connection.request(b"GET / HTTP/1.1\r\n\r\n", 5, keep_body=False)
        )
        await asyncio.sleep(0)
        connection.data_received(b"NOT HTTP AT ALL\r\n\r\n")
        await pending

    async def early_close() -> None:
        connection, _ = _connected()
        pending = asyncio.ensure_future(
            connection.request(b"GET / HTTP/1.1\r\n\r\n", 5, keep_body=False)
        )
        await asyncio.sleep(0)
        connection.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        connection.connection_lost(None)
        await pending

    with pytest.raises(ResponseError, match="unparsable HTTP answer"):
        asyncio.run(garbage())
    with pytest.raises(ConnectionResetError, match="closed the connection before answering"):
        asyncio.run(early_close())


def test_no_answer_within_the_timeout_is_a_timeout_and_closes() -> None:
    async def silent() -> HttpConnection:
        connection, _ = _connected()
        with pytest.raises(TimeoutError, match="no complete answer within the request timeout"):
            await connection.request(b"GET / HTTP/1.1\r\n\r\n", 0.05, keep_body=False)
        return connection

    assert asyncio.run(silent()).closed
