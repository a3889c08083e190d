"""boto3 against cloudlet's real services (queues, events, workflows) behind the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from cloudlet.api import ApiConfig
from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import MemoryStore
from tests.api.conftest import App, ServerThread

queues_module = pytest.importorskip("cloudlet.queues")
events_module = pytest.importorskip("cloudlet.events")
workflows_module = pytest.importorskip("cloudlet.workflows")
topics_module = pytest.importorskip("cloudlet.topics")
streams_module = pytest.importorskip("cloudlet.streams")


class RealApp(App):
    """The real services on one router behind a server."""

    def __init__(self, server: ServerThread, services: dict[str, Any], store: MemoryStore) -> None:
        super().__init__(server, services)
        self.store = store

    def close(self) -> None:
        for client in self.clients:
            client.close()

        async def stop() -> None:
            for service in self.fakes.values():
                await service.stop()
            await self.store.close()

        self.server.run(stop())
        self.server.stop()


@pytest.fixture(scope="module")
def real() -> Iterator[RealApp]:
    router = Router()
    server = ServerThread(router, ApiConfig(port=0))
    store = MemoryStore()
    config = ServiceConfig(endpoint_url=server.url)

    async def start() -> dict[str, Any]:
        services: dict[str, Any] = {
            "sqs": queues_module.Queues(store=store, router=router, clock=SystemClock(), config=config),
            "events": events_module.Events(store=store, router=router, clock=SystemClock(), config=config),
            "states": workflows_module.Workflows(
                store=store, router=router, clock=SystemClock(), config=config
            ),
            "sns": topics_module.Topics(store=store, router=router, clock=SystemClock(), config=config),
            "kinesis": streams_module.Streams(store=store, router=router, clock=SystemClock(), config=config),
        }
        for service in services.values():
            await service.start()
        return services

    app = RealApp(server, server.run(start()), store)
    yield app
    app.close()


def test_sqs_main_operations(real: RealApp) -> None:
    sqs = real.client("sqs")
    url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    assert url == f"{real.url}/000000000000/jobs"
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="first",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}},
    )
    assert len(sent["MD5OfMessageBody"]) == 32
    batch = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "second"}, {"Id": "b", "MessageBody": "third"}]
    )
    assert sorted(e["Id"] for e in batch["Successful"]) == ["a", "b"]
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    assert sorted(m["Body"] for m in received) == ["first", "second", "third"]
    first = next(m for m in received if m["Body"] == "first")
    assert first["MessageAttributes"]["kind"]["StringValue"] == "x"
    assert first["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert int(first["Attributes"]["ApproximateReceiveCount"]) == 1
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
    )
    assert len(deleted["Successful"]) == 3
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "30"
    assert url in sqs.list_queues()["QueueUrls"]


def test_sqs_errors_from_the_real_service(real: RealApp) -> None:
    sqs = real.client("sqs")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName="never-created")
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    url = sqs.create_queue(QueueName="errors")["QueueUrl"]
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")


def test_put_events_rule_delivers_to_a_queue(real: RealApp) -> None:
    sqs = real.client("sqs")
    events = real.client("events")
    url = sqs.create_queue(QueueName="orders-in")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": queue_arn}])
    result = events.put_events(
        Entries=[{"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"id": 7})}]
    )
    assert result["FailedEntryCount"] == 0
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    event = json.loads(messages[0]["Body"])
    assert event["source"] == "shop"
    assert event["detail"] == {"id": 7}
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_rule(Name="no-such-rule")


def test_workflows_sync_and_standard_executions(real: RealApp) -> None:
    sfn = real.client("stepfunctions")
    definition = json.dumps(
        {
            "StartAt": "Greet",
            "States": {
                "Greet": {
                    "Type": "Pass",
                    "Parameters": {"greeting.$": "States.Format('hi {}', $.name)"},
                    "End": True,
                }
            },
        }
    )
    role = "arn:aws:iam::000000000000:role/r"
    express = sfn.create_state_machine(
        name="greet-express", definition=definition, roleArn=role, type="EXPRESS"
    )
    result = sfn.start_sync_execution(
        stateMachineArn=express["stateMachineArn"], input=json.dumps({"name": "ann"})
    )
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"greeting": "hi ann"}
    standard = sfn.create_state_machine(name="greet", definition=definition, roleArn=role)
    assert standard["creationDate"].tzinfo is not None
    started = sfn.start_execution(
        stateMachineArn=standard["stateMachineArn"], input=json.dumps({"name": "bo"})
    )
    described = sfn.describe_execution(executionArn=started["executionArn"])
    assert described["startDate"] == started["startDate"]
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=express["stateMachineArn"] + "-missing")
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        sfn.create_state_machine(name="bad", definition="{}", roleArn=role)


def test_sns_fan_out_to_a_queue(real: RealApp) -> None:
    sqs = real.client("sqs")
    sns = real.client("sns")
    url = sqs.create_queue(QueueName="from-topic")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="news", Attributes={"DisplayName": "News"})["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    assert subscription.startswith(topic + ":")
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["Endpoint"] for s in listed] == [queue_arn]
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["DisplayName"] == "News"
    message_id = sns.publish(
        TopicArn=topic,
        Message="breaking & <news>",
        Subject="hello",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "urgent"}},
    )["MessageId"]
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == message_id
    assert envelope["Message"] == "breaking & <news>"
    assert envelope["MessageAttributes"]["kind"]["Value"] == "urgent"
    with pytest.raises(sns.exceptions.NotFoundException) as caught:
        sns.publish(TopicArn=topic + "-missing", Message="x")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_kinesis_records_round_trip_as_bytes(real: RealApp) -> None:
    kinesis = real.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    described = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]
    assert described["StreamStatus"] == "ACTIVE"
    assert described["StreamCreationTimestamp"].tzinfo is not None
    shard = described["Shards"][0]["ShardId"]
    put = kinesis.put_record(StreamName="clicks", Data=b"\x00\xffbinary", PartitionKey="user-1")
    assert put["ShardId"] == shard
    batch = kinesis.put_records(
        StreamName="clicks",
        Records=[{"Data": b"two", "PartitionKey": "a"}, {"Data": b"three", "PartitionKey": "b"}],
    )
    assert batch["FailedRecordCount"] == 0
    iterator = kinesis.get_shard_iterator(
        StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [r["Data"] for r in records] == [b"\x00\xffbinary", b"two", b"three"]
    assert records[0]["SequenceNumber"] == put["SequenceNumber"]
    assert records[0]["ApproximateArrivalTimestamp"].tzinfo is not None
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_stream(StreamName="missing")
