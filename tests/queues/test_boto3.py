"""boto3 against the queue service behind cloudlet's HTTP API: the wire shapes users see."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudlet.api import ApiConfig
from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.queues import Queues
from cloudlet.queues.digest import md5_of_attributes
from cloudlet.router import Router
from cloudlet.store import MemoryStore
from tests.api.conftest import ServerThread


@pytest.fixture(scope="module")
def sqs() -> Iterator[Any]:
    router = Router()
    server = ServerThread(router, ApiConfig(port=0))
    store = MemoryStore()
    service = Queues(
        store=store, router=router, clock=SystemClock(), config=ServiceConfig(endpoint_url=server.url)
    )
    server.run(service.start())
    client = boto3.client(
        "sqs",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    yield client
    client.close()
    server.run(service.stop())
    server.stop()


def test_round_trip_with_attributes_and_digests(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="wire")["QueueUrl"]
    attrs = {
        "s": {"DataType": "String", "StringValue": "héllo"},
        "n": {"DataType": "Number.int", "StringValue": "42"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="body ✓", MessageAttributes=attrs)
    assert sent["MD5OfMessageBody"] == hashlib.md5("body ✓".encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    got = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"][0]
    assert got["Body"] == "body ✓" and got["MessageAttributes"] == attrs
    assert got["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert got["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_errors_carry_sqs_codes(sqs: Any) -> None:
    with pytest.raises(ClientError) as err:
        sqs.get_queue_url(QueueName="missing")
    assert err.value.response["Error"]["Code"] in (
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
    )
    url = sqs.create_queue(QueueName="errs")["QueueUrl"]
    with pytest.raises(ClientError) as err:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="nonsense")
    assert err.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    with pytest.raises(ClientError) as err:
        sqs.send_message_batch(QueueUrl=url, Entries=[])
    assert "EmptyBatchRequest" in err.value.response["Error"]["Code"]


def test_fifo_and_attributes_over_the_wire(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="wire.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    first = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")
    again = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")
    assert first["MessageId"] == again["MessageId"] and first["SequenceNumber"] == again["SequenceNumber"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true" and attrs["ApproximateNumberOfMessages"] == "1"
    out = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "1", "MessageBody": "b", "MessageGroupId": "g"}, {"Id": "2", "MessageBody": "c"}],
    )
    assert [s["Id"] for s in out["Successful"]] == ["1"]
    assert out["Failed"][0]["Code"] == "MissingParameter"
