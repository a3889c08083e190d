"""Validation of queue attributes and of message attributes, with SQS's limits and messages.

https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from cloudlet.queues.errors import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidMessageContents,
    InvalidParameterValue,
)

#: Integer attributes: (minimum, maximum, default).
INTEGER_ATTRIBUTES: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 900, 0),
    "MaximumMessageSize": (1024, 1_048_576, 1_048_576),
    "MessageRetentionPeriod": (60, 1_209_600, 345_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "VisibilityTimeout": (0, 43_200, 30),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400, 300),
}
BOOLEAN_ATTRIBUTES = {"SqsManagedSseEnabled", "ContentBasedDeduplication", "FifoQueue"}
FIFO_ONLY = {"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}
ENUM_ATTRIBUTES = {
    "DeduplicationScope": {"messageGroup", "queue"},
    "FifoThroughputLimit": {"perQueue", "perMessageGroupId"},
}
JSON_ATTRIBUTES = {"Policy", "RedrivePolicy", "RedriveAllowPolicy"}
STRING_ATTRIBUTES = {"KmsMasterKeyId"}
SETTABLE = (
    set(INTEGER_ATTRIBUTES) | BOOLEAN_ATTRIBUTES | set(ENUM_ATTRIBUTES) | JSON_ATTRIBUTES | STRING_ATTRIBUTES
)
READ_ONLY = {
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
}
ALL_NAMES = SETTABLE | READ_ONLY

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_FIFO_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")
_ATTR_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")


def validate_queue_name(name: str, fifo: bool) -> None:
    """Raise InvalidParameterValue unless ``name`` is a valid standard or FIFO queue name."""
    if fifo:
        if not _FIFO_NAME.match(name):
            raise InvalidParameterValue(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
                "underscores, must end with .fifo suffix and be 1 to 80 in length."
            )
    elif not _QUEUE_NAME.match(name):
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )


def default_attributes(fifo: bool) -> dict[str, str]:
    """The settable attributes a new queue starts with."""
    out = {name: str(default) for name, (_, _, default) in INTEGER_ATTRIBUTES.items()}
    out["SqsManagedSseEnabled"] = "true"
    if fifo:
        out.update(
            FifoQueue="true",
            ContentBasedDeduplication="false",
            DeduplicationScope="queue",
            FifoThroughputLimit="perQueue",
        )
    return out


def normalize(name: str, value: Any, *, fifo: bool, creating: bool) -> str:
    """Validate one settable attribute and return its stored string form."""
    if name in READ_ONLY or name not in SETTABLE:
        raise InvalidAttributeName(f"Unknown Attribute {name}.")
    if name in FIFO_ONLY and not fifo:
        raise InvalidAttributeName(f"Unknown Attribute {name}.")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if name == "FifoQueue":
        if not creating:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        return text
    if name in INTEGER_ATTRIBUTES:
        low, high, _ = INTEGER_ATTRIBUTES[name]
        try:
            number = int(text)
        except ValueError:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.") from None
        if not low <= number <= high:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        return str(number)
    if name in BOOLEAN_ATTRIBUTES:
        if text.lower() not in ("true", "false"):
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        return text.lower()
    if name in ENUM_ATTRIBUTES:
        if text not in ENUM_ATTRIBUTES[name]:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        return text
    if name in JSON_ATTRIBUTES:
        if text == "":
            return ""
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.") from None
        if name == "RedrivePolicy":
            return orjson.dumps(parse_redrive_policy(doc)).decode()
        if name == "RedriveAllowPolicy":
            return orjson.dumps(parse_redrive_allow_policy(doc)).decode()
        return text
    return text


def parse_redrive_policy(doc: Any) -> dict[str, Any]:
    """Validate a RedrivePolicy document: ``{"deadLetterTargetArn": ARN, "maxReceiveCount": N}``."""
    if not isinstance(doc, dict):
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a dict."
        )
    unknown = set(doc) - {"deadLetterTargetArn", "maxReceiveCount"}
    if unknown:
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedrivePolicy. Reason: Only following attributes are "
            "supported: [deadLetterTargetArn, maxReceiveCount]."
        )
    if "deadLetterTargetArn" not in doc or "maxReceiveCount" not in doc:
        raise InvalidAttributeValue(
            "Value {} for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain "
            "mandatory attribute: "
            + ("deadLetterTargetArn." if "deadLetterTargetArn" not in doc else "maxReceiveCount.")
        )
    try:
        count = int(doc["maxReceiveCount"])
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= 1000:
        raise InvalidAttributeValue(
            "Value for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: "
            f"{doc['maxReceiveCount']}, valid values are from 1 to 1000 both inclusive."
        )
    return {"deadLetterTargetArn": str(doc["deadLetterTargetArn"]), "maxReceiveCount": count}


def parse_redrive_allow_policy(doc: Any) -> dict[str, Any]:
    """Validate a RedriveAllowPolicy: redrivePermission allowAll, denyAll or byQueue (+ sourceQueueArns)."""
    if not isinstance(doc, dict) or doc.get("redrivePermission") not in ("allowAll", "denyAll", "byQueue"):
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't create the "
            "redrive allow policy, as it's in an unsupported format."
        )
    arns = doc.get("sourceQueueArns")
    if doc["redrivePermission"] == "byQueue":
        if not isinstance(arns, list) or not 1 <= len(arns) <= 10:
            raise InvalidAttributeValue(
                "Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't create the "
                "redrive allow policy. When you specify the byQueue permission type, you must also specify "
                "one or more sourceQueueArns values."
            )
    elif arns:
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't create the "
            "redrive allow policy. To specify one or more source queues, you must specify the byQueue "
            "permission type."
        )
    out: dict[str, Any] = {"redrivePermission": doc["redrivePermission"]}
    if arns:
        out["sourceQueueArns"] = [str(a) for a in arns]
    return out


# -- message attributes -------------------------------------------------------------------------

MAX_MESSAGE_ATTRIBUTES = 10
_SYSTEM_ATTRIBUTES = {"AWSTraceHeader"}


def validate_message_attributes(
    attributes: Mapping[str, Any] | None, *, system: bool = False
) -> dict[str, Any]:
    """Check MessageAttributes (or MessageSystemAttributes) as SQS does; return them API-shaped."""
    if not attributes:
        return {}
    kind = "system" if system else "user"
    if not system and len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise InvalidParameterValue(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_MESSAGE_ATTRIBUTES}]."
        )
    out: dict[str, Any] = {}
    for name, attr in attributes.items():
        if system and name not in _SYSTEM_ATTRIBUTES:
            raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
        if not system:
            _check_attribute_name(name)
        if not isinstance(attr, Mapping):
            raise InvalidParameterValue(f"The message ({kind}) attribute '{name}' is invalid.")
        data_type = attr.get("DataType")
        if not data_type:
            raise InvalidParameterValue(
                f"The message ({kind}) attribute '{name}' must contain a non-empty message attribute type."
            )
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary") or len(data_type) > 256:
            raise InvalidParameterValue(
                f"The type of message ({kind}) attribute '{name}' is invalid. You must use only the "
                "following supported type prefixes: Binary, Number, String."
            )
        if system and data_type != "String":
            raise InvalidParameterValue(f"{name} must be a String.")
        if attr.get("StringListValues") or attr.get("BinaryListValues"):
            raise InvalidParameterValue(
                f"Message ({kind}) attribute '{name}' uses StringListValues/BinaryListValues, which "
                "SQS reserves."
            )
        entry: dict[str, Any] = {"DataType": data_type}
        if base == "Binary":
            value = attr.get("BinaryValue")
            if value is None or len(value) == 0:
                raise InvalidParameterValue(
                    f"The message ({kind}) attribute '{name}' must contain a non-empty value of "
                    f"message attribute type '{data_type}'."
                )
            entry["BinaryValue"] = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        else:
            text = attr.get("StringValue")
            if text is None or text == "":
                raise InvalidParameterValue(
                    f"The message ({kind}) attribute '{name}' must contain a non-empty value of "
                    f"message attribute type '{data_type}'."
                )
            if base == "Number":
                _check_number(name, text)
            check_characters(text, what=f"message attribute '{name}'")
            entry["StringValue"] = text
        out[name] = entry
    return out


def _check_attribute_name(name: str) -> None:
    if not _ATTR_NAME.match(name) or name.startswith(".") or name.endswith(".") or ".." in name:
        raise InvalidParameterValue(
            f"Message (user) attribute name '{name}' is invalid. The attribute name can contain "
            "only the characters A-Z, a-z, 0-9, underscore (_), hyphen (-) and period (.), can be "
            "at most 256 characters long, and can't start or end with a period or contain two "
            "consecutive periods."
        )
    lowered = name.lower()
    if lowered.startswith(("aws.", "amazon.")):
        raise InvalidParameterValue(
            f"Message (user) attribute name '{name}' is invalid because it starts with a reserved prefix."
        )


def _check_number(name: str, text: str) -> None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InvalidParameterValue(f"Can't cast the value of message (user) attribute '{name}' to a number.")
    digits = len(number.as_tuple().digits)
    if digits > 38 or not Decimal("-1e128") <= number <= Decimal("1e126"):
        raise InvalidParameterValue(
            f"Value of message (user) attribute '{name}' is out of range: numbers can have up to 38 "
            "digits of precision and be between 10^-128 and 10^+126."
        )


_BAD_CHARS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_characters(text: str, *, what: str = "the message body") -> None:
    """SQS accepts only #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF."""
    bad = _BAD_CHARS.search(text)
    if bad:
        raise InvalidMessageContents(
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in {what}, the set of "
            "allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
        )


def attributes_size(attributes: Mapping[str, Any]) -> int:
    """Bytes that message attributes count toward the maximum message size (name, type, value)."""
    size = 0
    for name, attr in attributes.items():
        size += len(name.encode()) + len(attr["DataType"].encode())
        if "BinaryValue" in attr:
            size += len(attr["BinaryValue"])
        else:
            size += len(attr["StringValue"].encode())
    return size
