"""The SubscribeURL and UnsubscribeURL an HTTP endpoint receives work against cloudlet's API."""

from __future__ import annotations

import http.server
import threading
import time
import urllib.request
from typing import Any

import orjson

from cloudlet.api import ApiConfig
from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import MemoryStore
from cloudlet.topics import Topics
from tests.api.conftest import ServerThread


def _wait(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_confirm_and_unsubscribe_by_visiting_the_urls() -> None:
    received: list[dict[str, Any]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(orjson.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    hook_thread = threading.Thread(target=hook.serve_forever, daemon=True)
    hook_thread.start()
    router = Router()
    server = ServerThread(router, ApiConfig(port=0))
    topics = Topics(
        store=MemoryStore(), router=router, clock=SystemClock(), config=ServiceConfig(endpoint_url=server.url)
    )
    server.run(topics.start())
    try:
        topic = server.run(topics.create_topic(Name="hooks"))["TopicArn"]
        endpoint = f"http://127.0.0.1:{hook.server_address[1]}/"
        server.run(topics.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint))
        _wait(lambda: received)
        with urllib.request.urlopen(received[0]["SubscribeURL"]) as response:
            assert response.status == 200
            assert b"<SubscriptionArn>" in response.read()
        server.run(topics.publish(TopicArn=topic, Message="hello"))
        _wait(lambda: len(received) == 2)
        assert received[1]["Type"] == "Notification" and received[1]["Message"] == "hello"
        with urllib.request.urlopen(received[1]["UnsubscribeURL"]) as response:
            assert response.status == 200
        assert server.run(topics.list_subscriptions_by_topic(TopicArn=topic))["Subscriptions"] == []
    finally:
        server.run(topics.stop())
        server.stop()
        hook.shutdown()
        hook.server_close()
        hook_thread.join()
