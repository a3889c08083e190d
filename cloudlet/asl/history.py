"""History event bodies in AWS's shape (GetExecutionHistory).

https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html

The engine builds ``type`` and the details object; the driver adds ``id``,
``previousEventId`` and ``timestamp`` (see :mod:`cloudlet.asl.effects`).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

__all__ = ["ENTERED", "EXITED", "dumps", "iso_timestamp", "make_event", "payload_details"]

#: ``{StateType}StateEntered`` / ``...Exited`` event type per state type.
ENTERED = {
    t: f"{t}StateEntered" for t in ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
}
EXITED = {
    t: f"{t}StateExited" for t in ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
}

_NOT_TRUNCATED = {"truncated": False}


def dumps(value: Any) -> str:
    """Compact JSON text as AWS writes it in history events and outputs."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def payload_details(field: str, text: str) -> dict[str, Any]:
    """``{"input": text, "inputDetails": {"truncated": false}}`` style pair."""
    return {field: text, field + "Details": _NOT_TRUNCATED}


@lru_cache(maxsize=64)
def _second_text(second: int) -> str:
    # formatting the date part is the costly bit; states entered in one second share it
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))


def iso_timestamp(ts: float) -> str:
    """Epoch seconds as AWS's context-object time text (``2024-01-01T00:00:00.123Z``)."""
    second = int(ts // 1)
    millis = int((ts - second) * 1000)
    return f"{_second_text(second)}{millis:03d}Z"


def make_event(
    event_id: int, previous_id: int, ts: float, type_: str, details_key: str | None, details: Any
) -> dict[str, Any]:
    """A complete history event dict as GetExecutionHistory returns it."""
    event: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(ts, UTC),
        "type": type_,
        "id": event_id,
        "previousEventId": previous_id,
    }
    if details_key is not None:
        event[details_key] = details
    return event
