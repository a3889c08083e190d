"""An API server running in a background event loop, with fake services on a fresh router."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from cloudlet.api import ApiConfig, ApiServer, serve
from cloudlet.router import Router
from tests.api.fakes import FakeEvents, FakeFunctions, FakeQueues, FakeStates, FakeTopics


class ServerThread:
    """An event loop in a thread, serving the API until ``stop``."""

    def __init__(self, router: Router, config: ApiConfig) -> None:
        self.router = router
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: ApiServer = self.run(serve(router, port=0, config=config))

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class App:
    """The fakes behind one server, and boto3 clients pointed at it."""

    def __init__(self, server: ServerThread, fakes: dict[str, Any]) -> None:
        self.server = server
        self.fakes = fakes
        self.url = server.url
        self.clients: list[Any] = []

    def client(self, service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("aws_access_key_id", "test")
        kwargs.setdefault("aws_secret_access_key", "test")
        config = Config(retries={"max_attempts": 1}, inject_host_prefix=False)
        if "config" in kwargs:
            config = config.merge(kwargs.pop("config"))
        client = boto3.client(
            service, endpoint_url=self.url, region_name="us-east-1", config=config, **kwargs
        )
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.server.stop()


def start_app(config: ApiConfig | None = None) -> tuple[App, ServerThread]:
    router = Router()
    fakes: dict[str, Any] = {
        "sqs": FakeQueues(),
        "states": FakeStates(),
        "events": FakeEvents(),
        "sns": FakeTopics(),
        "lambda": FakeFunctions(),
    }
    for name, fake in fakes.items():
        router.register_api(name, fake)
    router.register_owner("lambda", "function", fakes["lambda"].deliver)
    server = ServerThread(router, config or ApiConfig(port=0))
    fakes["sqs"].endpoint = server.url
    return App(server, fakes), server


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    started, _server = start_app()
    yield started
    started.close()
