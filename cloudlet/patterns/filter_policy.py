"""SNS subscription filter policies on the same matching core.

https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html

A filter policy is an EventBridge-style pattern with SNS's scope and limits:

* ``FilterPolicyScope`` ``MessageAttributes`` (the default): keys are message attribute
  names and may not nest. ``String`` attributes match as strings, ``Number`` attributes as
  numbers, ``String.Array`` attributes as the elements of their JSON array; ``Binary``
  attributes never match.
* ``MessageBody``: the message body must be a JSON object; keys nest like an event pattern.
* Operators: exact values, ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but``,
  ``numeric``, ``exists``, ``cidr`` and ``$or``; SNS has no ``wildcard``.
* Limits: at most 5 keys, at most 150 combinations of values, at most 256 KiB of policy.
  Errors are `cloudlet.errors.InvalidFilterPolicy` (code ``InvalidParameter``) with
  ``Invalid parameter: FilterPolicy: <reason>``.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from cloudlet.errors import CloudletError, InvalidFilterPolicy
from cloudlet.patterns.compiler import OPERATORS, Dialect, parse
from cloudlet.patterns.jsontext import Pairs
from cloudlet.patterns.model import Branch, FieldStep
from cloudlet.patterns.pattern import EventPattern

Scope = Literal["MessageAttributes", "MessageBody"]

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024


def _error(reason: str) -> CloudletError:
    return InvalidFilterPolicy(f"Invalid parameter: FilterPolicy: {reason}")


_SNS_OPERATORS = OPERATORS - {"wildcard"}
SNS_ATTRIBUTES = Dialect(
    "sns-attributes",
    _error,
    operators=_SNS_OPERATORS,
    nested=False,
    max_branches=MAX_COMBINATIONS,
    too_complex="Filter policy is too complex",
)
SNS_BODY = Dialect(
    "sns-body",
    _error,
    operators=_SNS_OPERATORS,
    max_branches=MAX_COMBINATIONS,
    too_complex="Filter policy is too complex",
)


def _combinations(branches: tuple[Branch, ...]) -> int:
    """SNS's complexity: per branch, the product of the value counts of its fields, summed."""
    total = 0
    for branch in branches:
        product = 1
        for step in branch.steps:
            product *= len(step.matchers) if isinstance(step, FieldStep) else 1
        total += product
    return total


class FilterPolicy:
    """A validated SNS filter policy for one subscription."""

    __slots__ = ("pattern", "scope")

    def __init__(self, policy: str | bytes | dict[str, Any], scope: Scope = "MessageAttributes") -> None:
        if scope not in ("MessageAttributes", "MessageBody"):
            raise InvalidFilterPolicy(f"Invalid parameter: FilterPolicyScope: Invalid value [{scope}]")
        size = (
            len(policy.encode() if isinstance(policy, str) else policy) if not isinstance(policy, dict) else 0
        )
        if size > MAX_POLICY_BYTES:
            raise _error("Filter policy is too long")
        doc = parse(policy, SNS_BODY)
        if scope == "MessageAttributes" and isinstance(doc, Pairs):
            for _, value in doc:
                if isinstance(value, Pairs):
                    raise _error(
                        "Filter policy scope MessageAttributes does not support nested filter policy"
                    )
        dialect = SNS_ATTRIBUTES if scope == "MessageAttributes" else SNS_BODY
        self.scope: Scope = scope
        self.pattern = EventPattern(doc, dialect=dialect)
        keys = {step.path for branch in self.pattern.branches for step in branch.steps}
        if len(keys) > MAX_KEYS:
            raise _error("Filter policy can not have more than 5 keys")
        if _combinations(self.pattern.branches) > MAX_COMBINATIONS:
            raise _error("Filter policy is too complex")

    def matches_attributes(self, attributes: dict[str, dict[str, Any]]) -> bool:
        """Attribute scope: match SNS MessageAttributes (``{"name": {"DataType", "StringValue"}}``)."""
        return self.pattern.matches(attributes_event(attributes))

    def matches_body(self, body: str | bytes | dict[str, Any]) -> bool:
        """Body scope: match the message body (JSON text or object); other bodies never match."""
        if isinstance(body, dict):
            return self.pattern.matches(body)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        return isinstance(parsed, dict) and self.pattern.matches(parsed)

    def matches(
        self, message: str | bytes | dict[str, Any], attributes: dict[str, Any] | None = None
    ) -> bool:
        """Match by the policy's scope: the attributes, or the body."""
        if self.scope == "MessageAttributes":
            return self.matches_attributes(attributes or {})
        return self.matches_body(message)


def attributes_event(attributes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """SNS MessageAttributes as the flat object an attribute-scope policy is matched against."""
    event: dict[str, Any] = {}
    for name, attribute in attributes.items():
        data_type = str(attribute.get("DataType", attribute.get("Type", "String")))
        raw = attribute.get("StringValue", attribute.get("Value"))
        if raw is None or data_type.startswith("Binary"):
            continue
        if data_type.startswith("Number"):
            try:
                number = float(raw)
            except ValueError:
                continue
            event[name] = int(number) if number.is_integer() and "." not in str(raw) else number
        elif data_type.startswith("String.Array"):
            try:
                values = orjson.loads(raw)
            except orjson.JSONDecodeError:
                event[name] = raw
                continue
            event[name] = values if isinstance(values, list) else [values]
        else:
            event[name] = raw
    return event


__all__ = ["SNS_ATTRIBUTES", "SNS_BODY", "FilterPolicy", "InvalidFilterPolicy", "attributes_event"]
