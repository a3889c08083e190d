"""The HTTP/1.1 server under the API: keep-alive, pipelining, 100-continue, chunked bodies, close."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from cloudlet.api import ApiConfig, serve
from cloudlet.router import Router
from tests.api.fakes import FakeQueues


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[bytes, dict[str, str], bytes]:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buffer.extend(chunk)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    buffer[:] = rest[length:]
    return status.encode(), headers, rest[:length]


def _json_request(body: bytes, *, extra: str = "", target: str = "AmazonSQS.ListQueues") -> bytes:
    return (
        f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {target}\r\n"
        f"Content-Type: application/x-amz-json-1.0\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.fixture
def port() -> object:
    """A server in a background loop; yields its port."""
    loop = asyncio.new_event_loop()
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    router = Router()
    queues = FakeQueues()
    router.register_api("sqs", queues)
    asyncio.run_coroutine_threadsafe(queues.create_queue(QueueName="q"), loop).result(10)
    server = asyncio.run_coroutine_threadsafe(serve(router, port=0, config=ApiConfig(port=0)), loop).result(
        10
    )
    yield server.port
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_keep_alive_and_pipelined_requests_answer_in_order(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        names = [f"name{i}" for i in range(5)]
        sock.sendall(
            b"".join(
                _json_request(json.dumps({"QueueName": n}).encode(), target="AmazonSQS.CreateQueue")
                for n in names
            )
        )
        buffer = bytearray()
        urls = [json.loads(_read_response(sock, buffer)[2])["QueueUrl"] for _ in names]
        assert [u.rsplit("/", 1)[1] for u in urls] == names


def test_expect_continue_and_chunked_body(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        body = json.dumps({"QueueNamePrefix": "q"}).encode()
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonSQS.ListQueues\r\n"
            b"Content-Type: application/x-amz-json-1.0\r\nExpect: 100-continue\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        buffer = bytearray()
        status, _, _ = _read_response(sock, buffer)
        assert status == b"HTTP/1.1 100 Continue"
        half = len(body) // 2
        sock.sendall(
            b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half, body[half:])
        )
        status, headers, payload = _read_response(sock, buffer)
        assert status == b"HTTP/1.1 200 OK"
        assert json.loads(payload)["QueueUrls"][0].endswith("/q")
        assert headers["content-type"] == "application/x-amz-json-1.0"


def test_connection_close_and_malformed_requests(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_json_request(b"{}", extra="Connection: close\r\n"))
        status, headers, _ = _read_response(sock, bytearray())
        assert status == b"HTTP/1.1 200 OK"
        assert headers["connection"] == "close"
        assert sock.recv(10) == b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, _, _ = _read_response(sock, bytearray())
        assert status.startswith(b"HTTP/1.1 400")


def test_head_has_no_body(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"HEAD /_cloudlet/health HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /_cloudlet/health HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        sock.settimeout(10)
        # HEAD announces a length but sends no body: the next response follows at once.
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"}"):
            data += sock.recv(65536)
        first, second = data.split(b"HTTP/1.1 ")[1:]
        assert first.endswith(b"\r\n\r\n")
        assert b'"services"' in second


def test_oversized_body_is_refused(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudlet.api import server

    monkeypatch.setattr(server, "MAX_BODY", 1000)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_json_request(b"x" * 2000))
        status, headers, _ = _read_response(sock, bytearray())
        assert status.startswith(b"HTTP/1.1 413")
        assert headers["connection"] == "close"
