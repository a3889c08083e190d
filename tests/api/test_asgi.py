"""The same application as an ASGI app (for embedding in any ASGI server)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from cloudlet.api import create_app
from cloudlet.router import Router
from tests.api.fakes import FakeQueues


def test_asgi_app_answers_a_json_protocol_request() -> None:
    router = Router()
    queues = FakeQueues()
    router.register_api("sqs", queues)
    app = create_app(router)
    sent: list[dict[str, Any]] = []
    body = json.dumps({"QueueName": "asgi"}).encode()
    messages = [
        {"type": "http.request", "body": body[:5], "more_body": True},
        {"type": "http.request", "body": body[5:], "more_body": False},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [
            (b"x-amz-target", b"AmazonSQS.CreateQueue"),
            (b"content-type", b"application/x-amz-json-1.0"),
        ],
    }
    asyncio.run(app(scope, receive, send))
    start, end = sent
    assert start["status"] == 200
    assert (b"content-type", b"application/x-amz-json-1.0") in start["headers"]
    assert json.loads(end["body"])["QueueUrl"].endswith("/asgi")
    assert "asgi" in queues.queues
