"""Event source mappings end to end: queues and streams feeding a function through the router."""

from __future__ import annotations

import asyncio
import base64

import orjson
import pytest

from cloudlet.clock import ManualClock
from cloudlet.errors import CloudletError, TaskFailed
from cloudlet.store import SQLiteStore
from tests.mappings.conftest import eventually, running_mappings

ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:worker"
STREAM_ARN = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


class Function:
    """A stand-in function: records every event; ``behaviour`` decides its result."""

    def __init__(self, behaviour=None):
        self.events: list[dict] = []
        self.behaviour = behaviour

    def __call__(self, event):
        self.events.append(event)
        if self.behaviour is not None:
            return self.behaviour(event)
        return None

    @property
    def records(self) -> list[dict]:
        return [r for e in self.events for r in e["Records"]]


def fail(event):
    raise TaskFailed("RuntimeError", '{"errorMessage": "boom"}')


# -- API ---------------------------------------------------------------------------------------------


async def test_create_get_list_update_delete():
    async with running_mappings() as (_, sqs, _, esm):
        await sqs.create_queue(QueueName="q")
        created = await esm.create_event_source_mapping(FunctionName="worker", EventSourceArn=queue_arn("q"))
        assert created["State"] == "Creating" and created["FunctionArn"] == FN
        assert created["BatchSize"] == 10 and created["MaximumBatchingWindowInSeconds"] == 0
        assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
        got = await esm.get_event_source_mapping(UUID=created["UUID"])
        assert got["State"] == "Enabled" and got["EventSourceArn"] == queue_arn("q")
        listed = await esm.list_event_source_mappings(FunctionName="worker")
        assert [m["UUID"] for m in listed["EventSourceMappings"]] == [created["UUID"]]
        assert (await esm.list_event_source_mappings(EventSourceArn=queue_arn("other")))[
            "EventSourceMappings"
        ] == []
        updated = await esm.update_event_source_mapping(UUID=created["UUID"], Enabled=False, BatchSize=5)
        assert updated["BatchSize"] == 5
        assert (await esm.get_event_source_mapping(UUID=created["UUID"]))["State"] == "Disabled"
        with pytest.raises(CloudletError) as err:
            await esm.create_event_source_mapping(FunctionName=FN, EventSourceArn=queue_arn("q"))
        assert err.value.code == "ResourceConflictException"
        deleted = await esm.delete_event_source_mapping(UUID=created["UUID"])
        assert deleted["State"] == "Deleting"
        with pytest.raises(CloudletError) as err:
            await esm.get_event_source_mapping(UUID=created["UUID"])
        assert err.value.code == "ResourceNotFoundException"


CREATE_ERRORS = [
    ({"EventSourceArn": queue_arn("q"), "BatchSize": 20}, "InvalidParameterValueException"),
    (
        {"EventSourceArn": queue_arn("q.fifo"), "BatchSize": 11, "MaximumBatchingWindowInSeconds": 1},
        "InvalidParameterValueException",
    ),
    ({"EventSourceArn": queue_arn("q"), "StartingPosition": "LATEST"}, "InvalidParameterValueException"),
    (
        {"EventSourceArn": queue_arn("q"), "FunctionResponseTypes": ["Other"]},
        "InvalidParameterValueException",
    ),
    (
        {"EventSourceArn": queue_arn("q"), "FilterCriteria": {"Filters": [{"Pattern": "{bad"}]}},
        "InvalidParameterValueException",
    ),
    ({"EventSourceArn": STREAM_ARN}, "InvalidParameterValueException"),
    (
        {"EventSourceArn": STREAM_ARN, "StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 10},
        "InvalidParameterValueException",
    ),
    (
        {"EventSourceArn": STREAM_ARN, "StartingPosition": "LATEST", "MaximumRetryAttempts": 10001},
        "InvalidParameterValueException",
    ),
    (
        {
            "EventSourceArn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t/stream/x",
            "StartingPosition": "LATEST",
        },
        "InvalidParameterValueException",
    ),
    ({"EventSourceArn": queue_arn("q"), "Topics": ["kafka-topic"]}, "InvalidParameterValueException"),
]


@pytest.mark.parametrize(("params", "code"), CREATE_ERRORS)
async def test_create_rejects(params, code):
    async with running_mappings() as (_, _, _, esm):
        with pytest.raises(CloudletError) as err:
            await esm.create_event_source_mapping(FunctionName="worker", **params)
        assert err.value.code == code


# -- queue -> function -----------------------------------------------------------------------------------


async def test_sqs_event_shape_and_deletion_after_success():
    async with running_mappings() as (router, sqs, _, esm):
        fn = Function()
        router.register_arn(FN, fn)
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        await esm.create_event_source_mapping(FunctionName=FN, EventSourceArn=queue_arn("q"))
        sent = await sqs.send_message(
            QueueUrl=url,
            MessageBody='{"n": 1}',
            MessageAttributes={
                "s": {"DataType": "String", "StringValue": "v"},
                "b": {"DataType": "Binary", "BinaryValue": b"\x01"},
            },
        )
        await eventually(lambda: fn.records)
        [record] = fn.records
        assert list(record) == [
            "messageId",
            "receiptHandle",
            "body",
            "attributes",
            "messageAttributes",
            "md5OfBody",
            "md5OfMessageAttributes",
            "eventSource",
            "eventSourceARN",
            "awsRegion",
        ]
        assert record["messageId"] == sent["MessageId"] and record["body"] == '{"n": 1}'
        assert record["md5OfBody"] == sent["MD5OfMessageBody"]
        assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
        assert set(record["attributes"]) == {
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
        }
        assert record["messageAttributes"] == {
            "s": {"stringValue": "v", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
            "b": {
                "binaryValue": "AQ==",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        }
        assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queue_arn("q")
        await eventually(lambda: sqs._queues["q"].messages == {})


async def test_failed_batches_return_to_the_queue_and_follow_its_redrive_policy():
    clock = ManualClock()
    async with running_mappings(clock=clock) as (router, sqs, _, esm):
        fn = Function(fail)
        router.register_arn(FN, fn)
        dlq_url = (await sqs.create_queue(QueueName="dlq"))["QueueUrl"]
        policy = orjson.dumps({"deadLetterTargetArn": queue_arn("dlq"), "maxReceiveCount": 2}).decode()
        url = (
            await sqs.create_queue(
                QueueName="q", Attributes={"VisibilityTimeout": "10", "RedrivePolicy": policy}
            )
        )["QueueUrl"]
        await esm.create_event_source_mapping(FunctionName=FN, EventSourceArn=queue_arn("q"))
        await sqs.send_message(QueueUrl=url, MessageBody="poison")
        await eventually(lambda: len(fn.events) == 1)
        await asyncio.sleep(0.02)
        assert len(fn.events) == 1  # invisible until the visibility timeout passes
        await clock.advance(10)
        await eventually(lambda: len(fn.events) == 2)
        assert fn.records[1]["attributes"]["ApproximateReceiveCount"] == "2"
        await clock.advance(10)
        await eventually(lambda: "dlq" in sqs._queues and len(sqs._queues["dlq"].messages) == 1)
        assert len(fn.events) == 2
        got = (await sqs.receive_message(QueueUrl=dlq_url))["Messages"]
        assert got[0]["Body"] == "poison"


async def test_report_batch_item_failures_keeps_only_failed_messages():
    clock = ManualClock()
    async with running_mappings(clock=clock) as (router, sqs, _, esm):

        def partial(event):
            return {
                "batchItemFailures": [
                    {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"
                ]
            }

        fn = Function(partial)
        router.register_arn(FN, fn)
        url = (await sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "5"}))["QueueUrl"]
        await sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(["ok1", "bad", "ok2"])],
        )
        await esm.create_event_source_mapping(
            FunctionName=FN,
            EventSourceArn=queue_arn("q"),
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        await eventually(lambda: len(sqs._queues["q"].messages) == 1)
        assert [m.body for m in sqs._queues["q"].messages.values()] == ["bad"]
        await clock.advance(5)
        await eventually(lambda: len(fn.events) == 2)
        assert [r["body"] for r in fn.events[1]["Records"]] == ["bad"]


async def test_invalid_batch_item_failure_response_fails_the_whole_batch():
    async with running_mappings() as (router, sqs, _, esm):
        fn = Function(lambda event: {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]})
        router.register_arn(FN, fn)
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        await sqs.send_message(QueueUrl=url, MessageBody="m")
        await esm.create_event_source_mapping(
            FunctionName=FN, EventSourceArn=queue_arn("q"), FunctionResponseTypes=["ReportBatchItemFailures"]
        )
        await eventually(lambda: fn.events)
        await asyncio.sleep(0.02)
        assert len(sqs._queues["q"].messages) == 1


async def test_filter_criteria_drop_unmatched_messages_without_invoking():
    async with running_mappings() as (router, sqs, _, esm):
        fn = Function()
        router.register_arn(FN, fn)
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        await esm.create_event_source_mapping(
            FunctionName=FN,
            EventSourceArn=queue_arn("q"),
            FilterCriteria={"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]},
        )
        await sqs.send_message(QueueUrl=url, MessageBody='{"kind": "noise"}')
        await sqs.send_message(QueueUrl=url, MessageBody="plain text")
        await sqs.send_message(QueueUrl=url, MessageBody='{"kind": "order", "id": 7}')
        await eventually(lambda: fn.records and not sqs._queues["q"].messages)
        assert [r["body"] for r in fn.records] == ['{"kind": "order", "id": 7}']


async def test_batching_window_gathers_up_to_batch_size():
    clock = ManualClock()
    async with running_mappings(clock=clock) as (router, sqs, _, esm):
        fn = Function()
        router.register_arn(FN, fn)
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        await esm.create_event_source_mapping(
            FunctionName=FN,
            EventSourceArn=queue_arn("q"),
            BatchSize=25,
            MaximumBatchingWindowInSeconds=5,
            ScalingConfig={"MaximumConcurrency": 2},
        )
        for start in range(0, 15, 5):
            await sqs.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)} for i in range(5)]
            )
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert fn.events == []  # every poller holding messages waits out the batching window
        await clock.advance(5)
        await eventually(lambda: len(fn.records) == 15)
        assert 1 <= len(fn.events) <= 2  # one batch per poller at most
        assert sorted(int(r["body"]) for r in fn.records) == list(range(15))


# -- stream -> function ------------------------------------------------------------------------------------


async def test_kinesis_event_shape_and_order_per_shard():
    async with running_mappings() as (router, _, kinesis, esm):
        fn = Function()
        router.register_arn(FN, fn)
        await kinesis.create_stream(StreamName="s", ShardCount=2)
        sent = [
            await kinesis.put_record(StreamName="s", Data=orjson.dumps({"i": i}), PartitionKey=f"k{i % 3}")
            for i in range(20)
        ]
        await esm.create_event_source_mapping(
            FunctionName=FN, EventSourceArn=STREAM_ARN, StartingPosition="TRIM_HORIZON", BatchSize=4
        )
        await eventually(lambda: len(fn.records) == 20)
        record = fn.records[0]
        assert list(record) == [
            "kinesis",
            "eventSource",
            "eventVersion",
            "eventID",
            "eventName",
            "invokeIdentityArn",
            "awsRegion",
            "eventSourceARN",
        ]
        assert list(record["kinesis"]) == [
            "kinesisSchemaVersion",
            "partitionKey",
            "sequenceNumber",
            "data",
            "approximateArrivalTimestamp",
        ]
        assert record["eventName"] == "aws:kinesis:record" and record["eventSourceARN"] == STREAM_ARN
        assert all(len(e["Records"]) <= 4 for e in fn.events)
        for shard in {s["ShardId"] for s in sent}:
            expected = [s["SequenceNumber"] for s in sent if s["ShardId"] == shard]
            got = [r["kinesis"]["sequenceNumber"] for r in fn.records if r["eventID"].startswith(shard)]
            assert got == expected
        assert orjson.loads(base64.b64decode(record["kinesis"]["data"])) in [{"i": i} for i in range(20)]


async def test_latest_starting_position_sees_only_new_records():
    clock = ManualClock()
    async with running_mappings(clock=clock) as (router, _, kinesis, esm):
        fn = Function()
        router.register_arn(FN, fn)
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        await kinesis.put_record(StreamName="s", Data=b"old", PartitionKey="k")
        await clock.advance(1)
        await esm.create_event_source_mapping(
            FunctionName=FN, EventSourceArn=STREAM_ARN, StartingPosition="LATEST"
        )
        await asyncio.sleep(0.02)
        await kinesis.put_record(StreamName="s", Data=b"new", PartitionKey="k")
        await eventually(lambda: fn.records)
        await asyncio.sleep(0.02)
        assert [base64.b64decode(r["kinesis"]["data"]) for r in fn.records] == [b"new"]


async def test_checkpoints_survive_restart(tmp_path):
    clock = ManualClock()
    store = SQLiteStore(tmp_path / "state.db")
    async with running_mappings(store=store, clock=clock) as (router, _, kinesis, esm):
        fn = Function()
        router.register_arn(FN, fn)
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        for i in range(5):
            await kinesis.put_record(StreamName="s", Data=str(i).encode(), PartitionKey="k")
        await esm.create_event_source_mapping(
            FunctionName=FN, EventSourceArn=STREAM_ARN, StartingPosition="TRIM_HORIZON"
        )
        await eventually(lambda: len(fn.records) == 5)
        await asyncio.sleep(0.02)
    await store.close()
    store = SQLiteStore(tmp_path / "state.db")
    async with running_mappings(store=store, clock=clock) as (router, _, kinesis, esm):
        fn = Function()
        router.register_arn(FN, fn)
        await kinesis.put_record(StreamName="s", Data=b"5", PartitionKey="k")
        await eventually(lambda: fn.records)
        await asyncio.sleep(0.05)
        assert [base64.b64decode(r["kinesis"]["data"]) for r in fn.records] == [b"5"]  # resumed, no replay
    await store.close()


async def test_retries_exhausted_go_to_on_failure_destination():
    clock = ManualClock()
    async with running_mappings(clock=clock) as (router, sqs, kinesis, esm):
        fn = Function(
            lambda e: (
                fail(e)
                if any(base64.b64decode(r["kinesis"]["data"]) == b"bad" for r in e["Records"])
                else None
            )
        )
        router.register_arn(FN, fn)
        url = (await sqs.create_queue(QueueName="failures"))["QueueUrl"]
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        for data in [b"bad", b"after"]:
            await kinesis.put_record(StreamName="s", Data=data, PartitionKey="k")
        await esm.create_event_source_mapping(
            FunctionName=FN,
            EventSourceArn=STREAM_ARN,
            StartingPosition="TRIM_HORIZON",
            BatchSize=1,
            MaximumRetryAttempts=1,
            DestinationConfig={"OnFailure": {"Destination": queue_arn("failures")}},
        )
        await eventually(lambda: len(fn.events) == 1)
        await clock.advance(0.5)  # retry backoff
        await eventually(lambda: len(fn.events) >= 3)
        assert [base64.b64decode(r["kinesis"]["data"]) for r in fn.records] == [b"bad", b"bad", b"after"]
        [msg] = (await sqs.receive_message(QueueUrl=url))["Messages"]
        info = orjson.loads(msg["Body"])
        assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert info["requestContext"]["approximateInvokeCount"] == 2
        assert (
            info["KinesisBatchInfo"]["batchSize"] == 1 and info["KinesisBatchInfo"]["streamArn"] == STREAM_ARN
        )
        assert info["responseContext"]["functionError"] == "Unhandled"


async def test_bisect_isolates_the_poison_record():
    clock = ManualClock()
    async with running_mappings(clock=clock) as (router, _, kinesis, esm):

        def handler(event):
            if any(base64.b64decode(r["kinesis"]["data"]) == b"2" for r in event["Records"]):
                fail(event)

        fn = Function(handler)
        router.register_arn(FN, fn)
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        await kinesis.put_records(
            StreamName="s", Records=[{"Data": str(i).encode(), "PartitionKey": "k"} for i in range(4)]
        )
        await esm.create_event_source_mapping(
            FunctionName=FN,
            EventSourceArn=STREAM_ARN,
            StartingPosition="TRIM_HORIZON",
            BatchSize=4,
            BisectBatchOnFunctionError=True,
            MaximumRetryAttempts=0,
        )
        await eventually(lambda: len(fn.events) == 5)
        sizes = [[base64.b64decode(r["kinesis"]["data"]) for r in e["Records"]] for e in fn.events]
        assert sizes == [[b"0", b"1", b"2", b"3"], [b"0", b"1"], [b"2", b"3"], [b"2"], [b"3"]]


async def test_kinesis_report_batch_item_failures_retries_from_the_failed_record():
    clock = ManualClock()
    async with running_mappings(clock=clock) as (router, _, kinesis, esm):
        calls = []

        def handler(event):
            calls.append([base64.b64decode(r["kinesis"]["data"]) for r in event["Records"]])
            if len(calls) == 1:
                return {
                    "batchItemFailures": [
                        {"itemIdentifier": event["Records"][2]["kinesis"]["sequenceNumber"]}
                    ]
                }
            return {"batchItemFailures": []}

        router.register_arn(FN, handler)
        await kinesis.create_stream(StreamName="s", ShardCount=1)
        await kinesis.put_records(
            StreamName="s", Records=[{"Data": str(i).encode(), "PartitionKey": "k"} for i in range(4)]
        )
        await esm.create_event_source_mapping(
            FunctionName=FN,
            EventSourceArn=STREAM_ARN,
            StartingPosition="TRIM_HORIZON",
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        await eventually(lambda: len(calls) == 1)
        await clock.advance(0.5)
        await eventually(lambda: len(calls) == 2)
        assert calls == [[b"0", b"1", b"2", b"3"], [b"2", b"3"]]
