"""The router hands payloads to ARN owners and calls API operations by name."""

from __future__ import annotations

import asyncio

import pytest

from cloudlet.errors import ResourceNotFound, ValidationError
from cloudlet.router import Router, operation_method_name


@pytest.mark.parametrize(
    ("operation", "method"),
    [
        ("SendMessage", "send_message"),
        ("SendMessageBatch", "send_message_batch"),
        ("ListStateMachines", "list_state_machines"),
        ("GetQueueURL", "get_queue_url"),
        ("PutEvents", "put_events"),
        ("ListTagsForResource", "list_tags_for_resource"),
    ],
)
def test_operation_method_name(operation, method):
    assert operation_method_name(operation) == method


def test_deliver_to_owner_and_exact_arn():
    router = Router()
    seen = []

    async def lambda_owner(arn, payload, invocation_type):
        seen.append((arn, payload, invocation_type))
        return {"ok": arn}

    router.register_owner("lambda", "function", lambda_owner)
    router.register_arn("arn:aws:sqs:us-east-1:000000000000:q", lambda payload: payload * 2)
    arn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    assert asyncio.run(router.deliver(arn, {"a": 1})) == {"ok": arn}
    assert asyncio.run(router.deliver(arn, 1, invocation_type="Event")) == {"ok": arn}
    assert seen[-1][2] == "Event"
    assert asyncio.run(router.deliver("arn:aws:sqs:us-east-1:000000000000:q", 21)) == 42
    with pytest.raises(ResourceNotFound):
        asyncio.run(router.deliver("arn:aws:sns:us-east-1:000000000000:t", {}))
    with pytest.raises(ResourceNotFound):
        asyncio.run(router.deliver("not-an-arn", {}))


def test_call_api_operation():
    class Queues:
        async def send_message(self, QueueUrl, MessageBody):
            return {"MessageId": "1", "Body": MessageBody}

    router = Router()
    router.register_api("sqs", Queues())
    assert (
        asyncio.run(router.call("sqs", "SendMessage", {"QueueUrl": "u", "MessageBody": "b"}))["Body"] == "b"
    )
    with pytest.raises(ValidationError):
        asyncio.run(router.call("sqs", "PurgeQueue", {}))
    with pytest.raises(ResourceNotFound):
        asyncio.run(router.call("sns", "Publish", {}))


def test_one_service_from_several_objects():
    class Functions:
        async def invoke(self, FunctionName):
            return {"f": FunctionName}

    class Mappings:
        async def create_event_source_mapping(self, FunctionName):
            return {"m": FunctionName}

    router = Router()
    router.register_api("lambda", Functions())
    router.register_api("lambda", Mappings())
    assert asyncio.run(router.call("lambda", "Invoke", {"FunctionName": "a"})) == {"f": "a"}
    assert asyncio.run(router.call("lambda", "CreateEventSourceMapping", {"FunctionName": "b"})) == {"m": "b"}
    assert getattr(router.services["lambda"], "delete_function", None) is None
