"""The application that serves every service on one endpoint, and the server that runs it.

``await serve(router, ...)`` starts the API on ``host:port`` inside the running event loop
(port 0 picks a free port) and returns an ``ApiServer`` whose ``port``, ``url`` and ``gateway``
the runtime uses and whose ``close()`` stops it. ``create_app(router, config)`` is the same
application as an ASGI app, for embedding in any ASGI server.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from cloudlet.api.config import GATEWAY_PREFIX, ApiConfig
from cloudlet.api.dispatch import Dispatcher
from cloudlet.api.gateway import Gateway
from cloudlet.api.http import Request, Response
from cloudlet.api.server import HttpServer
from cloudlet.router import Router

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: Health and service listing, for readiness checks.
HEALTH_PATH = "/_cloudlet/health"


class ApiApp:
    """A minimal ASGI app: AWS API requests to the dispatcher, ``/_api/...`` to the gateway."""

    def __init__(
        self, router: Router, config: ApiConfig | None = None, gateway: Gateway | None = None
    ) -> None:
        self.config = config or ApiConfig()
        self.router = router
        self.dispatcher = Dispatcher(router, self.config)
        self.gateway = gateway or Gateway(router, account=self.config.account, region=self.config.region)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        raw = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        headers: dict[str, str] = {}
        for name, value in raw:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1").partition("?")[0] if raw_path else scope["path"]
        request = Request(
            scope["method"], path, scope.get("query_string", b"").decode("latin-1"), headers, body, tuple(raw)
        )
        response = await self.respond(request)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in response.headers
                ]
                + [(b"content-length", str(len(response.body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    async def respond(self, request: Request) -> Response:
        """The response to one request."""
        if request.path.startswith(GATEWAY_PREFIX + "/"):
            return await self.gateway.handle(request, request.path[len(GATEWAY_PREFIX) :])
        if request.path == HEALTH_PATH and request.method == "GET":
            body = orjson.dumps({"status": "running", "services": sorted(self.router.services)})
            return Response(200, body, [("content-type", "application/json")])
        return await self.dispatcher.handle(request)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(router: Router, config: ApiConfig | None = None, gateway: Gateway | None = None) -> ApiApp:
    """The ASGI application serving ``router``'s services."""
    return ApiApp(router, config, gateway)


class ApiServer:
    """A running API server (see ``serve``)."""

    def __init__(self, app: ApiApp, http: HttpServer, sock: socket.socket) -> None:
        self.app = app
        self._http = http
        address = sock.getsockname()
        self.host: str = address[0]
        self.port: int = address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:4566``: what AWS_ENDPOINT_URL should be set to."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def gateway(self) -> Gateway:
        """The route table of API Gateway HTTP events."""
        return self.app.gateway

    async def close(self, timeout: float = 3.0) -> None:
        """Stop accepting requests, finish the ones in flight (``timeout`` at most), close."""
        await self._http.close(timeout)


async def serve(
    router: Router,
    host: str | None = None,
    port: int | None = None,
    *,
    config: ApiConfig | None = None,
    gateway: Gateway | None = None,
) -> ApiServer:
    """Start serving ``router``'s services on ``host:port`` in the running event loop.

    Defaults come from ``config`` (127.0.0.1:4566); port 0 picks a free port (``server.port``).
    """
    config = config or ApiConfig()
    host = host if host is not None else config.host
    port = port if port is not None else config.port
    app = create_app(router, config, gateway)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Small request/response exchanges: Nagle plus delayed ACKs would stall each one ~40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
        http = HttpServer(app.respond)
        await http.start(sock)
    except OSError:
        sock.close()
        raise
    logger.info("api listening", extra={"action": "serve", "host": host, "port": sock.getsockname()[1]})
    return ApiServer(app, http, sock)
