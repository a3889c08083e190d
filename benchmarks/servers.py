"""Servers the benchmarks measure side by side: cloudlet's API, moto's server, a do-nothing floor.

Each runs in its own process (``running("cloudlet")`` yields its URL and stops it afterwards), so
a benchmark's clients never share an interpreter with the server they measure.

    python benchmarks/servers.py cloudlet PORT DATA_DIR   # what running("cloudlet") starts
    python benchmarks/servers.py floor PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: The services a benchmark's cloudlet server runs.
CLOUDLET_SERVICES = (
    ("cloudlet.queues", "Queues"),
    ("cloudlet.events", "Events"),
    ("cloudlet.workflows", "Workflows"),
)
_HEALTH = {"cloudlet": "/_cloudlet/health", "moto": "/moto-api/", "floor": "/"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # an HTTP error answer means the server is up
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")


@contextlib.contextmanager
def running(kind: str) -> Iterator[str]:
    """Start a ``cloudlet``, ``moto`` or ``floor`` server on a free port; yield its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        if kind == "moto":
            command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        else:
            command = [sys.executable, __file__, kind, str(port), data_dir]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url + _HEALTH[kind])
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _until_sigterm() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


async def serve_cloudlet(port: int, data_dir: str) -> None:
    """cloudlet's API over the benchmark services on SQLite, until SIGTERM."""
    import importlib

    from cloudlet.api import ApiConfig, serve
    from cloudlet.clock import SystemClock
    from cloudlet.config import ServiceConfig
    from cloudlet.router import Router
    from cloudlet.store import SQLiteStore

    router = Router()
    store = SQLiteStore(Path(data_dir) / "bench.db")
    config = ServiceConfig(endpoint_url=f"http://127.0.0.1:{port}", data_dir=Path(data_dir))
    services: list[Any] = []
    for module, name in CLOUDLET_SERVICES:
        cls = getattr(importlib.import_module(module), name)
        services.append(cls(store=store, router=router, clock=SystemClock(), config=config))
    for service in services:
        await service.start()
    server = await serve(router, "127.0.0.1", port, config=ApiConfig(port=port))
    await _until_sigterm()
    await server.close()
    for service in services:
        await service.stop()
    await store.close()


class _FloorProtocol(asyncio.Protocol):
    """Answers every request with an empty JSON document: what boto3 costs with no server work."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}"
            )


async def serve_floor(port: int) -> None:
    """A server that does nothing, until SIGTERM: boto3's own ceiling on this machine."""
    server = await asyncio.get_running_loop().create_server(_FloorProtocol, "127.0.0.1", port)
    await _until_sigterm()
    server.close()


if __name__ == "__main__":
    kind, port_text = sys.argv[1], sys.argv[2]
    if kind == "cloudlet":
        asyncio.run(serve_cloudlet(int(port_text), sys.argv[3]))
    else:
        asyncio.run(serve_floor(int(port_text)))
