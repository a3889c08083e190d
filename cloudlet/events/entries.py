"""PutEvents entries: AWS's per-entry validation and the event envelope targets receive.

https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from cloudlet.errors import ValidationError

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
#: AWS counts a present Time as 14 bytes when sizing an entry.
_TIME_BYTES = 14


@dataclass(frozen=True, slots=True)
class EntryError:
    """A rejected entry, as PutEvents reports it in ``Entries``."""

    code: str
    message: str

    def result(self) -> dict[str, str]:
        return {"ErrorCode": self.code, "ErrorMessage": self.message}


def iso_time(epoch: float) -> str:
    """The envelope's time format: ISO-8601 UTC to the second (``2015-11-11T21:29:54Z``)."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_time(text: str) -> float:
    """Seconds since the epoch of an envelope ``time`` (tolerates fractions and offsets)."""
    value = text.replace("Z", "+00:00")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def to_epoch(value: Any) -> float:
    """A timestamp member (datetime, epoch number or ISO text) as seconds since the epoch."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return parse_iso_time(value)
    raise ValidationError(f"Invalid timestamp: {value!r}")


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as AWS computes it for the 256 KiB PutEvents limit."""
    size = 0
    if entry.get("Time") is not None:
        size += _TIME_BYTES
    for member in ("Source", "DetailType", "Detail"):
        value = entry.get(member)
        if isinstance(value, str):
            size += len(value.encode())
    for resource in entry.get("Resources") or ():
        if isinstance(resource, str):
            size += len(resource.encode())
    return size


def check_request(entries: Any) -> None:
    """Whole-request checks of PutEvents: count and total size (``ValidationError``)."""
    if not isinstance(entries, list) or not entries:
        raise ValidationError(
            "1 validation error detected: Value null at 'entries' failed to satisfy constraint: "
            "Member must not be null"
        )
    if len(entries) > MAX_ENTRIES:
        raise ValidationError(
            f"1 validation error detected: Value '{entries}' at 'entries' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ENTRIES}"
        )
    if sum(entry_size(e) for e in entries if isinstance(e, Mapping)) > MAX_REQUEST_BYTES:
        raise ValidationError("Total size of the entries in the request is over the limit.")


def build_envelope(
    entry: Mapping[str, Any], *, account: str, region: str, now: float
) -> dict[str, Any] | EntryError:
    """The event EventBridge builds from one PutEvents entry, or the entry's error."""
    source = entry.get("Source")
    if not isinstance(source, str) or not source:
        return EntryError(
            "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
        )
    detail_type = entry.get("DetailType")
    if not isinstance(detail_type, str) or not detail_type:
        return EntryError(
            "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
        )
    detail_text = entry.get("Detail")
    if not isinstance(detail_text, str) or not detail_text:
        return EntryError(
            "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
        )
    if source.startswith("aws."):
        return EntryError("NotAuthorizedForSourceException", "Not authorized for the source.")
    try:
        detail = orjson.loads(detail_text)
    except orjson.JSONDecodeError:
        return EntryError("MalformedDetail", "Detail is malformed.")
    if not isinstance(detail, dict):
        return EntryError("MalformedDetail", "Detail is malformed.")
    resources = entry.get("Resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return EntryError("InvalidArgument", "Parameter Resources is not valid.")
    trace = entry.get("TraceHeader")
    if trace is not None and (not isinstance(trace, str) or len(trace) > 500):
        return EntryError("InvalidArgument", "Parameter TraceHeader is not valid.")
    when = now
    if entry.get("Time") is not None:
        try:
            when = to_epoch(entry["Time"])
        except (ValidationError, ValueError):
            return EntryError("InvalidArgument", "Parameter Time is not valid.")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": iso_time(when),
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }


def scheduled_event(*, rule_arn: str, account: str, region: str, fire_time: float) -> dict[str, Any]:
    """The event a schedule rule delivers when it fires."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso_time(fire_time),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
