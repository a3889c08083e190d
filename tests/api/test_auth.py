"""SigV4: off by default, and when keys are configured, AWS's errors for bad or missing signatures."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudlet.api import ApiConfig
from tests.api.conftest import App, start_app


@pytest.fixture(scope="module")
def secured() -> Iterator[App]:
    app, _ = start_app(ApiConfig(port=0, access_keys={"AKIDCLOUDLET": "s3cret"}))
    yield app
    app.close()


def test_valid_signature_is_accepted(secured: App) -> None:
    sqs = secured.client("sqs", aws_access_key_id="AKIDCLOUDLET", aws_secret_access_key="s3cret")
    url = sqs.create_queue(QueueName="signed")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="payload with spaces & symbols")
    sns = secured.client("sns", aws_access_key_id="AKIDCLOUDLET", aws_secret_access_key="s3cret")
    assert sns.create_topic(Name="signed")["TopicArn"].endswith(":signed")
    lam = secured.client("lambda", aws_access_key_id="AKIDCLOUDLET", aws_secret_access_key="s3cret")
    arn = secured.fakes["lambda"].add("signedfn", lambda event: event)
    # An ARN in the path is percent-encoded; the signature covers the encoded path and query.
    result = lam.invoke(FunctionName=arn, Payload=b'{"a": "b c"}', Qualifier="$LATEST")
    assert result["Payload"].read() == b'{"a":"b c"}'


def test_wrong_secret_is_invalid_signature(secured: App) -> None:
    sqs = secured.client("sqs", aws_access_key_id="AKIDCLOUDLET", aws_secret_access_key="wrong")
    with pytest.raises(ClientError) as caught:
        sqs.list_queues()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    sns = secured.client("sns", aws_access_key_id="AKIDCLOUDLET", aws_secret_access_key="wrong")
    with pytest.raises(ClientError) as caught:
        sns.list_topics()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_unknown_access_key_is_unrecognized_client(secured: App) -> None:
    events = secured.client("events", aws_access_key_id="AKIDOTHER", aws_secret_access_key="s3cret")
    with pytest.raises(ClientError) as caught:
        events.put_events(Entries=[{"Source": "a", "DetailType": "b", "Detail": "{}"}])
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    sns = secured.client("sns", aws_access_key_id="AKIDOTHER", aws_secret_access_key="s3cret")
    with pytest.raises(ClientError) as caught:
        sns.list_topics()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    lam = secured.client("lambda", aws_access_key_id="AKIDOTHER", aws_secret_access_key="s3cret")
    with pytest.raises(ClientError) as caught:
        lam.list_functions()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_unsigned_request_is_missing_token(secured: App) -> None:
    from botocore import UNSIGNED

    sqs = secured.client("sqs", config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as caught:
        sqs.list_queues()
    assert caught.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"


def test_malformed_authorization_is_incomplete_signature(secured: App) -> None:
    request = urllib.request.Request(
        secured.url + "/",
        data=b"{}",
        headers={
            "X-Amz-Target": "AmazonSQS.ListQueues",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDCLOUDLET/20240101/us-east-1/sqs/aws4_request",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    caught.value.close()
    assert caught.value.code == 400
    assert caught.value.headers["x-amzn-errortype"] == "IncompleteSignatureException"


def test_auth_is_off_by_default(app: App) -> None:
    from botocore import UNSIGNED

    sqs = app.client("sqs", config=Config(signature_version=UNSIGNED))
    sqs.create_queue(QueueName="anonymous")
    assert "anonymous" in app.fakes["sqs"].queues


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def test_presigned_urls(secured: App) -> None:
    import time

    sns = secured.client("sns", aws_access_key_id="AKIDCLOUDLET", aws_secret_access_key="s3cret")
    sns.create_topic(Name="presigned")
    url = sns.generate_presigned_url("list_topics", ExpiresIn=60)
    status, body = _get(url)
    assert status == 200
    assert ":presigned</TopicArn>" in body
    status, body = _get(url.replace("Action=ListTopics", "Action=ListSubscriptions"))
    assert status == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in body
    wrong = secured.client("sns", aws_access_key_id="AKIDCLOUDLET", aws_secret_access_key="nope")
    status, body = _get(wrong.generate_presigned_url("list_topics", ExpiresIn=60))
    assert "<Code>SignatureDoesNotMatch</Code>" in body
    expiring = sns.generate_presigned_url("list_topics", ExpiresIn=1)
    time.sleep(2.1)
    status, body = _get(expiring)
    assert status == 403
    assert "<Code>AccessDenied</Code>" in body
    assert "Request has expired" in body
