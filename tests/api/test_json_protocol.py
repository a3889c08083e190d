"""boto3 against the json protocol (SQS, Step Functions, EventBridge) on fake services."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.api.conftest import App


def test_sqs_send_receive_delete_round_trip(app: App) -> None:
    sqs = app.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert url.endswith("/000000000000/orders")
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff\x10"},
            "name": {"DataType": "String", "StringValue": "x"},
        },
    )
    received = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert [m["MessageId"] for m in received] == [sent["MessageId"]]
    assert received[0]["Body"] == "hello"
    # A blob travels base64 both ways and reaches the caller as the same bytes.
    assert received[0]["MessageAttributes"]["raw"]["BinaryValue"] == b"\x00\xff\x10"
    assert app.fakes["sqs"].queues["orders"]["messages"][0]["MessageAttributes"]["raw"]["BinaryValue"] == (
        b"\x00\xff\x10"
    )
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_sqs_modeled_errors_raise_their_exception_classes(app: App) -> None:
    sqs = app.client("sqs")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName="missing")
    error = caught.value.response["Error"]
    # The legacy query code is what scripts compare against; the class comes from the shape.
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["Message"] == "The specified queue does not exist."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    url = sqs.create_queue(QueueName="errs")["QueueUrl"]
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="bogus")


def test_states_timestamps_round_trip_as_datetimes(app: App) -> None:
    sfn = app.client("stepfunctions")
    created = sfn.create_state_machine(
        name="echo", definition="{}", roleArn="arn:aws:iam::000000000000:role/r"
    )
    assert created["creationDate"] == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    described = sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described["creationDate"] == created["creationDate"]
    started = sfn.start_execution(stateMachineArn=created["stateMachineArn"], name="one", input='{"a": 1}')
    execution = sfn.describe_execution(executionArn=started["executionArn"])
    assert execution["startDate"] == started["startDate"]
    assert abs((execution["startDate"] - datetime.now(UTC)).total_seconds()) < 60


def test_start_sync_execution_through_its_host_prefixed_operation(app: App) -> None:
    sfn = app.client("stepfunctions")
    arn = sfn.create_state_machine(name="sync", definition="{}", roleArn="arn:aws:iam::000000000000:role/r")[
        "stateMachineArn"
    ]
    result = sfn.start_sync_execution(stateMachineArn=arn, input='{"k": "v"}')
    assert result["status"] == "SUCCEEDED"
    assert result["output"] == '{"k": "v"}'
    assert result["stopDate"] >= result["startDate"]


def test_states_modeled_and_unmodeled_errors(app: App) -> None:
    sfn = app.client("stepfunctions")
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist) as caught:
        sfn.describe_state_machine(stateMachineArn="arn:aws:states:us-east-1:000000000000:stateMachine:nope")
    assert "State Machine Does Not Exist" in caught.value.response["Error"]["Message"]
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.describe_execution(executionArn="arn:aws:states:us-east-1:000000000000:execution:nope:x")


def test_put_events_passes_entries_through(app: App) -> None:
    events = app.client("events")
    result = events.put_events(
        Entries=[
            {
                "Source": "shop",
                "DetailType": "order",
                "Detail": '{"id": 1}',
                "Time": datetime(2024, 5, 6, tzinfo=UTC),
            },
            {"Source": "shop", "DetailType": "order", "Detail": '{"id": 2}'},
        ]
    )
    assert result["FailedEntryCount"] == 0
    assert len(result["Entries"]) == 2
    recorded = app.fakes["events"].entries[-2:]
    # Timestamps reach the service as aware datetimes.
    assert recorded[0]["Time"] == datetime(2024, 5, 6, tzinfo=UTC)
    assert recorded[1]["Detail"] == '{"id": 2}'


def test_operation_a_service_does_not_implement_is_a_clear_error(app: App) -> None:
    events = app.client("events")
    with pytest.raises(ClientError) as caught:
        events.list_rules()
    assert caught.value.response["Error"]["Code"] == "NotImplemented"
    assert "events:ListRules" in caught.value.response["Error"]["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_service_not_running_is_unknown_operation(app: App) -> None:
    kinesis = app.client("kinesis")
    with pytest.raises(ClientError) as caught:
        kinesis.list_streams()
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"


def test_missing_required_member_is_a_validation_error(app: App) -> None:
    sfn = app.client("stepfunctions", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as caught:
        sfn.start_execution(input="{}")
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: "
        "Member must not be null"
    )
    # SQS keeps the query protocol's wording.
    sqs = app.client("sqs", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=f"{app.url}/000000000000/orders")
    error = caught.value.response["Error"]
    assert error["Code"] == "MissingParameter"
    assert error["Message"] == "The request must contain the parameter MessageBody."


def test_malformed_json_body_is_a_serialization_error(app: App) -> None:
    import urllib.request

    request = urllib.request.Request(
        app.url + "/",
        data=b"{not json",
        headers={"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    caught.value.close()
    assert caught.value.code == 400
    assert caught.value.headers["x-amzn-errortype"] == "SerializationException"


def test_health_lists_registered_services(app: App) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(app.url + "/_cloudlet/health", timeout=10) as response:
        body = json.loads(response.read())
    assert body["services"] == ["events", "lambda", "sns", "sqs", "states"]


def test_body_of_the_wrong_shape_is_a_serialization_error(app: App) -> None:
    import urllib.request

    body = json.dumps({"QueueUrl": "x", "MessageBody": "y", "MessageAttributes": ["not", "a", "map"]})
    request = urllib.request.Request(
        app.url + "/",
        data=body.encode(),
        headers={"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    caught.value.close()
    assert caught.value.code == 400
    assert caught.value.headers["x-amzn-errortype"] == "SerializationException"
