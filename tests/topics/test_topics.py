"""SNS semantics: topics, subscriptions, the envelope, filter policies, retries and DLQs."""

from __future__ import annotations

import asyncio
import http.server
import threading
from urllib.parse import parse_qs, urlparse

import orjson
import pytest

from cloudlet.clock import ManualClock
from cloudlet.errors import CloudletError, StoreError
from cloudlet.store import SQLiteStore
from tests.topics.conftest import running_messaging, settle

ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:handler"


async def make_queue(queues, name, **attrs):
    url = (await queues.create_queue(QueueName=name, Attributes=attrs or None))["QueueUrl"]
    return url, f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


async def drain(queues, url, **kwargs):
    out = []
    while True:
        got = (await queues.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kwargs)).get(
            "Messages", []
        )
        if not got:
            return out
        out += got


async def test_topic_lifecycle_attributes_and_tags():
    async with running_messaging() as (_, _, sns):
        arn = (await sns.create_topic(Name="orders", Tags=[{"Key": "team", "Value": "a"}]))["TopicArn"]
        assert arn == f"arn:aws:sns:us-east-1:{ACCOUNT}:orders"
        assert (await sns.create_topic(Name="orders"))["TopicArn"] == arn
        assert (await sns.list_topics())["Topics"] == [{"TopicArn": arn}]
        await sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Orders")
        attrs = (await sns.get_topic_attributes(TopicArn=arn))["Attributes"]
        assert attrs["DisplayName"] == "Orders" and attrs["Owner"] == ACCOUNT
        assert attrs["SubscriptionsConfirmed"] == "0"
        await sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
        tags = (await sns.list_tags_for_resource(ResourceArn=arn))["Tags"]
        assert {t["Key"]: t["Value"] for t in tags} == {"team": "a", "env": "dev"}
        await sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
        assert (await sns.list_tags_for_resource(ResourceArn=arn))["Tags"] == [{"Key": "env", "Value": "dev"}]
        await sns.delete_topic(TopicArn=arn)
        await sns.delete_topic(TopicArn=arn)  # idempotent, as on AWS
        with pytest.raises(CloudletError) as err:
            await sns.get_topic_attributes(TopicArn=arn)
        assert err.value.code == "NotFound"


TOPIC_ERRORS = [
    ({"Name": "bad name"}, "InvalidParameter"),
    ({"Name": "t.fifo"}, "InvalidParameter"),
    ({"Name": "t", "Attributes": {"FifoTopic": "true"}}, "InvalidParameter"),
    ({"Name": "t", "Attributes": {"ContentBasedDeduplication": "true"}}, "InvalidParameter"),
    ({"Name": "t", "Attributes": {"Bogus": "x"}}, "InvalidParameter"),
]


@pytest.mark.parametrize(("request_", "code"), TOPIC_ERRORS)
async def test_create_topic_rejects(request_, code):
    async with running_messaging() as (_, _, sns):
        with pytest.raises(CloudletError) as err:
            await sns.create_topic(**request_)
        assert err.value.code == code


async def test_sqs_subscription_gets_the_sns_envelope():
    async with running_messaging() as (_, sqs, sns):
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        url, qarn = await make_queue(sqs, "q")
        sub = (await sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn))["SubscriptionArn"]
        assert sub.startswith(topic + ":")
        out = await sns.publish(
            TopicArn=topic,
            Message="hello",
            Subject="greeting",
            MessageAttributes={
                "color": {"DataType": "String", "StringValue": "red"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
            },
        )
        await settle(sns)
        [msg] = await drain(sqs, url)
        env = orjson.loads(msg["Body"])
        assert list(env)[:5] == ["Type", "MessageId", "TopicArn", "Subject", "Message"]
        assert env["Type"] == "Notification" and env["MessageId"] == out["MessageId"]
        assert env["TopicArn"] == topic and env["Subject"] == "greeting" and env["Message"] == "hello"
        assert env["Timestamp"].endswith("Z") and env["SignatureVersion"] == "1"
        assert env["UnsubscribeURL"].startswith("http://127.0.0.1:4566/?Action=Unsubscribe&SubscriptionArn=")
        assert env["MessageAttributes"] == {
            "color": {"Type": "String", "Value": "red"},
            "blob": {"Type": "Binary", "Value": "AQI="},
        }
        assert "MessageAttributes" not in msg


async def test_raw_message_delivery_passes_attributes_to_sqs():
    async with running_messaging() as (_, sqs, sns):
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        url, qarn = await make_queue(sqs, "q")
        await sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"}
        )
        await sns.publish(
            TopicArn=topic,
            Message='{"a": 1}',
            MessageAttributes={
                "n": {"DataType": "Number", "StringValue": "5"},
                "list": {"DataType": "String.Array", "StringValue": '["x", "y"]'},
            },
        )
        await settle(sns)
        [msg] = await drain(sqs, url, MessageAttributeNames=["All"])
        assert msg["Body"] == '{"a": 1}'
        assert msg["MessageAttributes"] == {
            "n": {"DataType": "Number", "StringValue": "5"},
            "list": {"DataType": "String", "StringValue": '["x", "y"]'},
        }


FILTERS = [
    # (policy, scope, attributes, body, delivered?)
    ('{"color": ["red"]}', "MessageAttributes", {"color": ("String", "red")}, "x", True),
    ('{"color": ["red"]}', "MessageAttributes", {"color": ("String", "blue")}, "x", False),
    ('{"color": ["red"]}', "MessageAttributes", {}, "x", False),
    ('{"price": [{"numeric": [">", 10]}]}', "MessageAttributes", {"price": ("Number", "11")}, "x", True),
    ('{"price": [{"numeric": [">", 10]}]}', "MessageAttributes", {"price": ("Number", "9")}, "x", False),
    ('{"tags": ["b"]}', "MessageAttributes", {"tags": ("String.Array", '["a", "b"]')}, "x", True),
    ('{"color": [{"prefix": "re"}]}', "MessageAttributes", {"color": ("String", "red")}, "x", True),
    ('{"color": [{"anything-but": "red"}]}', "MessageAttributes", {"color": ("String", "red")}, "x", False),
    ('{"color": [{"exists": false}]}', "MessageAttributes", {}, "x", True),
    ('{"order": {"kind": ["book"]}}', "MessageBody", {}, '{"order": {"kind": "book"}}', True),
    ('{"order": {"kind": ["book"]}}', "MessageBody", {}, '{"order": {"kind": "pen"}}', False),
    ('{"order": {"kind": ["book"]}}', "MessageBody", {}, "not json", False),
]


@pytest.mark.parametrize(("policy", "scope", "attributes", "body", "delivered"), FILTERS)
async def test_filter_policies(policy, scope, attributes, body, delivered):
    async with running_messaging() as (_, sqs, sns):
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        url, qarn = await make_queue(sqs, "q")
        await sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=qarn,
            Attributes={"FilterPolicy": policy, "FilterPolicyScope": scope, "RawMessageDelivery": "true"},
        )
        attrs = {k: {"DataType": t, "StringValue": v} for k, (t, v) in attributes.items()}
        await sns.publish(TopicArn=topic, Message=body, MessageAttributes=attrs)
        await settle(sns)
        assert len(await drain(sqs, url)) == (1 if delivered else 0)


async def test_invalid_filter_policy_and_scope_change_are_checked():
    async with running_messaging() as (_, sqs, sns):
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        _, qarn = await make_queue(sqs, "q")
        with pytest.raises(CloudletError) as err:
            await sns.subscribe(
                TopicArn=topic,
                Protocol="sqs",
                Endpoint=qarn,
                Attributes={"FilterPolicy": '{"a": "not-a-list"}'},
            )
        assert err.value.code == "InvalidParameter"
        sub = (await sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn))["SubscriptionArn"]
        with pytest.raises(CloudletError) as err:  # nested policies need MessageBody scope
            await sns.set_subscription_attributes(
                SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"a": {"b": ["c"]}}'
            )
        assert err.value.code == "InvalidParameter"
        await sns.set_subscription_attributes(
            SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"a": ["c"]}'
        )
        attrs = (await sns.get_subscription_attributes(SubscriptionArn=sub))["Attributes"]
        assert attrs["FilterPolicy"] == '{"a": ["c"]}' and attrs["FilterPolicyScope"] == "MessageAttributes"
        assert attrs["PendingConfirmation"] == "false" and attrs["Protocol"] == "sqs"


async def test_lambda_subscription_receives_the_sns_event():
    async with running_messaging() as (router, _, sns):
        seen = []
        router.register_arn(FN, seen.append)
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        sub = (await sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FN))["SubscriptionArn"]
        out = await sns.publish(
            TopicArn=topic, Message="m", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
        )
        await settle(sns)
        [event] = seen
        [record] = event["Records"]
        assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
        assert record["EventSubscriptionArn"] == sub
        assert record["Sns"]["MessageId"] == out["MessageId"] and record["Sns"]["Subject"] is None
        assert record["Sns"]["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
        assert "SigningCertUrl" in record["Sns"] and "UnsubscribeUrl" in record["Sns"]


async def test_message_structure_json_per_protocol():
    async with running_messaging() as (router, sqs, sns):
        seen = []
        router.register_arn(FN, seen.append)
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        url, qarn = await make_queue(sqs, "q")
        await sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"}
        )
        await sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FN)
        message = orjson.dumps({"default": "plain", "sqs": "for queues"}).decode()
        await sns.publish(TopicArn=topic, Message=message, MessageStructure="json")
        await settle(sns)
        assert [m["Body"] for m in await drain(sqs, url)] == ["for queues"]
        assert seen[0]["Records"][0]["Sns"]["Message"] == "plain"
        with pytest.raises(CloudletError) as err:
            await sns.publish(TopicArn=topic, Message='{"sqs": "x"}', MessageStructure="json")
        assert err.value.code == "InvalidParameter"


async def test_publish_batch_per_entry_results():
    async with running_messaging() as (_, sqs, sns):
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        url, qarn = await make_queue(sqs, "q")
        await sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"}
        )
        out = await sns.publish_batch(
            TopicArn=topic,
            PublishBatchRequestEntries=[
                {"Id": "a", "Message": "one"},
                {"Id": "b", "Message": ""},
                {"Id": "c", "Message": "three"},
            ],
        )
        assert [s["Id"] for s in out["Successful"]] == ["a", "c"]
        assert out["Failed"][0]["Id"] == "b" and out["Failed"][0]["Code"] == "InvalidParameter"
        await settle(sns)
        assert sorted(m["Body"] for m in await drain(sqs, url)) == ["one", "three"]
        for entries, code in [
            ([], "EmptyBatchRequest"),
            ([{"Id": str(i), "Message": "x"} for i in range(11)], "TooManyEntriesInBatchRequest"),
            ([{"Id": "a", "Message": "x"}, {"Id": "a", "Message": "y"}], "BatchEntryIdsNotDistinct"),
            ([{"Id": "a b", "Message": "x"}], "InvalidBatchEntryId"),
        ]:
            with pytest.raises(CloudletError) as err:
                await sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
            assert err.value.code == code


async def test_fifo_topic_to_fifo_queue_keeps_order_and_deduplicates():
    async with running_messaging() as (_, sqs, sns):
        topic = (
            await sns.create_topic(
                Name="t.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
            )
        )["TopicArn"]
        url, qarn = await make_queue(sqs, "q.fifo", FifoQueue="true")
        await sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"}
        )
        with pytest.raises(CloudletError):
            await sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FN)
        with pytest.raises(CloudletError) as err:
            await sns.publish(TopicArn=topic, Message="no group")
        assert err.value.code == "InvalidParameter"
        ids = []
        for i in range(20):
            ids.append(
                (await sns.publish(TopicArn=topic, Message=f"m{i}", MessageGroupId="g"))["SequenceNumber"]
            )
        dup = await sns.publish(TopicArn=topic, Message="m0", MessageGroupId="g")
        assert dup["SequenceNumber"] == ids[0]
        await settle(sns)
        bodies = []
        while True:
            got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)).get("Messages", [])
            if not got:
                break
            for m in got:
                bodies.append(m["Body"])
                await sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        assert bodies == [f"m{i}" for i in range(20)]


async def test_unreachable_queue_goes_to_the_subscription_dlq():
    async with running_messaging() as (_, sqs, sns):
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        dlq_url, dlq_arn = await make_queue(sqs, "dlq")
        gone = f"arn:aws:sqs:us-east-1:{ACCOUNT}:missing"
        await sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=gone,
            Attributes={"RedrivePolicy": orjson.dumps({"deadLetterTargetArn": dlq_arn}).decode()},
        )
        out = await sns.publish(TopicArn=topic, Message="lost?")
        await settle(sns)
        [msg] = await drain(sqs, dlq_url, MessageAttributeNames=["All"])
        assert orjson.loads(msg["Body"])["MessageId"] == out["MessageId"]
        assert msg["MessageAttributes"]["ErrorCode"]["StringValue"] == "QueueDoesNotExist"


async def test_server_side_failures_are_retried_until_delivered():
    clock = ManualClock()
    async with running_messaging(clock=clock) as (router, _, sns):
        calls = []

        def flaky(event):
            calls.append(clock.time())
            if len(calls) <= 4:
                raise StoreError("temporarily unavailable")

        router.register_arn(FN, flaky)
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        await sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FN)
        await sns.publish(TopicArn=topic, Message="m")
        for _ in range(50):
            await asyncio.sleep(0.002)
            if len(calls) >= 4:
                break
        assert len(calls) == 4  # first try + three immediate retries
        await clock.advance(1.0)  # then retries at the minimum delay
        await settle(sns)
        assert len(calls) == 5 and calls[-1] - calls[0] == pytest.approx(1.0)


class _Recorder(http.server.BaseHTTPRequestHandler):
    status = 200
    requests: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append(({k.lower(): v for k, v in self.headers.items()}, body.decode()))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_endpoint():
    handler = type("Handler", (_Recorder,), {"requests": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()
    thread.join()


async def test_http_subscription_confirmation_then_notifications(http_endpoint):
    handler, url = http_endpoint
    async with running_messaging() as (_, _, sns):
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        assert (await sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url)) == {
            "SubscriptionArn": "pending confirmation"
        }
        await settle(sns)
        [(headers, body)] = handler.requests
        confirmation = orjson.loads(body)
        assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
        assert confirmation["Type"] == "SubscriptionConfirmation" and confirmation["TopicArn"] == topic
        query = parse_qs(urlparse(confirmation["SubscribeURL"]).query)
        assert query["Action"] == ["ConfirmSubscription"] and query["Token"] == [confirmation["Token"]]
        await sns.publish(TopicArn=topic, Message="before confirmation")
        await settle(sns)
        assert len(handler.requests) == 1
        listed = (await sns.list_subscriptions_by_topic(TopicArn=topic))["Subscriptions"]
        assert listed[0]["SubscriptionArn"] == "PendingConfirmation"
        sub = (await sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"]))["SubscriptionArn"]
        await sns.publish(TopicArn=topic, Message="after")
        await settle(sns)
        headers, body = handler.requests[1]
        assert headers["x-amz-sns-message-type"] == "Notification"
        assert headers["x-amz-sns-subscription-arn"] == sub
        assert orjson.loads(body)["Message"] == "after"


async def test_http_client_errors_are_not_retried_and_reach_the_dlq(http_endpoint):
    handler, url = http_endpoint
    handler.status = 404
    async with running_messaging() as (_, sqs, sns):
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        dlq_url, dlq_arn = await make_queue(sqs, "dlq")
        sub = (
            await sns.subscribe(
                TopicArn=topic,
                Protocol="http",
                Endpoint=url,
                Attributes={"RedrivePolicy": orjson.dumps({"deadLetterTargetArn": dlq_arn}).decode()},
                ReturnSubscriptionArn=True,
            )
        )["SubscriptionArn"]
        await settle(sns)
        token = orjson.loads(handler.requests[0][1])["Token"]
        assert (await sns.confirm_subscription(TopicArn=topic, Token=token))["SubscriptionArn"] == sub
        await sns.publish(TopicArn=topic, Message="m")
        await settle(sns)
        assert len(handler.requests) == 2  # one attempt: a 4xx is not retried
        [msg] = await drain(sqs, dlq_url)
        assert orjson.loads(msg["Body"])["Message"] == "m"


async def test_pending_deliveries_survive_a_restart(tmp_path):
    clock = ManualClock()
    store = SQLiteStore(tmp_path / "state.db")
    async with running_messaging(store=store, clock=clock) as (router, _, sns):
        router.register_arn(FN, lambda event: (_ for _ in ()).throw(StoreError("down")))
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        await sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=FN)
        out = await sns.publish(TopicArn=topic, Message="durable")
        await asyncio.sleep(0.05)
        assert sns.dispatcher.pending() == 1
    await store.close()
    store = SQLiteStore(tmp_path / "state.db")
    async with running_messaging(store=store, clock=clock) as (router, _, sns):
        seen = []
        router.register_arn(FN, seen.append)
        await clock.advance(30)
        await settle(sns)
        assert [e["Records"][0]["Sns"]["MessageId"] for e in seen] == [out["MessageId"]]
    await store.close()


async def test_unsupported_and_pending_only_protocols():
    async with running_messaging() as (_, _, sns):
        topic = (await sns.create_topic(Name="t"))["TopicArn"]
        with pytest.raises(CloudletError) as err:
            await sns.subscribe(TopicArn=topic, Protocol="firehose", Endpoint="arn:aws:firehose:x")
        assert "firehose" in err.value.message
        pending = await sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="a@example.com")
        assert pending == {"SubscriptionArn": "pending confirmation"}
        await sns.publish(TopicArn=topic, Message="m")
        assert sns.dispatcher.pending() == 0
