"""Scalar conversions shared by the protocols: timestamps, blobs, booleans, numbers.

https://smithy.io/2.0/spec/protocol-traits.html#timestampformat-trait
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from cloudlet.errors import ValidationError


def parse_timestamp(value: Any) -> datetime:
    """A timestamp from the wire (epoch seconds, ISO 8601 or RFC 822) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError):
                raise ValidationError(f"Invalid timestamp: '{value}'") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValidationError(f"Invalid timestamp: '{value}'")


def format_timestamp(value: Any, fmt: str) -> Any:
    """A timestamp for the wire in ``fmt`` (unixTimestamp, iso8601 or rfc822)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if fmt == "unixTimestamp":
            return value
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        moment = parse_timestamp(value)
    else:
        raise TypeError(f"not a timestamp: {value!r}")
    if fmt == "unixTimestamp":
        return round(moment.timestamp(), 3)
    if fmt == "rfc822":
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def decode_blob(value: Any) -> bytes:
    """A base64 blob from the wire."""
    if isinstance(value, bytes):
        return value
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, TypeError, ValueError):
        raise ValidationError("Invalid base64 value") from None


def encode_blob(value: Any) -> str:
    """A blob for the wire as base64 text (text values are taken as UTF-8)."""
    if isinstance(value, str):
        value = value.encode()
    return base64.b64encode(value).decode("ascii")


def parse_boolean(text: str) -> bool:
    """``true`` / ``false`` in any case."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValidationError(f"Invalid boolean value: '{text}'")


def parse_number(text: str, type_name: str) -> int | float:
    """An integer, long, float or double from a text field."""
    try:
        if type_name in ("integer", "long", "short", "byte"):
            return int(text)
        return float(text)
    except ValueError:
        raise ValidationError(f"Invalid {type_name} value: '{text}'") from None


def format_scalar_text(value: Any, type_name: str, timestamp_format: str) -> str:
    """A scalar as text, for headers, query strings and XML."""
    if type_name == "boolean":
        return "true" if value else "false"
    if type_name == "timestamp":
        return str(format_timestamp(value, timestamp_format))
    if type_name == "blob":
        return encode_blob(value)
    return str(value)
