"""The events service: EventBridge's buses, rules, targets, PutEvents, archives and replays.

Operations are async methods named and shaped as boto3's ``events`` client. Matching uses
one ``cloudlet.patterns.PatternIndex`` per bus; accepted events are written to the outbox
(one document per matched target) before PutEvents returns, and the ``Dispatcher`` delivers
them through the router.

https://docs.aws.amazon.com/eventbridge/latest/APIReference/Welcome.html
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson

from cloudlet.clock import Clock
from cloudlet.config import ServiceConfig
from cloudlet.errors import LimitExceeded, ResourceConflict, ResourceNotFound, ValidationError
from cloudlet.events.archives import Archives
from cloudlet.events.delivery import OUTBOX, Dispatcher, new_delivery
from cloudlet.events.entries import EntryError, build_envelope, check_request, scheduled_event
from cloudlet.events.model import (
    BUS_NAME,
    BUSES,
    DEFAULT_BUS,
    RULES,
    SCHEDULES,
    Names,
    Rule,
    bus_name_of,
    rule_key,
    validate_name,
)
from cloudlet.events.paging import page
from cloudlet.events.schedule import parse_schedule
from cloudlet.events.scheduler import RuleScheduler
from cloudlet.events.transform import validate_input_transformer, validate_path
from cloudlet.patterns import MAX_PATTERN_LENGTH, PatternIndex, test_event_pattern
from cloudlet.patterns import EventPattern as CompiledPattern
from cloudlet.router import InvocationType, Router
from cloudlet.store import Delete, Op, Put, Store

log = logging.getLogger(__name__)

MAX_TARGETS_PER_RULE = 5
MAX_RULES_PER_BUS = 300
_LIMIT_MESSAGE = "The requested resource exceeds the maximum number allowed."
_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


def _tags_dict(tags: Any) -> dict[str, str]:
    if not tags:
        return {}
    return {t["Key"]: t["Value"] for t in tags}


def _tags_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _pattern_text(pattern: Any) -> str:
    return pattern if isinstance(pattern, str) else orjson.dumps(pattern).decode()


class Events:
    """EventBridge: default and custom buses, rules, targets, durable delivery, archives, replays."""

    def __init__(self, *, store: Store, router: Router, clock: Clock, config: ServiceConfig) -> None:
        self._store = store
        self._router = router
        self._clock = clock
        self._config = config
        self.names = Names(config.account, config.region)
        self._buses: dict[str, dict[str, Any]] = {}
        self._rules: dict[str, Rule] = {}
        self._indexes: dict[str, PatternIndex] = {}
        self.dispatcher = Dispatcher(store, router, clock)
        self.scheduler = RuleScheduler(store, clock, self._fire_schedule)
        self.archives = Archives(self)
        router.register_api("events", self)
        # Archive and replay operations are methods of Archives (cloudlet/events/archives.py).
        router.register_api("events", self.archives)
        router.register_owner("events", "event-bus", self.deliver)

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Rebuild buses, rules and indexes from the store; resume deliveries, schedules, replays."""
        for name, doc in await self._store.scan(BUSES):
            self._buses[name] = doc
        if DEFAULT_BUS not in self._buses:
            doc = self._new_bus_doc(DEFAULT_BUS, None, [])
            await self._store.write([Put(BUSES, DEFAULT_BUS, doc)])
            self._buses[DEFAULT_BUS] = doc
        for _, doc in await self._store.scan(RULES):
            rule = Rule.from_doc(doc)
            self._rules[rule.key] = rule
            self._index_rule(rule)
        await self.archives.load()
        await self.dispatcher.start()
        await self.scheduler.start([r for r in self._rules.values() if r.schedule_expression])
        await self.archives.start()

    async def stop(self) -> None:
        """Stop background work; pending deliveries and replays stay in the store."""
        await self.archives.stop()
        await self.scheduler.stop()
        await self.dispatcher.stop()

    # -- clock --------------------------------------------------------------------------------
    def now(self) -> float:
        return self._clock.time()

    def _datetime(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, UTC)

    # -- event buses --------------------------------------------------------------------------
    def _new_bus_doc(self, name: str, description: str | None, tags: Any) -> dict[str, Any]:
        now = self.now()
        doc: dict[str, Any] = {
            "Name": name,
            "Arn": self.names.bus_arn(name),
            "CreationTime": now,
            "LastModifiedTime": now,
            "Tags": _tags_dict(tags),
        }
        if description is not None:
            doc["Description"] = description
        return doc

    def _bus(self, name: str) -> dict[str, Any]:
        try:
            return self._buses[name]
        except KeyError:
            raise ResourceNotFound(f"Event bus {name} does not exist.") from None

    def _bus_shape(self, doc: Mapping[str, Any], *, full: bool = True) -> dict[str, Any]:
        """DescribeEventBus's shape, or ListEventBuses' ``EventBus`` when not ``full``."""
        out: dict[str, Any] = {"Name": doc["Name"], "Arn": doc["Arn"]}
        members = (
            ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig") if full else ("Description",)
        )
        for member in members:
            if member in doc:
                out[member] = doc[member]
        out["CreationTime"] = self._datetime(doc["CreationTime"])
        out["LastModifiedTime"] = self._datetime(doc["LastModifiedTime"])
        return out

    async def create_event_bus(
        self,
        *,
        Name: str,
        EventSourceName: str | None = None,
        Description: str | None = None,
        KmsKeyIdentifier: str | None = None,
        DeadLetterConfig: Mapping[str, Any] | None = None,
        LogConfig: Mapping[str, Any] | None = None,
        Tags: Sequence[Mapping[str, str]] | None = None,
    ) -> dict[str, Any]:
        """CreateEventBus (custom buses; partner event sources are not offered locally)."""
        validate_name(Name, "name", max_len=256, pattern=BUS_NAME)
        if Name in self._buses:
            raise ResourceConflict(f"Event bus {Name} already exists.", code="ResourceAlreadyExistsException")
        if "/" in Name and not EventSourceName:
            raise ValidationError("Event bus name must not contain '/'.")
        if EventSourceName:
            raise ResourceNotFound(f"Event source {EventSourceName} does not exist.")
        doc = self._new_bus_doc(Name, Description, Tags)
        # Kept and reported as given; locally there is no KMS encryption or logging to apply them to,
        # and the bus-level dead-letter queue only receives events that fail encryption.
        for member, value in (
            ("KmsKeyIdentifier", KmsKeyIdentifier),
            ("DeadLetterConfig", DeadLetterConfig),
            ("LogConfig", LogConfig),
        ):
            if value is not None:
                doc[member] = value
        await self._store.write([Put(BUSES, Name, doc)])
        self._buses[Name] = doc
        out: dict[str, Any] = {"EventBusArn": doc["Arn"]}
        for member in ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"):
            if member in doc:
                out[member] = doc[member]
        return out

    async def describe_event_bus(self, *, Name: str | None = None) -> dict[str, Any]:
        """DescribeEventBus (Name or ARN; the default bus when omitted)."""
        return self._bus_shape(self._bus(bus_name_of(Name)))

    async def list_event_buses(
        self, *, NamePrefix: str | None = None, NextToken: str | None = None, Limit: int | None = None
    ) -> dict[str, Any]:
        names = sorted(n for n in self._buses if n.startswith(NamePrefix or ""))
        items, token = page(names, NextToken, Limit)
        out: dict[str, Any] = {"EventBuses": [self._bus_shape(self._buses[n], full=False) for n in items]}
        if token:
            out["NextToken"] = token
        return out

    async def delete_event_bus(self, *, Name: str) -> dict[str, Any]:
        """DeleteEventBus: the default bus cannot be deleted; a missing bus is not an error."""
        name = bus_name_of(Name)
        if name == DEFAULT_BUS:
            raise ValidationError("Cannot delete event bus default.")
        if name not in self._buses:
            return {}
        rules = [r for r in self._rules.values() if r.bus == name]
        ops: list[Op] = [Delete(BUSES, name), *(Delete(RULES, r.key) for r in rules)]
        await self._store.write(ops)
        for rule in rules:
            self._forget_rule(rule)
        del self._buses[name]
        self._indexes.pop(name, None)
        return {}

    # -- rules --------------------------------------------------------------------------------
    def _rule(self, name: str, bus: str) -> Rule:
        try:
            return self._rules[rule_key(bus, name)]
        except KeyError:
            raise ResourceNotFound(f"Rule {name} does not exist on EventBus {bus}.") from None

    def _index_rule(self, rule: Rule) -> None:
        index = self._indexes.setdefault(rule.bus, PatternIndex())
        index.remove(rule.name)
        if rule.enabled and rule.event_pattern is not None:
            index.add(rule.name, rule.event_pattern)

    def _forget_rule(self, rule: Rule) -> None:
        self._rules.pop(rule.key, None)
        index = self._indexes.get(rule.bus)
        if index is not None:
            index.remove(rule.name)
        self.scheduler.remove(rule.key)

    async def _save_rule(self, rule: Rule, extra: Sequence[Op] = ()) -> None:
        await self._store.write([Put(RULES, rule.key, rule.to_doc()), *extra])
        self._rules[rule.key] = rule
        self._index_rule(rule)
        self.scheduler.update(rule)

    async def put_rule(
        self,
        *,
        Name: str,
        ScheduleExpression: str | None = None,
        EventPattern: str | Mapping[str, Any] | None = None,
        State: str | None = None,
        Description: str | None = None,
        RoleArn: str | None = None,
        Tags: Sequence[Mapping[str, str]] | None = None,
        EventBusName: str | None = None,
    ) -> dict[str, Any]:
        """PutRule: create or update a rule by name on a bus."""
        validate_name(Name, "name")
        bus = bus_name_of(EventBusName)
        self._bus(bus)
        if not ScheduleExpression and EventPattern is None:
            raise ValidationError("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if State is not None and State not in _STATES:
            raise ValidationError(
                f"1 validation error detected: Value '{State}' at 'state' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(_STATES)}]"
            )
        if Description is not None and len(Description) > 512:
            raise ValidationError(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: "
                "Member must have length less than or equal to 512"
            )
        if ScheduleExpression:
            if bus != DEFAULT_BUS:
                raise ValidationError("ScheduleExpression is supported only on the default event bus.")
            parse_schedule(ScheduleExpression)
        pattern_text = None
        if EventPattern is not None:
            pattern_text = _pattern_text(EventPattern)
            if len(pattern_text) > MAX_PATTERN_LENGTH:
                raise ValidationError(
                    "1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: "
                    f"Member must have length less than or equal to {MAX_PATTERN_LENGTH}"
                )
            CompiledPattern(pattern_text)  # validates; raises InvalidEventPattern with AWS's message
        existing = self._rules.get(rule_key(bus, Name))
        if existing is None and sum(1 for r in self._rules.values() if r.bus == bus) >= MAX_RULES_PER_BUS:
            raise LimitExceeded(_LIMIT_MESSAGE)
        state = State or (existing.state if existing else "ENABLED")
        anchor = existing.schedule_anchor if existing else None
        if ScheduleExpression and (
            existing is None
            or existing.schedule_expression != ScheduleExpression
            or (not existing.enabled and state != "DISABLED")
        ):
            anchor = self.now()
        tags = dict(existing.tags) if existing else {}
        tags.update(_tags_dict(Tags))
        rule = Rule(
            name=Name,
            bus=bus,
            arn=self.names.rule_arn(bus, Name),
            state=state,
            event_pattern=pattern_text,
            schedule_expression=ScheduleExpression or None,
            description=Description,
            role_arn=RoleArn,
            targets=existing.targets if existing else (),
            tags=tags,
            schedule_anchor=anchor if ScheduleExpression else None,
        )
        await self._save_rule(rule)
        return {"RuleArn": rule.arn}

    async def describe_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        rule = self._rule(Name, bus_name_of(EventBusName))
        return {**rule.describe(), "CreatedBy": self._config.account}

    async def list_rules(
        self,
        *,
        NamePrefix: str | None = None,
        EventBusName: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        bus = bus_name_of(EventBusName)
        self._bus(bus)
        rules = sorted(
            (r for r in self._rules.values() if r.bus == bus and r.name.startswith(NamePrefix or "")),
            key=lambda r: r.name,
        )
        items, token = page(rules, NextToken, Limit)
        out: dict[str, Any] = {"Rules": [r.describe() for r in items]}
        if token:
            out["NextToken"] = token
        return out

    async def _set_state(self, name: str, bus_name: str | None, state: str) -> dict[str, Any]:
        rule = self._rule(name, bus_name_of(bus_name))
        if rule.state == state:
            return {}
        anchor = self.now() if (state == "ENABLED" and rule.schedule_expression) else rule.schedule_anchor
        await self._save_rule(replace(rule, state=state, schedule_anchor=anchor))
        return {}

    async def enable_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        return await self._set_state(Name, EventBusName, "ENABLED")

    async def disable_rule(self, *, Name: str, EventBusName: str | None = None) -> dict[str, Any]:
        return await self._set_state(Name, EventBusName, "DISABLED")

    async def delete_rule(
        self, *, Name: str, EventBusName: str | None = None, Force: bool | None = None
    ) -> dict[str, Any]:
        """DeleteRule: fails while the rule has targets; a missing rule is not an error."""
        bus = bus_name_of(EventBusName)
        rule = self._rules.get(rule_key(bus, Name))
        if rule is None:
            return {}
        if rule.targets:
            raise ValidationError("Rule can't be deleted since it has targets.")
        await self._store.write([Delete(RULES, rule.key), Delete(SCHEDULES, rule.key)])
        self._forget_rule(rule)
        return {}

    # -- targets ------------------------------------------------------------------------------
    def _check_target(self, target: Mapping[str, Any]) -> str | None:
        """Why PutTargets rejects ``target`` (None when it is fine)."""
        tid = target.get("Id")
        if not isinstance(tid, str) or not tid or len(tid) > 64:
            return "Parameter Id is not valid."
        validate_name(tid, "targets.member.id")
        arn = target.get("Arn")
        if not isinstance(arn, str) or not arn.startswith("arn:") or len(arn.split(":", 5)) != 6:
            return f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format."
        given = [m for m in ("Input", "InputPath", "InputTransformer") if target.get(m) is not None]
        if len(given) > 1:
            return "Only one of Input, InputPath, or InputTransformer must be provided."
        if target.get("Input") is not None:
            try:
                orjson.loads(target["Input"])
            except (orjson.JSONDecodeError, TypeError):
                return "Input for target is not valid JSON text."
        if target.get("InputPath") is not None:
            try:
                validate_path(target["InputPath"])
            except ValidationError:
                return f"Parameter InputPath {target['InputPath']} is not valid."
        if target.get("InputTransformer") is not None:
            try:
                validate_input_transformer(target["InputTransformer"])
            except ValidationError as exc:
                return exc.message
        policy = target.get("RetryPolicy") or {}
        attempts = policy.get("MaximumRetryAttempts")
        if attempts is not None and not 0 <= int(attempts) <= 185:
            return "MaximumRetryAttempts must be between 0 and 185."
        age = policy.get("MaximumEventAgeInSeconds")
        if age is not None and not 60 <= int(age) <= 86400:
            return "MaximumEventAgeInSeconds must be between 60 and 86400."
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dlq is not None and not (isinstance(dlq, str) and dlq.startswith("arn:aws:sqs:")):
            return "The DeadLetterConfig Arn must be an Amazon SQS queue ARN."
        return None

    async def put_targets(
        self, *, Rule: str, Targets: Sequence[Mapping[str, Any]], EventBusName: str | None = None
    ) -> dict[str, Any]:
        """PutTargets: add or replace targets by Id (at most five per rule)."""
        rule = self._rule(Rule, bus_name_of(EventBusName))
        if not Targets:
            raise ValidationError(
                "1 validation error detected: Value '[]' at 'targets' failed to satisfy constraint: "
                "Member must have length greater than or equal to 1"
            )
        if len(Targets) > 10:
            raise ValidationError(
                "1 validation error detected: Value at 'targets' failed to satisfy constraint: "
                "Member must have length less than or equal to 10"
            )
        current = {t["Id"]: t for t in rule.targets}
        failed: list[dict[str, Any]] = []
        accepted: dict[str, dict[str, Any]] = {}
        for target in Targets:
            reason = self._check_target(target)
            if reason is not None:
                failed.append(
                    {"TargetId": target.get("Id"), "ErrorCode": "ValidationException", "ErrorMessage": reason}
                )
                continue
            accepted[target["Id"]] = {k: v for k, v in target.items() if v is not None}
        merged = {**current, **accepted}
        if len(merged) > MAX_TARGETS_PER_RULE:
            raise LimitExceeded(_LIMIT_MESSAGE)
        if accepted:
            await self._save_rule(replace(rule, targets=tuple(merged.values())))
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    async def remove_targets(
        self,
        *,
        Rule: str,
        Ids: Sequence[str],
        EventBusName: str | None = None,
        Force: bool | None = None,
    ) -> dict[str, Any]:
        rule = self._rule(Rule, bus_name_of(EventBusName))
        drop = set(Ids)
        kept = tuple(t for t in rule.targets if t["Id"] not in drop)
        if len(kept) != len(rule.targets):
            await self._save_rule(replace(rule, targets=kept))
        return {"FailedEntryCount": 0, "FailedEntries": []}

    async def list_targets_by_rule(
        self,
        *,
        Rule: str,
        EventBusName: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        rule = self._rule(Rule, bus_name_of(EventBusName))
        items, token = page(list(rule.targets), NextToken, Limit)
        out: dict[str, Any] = {"Targets": [dict(t) for t in items]}
        if token:
            out["NextToken"] = token
        return out

    async def list_rule_names_by_target(
        self,
        *,
        TargetArn: str,
        EventBusName: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        bus = bus_name_of(EventBusName)
        self._bus(bus)
        names = sorted(
            r.name
            for r in self._rules.values()
            if r.bus == bus and any(t["Arn"] == TargetArn for t in r.targets)
        )
        items, token = page(names, NextToken, Limit)
        out: dict[str, Any] = {"RuleNames": items}
        if token:
            out["NextToken"] = token
        return out

    # -- tags ---------------------------------------------------------------------------------
    def _taggable(self, arn: str) -> tuple[str, str]:
        """(namespace, key) of the document that holds ``arn``'s tags."""
        for name, doc in self._buses.items():
            if doc["Arn"] == arn:
                return BUSES, name
        for rule in self._rules.values():
            if rule.arn == arn:
                return RULES, rule.key
        raise ResourceNotFound(f"Resource {arn.split(':', 5)[-1].split('/')[-1]} does not exist.")

    async def _update_tags(self, arn: str, change: Any) -> None:
        namespace, key = self._taggable(arn)
        if namespace == BUSES:
            doc = dict(self._buses[key])
            doc["Tags"] = change(dict(doc.get("Tags") or {}))
            await self._store.write([Put(BUSES, key, doc)])
            self._buses[key] = doc
        else:
            rule = self._rules[key]
            await self._save_rule(replace(rule, tags=change(dict(rule.tags))))

    async def tag_resource(self, *, ResourceARN: str, Tags: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        await self._update_tags(ResourceARN, lambda t: {**t, **_tags_dict(Tags)})
        return {}

    async def untag_resource(self, *, ResourceARN: str, TagKeys: Sequence[str]) -> dict[str, Any]:
        await self._update_tags(ResourceARN, lambda t: {k: v for k, v in t.items() if k not in TagKeys})
        return {}

    async def list_tags_for_resource(self, *, ResourceARN: str) -> dict[str, Any]:
        namespace, key = self._taggable(ResourceARN)
        tags = self._buses[key].get("Tags") or {} if namespace == BUSES else self._rules[key].tags
        return {"Tags": _tags_list(tags)}

    # -- events -------------------------------------------------------------------------------
    def route(
        self,
        bus: str,
        event: dict[str, Any],
        accepted: float,
        *,
        only_rules: set[str] | None = None,
        archive: bool = True,
    ) -> tuple[list[Op], list[dict[str, Any]]]:
        """Store operations and outbox documents for delivering ``event`` on ``bus``."""
        ops: list[Op] = []
        deliveries: list[dict[str, Any]] = []
        index = self._indexes.get(bus)
        matched = index.match(event) if index is not None else set()
        for name in sorted(matched):
            rule = self._rules.get(rule_key(bus, name))
            if rule is None or (only_rules is not None and rule.arn not in only_rules):
                continue
            for target in rule.targets:
                doc = new_delivery(
                    uuid.uuid4().hex,
                    event=event,
                    rule_arn=rule.arn,
                    rule_name=rule.name,
                    target=target,
                    accepted=accepted,
                )
                ops.append(Put(OUTBOX, doc["key"], doc))
                deliveries.append(doc)
        if archive:
            ops.extend(self.archives.record(bus, event, accepted))
        return ops, deliveries

    async def _commit(self, ops: list[Op], deliveries: list[dict[str, Any]]) -> None:
        """Make the batch durable, then hand its deliveries to the dispatcher."""
        if ops:
            await self._store.write(ops)
        if deliveries:
            self.dispatcher.enqueue(deliveries)

    async def put_events(
        self, *, Entries: Sequence[Mapping[str, Any]], EndpointId: str | None = None
    ) -> dict[str, Any]:
        """PutEvents: accept up to ten entries; each accepted one is durable when this returns."""
        check_request(list(Entries))
        now = self.now()
        results: list[dict[str, Any]] = []
        ops: list[Op] = []
        deliveries: list[dict[str, Any]] = []
        for entry in Entries:
            outcome = self._accept_entry(entry, now)
            if isinstance(outcome, EntryError):
                results.append(outcome.result())
                continue
            bus, event = outcome
            results.append({"EventId": event["id"]})
            if bus not in self._buses:
                # AWS accepts entries for a bus that does not exist and drops them (an EventId, no error).
                log.warning("event for a missing bus dropped", extra={"action": "put_events", "bus": bus})
                continue
            entry_ops, entry_deliveries = self.route(bus, event, now)
            ops.extend(entry_ops)
            deliveries.extend(entry_deliveries)
        await self._commit(ops, deliveries)
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    def _accept_entry(self, entry: Mapping[str, Any], now: float) -> tuple[str, dict[str, Any]] | EntryError:
        try:
            bus = bus_name_of(entry.get("EventBusName"))
        except ValidationError as exc:
            return EntryError("InvalidArgument", exc.message)
        envelope = build_envelope(entry, account=self._config.account, region=self._config.region, now=now)
        if isinstance(envelope, EntryError):
            return envelope
        return bus, envelope

    async def deliver(self, arn: str, payload: Any, invocation_type: InvocationType) -> Any:
        """Router entry for ``event-bus`` ARNs: put an event (an envelope or a PutEvents entry) on the bus."""
        bus = bus_name_of(arn)
        self._bus(bus)  # unlike PutEvents, a delivery to a missing bus fails (so it can be dead-lettered)
        if isinstance(payload, (str, bytes)):
            payload = orjson.loads(payload)
        if not isinstance(payload, dict):
            raise ValidationError("Event for an event bus must be a JSON object.")
        if "detail-type" in payload and "source" in payload:
            now = self.now()
            ops, deliveries = self.route(bus, dict(payload), now)
            await self._commit(ops, deliveries)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": payload.get("id")}]}
        result = await self.put_events(Entries=[{**payload, "EventBusName": bus}])
        if result["FailedEntryCount"]:
            error = result["Entries"][0]
            raise ValidationError(error["ErrorMessage"], code=error["ErrorCode"])
        return result

    async def test_event_pattern(self, *, EventPattern: str, Event: str) -> dict[str, Any]:
        """TestEventPattern, delegated to the pattern engine."""
        return {"Result": bool(test_event_pattern(Event, EventPattern))}

    # -- schedules ------------------------------------------------------------------------------
    async def _fire_schedule(self, rule: Rule, fire_time: float) -> None:
        """Deliver a Scheduled Event to every target of ``rule`` and record the firing."""
        current = self._rules.get(rule.key)
        if current is None or not current.enabled:
            return
        event = scheduled_event(
            rule_arn=current.arn,
            account=self._config.account,
            region=self._config.region,
            fire_time=fire_time,
        )
        ops: list[Op] = [Put(SCHEDULES, current.key, {"last": fire_time})]
        deliveries = []
        for target in current.targets:
            doc = new_delivery(
                uuid.uuid4().hex,
                event=event,
                rule_arn=current.arn,
                rule_name=current.name,
                target=target,
                accepted=max(fire_time, self.now()),
            )
            ops.append(Put(OUTBOX, doc["key"], doc))
            deliveries.append(doc)
        await self._commit(ops, deliveries)
        log.info("schedule fired", extra={"action": "fire", "rule": current.arn, "targets": len(deliveries)})

    # -- used by archives -----------------------------------------------------------------------
    def bus_exists(self, name: str) -> bool:
        return name in self._buses

    def rule_by_arn(self, arn: str) -> Rule | None:
        return next((r for r in self._rules.values() if r.arn == arn), None)

    async def commit(self, ops: list[Op], deliveries: list[dict[str, Any]]) -> None:
        await self._commit(ops, deliveries)
