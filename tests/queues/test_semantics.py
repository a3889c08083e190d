"""SQS semantics through the service's public methods, one behaviour per test or table row."""

from __future__ import annotations

import asyncio

import pytest

from cloudlet.clock import ManualClock
from cloudlet.errors import CloudletError
from cloudlet.queues.digest import md5_of_attributes, md5_of_body
from tests.queues.conftest import running_queues

URL = "http://127.0.0.1:4566/000000000000/"


# -- digests ----------------------------------------------------------------------------------------

DIGESTS = [
    # (attributes, MD5 that SQS returns) -- vectors published with AWS's algorithm
    (
        {"attribName1": {"DataType": "String", "StringValue": "attribValue 1"}},
        "19e27d4e946b072f3f58da80d94fd778",
    ),
    (
        {
            "customNumberTypeAttrib": {
                "DataType": "Number.float",
                "StringValue": "4563442423554324324264524243.32543234",
            }
        },
        "9fe1b90bbd9965bdf77bac517c7d2495",
    ),
    (
        {"binaryAttribute": {"DataType": "Binary", "BinaryValue": b"Hello binary world!"}},
        "31a92b15d92f8db860eda32aceb656c3",
    ),
    (
        {
            "attribName1": {"DataType": "String", "StringValue": "attribValue 1"},
            "customNumberTypeAttrib": {
                "DataType": "Number.float",
                "StringValue": "4563442423554324324264524243.32543234",
            },
            "binaryAttribute": {"DataType": "Binary", "BinaryValue": b"Hello binary world!"},
        },
        "c932db14a896c663f83c260297d594ff",
    ),
]


@pytest.mark.parametrize(("attributes", "expected"), DIGESTS)
def test_md5_of_message_attributes(attributes, expected):
    assert md5_of_attributes(attributes) == expected


def test_md5_of_body_is_hex_md5_of_utf8():
    assert md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"
    assert md5_of_body("") == "d41d8cd98f00b204e9800998ecf8427e"


async def test_send_returns_the_digests_sqs_computes():
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        attrs = DIGESTS[3][0]
        sent = await sqs.send_message(
            QueueUrl=url,
            MessageBody="hello",
            MessageAttributes=attrs,
            MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-a-b"}},
        )
        assert sent["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
        assert sent["MD5OfMessageAttributes"] == DIGESTS[3][1]
        assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(
            {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-a-b"}}
        )
        got = (await sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"]))["Messages"][0]
        assert got["MD5OfBody"] == sent["MD5OfMessageBody"]
        assert got["MD5OfMessageAttributes"] == DIGESTS[3][1]
        assert got["MessageAttributes"]["binaryAttribute"]["BinaryValue"] == b"Hello binary world!"


# -- queues ------------------------------------------------------------------------------------------


async def test_create_queue_urls_idempotence_and_conflicts():
    async with running_queues() as sqs:
        created = await sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "10"})
        assert created == {"QueueUrl": URL + "orders"}
        assert await sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "10"}) == created
        with pytest.raises(CloudletError) as err:
            await sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "11"})
        assert err.value.code == "QueueNameExists"
        assert (await sqs.get_queue_url(QueueName="orders")) == created
        with pytest.raises(CloudletError) as err:
            await sqs.get_queue_url(QueueName="nope")
        assert err.value.code == "QueueDoesNotExist"
        assert err.value.query_code == "AWS.SimpleQueueService.NonExistentQueue"  # type: ignore[attr-defined]


CREATE_ERRORS = [
    ("bad name!", {}, "InvalidParameterValue"),
    ("x" * 81, {}, "InvalidParameterValue"),
    ("q.fifo", {}, "InvalidParameterValue"),
    ("q", {"FifoQueue": "true"}, "InvalidParameterValue"),
    ("q", {"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
    ("q", {"DelaySeconds": "-1"}, "InvalidAttributeValue"),
    ("q", {"MaximumMessageSize": "1023"}, "InvalidAttributeValue"),
    ("q", {"MessageRetentionPeriod": "59"}, "InvalidAttributeValue"),
    ("q", {"ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue"),
    ("q", {"Bogus": "1"}, "InvalidAttributeName"),
    ("q", {"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),
    ("q", {"RedrivePolicy": '{"maxReceiveCount": 3}'}, "InvalidAttributeValue"),
    (
        "q",
        {
            "RedrivePolicy": '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:none", '
            '"maxReceiveCount": 3}'
        },
        "InvalidParameterValue",
    ),
]


@pytest.mark.parametrize(("name", "attributes", "code"), CREATE_ERRORS)
async def test_create_queue_rejects(name, attributes, code):
    async with running_queues() as sqs:
        with pytest.raises(CloudletError) as err:
            await sqs.create_queue(QueueName=name, Attributes=attributes)
        assert err.value.code == code


async def test_queue_attributes_counts_and_defaults():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        assert await sqs.get_queue_attributes(QueueUrl=url) == {}
        await sqs.send_message(QueueUrl=url, MessageBody="a")
        await sqs.send_message(QueueUrl=url, MessageBody="b")
        await sqs.send_message(QueueUrl=url, MessageBody="c", DelaySeconds=5)
        await sqs.receive_message(QueueUrl=url)
        attrs = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))["Attributes"]
        assert attrs["ApproximateNumberOfMessages"] == "1"
        assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
        assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
        assert attrs["QueueArn"] == "arn:aws:sqs:us-east-1:000000000000:q"
        assert attrs["VisibilityTimeout"] == "30"
        assert attrs["MaximumMessageSize"] == "1048576"
        assert attrs["MessageRetentionPeriod"] == "345600"
        assert "FifoQueue" not in attrs
        await sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})
        one = await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
        assert one == {"Attributes": {"VisibilityTimeout": "5"}}


async def test_list_queues_prefix_and_pages():
    async with running_queues() as sqs:
        for name in ["a1", "a2", "a3", "b1"]:
            await sqs.create_queue(QueueName=name)
        assert len((await sqs.list_queues())["QueueUrls"]) == 4
        assert (await sqs.list_queues(QueueNamePrefix="b"))["QueueUrls"] == [URL + "b1"]
        page = await sqs.list_queues(QueueNamePrefix="a", MaxResults=2)
        assert page["QueueUrls"] == [URL + "a1", URL + "a2"]
        rest = await sqs.list_queues(QueueNamePrefix="a", MaxResults=2, NextToken=page["NextToken"])
        assert rest == {"QueueUrls": [URL + "a3"]}
        assert await sqs.list_queues(QueueNamePrefix="zz") == {}


async def test_delete_queue_and_tags():
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="q", tags={"team": "x"}))["QueueUrl"]
        await sqs.tag_queue(QueueUrl=url, Tags={"env": "dev"})
        assert (await sqs.list_queue_tags(QueueUrl=url))["Tags"] == {"team": "x", "env": "dev"}
        await sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
        assert (await sqs.list_queue_tags(QueueUrl=url))["Tags"] == {"env": "dev"}
        await sqs.delete_queue(QueueUrl=url)
        with pytest.raises(CloudletError) as err:
            await sqs.send_message(QueueUrl=url, MessageBody="x")
        assert err.value.code == "QueueDoesNotExist"


# -- messages ----------------------------------------------------------------------------------------

SEND_ERRORS = [
    ({"MessageBody": ""}, "MissingParameter"),
    ({"MessageBody": "bad \x00 char"}, "InvalidMessageContents"),
    ({"MessageBody": "x", "DelaySeconds": 901}, "InvalidParameterValue"),
    ({"MessageBody": "x", "MessageDeduplicationId": "d"}, "InvalidParameterValue"),
    ({"MessageBody": "x" * 1025}, "InvalidParameterValue"),
    (
        {"MessageBody": "x", "MessageAttributes": {"AWS.x": {"DataType": "String", "StringValue": "v"}}},
        "InvalidParameterValue",
    ),
    (
        {"MessageBody": "x", "MessageAttributes": {"a..b": {"DataType": "String", "StringValue": "v"}}},
        "InvalidParameterValue",
    ),
    (
        {"MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Text", "StringValue": "v"}}},
        "InvalidParameterValue",
    ),
    (
        {"MessageBody": "x", "MessageAttributes": {"a": {"DataType": "String", "StringValue": ""}}},
        "InvalidParameterValue",
    ),
    (
        {"MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Number", "StringValue": "abc"}}},
        "InvalidParameterValue",
    ),
    (
        {"MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Binary", "StringValue": "abc"}}},
        "InvalidParameterValue",
    ),
    (
        {
            "MessageBody": "x",
            "MessageAttributes": {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)},
        },
        "InvalidParameterValue",
    ),
    (
        {
            "MessageBody": "x",
            "MessageSystemAttributes": {"Other": {"DataType": "String", "StringValue": "v"}},
        },
        "InvalidParameterValue",
    ),
]


@pytest.mark.parametrize(("request_", "code"), SEND_ERRORS)
async def test_send_message_rejects(request_, code):
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="q", Attributes={"MaximumMessageSize": "1024"}))["QueueUrl"]
        with pytest.raises(CloudletError) as err:
            await sqs.send_message(QueueUrl=url, **request_)
        assert err.value.code == code


async def test_receive_delete_and_system_attributes():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        sent = await sqs.send_message(
            QueueUrl=url,
            MessageBody="hi",
            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
        )
        got = await sqs.receive_message(
            QueueUrl=url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["k"]
        )
        msg = got["Messages"][0]
        assert msg["MessageId"] == sent["MessageId"] and msg["Body"] == "hi"
        assert msg["Attributes"]["ApproximateReceiveCount"] == "1"
        assert msg["Attributes"]["SentTimestamp"] == str(int(clock.time() * 1000))
        assert msg["Attributes"]["ApproximateFirstReceiveTimestamp"] == str(int(clock.time() * 1000))
        assert msg["Attributes"]["SenderId"] == "000000000000"
        assert msg["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
        assert await sqs.receive_message(QueueUrl=url) == {}
        await sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        await sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])  # idempotent
        await clock.advance(31)
        assert await sqs.receive_message(QueueUrl=url) == {}


async def test_message_attribute_name_selection():
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        attrs = {n: {"DataType": "String", "StringValue": n} for n in ["a.x", "a.y", "b"]}
        await sqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes=attrs)
        msg = (await sqs.receive_message(QueueUrl=url, MessageAttributeNames=["a.*"]))["Messages"][0]
        assert set(msg["MessageAttributes"]) == {"a.x", "a.y"}
        assert msg["MD5OfMessageAttributes"] == md5_of_attributes({k: attrs[k] for k in ["a.x", "a.y"]})


async def test_visibility_expiry_redelivers_with_new_handle():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "10"}))["QueueUrl"]
        await sqs.send_message(QueueUrl=url, MessageBody="m")
        first = (await sqs.receive_message(QueueUrl=url, AttributeNames=["All"]))["Messages"][0]
        await clock.advance(9.9)
        assert await sqs.receive_message(QueueUrl=url) == {}
        await clock.advance(0.2)
        second = (await sqs.receive_message(QueueUrl=url, AttributeNames=["All"]))["Messages"][0]
        assert second["MessageId"] == first["MessageId"]
        assert second["ReceiptHandle"] != first["ReceiptHandle"]
        assert second["Attributes"]["ApproximateReceiveCount"] == "2"
        assert (
            second["Attributes"]["ApproximateFirstReceiveTimestamp"]
            == first["Attributes"]["ApproximateFirstReceiveTimestamp"]
        )
        # the stale handle does not delete a message someone else holds
        await sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
        attrs = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))["Attributes"]
        assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"


async def test_receive_visibility_timeout_override_and_change_visibility():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        await sqs.send_message(QueueUrl=url, MessageBody="m")
        msg = (await sqs.receive_message(QueueUrl=url, VisibilityTimeout=100))["Messages"][0]
        await clock.advance(50)
        assert await sqs.receive_message(QueueUrl=url) == {}
        await sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0
        )
        again = (await sqs.receive_message(QueueUrl=url))["Messages"][0]
        with pytest.raises(CloudletError) as err:  # the first handle is stale now
            await sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=5
            )
        assert err.value.code == "InvalidParameterValue"
        await sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0
        )
        with pytest.raises(CloudletError) as err:
            await sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=5
            )
        assert err.value.code == "MessageNotInflight"
        with pytest.raises(CloudletError) as err:
            await sqs.delete_message(QueueUrl=url, ReceiptHandle="garbage")
        assert err.value.code == "ReceiptHandleIsInvalid"


async def test_delay_seconds_per_message_and_per_queue():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q", Attributes={"DelaySeconds": "10"}))["QueueUrl"]
        await sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
        await sqs.send_message(QueueUrl=url, MessageBody="no-delay", DelaySeconds=0)
        await sqs.send_message(QueueUrl=url, MessageBody="long", DelaySeconds=20)
        got = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        assert [m["Body"] for m in got["Messages"]] == ["no-delay"]
        await clock.advance(10)
        assert [m["Body"] for m in (await sqs.receive_message(QueueUrl=url))["Messages"]] == ["queue-delay"]
        await clock.advance(10)
        assert [m["Body"] for m in (await sqs.receive_message(QueueUrl=url))["Messages"]] == ["long"]


async def test_retention_period_drops_old_messages():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"}))["QueueUrl"]
        await sqs.send_message(QueueUrl=url, MessageBody="old")
        await clock.advance(61)
        assert await sqs.receive_message(QueueUrl=url) == {}


async def test_long_poll_wakes_immediately_on_arrival():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        poll = asyncio.create_task(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20))
        await asyncio.sleep(0.01)
        assert not poll.done()
        await sqs.send_message(QueueUrl=url, MessageBody="wake")
        got = await asyncio.wait_for(poll, 1.0)  # the manual clock never moved
        assert got["Messages"][0]["Body"] == "wake"


async def test_long_poll_times_out_empty_and_sees_visibility_return():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q", Attributes={"ReceiveMessageWaitTimeSeconds": "20"}))[
            "QueueUrl"
        ]
        await sqs.send_message(QueueUrl=url, MessageBody="m")
        await sqs.receive_message(QueueUrl=url, VisibilityTimeout=5, WaitTimeSeconds=0)
        poll = asyncio.create_task(sqs.receive_message(QueueUrl=url))  # queue default: 20 s
        await asyncio.sleep(0.01)
        await clock.advance(5)
        got = await asyncio.wait_for(poll, 1.0)
        assert got["Messages"][0]["Body"] == "m"
        poll = asyncio.create_task(sqs.receive_message(QueueUrl=url))
        await asyncio.sleep(0.01)
        await clock.advance(20)
        assert await asyncio.wait_for(poll, 1.0) == {}


RECEIVE_ERRORS = [
    ({"MaxNumberOfMessages": 11}, "InvalidParameterValue"),
    ({"MaxNumberOfMessages": 0}, "InvalidParameterValue"),
    ({"WaitTimeSeconds": 21}, "InvalidParameterValue"),
    ({"VisibilityTimeout": 43201}, "InvalidParameterValue"),
]


@pytest.mark.parametrize(("params", "code"), RECEIVE_ERRORS)
async def test_receive_message_rejects(params, code):
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        with pytest.raises(CloudletError) as err:
            await sqs.receive_message(QueueUrl=url, **params)
        assert err.value.code == code


# -- batches ---------------------------------------------------------------------------------------


async def test_batches_report_per_entry_results():
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        out = await sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "ok1", "MessageBody": "a"},
                {"Id": "bad", "MessageBody": "b", "DelaySeconds": 1000},
                {"Id": "ok2", "MessageBody": "c"},
            ],
        )
        assert [s["Id"] for s in out["Successful"]] == ["ok1", "ok2"]
        assert out["Failed"] == [
            {
                "Id": "bad",
                "SenderFault": True,
                "Code": "InvalidParameterValue",
                "Message": out["Failed"][0]["Message"],
            }
        ]
        got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))["Messages"]
        assert sorted(m["Body"] for m in got) == ["a", "c"]
        deleted = await sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "x", "ReceiptHandle": got[0]["ReceiptHandle"]},
                {"Id": "y", "ReceiptHandle": "nope"},
            ],
        )
        assert deleted["Successful"] == [{"Id": "x"}]
        assert deleted["Failed"][0]["Id"] == "y" and deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
        changed = await sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[{"Id": "z", "ReceiptHandle": got[1]["ReceiptHandle"], "VisibilityTimeout": 0}],
        )
        assert changed == {"Successful": [{"Id": "z"}], "Failed": []}
        assert (await sqs.receive_message(QueueUrl=url))["Messages"][0]["MessageId"] == got[1]["MessageId"]


BATCH_ERRORS = [
    ([], "EmptyBatchRequest"),
    ([{"Id": str(i), "MessageBody": "x"} for i in range(11)], "TooManyEntriesInBatchRequest"),
    ([{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}], "BatchEntryIdsNotDistinct"),
    ([{"Id": "a b", "MessageBody": "x"}], "InvalidBatchEntryId"),
    ([{"Id": "a", "MessageBody": "x" * 600}, {"Id": "b", "MessageBody": "x" * 600}], "BatchRequestTooLong"),
]


@pytest.mark.parametrize(("entries", "code"), BATCH_ERRORS)
async def test_send_message_batch_rejects(entries, code):
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="q", Attributes={"MaximumMessageSize": "1024"}))["QueueUrl"]
        with pytest.raises(CloudletError) as err:
            await sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert err.value.code == code


async def test_purge_queue_once_a_minute():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        for i in range(3):
            await sqs.send_message(QueueUrl=url, MessageBody=str(i))
        await sqs.purge_queue(QueueUrl=url)
        assert await sqs.receive_message(QueueUrl=url) == {}
        with pytest.raises(CloudletError) as err:
            await sqs.purge_queue(QueueUrl=url)
        assert err.value.code == "PurgeQueueInProgress"
        await clock.advance(60)
        await sqs.purge_queue(QueueUrl=url)


# -- dead-letter queues and redrive ---------------------------------------------------------------------


async def test_dead_letter_queue_after_max_receive_count_and_move_back():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        dlq_url = (await sqs.create_queue(QueueName="dlq"))["QueueUrl"]
        dlq_arn = (await sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]))[
            "Attributes"
        ]["QueueArn"]
        policy = f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": 2}}'
        url = (await sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": policy}))["QueueUrl"]
        assert (await sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)) == {"queueUrls": [url]}
        sent = await sqs.send_message(QueueUrl=url, MessageBody="poison")
        for _ in range(2):
            assert (await sqs.receive_message(QueueUrl=url, VisibilityTimeout=1))["Messages"]
            await clock.advance(1)
        assert await sqs.receive_message(QueueUrl=url) == {}  # third receive moves it instead
        moved = (await sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"]))["Messages"][0]
        assert moved["MessageId"] == sent["MessageId"]
        assert moved["Attributes"]["DeadLetterQueueSourceArn"] == "arn:aws:sqs:us-east-1:000000000000:src"
        await sqs.change_message_visibility(
            QueueUrl=dlq_url, ReceiptHandle=moved["ReceiptHandle"], VisibilityTimeout=0
        )

        handle = (await sqs.start_message_move_task(SourceArn=dlq_arn))["TaskHandle"]
        for _ in range(100):
            tasks = (await sqs.list_message_move_tasks(SourceArn=dlq_arn))["Results"]
            if tasks[0]["Status"] != "RUNNING":
                break
            await asyncio.sleep(0.001)
        assert tasks[0]["Status"] == "COMPLETED" and tasks[0]["ApproximateNumberOfMessagesMoved"] == 1
        assert "TaskHandle" not in tasks[0] and handle
        back = (await sqs.receive_message(QueueUrl=url))["Messages"][0]
        assert back["MessageId"] == sent["MessageId"] and back["Body"] == "poison"
        with pytest.raises(CloudletError) as err:
            await sqs.start_message_move_task(SourceArn="arn:aws:sqs:us-east-1:000000000000:src")
        assert err.value.code == "InvalidParameterValue"


async def test_redrive_allow_policy_is_enforced():
    async with running_queues() as sqs:
        await sqs.create_queue(
            QueueName="dlq", Attributes={"RedriveAllowPolicy": '{"redrivePermission": "denyAll"}'}
        )
        policy = '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": 2}'
        with pytest.raises(CloudletError) as err:
            await sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": policy})
        assert err.value.code == "InvalidParameterValue"


# -- FIFO ------------------------------------------------------------------------------------------------


async def test_fifo_order_group_lock_and_sequence_numbers():
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"}))["QueueUrl"]
        seqs = []
        for i in range(4):
            out = await sqs.send_message(
                QueueUrl=url, MessageBody=f"a{i}", MessageGroupId="A", MessageDeduplicationId=f"a{i}"
            )
            seqs.append(int(out["SequenceNumber"]))
        await sqs.send_message(
            QueueUrl=url, MessageBody="b0", MessageGroupId="B", MessageDeduplicationId="b0"
        )
        assert seqs == sorted(seqs) and len(set(seqs)) == 4
        first = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2))["Messages"]
        assert [m["Body"] for m in first] == ["a0", "a1"]
        # group A is locked while a0/a1 are in flight; B is free
        second = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))["Messages"]
        assert [m["Body"] for m in second] == ["b0"]
        for m in first:
            await sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        third = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))["Messages"]
        assert [m["Body"] for m in third] == ["a2", "a3"]


FIFO_SEND_ERRORS = [
    ({"MessageBody": "x", "MessageDeduplicationId": "d"}, "MissingParameter"),
    ({"MessageBody": "x", "MessageGroupId": "g"}, "InvalidParameterValue"),
    (
        {"MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d", "DelaySeconds": 5},
        "InvalidParameterValue",
    ),
    (
        {"MessageBody": "x", "MessageGroupId": "g" * 129, "MessageDeduplicationId": "d"},
        "InvalidParameterValue",
    ),
]


@pytest.mark.parametrize(("request_", "code"), FIFO_SEND_ERRORS)
async def test_fifo_send_rejects(request_, code):
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"}))["QueueUrl"]
        with pytest.raises(CloudletError) as err:
            await sqs.send_message(QueueUrl=url, **request_)
        assert err.value.code == code


async def test_fifo_deduplication_window_and_content_based():
    clock = ManualClock()
    async with running_queues(clock=clock) as sqs:
        attrs = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        url = (await sqs.create_queue(QueueName="f.fifo", Attributes=attrs))["QueueUrl"]
        one = await sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
        two = await sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
        assert one["MessageId"] == two["MessageId"] and one["SequenceNumber"] == two["SequenceNumber"]
        three = await sqs.send_message(
            QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="x"
        )
        assert three["MessageId"] != one["MessageId"]
        await clock.advance(301)
        four = await sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
        assert four["MessageId"] != one["MessageId"]
        got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))["Messages"]
        assert [m["MessageId"] for m in got] == [one["MessageId"], three["MessageId"], four["MessageId"]]


async def test_fifo_deduplication_scope_message_group():
    async with running_queues() as sqs:
        attrs = {
            "FifoQueue": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        }
        url = (await sqs.create_queue(QueueName="f.fifo", Attributes=attrs))["QueueUrl"]
        a = await sqs.send_message(
            QueueUrl=url, MessageBody="x", MessageGroupId="A", MessageDeduplicationId="d"
        )
        b = await sqs.send_message(
            QueueUrl=url, MessageBody="x", MessageGroupId="B", MessageDeduplicationId="d"
        )
        assert a["MessageId"] != b["MessageId"]


async def test_fifo_receive_request_attempt_id_replays_the_same_batch():
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"}))["QueueUrl"]
        for i in range(3):
            await sqs.send_message(
                QueueUrl=url, MessageBody=str(i), MessageGroupId=f"g{i}", MessageDeduplicationId=str(i)
            )
        one = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="try-1")
        two = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="try-1")
        assert [m["MessageId"] for m in one["Messages"]] == [m["MessageId"] for m in two["Messages"]]
        other = await sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="try-2"
        )
        assert [m["Body"] for m in other["Messages"]] == ["2"]


async def test_fifo_order_under_concurrent_consumers():
    """Four consumers race over 8 groups; each group is processed strictly in order, exactly once."""
    async with running_queues() as sqs:
        url = (await sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"}))["QueueUrl"]
        groups, per_group = 8, 25
        for i in range(per_group):
            entries = [
                {
                    "Id": f"g{g}",
                    "MessageBody": f"{g}:{i}",
                    "MessageGroupId": f"g{g}",
                    "MessageDeduplicationId": f"{g}:{i}",
                }
                for g in range(groups)
            ]
            for chunk in (entries[:5], entries[5:]):
                assert not (await sqs.send_message_batch(QueueUrl=url, Entries=chunk))["Failed"]
        seen: dict[str, list[int]] = {}
        active: set[str] = set()

        async def consumer() -> None:
            idle = 0
            while idle < 3:
                got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)).get("Messages", [])
                if not got:
                    idle += 1
                    await asyncio.sleep(0)
                    continue
                idle = 0
                group = got[0]["Body"].split(":")[0]
                for m in got:
                    g = m["Body"].split(":")[0]
                    assert g not in active or g == group  # no two consumers in one group at once
                active.add(group)
                for m in got:
                    g, i = m["Body"].split(":")
                    seen.setdefault(g, []).append(int(i))
                    await asyncio.sleep(0)
                    await sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                active.discard(group)

        await asyncio.gather(*(consumer() for _ in range(4)))
        assert len(seen) == groups
        for values in seen.values():
            assert values == list(range(per_group))


# -- delivery through the router -------------------------------------------------------------------------


async def test_router_delivers_json_payloads_and_sqs_calls_by_arn():
    from cloudlet.router import Router

    router = Router()
    async with running_queues(router=router) as sqs:
        url = (await sqs.create_queue(QueueName="q"))["QueueUrl"]
        arn = "arn:aws:sqs:us-east-1:000000000000:q"
        await router.deliver(arn, {"detail": {"n": 1}}, invocation_type="Event")
        await router.call("sqs", "SendMessage", {"QueueUrl": arn, "MessageBody": "text"})
        got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))["Messages"]
        assert [m["Body"] for m in got] == ['{"detail":{"n":1}}', "text"]
