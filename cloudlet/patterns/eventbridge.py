"""EventBridge's TestEventPattern: validate an event and a pattern, then match.

https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
The events service's ``test_event_pattern`` operation and the HTTP API use this function.
"""

from __future__ import annotations

from typing import Any

from cloudlet.errors import ValidationError
from cloudlet.patterns.flatten import parse_event
from cloudlet.patterns.jsontext import Pairs
from cloudlet.patterns.pattern import EventPattern

#: The envelope fields an event must carry for TestEventPattern.
REQUIRED_EVENT_FIELDS = ("id", "account", "source", "time", "region", "detail-type")
#: The API's limit on the length of an event pattern (EventPattern shape, max 4096).
MAX_PATTERN_LENGTH = 4096


def validate_event(event: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """The event as a dict; raises `ValidationError` ("Parameter Event is not valid.") as AWS does."""
    try:
        parsed = parse_event(event)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or any(name not in parsed for name in REQUIRED_EVENT_FIELDS):
        raise ValidationError("Parameter Event is not valid.")
    return parsed


def test_event_pattern(
    event: str | bytes | dict[str, Any], pattern: str | bytes | dict[str, Any] | Pairs
) -> bool:
    """AWS TestEventPattern: True when ``event`` matches ``pattern``.

    Raises `cloudlet.errors.InvalidEventPattern` (code ``InvalidEventPatternException``)
    with AWS's message for a bad pattern and `cloudlet.errors.ValidationError`
    (``ValidationException``, "Parameter Event is not valid.") for a bad event.
    """
    if isinstance(pattern, str) and len(pattern) > MAX_PATTERN_LENGTH:
        raise ValidationError(
            "1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_PATTERN_LENGTH}"
        )
    compiled = EventPattern(pattern)
    return compiled.matches(validate_event(event))


test_event_pattern.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
