"""rest-json through boto3's Lambda client: raw payloads, invocation headers, status codes."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.conftest import App


def _boom(event: dict) -> dict:
    raise ValueError(f"bad input {event['n']}")


def test_invoke_request_response_with_tail_log(app: App) -> None:
    app.fakes["lambda"].add("echo", lambda event: {"got": event})
    client = app.client("lambda")
    result = client.invoke(FunctionName="echo", Payload=b'{"x": [1, 2]}', LogType="Tail", Qualifier="7")
    assert result["StatusCode"] == 200
    assert json.loads(result["Payload"].read()) == {"got": {"x": [1, 2]}}
    assert result["ExecutedVersion"] == "7"
    assert base64.b64decode(result["LogResult"]).startswith(b"START RequestId")
    assert "FunctionError" not in result


def test_invoke_by_arn_and_event_invocation(app: App) -> None:
    arn = app.fakes["lambda"].add("later", lambda event: event)
    client = app.client("lambda")
    result = client.invoke(FunctionName=arn, InvocationType="Event", Payload=b'{"queued": true}')
    assert result["StatusCode"] == 202
    assert result["Payload"].read() == b""
    assert app.fakes["lambda"].events[-1] == {"queued": True}
    assert client.invoke(FunctionName=arn, InvocationType="DryRun")["StatusCode"] == 204


def test_function_error_is_a_200_with_the_error_header(app: App) -> None:
    app.fakes["lambda"].add("boom", _boom)
    client = app.client("lambda")
    result = client.invoke(FunctionName="boom", Payload=b'{"n": 3}')
    assert result["StatusCode"] == 200
    assert result["FunctionError"] == "Unhandled"
    assert json.loads(result["Payload"].read())["errorMessage"] == "bad input 3"


def test_missing_function_raises_resource_not_found(app: App) -> None:
    client = app.client("lambda")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.invoke(FunctionName="nope", Payload=b"{}")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert caught.value.response["Error"]["Message"].startswith("Function not found: arn:aws:lambda")


def test_path_routing_reaches_get_and_list_operations(app: App) -> None:
    app.fakes["lambda"].add("listed", lambda event: event)
    client = app.client("lambda")
    config = client.get_function(FunctionName="listed")["Configuration"]
    assert config["FunctionArn"].endswith(":function:listed")
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert "listed" in names
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.get_account_settings()
    assert caught.value.response["Error"]["Code"] == "NotImplemented"
