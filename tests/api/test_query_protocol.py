"""The query protocol: SNS as boto3 speaks it, and SQS as clients built before SQS's JSON move."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config

from cloudlet.api.models import sqs_query_model_data
from tests.api.conftest import App


def test_sns_create_list_publish(app: App) -> None:
    sns = app.client("sns")
    arn = sns.create_topic(
        Name="alerts", Attributes={"DisplayName": "Alerts"}, Tags=[{"Key": "k", "Value": "v"}]
    )["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:000000000000:alerts"
    assert app.fakes["sns"].topics[arn]["Tags"] == [{"Key": "k", "Value": "v"}]
    assert {"TopicArn": arn} in sns.list_topics()["Topics"]
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes == {"TopicArn": arn, "DisplayName": "Alerts"}
    message_id = sns.publish(
        TopicArn=arn,
        Message="<hello & goodbye>",
        Subject="s",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": "3"}},
    )["MessageId"]
    assert message_id.startswith("p-")
    published = app.fakes["sns"].published[-1]
    assert published["Message"] == "<hello & goodbye>"
    assert published["MessageAttributes"] == {"n": {"DataType": "Number", "StringValue": "3"}}


def test_sns_error_is_query_xml_with_modeled_code(app: App) -> None:
    sns = app.client("sns")
    with pytest.raises(sns.exceptions.NotFoundException) as caught:
        sns.get_topic_attributes(TopicArn="arn:aws:sns:us-east-1:000000000000:none")
    response = caught.value.response
    assert response["Error"] == {"Type": "Sender", "Code": "NotFound", "Message": "Topic does not exist"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["RequestId"]


def test_sns_unknown_action_is_invalid_action(app: App) -> None:
    sns = app.client("sns")
    with pytest.raises(sns.exceptions.ClientError) as caught:
        sns.list_subscriptions()
    assert caught.value.response["Error"]["Code"] == "NotImplemented"
    import urllib.request

    request = urllib.request.Request(
        app.url + "/",
        data=b"Action=NoSuchThing&Version=2010-03-31",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(request, timeout=10)
    body = http_error.value.read().decode()
    http_error.value.close()
    assert "<Code>InvalidAction</Code>" in body


@pytest.fixture(scope="module")
def query_sqs_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[boto3.Session]:
    """A boto3 session whose SQS model speaks the query protocol, as SDKs before 2024 did."""
    root: Path = tmp_path_factory.mktemp("models")
    loader = botocore.session.get_session().get_component("data_loader")
    raw = loader.load_service_model("sqs", "service-2")
    folder = root / "sqs" / raw["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(sqs_query_model_data(raw)))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(root))
    yield boto3.Session(botocore_session=session)


def _query_client(session: boto3.Session, app: App) -> object:
    client = session.client(
        "sqs",
        endpoint_url=app.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    assert client.meta.service_model.protocol == "query"
    app.clients.append(client)  # closed with the app
    return client


def test_sqs_over_the_query_protocol(app: App, query_sqs_session: boto3.Session) -> None:
    sqs = _query_client(query_sqs_session, app)
    url = sqs.create_queue(QueueName="legacy", Attributes={"VisibilityTimeout": "5"})["QueueUrl"]  # type: ignore[attr-defined]
    assert app.fakes["sqs"].queues["legacy"]["attributes"] == {"VisibilityTimeout": "5"}
    sqs.send_message(  # type: ignore[attr-defined]
        QueueUrl=url,
        MessageBody="a & <b>",
        MessageAttributes={"bin": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}},
    )
    batch = sqs.send_message_batch(  # type: ignore[attr-defined]
        QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}, {"Id": "2", "MessageBody": "y"}]
    )
    assert [e["Id"] for e in batch["Successful"]] == ["1", "2"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])[
        "Messages"
    ]  # type: ignore[attr-defined]
    assert [m["Body"] for m in messages] == ["a & <b>", "x", "y"]
    assert messages[0]["MessageAttributes"]["bin"] == {"DataType": "Binary", "BinaryValue": b"\x01\x02"}
    assert messages[0]["Attributes"] == {"SentTimestamp": "1700000000000"}
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]  # type: ignore[attr-defined]
    assert attributes["ApproximateNumberOfMessages"] == "3"
    assert url in sqs.list_queues(QueueNamePrefix="leg")["QueueUrls"]  # type: ignore[attr-defined]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])  # type: ignore[attr-defined]


def test_sqs_query_errors_use_the_legacy_codes(app: App, query_sqs_session: boto3.Session) -> None:
    sqs = _query_client(query_sqs_session, app)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:  # type: ignore[attr-defined]
        sqs.get_queue_url(QueueName="missing")  # type: ignore[attr-defined]
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert caught.value.response["Error"]["Type"] == "Sender"


def test_missing_required_parameter_is_validation_error_in_query(app: App) -> None:
    sns = app.client("sns", config=Config(parameter_validation=False))
    with pytest.raises(sns.exceptions.ClientError) as caught:
        sns.create_topic()
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"] == (
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_sqs_query_request_posted_to_the_queue_url(app: App) -> None:
    import urllib.request

    app.client("sqs").create_queue(QueueName="posted")
    request = urllib.request.Request(
        f"{app.url}/000000000000/posted",
        data=b"Action=SendMessage&Version=2012-11-05&MessageBody=from+an+old+client",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
    assert body.startswith(
        '<?xml version="1.0"?>\n<SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
    )
    assert "<SendMessageResult><MD5OfMessageBody>" in body
    assert "<ResponseMetadata><RequestId>" in body
    assert app.fakes["sqs"].queues["posted"]["messages"][-1]["Body"] == "from an old client"
