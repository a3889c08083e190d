"""A small HTTP/1.1 server on asyncio and httptools' parser, serving one ``respond`` function.

Why not an ASGI server: every AWS call is one small request and one small response, and the
client (boto3) waits for each. An ASGI server writes the status line and headers, then the body,
as two TCP segments; with ``TCP_NODELAY`` that is two wake-ups of the client per call. Here a
response leaves in one write, and the request never goes through ASGI's message dicts.

Keep-alive, pipelined requests (answered in order), ``Expect: 100-continue``, chunked request
bodies (httptools decodes them), HEAD, and a graceful close are handled; TLS and HTTP/2 are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import cast

import httptools

from cloudlet.api.http import Request, Response

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

#: Requests read ahead on one connection before reading pauses.
MAX_PIPELINED = 32
#: Largest request body accepted (AWS's largest here: Kinesis PutRecords, 10 MiB as base64 JSON).
MAX_BODY = 32 * 1024 * 1024
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class _TooLarge(Exception):
    """A request body beyond ``MAX_BODY``."""


class _Date:
    """The Date header value, formatted once a second."""

    def __init__(self) -> None:
        self._second = 0
        self._value = ""

    def value(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True)
        return self._value


class HttpServer:
    """Connections of one listening socket and the handler they call."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections: set[_Connection] = set()
        self.date = _Date()
        self._server: asyncio.Server | None = None

    async def start(self, sock: socket.socket) -> None:
        """Accept connections on ``sock`` (bound and listening)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), sock=sock)

    async def close(self, timeout: float = 3.0) -> None:
        """Stop accepting, let requests in flight finish (up to ``timeout``), close every connection."""
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close_when_idle()
        deadline = time.monotonic() + timeout
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(self.connections):
            connection.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=1.0)


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, answers them in order."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.pending: deque[tuple[Request, bool]] = deque()
        self.task: asyncio.Task[None] | None = None
        self.closing = False
        self.paused = False
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_size = 0

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Any event loop's stream transport (asyncio's, uvloop's) has the Transport methods.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.closing = True
        if self.task is not None and not self.task.done():
            # The client went away (a long poll it gave up on, say): stop working for it.
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, b"upgrades are not supported")
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, _TooLarge):
                self._fail(413, b"request body too large")
            else:
                self._fail(400, b"malformed HTTP request")
        except httptools.HttpParserError:
            self._fail(400, b"malformed HTTP request")

    # -- httptools callbacks ------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        for name, value in self._headers:
            if name.lower() == "expect" and value.lower() == "100-continue" and self.transport is not None:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > MAX_BODY:
            raise _TooLarge
        self._body.append(body)

    def on_message_complete(self) -> None:
        url = self._url.decode("latin-1")
        path, _, query = url.partition("?")
        headers: dict[str, str] = {}
        for raw_name, value in self._headers:
            name = raw_name.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        method = self.parser.get_method().decode("ascii")
        request = Request(method, path or "/", query, headers, body, tuple(self._headers))
        self.pending.append((request, self.parser.should_keep_alive()))
        if len(self.pending) >= MAX_PIPELINED and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._serve())

    # -- answering ------------------------------------------------------------------------------
    async def _serve(self) -> None:
        while self.pending and not self.closing:
            request, keep_alive = self.pending.popleft()
            try:
                response = await self.server.handler(request)
            except Exception:
                logger.exception("request failed", extra={"action": "http", "path": request.path})
                response = Response(500, b'{"message": "Internal server error"}')
            self._write(request, response, keep_alive and not self.closing)
            if not keep_alive:
                self._close()
                return
            if self.paused and len(self.pending) < MAX_PIPELINED // 2 and self.transport is not None:
                self.paused = False
                self.transport.resume_reading()

    def _write(self, request: Request, response: Response, keep_alive: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        reason = _REASONS.get(response.status, "Unknown")
        lines = [f"HTTP/1.1 {response.status} {reason}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in response.headers)
        lines.append(f"date: {self.server.date.value()}\r\ncontent-length: {len(response.body)}\r\n")
        if not keep_alive:
            lines.append("connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1", "replace")
        self.transport.write(head if request.method == "HEAD" else head + response.body)

    def _fail(self, status: int, message: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            reason = _REASONS.get(status, "Error")
            head = f"HTTP/1.1 {status} {reason}\r\ncontent-length: {len(message)}\r\n"
            self.transport.write(head.encode() + b"connection: close\r\n\r\n" + message)
        self._close()

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def close_when_idle(self) -> None:
        """Close now if no request is being answered, else after the current one."""
        if self.task is None or self.task.done():
            self._close()
        else:
            self.pending.clear()
            self.closing = True
            self.task.add_done_callback(lambda _: self._close())

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
