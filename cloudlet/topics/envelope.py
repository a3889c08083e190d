"""The JSON documents SNS delivers: the notification envelope, confirmations, Lambda's event.

https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html

``Signature`` is present with the shape AWS uses, but it is a digest made by cloudlet, not an
RSA signature by AWS's certificate: code that verifies SNS signatures against AWS's
certificates must skip verification when talking to cloudlet.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

#: SNS's API version; the URLs carry it so that an unsigned GET reaches SNS on cloudlet's endpoint.
API_VERSION = "2010-03-31"


@dataclass(frozen=True, slots=True)
class Notification:
    """One published message as a subscription sees it."""

    message_id: str
    topic_arn: str
    message: str
    subject: str | None
    timestamp: float
    attributes: dict[str, Any]
    sequence_number: str | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    #: Published with MessageStructure ``json``: ``message`` holds one text per protocol.
    structured: bool = False


def iso_timestamp(seconds: float) -> str:
    """``2012-04-25T21:49:25.719Z``: SNS's timestamp format."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def envelope_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """MessageAttributes as the envelope writes them: ``{"name": {"Type": ..., "Value": ...}}``."""
    out = {}
    for name, attr in attributes.items():
        if "BinaryValue" in attr:
            value = base64.b64encode(attr["BinaryValue"]).decode()
        else:
            value = attr.get("StringValue")
        out[name] = {"Type": attr["DataType"], "Value": value}
    return out


def _signature(fields: dict[str, Any]) -> str:
    text = "\n".join(f"{k}\n{v}" for k, v in fields.items() if v is not None)
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def notification_envelope(note: Notification, subscription_arn: str, endpoint: str) -> dict[str, Any]:
    """The ``Type: Notification`` document delivered to SQS (non-raw) and HTTP(S) endpoints."""
    doc: dict[str, Any] = {"Type": "Notification", "MessageId": note.message_id}
    if note.sequence_number:
        doc["SequenceNumber"] = note.sequence_number
    doc["TopicArn"] = note.topic_arn
    if note.subject is not None:
        doc["Subject"] = note.subject
    doc["Message"] = note.message
    doc["Timestamp"] = iso_timestamp(note.timestamp)
    doc["SignatureVersion"] = "1"
    doc["Signature"] = _signature(doc)
    doc["SigningCertURL"] = signing_cert_url(endpoint)
    doc["UnsubscribeURL"] = unsubscribe_url(endpoint, subscription_arn)
    if note.attributes:
        doc["MessageAttributes"] = envelope_attributes(note.attributes)
    return doc


def lambda_event(note: Notification, subscription_arn: str, endpoint: str) -> dict[str, Any]:
    """The event a Lambda function subscribed to a topic receives."""
    sns = {
        "Type": "Notification",
        "MessageId": note.message_id,
        "TopicArn": note.topic_arn,
        "Subject": note.subject,
        "Message": note.message,
        "Timestamp": iso_timestamp(note.timestamp),
        "SignatureVersion": "1",
        "Signature": _signature({"MessageId": note.message_id, "Message": note.message}),
        "SigningCertUrl": signing_cert_url(endpoint),
        "UnsubscribeUrl": unsubscribe_url(endpoint, subscription_arn),
        "MessageAttributes": envelope_attributes(note.attributes),
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": sns,
            }
        ]
    }


def confirmation_envelope(
    kind: str, *, message_id: str, topic_arn: str, token: str, timestamp: float, endpoint: str
) -> dict[str, Any]:
    """``SubscriptionConfirmation`` / ``UnsubscribeConfirmation`` for HTTP(S) endpoints."""
    arn_q, token_q = quote(topic_arn, safe=""), quote(token, safe="")
    subscribe_url = (
        f"{endpoint}/?Action=ConfirmSubscription&TopicArn={arn_q}&Token={token_q}&Version={API_VERSION}"
    )
    if kind == "SubscriptionConfirmation":
        text = (
            f"You have chosen to subscribe to the topic {topic_arn}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        )
    else:
        text = (
            f"You have chosen to deactivate subscription {topic_arn}.\n"
            "To cancel this operation and restore the subscription, visit the SubscribeURL included "
            "in this message."
        )
    doc: dict[str, Any] = {
        "Type": kind,
        "MessageId": message_id,
        "Token": token,
        "TopicArn": topic_arn,
        "Message": text,
        "SubscribeURL": subscribe_url,
        "Timestamp": iso_timestamp(timestamp),
        "SignatureVersion": "1",
    }
    doc["Signature"] = _signature(doc)
    doc["SigningCertURL"] = signing_cert_url(endpoint)
    return doc


def signing_cert_url(endpoint: str) -> str:
    return f"{endpoint}/_cloudlet/sns/SimpleNotificationService.pem"


def unsubscribe_url(endpoint: str, subscription_arn: str) -> str:
    arn_q = quote(subscription_arn, safe="")
    return f"{endpoint}/?Action=Unsubscribe&SubscriptionArn={arn_q}&Version={API_VERSION}"
