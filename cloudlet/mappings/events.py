"""The events Lambda hands a function for a batch: SQS and Kinesis shapes, failure records.

Pure functions from API responses to Lambda's documented event shapes:
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html#services-kinesis-event-example
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson

#: Message system attributes that appear in an SQS event record's ``attributes``.
SQS_EVENT_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "AWSTraceHeader",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
)


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ``ReceiveMessage`` message as a record of Lambda's SQS event."""
    system = message.get("Attributes") or {}
    attributes = {k: system[k] for k in SQS_EVENT_ATTRIBUTES if k in system}
    message_attributes = {}
    for name, attr in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {}
        if "BinaryValue" in attr:
            entry["binaryValue"] = base64.b64encode(attr["BinaryValue"]).decode()
        else:
            entry["stringValue"] = attr.get("StringValue")
        entry.update(stringListValues=[], binaryListValues=[], dataType=attr["DataType"])
        message_attributes[name] = entry
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message["MD5OfBody"],
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update(eventSource="aws:sqs", eventSourceARN=queue_arn, awsRegion=region)
    return record


def kinesis_record(
    record: dict[str, Any], shard_id: str, stream_arn: str, region: str, role_arn: str
) -> dict[str, Any]:
    """One ``GetRecords`` record as a record of Lambda's Kinesis event."""
    arrival = record["ApproximateArrivalTimestamp"]
    seconds = arrival.timestamp() if isinstance(arrival, datetime) else float(arrival)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": record["SequenceNumber"],
            "data": base64.b64encode(record["Data"]).decode(),
            "approximateArrivalTimestamp": round(seconds, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{record['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def filter_view(record: dict[str, Any], source: str) -> dict[str, Any]:
    """What FilterCriteria patterns are matched against: the record with its body/data decoded.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
    """
    if source == "sqs":
        view = dict(record)
        view["body"] = _json_or_text(record["body"])
        return view
    view = dict(record["kinesis"])
    try:
        view["data"] = _json_or_text(base64.b64decode(view["data"]).decode())
    except UnicodeDecodeError:
        pass
    return view


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def iso(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def stream_failure_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    shard_id: str,
    stream_arn: str,
    records: list[dict[str, Any]],
    now: float,
    error: str | None,
) -> dict[str, Any]:
    """The invocation record Lambda sends to an OnFailure destination for a stream batch."""
    first, last = records[0], records[-1]

    def arrival(r: dict[str, Any]) -> str:
        value = r["ApproximateArrivalTimestamp"]
        return iso(value.timestamp() if isinstance(value, datetime) else float(value))

    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if error:
        response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso(now),
        "KinesisBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrival(first),
            "approximateArrivalOfLastRecord": arrival(last),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
