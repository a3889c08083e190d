"""boto3 against topics, streams and event source mappings behind cloudlet's HTTP API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudlet.api import ApiConfig
from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.mappings import EventSourceMappings
from cloudlet.queues import Queues
from cloudlet.router import Router
from cloudlet.store import MemoryStore
from cloudlet.streams import Streams
from cloudlet.topics import Topics
from tests.api.conftest import ServerThread

FN = "arn:aws:lambda:us-east-1:000000000000:function:worker"


class Stack:
    def __init__(self) -> None:
        self.router = Router()
        self.server = ServerThread(self.router, ApiConfig(port=0))
        self.store = MemoryStore()
        config = ServiceConfig(endpoint_url=self.server.url)
        self.services = [
            cls(store=self.store, router=self.router, clock=SystemClock(), config=config)
            for cls in (Queues, Topics, Streams, EventSourceMappings)
        ]
        self.events: list[Any] = []
        self.router.register_arn(FN, self.events.append)

        async def start() -> None:
            for service in self.services:
                await service.start()

        self.server.run(start())

    def client(self, name: str) -> Any:
        return boto3.client(
            name,
            endpoint_url=self.server.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}),
        )

    def close(self) -> None:
        async def stop() -> None:
            for service in reversed(self.services):
                await service.stop()

        self.server.run(stop())
        self.server.stop()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    s = Stack()
    yield s
    s.close()


def _wait(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_sns_to_sqs_through_boto3(stack: Stack) -> None:
    sns, sqs = stack.client("sns"), stack.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url = sqs.create_queue(QueueName="orders-q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sub = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": '{"kind": ["book"]}'},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["RawMessageDelivery"] == "true"
    sns.publish(
        TopicArn=topic,
        Message="pen",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "pen"}},
    )
    sns.publish(
        TopicArn=topic,
        Message="book",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "book"}},
    )
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MessageAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["book"]
    assert got[0]["MessageAttributes"]["kind"]["StringValue"] == "book"
    with pytest.raises(ClientError) as err:
        sns.get_topic_attributes(TopicArn=topic + "-missing")
    assert err.value.response["Error"]["Code"] == "NotFound"


def test_kinesis_through_boto3(stack: Stack) -> None:
    kinesis = stack.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=2)
    out = kinesis.put_records(
        StreamName="clicks", Records=[{"Data": f"r{i}".encode(), "PartitionKey": "same"} for i in range(3)]
    )
    shard = out["Records"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    page = kinesis.get_records(ShardIterator=it)
    assert [r["Data"] for r in page["Records"]] == [b"r0", b"r1", b"r2"]
    assert page["MillisBehindLatest"] == 0
    assert (
        kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"]["OpenShardCount"]
        == 2
    )


def test_event_source_mapping_through_boto3(stack: Stack) -> None:
    sqs, lam = stack.client("sqs"), stack.client("lambda")
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker", BatchSize=5)
    assert created["State"] == "Creating" and created["FunctionArn"] == FN
    sqs.send_message(QueueUrl=url, MessageBody="job")
    _wait(lambda: stack.events)
    assert stack.events[0]["Records"][0]["body"] == "job"
    listed = lam.list_event_source_mappings(FunctionName="worker")["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [created["UUID"]]
    assert lam.get_event_source_mapping(UUID=created["UUID"])["State"] == "Enabled"
    lam.delete_event_source_mapping(UUID=created["UUID"])
    with pytest.raises(ClientError) as err:
        lam.get_event_source_mapping(UUID=created["UUID"])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
