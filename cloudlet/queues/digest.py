"""The MD5 digests SQS returns: of the body, of message attributes, of system attributes.

Attributes are digested in SQS's binary encoding: for each attribute, sorted by name, the
name, the data type, one transport byte (1 for String and Number types, 2 for Binary) and the
value, each string or blob preceded by its length as a 4-byte big-endian integer.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html#sqs-attributes-md5-message-digest-calculation
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

_STRING = b"\x01"
_BINARY = b"\x02"


def md5_of_body(body: str) -> str:
    """MD5OfMessageBody: hex MD5 of the UTF-8 body."""
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def _chunk(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _as_bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str | None:
    """MD5OfMessageAttributes (or ...SystemAttributes) of API-shaped attributes; None when empty.

    Each value is ``{"DataType": ..., "StringValue": ...}`` or ``{"DataType": ..., "BinaryValue": bytes}``
    (list values are encoded the same way, one entry per element, as SQS reserves them).
    """
    if not attributes:
        return None
    out = bytearray()
    for name in sorted(attributes):
        attr = attributes[name]
        data_type = attr["DataType"]
        out += _chunk(name.encode("utf-8"))
        out += _chunk(data_type.encode("utf-8"))
        if attr.get("StringValue") is not None:
            out += _STRING + _chunk(attr["StringValue"].encode("utf-8"))
        elif attr.get("BinaryValue") is not None:
            out += _BINARY + _chunk(_as_bytes(attr["BinaryValue"]))
        elif attr.get("StringListValues"):
            out += b"\x03"
            for item in attr["StringListValues"]:
                out += _chunk(item.encode("utf-8"))
        elif attr.get("BinaryListValues"):
            out += b"\x04"
            for item in attr["BinaryListValues"]:
                out += _chunk(_as_bytes(item))
    return hashlib.md5(bytes(out), usedforsecurity=False).hexdigest()
