"""The resources of the events service as stored: rules (with their targets) and names/ARNs."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from cloudlet.arns import build_arn, parse_arn
from cloudlet.errors import ValidationError

DEFAULT_BUS = "default"
BUSES = "events.buses"
RULES = "events.rules"
SCHEDULES = "events.schedules"

_NAME = re.compile(r"^[\.\-_A-Za-z0-9]+$")
BUS_NAME = re.compile(r"^[/\.\-_A-Za-z0-9]+$")


def validate_name(value: Any, member: str, *, max_len: int = 64, pattern: re.Pattern[str] = _NAME) -> str:
    """Check a name member the way AWS's model constraints do; returns it."""
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
            "Member must not be null"
        )
    if len(value) > max_len:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {max_len}"
        )
    if not pattern.match(value):
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern.pattern[1:-1]}"
        )
    return value


def bus_name_of(name_or_arn: str | None) -> str:
    """An EventBusName member (name or ARN) as the bus name; None means the default bus."""
    if not name_or_arn:
        return DEFAULT_BUS
    if name_or_arn.startswith("arn:"):
        arn = parse_arn(name_or_arn)
        if arn.service != "events" or arn.resource_type != "event-bus":
            raise ValidationError(f"Parameter EventBusName is not valid: {name_or_arn}")
        return arn.resource_name
    validate_name(name_or_arn, "eventBusName", max_len=256, pattern=BUS_NAME)
    return name_or_arn


def rule_key(bus: str, name: str) -> str:
    """Store key of a rule; '|' appears in neither bus nor rule names."""
    return f"{bus}|{name}"


@dataclass(frozen=True, slots=True)
class Names:
    """ARN builders for one account and region."""

    account: str
    region: str

    def bus_arn(self, bus: str) -> str:
        return build_arn("events", f"event-bus/{bus}", region=self.region, account=self.account)

    def rule_arn(self, bus: str, name: str) -> str:
        resource = f"rule/{name}" if bus == DEFAULT_BUS else f"rule/{bus}/{name}"
        return build_arn("events", resource, region=self.region, account=self.account)

    def archive_arn(self, name: str) -> str:
        return build_arn("events", f"archive/{name}", region=self.region, account=self.account)

    def replay_arn(self, name: str) -> str:
        return build_arn("events", f"replay/{name}", region=self.region, account=self.account)


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule on a bus: an event pattern and/or a schedule, its state and targets."""

    name: str
    bus: str
    arn: str
    state: str = "ENABLED"
    event_pattern: str | None = None
    schedule_expression: str | None = None
    description: str | None = None
    role_arn: str | None = None
    targets: tuple[dict[str, Any], ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    #: When a rate schedule started counting (creation or last enable), seconds since the epoch.
    schedule_anchor: float | None = None

    @property
    def key(self) -> str:
        return rule_key(self.bus, self.name)

    @property
    def enabled(self) -> bool:
        return self.state != "DISABLED"

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["targets"] = list(self.targets)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Rule:
        return cls(**{**doc, "targets": tuple(doc.get("targets") or ())})

    def describe(self) -> dict[str, Any]:
        """The DescribeRule / ListRules shape."""
        out: dict[str, Any] = {"Name": self.name, "Arn": self.arn}
        if self.event_pattern is not None:
            out["EventPattern"] = self.event_pattern
        if self.schedule_expression is not None:
            out["ScheduleExpression"] = self.schedule_expression
        out["State"] = self.state
        if self.description is not None:
            out["Description"] = self.description
        if self.role_arn is not None:
            out["RoleArn"] = self.role_arn
        out["EventBusName"] = self.bus
        return out
