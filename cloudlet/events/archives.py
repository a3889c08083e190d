"""Event archives (a filtered log of a bus's events, with retention) and replays back to the bus.

An archive is a log in the store: each accepted event that the archive's pattern matches is
appended in the same batch that accepts it. A replay reads the archive in order and routes
the events in its time window to the bus's rules (optionally only some), each carrying
``replay-name``; its progress is a cursor in the store, so a replay resumes after a restart.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.arns import parse_arn
from cloudlet.errors import CloudletError, ResourceConflict, ResourceNotFound, ValidationError
from cloudlet.events.entries import parse_iso_time, to_epoch
from cloudlet.events.model import bus_name_of, validate_name
from cloudlet.events.paging import page
from cloudlet.patterns import EventPattern
from cloudlet.store import Append, Delete, DeleteLog, Op, Put, TrimLog

if TYPE_CHECKING:
    from cloudlet.events.service import Events

log = logging.getLogger(__name__)

ARCHIVES = "events.archives"
ARCHIVE_LOG = "events.archive"
REPLAYS = "events.replays"
_PAGE = 200
_TRIM_EVERY = 3600.0


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


class Archives:
    """Archives and replays of the events service."""

    def __init__(self, service: Events) -> None:
        self._service = service
        self._archives: dict[str, dict[str, Any]] = {}
        self._patterns: dict[str, EventPattern | None] = {}
        self._replays: dict[str, dict[str, Any]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._trimmer: asyncio.Task[None] | None = None

    @property
    def _store(self) -> Any:
        return self._service._store

    # -- life cycle ---------------------------------------------------------------------------
    async def load(self) -> None:
        for name, doc in await self._store.scan(ARCHIVES):
            self._archives[name] = doc
            self._patterns[name] = EventPattern(doc["EventPattern"]) if doc.get("EventPattern") else None
        for name, doc in await self._store.scan(REPLAYS):
            self._replays[name] = doc

    async def start(self) -> None:
        """Resume replays that were running and start the retention trimmer."""
        for name, doc in self._replays.items():
            if doc["State"] in ("STARTING", "RUNNING", "CANCELLING"):
                self._launch(name)
        self._trimmer = asyncio.get_running_loop().create_task(self._trim_loop())

    async def stop(self) -> None:
        tasks = [*self._tasks.values(), *([self._trimmer] if self._trimmer else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._trimmer = None

    # -- recording ------------------------------------------------------------------------------
    def record(self, bus: str, event: Mapping[str, Any], accepted: float) -> list[Op]:
        """Log operations that archive ``event`` (accepted on ``bus``) in every archive that wants it."""
        if "replay-name" in event:
            return []
        bus_arn = self._service.names.bus_arn(bus)
        ops: list[Op] = []
        for name, doc in self._archives.items():
            if doc["EventSourceArn"] != bus_arn or doc["State"] != "ENABLED":
                continue
            pattern = self._patterns.get(name)
            if pattern is not None and not pattern.matches(dict(event)):
                continue
            seq = max(int(doc.get("NextSeq", 0)), int(accepted * 1000))
            try:
                event_time = parse_iso_time(event["time"])
            except (KeyError, ValueError):
                event_time = accepted
            entry = {"t": accepted, "et": event_time, "event": event}
            size = len(orjson.dumps(event))
            doc["NextSeq"] = seq + 1
            doc["EventCount"] = int(doc.get("EventCount", 0)) + 1
            doc["SizeBytes"] = int(doc.get("SizeBytes", 0)) + size
            ops.append(Append(ARCHIVE_LOG, name, seq, entry))
            ops.append(Put(ARCHIVES, name, dict(doc)))
        return ops

    # -- archives -------------------------------------------------------------------------------
    def _archive(self, name: str) -> dict[str, Any]:
        try:
            return self._archives[name]
        except KeyError:
            raise ResourceNotFound(f"Archive {name} does not exist.") from None

    @staticmethod
    def _pattern(text: Any) -> tuple[str | None, EventPattern | None]:
        if text is None:
            return None, None
        text = text if isinstance(text, str) else orjson.dumps(text).decode()
        return text, EventPattern(text)

    @staticmethod
    def _check_retention(days: Any) -> None:
        if days is not None and (not isinstance(days, int) or days < 0):
            raise ValidationError(
                f"1 validation error detected: Value '{days}' at 'retentionDays' failed to satisfy "
                "constraint: Member must have value greater than or equal to 0"
            )

    async def create_archive(
        self,
        *,
        ArchiveName: str,
        EventSourceArn: str,
        Description: str | None = None,
        EventPattern: Any = None,
        RetentionDays: int | None = None,
        KmsKeyIdentifier: str | None = None,
    ) -> dict[str, Any]:
        validate_name(ArchiveName, "archiveName", max_len=48)
        if ArchiveName in self._archives:
            raise ResourceConflict(
                f"Archive {ArchiveName} already exists.", code="ResourceAlreadyExistsException"
            )
        bus = bus_name_of(EventSourceArn)
        if not self._service.bus_exists(bus):
            raise ResourceNotFound(f"Event bus {bus} does not exist.")
        self._check_retention(RetentionDays)
        pattern_text, pattern = self._pattern(EventPattern)
        now = self._service.now()
        doc: dict[str, Any] = {
            "ArchiveName": ArchiveName,
            "ArchiveArn": self._service.names.archive_arn(ArchiveName),
            "EventSourceArn": self._service.names.bus_arn(bus),
            "State": "ENABLED",
            "RetentionDays": RetentionDays or 0,
            "CreationTime": now,
            "EventCount": 0,
            "SizeBytes": 0,
            "NextSeq": 0,
        }
        if Description is not None:
            doc["Description"] = Description
        if pattern_text is not None:
            doc["EventPattern"] = pattern_text
        await self._store.write([Put(ARCHIVES, ArchiveName, doc)])
        self._archives[ArchiveName] = doc
        self._patterns[ArchiveName] = pattern
        return {
            "ArchiveArn": doc["ArchiveArn"],
            "State": "ENABLED",
            "CreationTime": _dt(now),
        }

    def _archive_shape(self, doc: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if full:
            out["ArchiveArn"] = doc["ArchiveArn"]
        out["ArchiveName"] = doc["ArchiveName"]
        out["EventSourceArn"] = doc["EventSourceArn"]
        if full and "Description" in doc:
            out["Description"] = doc["Description"]
        if full and "EventPattern" in doc:
            out["EventPattern"] = doc["EventPattern"]
        out["State"] = doc["State"]
        out["RetentionDays"] = doc["RetentionDays"]
        out["SizeBytes"] = doc["SizeBytes"]
        out["EventCount"] = doc["EventCount"]
        out["CreationTime"] = _dt(doc["CreationTime"])
        return out

    async def describe_archive(self, *, ArchiveName: str) -> dict[str, Any]:
        return self._archive_shape(self._archive(ArchiveName), full=True)

    async def list_archives(
        self,
        *,
        NamePrefix: str | None = None,
        EventSourceArn: str | None = None,
        State: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        if sum(x is not None for x in (NamePrefix, EventSourceArn, State)) > 1:
            raise ValidationError(
                "At most one filter is allowed for ListArchives. "
                "Use either : State, EventSourceArn, or NamePrefix."
            )
        docs = [
            d
            for n, d in sorted(self._archives.items())
            if n.startswith(NamePrefix or "")
            and (EventSourceArn is None or d["EventSourceArn"] == EventSourceArn)
            and (State is None or d["State"] == State)
        ]
        items, token = page(docs, NextToken, Limit)
        out: dict[str, Any] = {"Archives": [self._archive_shape(d, full=False) for d in items]}
        if token:
            out["NextToken"] = token
        return out

    async def update_archive(
        self,
        *,
        ArchiveName: str,
        Description: str | None = None,
        EventPattern: Any = None,
        RetentionDays: int | None = None,
        KmsKeyIdentifier: str | None = None,
    ) -> dict[str, Any]:
        doc = dict(self._archive(ArchiveName))
        self._check_retention(RetentionDays)
        pattern = self._patterns.get(ArchiveName)
        if EventPattern is not None:
            doc["EventPattern"], pattern = self._pattern(EventPattern)
        if Description is not None:
            doc["Description"] = Description
        if RetentionDays is not None:
            doc["RetentionDays"] = RetentionDays
        await self._store.write([Put(ARCHIVES, ArchiveName, doc)])
        self._archives[ArchiveName] = doc
        self._patterns[ArchiveName] = pattern
        return {
            "ArchiveArn": doc["ArchiveArn"],
            "State": doc["State"],
            "CreationTime": _dt(doc["CreationTime"]),
        }

    async def delete_archive(self, *, ArchiveName: str) -> dict[str, Any]:
        self._archive(ArchiveName)
        await self._store.write([DeleteLog(ARCHIVE_LOG, ArchiveName), Delete(ARCHIVES, ArchiveName)])
        del self._archives[ArchiveName]
        self._patterns.pop(ArchiveName, None)
        return {}

    async def trim(self) -> None:
        """Drop archived events older than each archive's RetentionDays (0 keeps them forever)."""
        now = self._service.now()
        for name, doc in list(self._archives.items()):
            days = int(doc.get("RetentionDays") or 0)
            if days <= 0:
                continue
            cutoff = int((now - days * 86400) * 1000)
            old: list[dict[str, Any]] = []
            after: int | None = None
            while True:  # entries are in seq (ingestion) order: read only up to the cutoff
                chunk = await self._store.read_log(ARCHIVE_LOG, name, after=after, limit=_PAGE)
                old.extend(entry for seq, entry in chunk if seq < cutoff)
                if len(chunk) < _PAGE or chunk[-1][0] >= cutoff:
                    break
                after = chunk[-1][0]
            if not old:
                continue
            doc["EventCount"] = max(0, int(doc["EventCount"]) - len(old))
            doc["SizeBytes"] = max(0, int(doc["SizeBytes"]) - sum(len(orjson.dumps(e["event"])) for e in old))
            await self._store.write([TrimLog(ARCHIVE_LOG, name, cutoff), Put(ARCHIVES, name, dict(doc))])

    async def _trim_loop(self) -> None:
        while True:
            try:
                await self.trim()
            except CloudletError:
                log.exception("archive retention trim failed", extra={"action": "trim"})
            await self._service._clock.sleep(_TRIM_EVERY)

    # -- replays --------------------------------------------------------------------------------
    def _replay(self, name: str) -> dict[str, Any]:
        try:
            return self._replays[name]
        except KeyError:
            raise ResourceNotFound(f"Replay {name} does not exist.") from None

    async def start_replay(
        self,
        *,
        ReplayName: str,
        EventSourceArn: str,
        EventStartTime: Any,
        EventEndTime: Any,
        Destination: Mapping[str, Any],
        Description: str | None = None,
    ) -> dict[str, Any]:
        validate_name(ReplayName, "replayName")
        if ReplayName in self._replays:
            raise ResourceConflict(
                f"Replay {ReplayName} already exists.", code="ResourceAlreadyExistsException"
            )
        archive_name = parse_arn(EventSourceArn).resource_name
        archive = self._archive(archive_name)
        start, end = to_epoch(EventStartTime), to_epoch(EventEndTime)
        if start >= end:
            raise ValidationError(
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."
            )
        if end > self._service.now():
            raise ValidationError(
                "Parameter EventEndTime is not valid. Reason: EventEndTime cannot be in the future."
            )
        destination = dict(Destination)
        if destination.get("Arn") != archive["EventSourceArn"]:
            raise ValidationError(
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."
            )
        for rule_arn in destination.get("FilterArns") or ():
            rule = self._service.rule_by_arn(rule_arn)
            if rule is None or self._service.names.bus_arn(rule.bus) != destination["Arn"]:
                raise ValidationError(
                    f"Parameter Destination.FilterArns is not valid. Reason: Rule {rule_arn} does not exist."
                )
        now = self._service.now()
        doc: dict[str, Any] = {
            "ReplayName": ReplayName,
            "ReplayArn": self._service.names.replay_arn(ReplayName),
            "EventSourceArn": archive["ArchiveArn"],
            "Destination": destination,
            "EventStartTime": start,
            "EventEndTime": end,
            "State": "STARTING",
            "ReplayStartTime": now,
            "Cursor": None,
        }
        if Description is not None:
            doc["Description"] = Description
        await self._store.write([Put(REPLAYS, ReplayName, doc)])
        self._replays[ReplayName] = doc
        self._launch(ReplayName)
        return {"ReplayArn": doc["ReplayArn"], "State": "STARTING", "ReplayStartTime": _dt(now)}

    def _replay_shape(self, doc: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"ReplayName": doc["ReplayName"]}
        if full:
            out["ReplayArn"] = doc["ReplayArn"]
            if "Description" in doc:
                out["Description"] = doc["Description"]
        out["State"] = doc["State"]
        if doc.get("StateReason"):
            out["StateReason"] = doc["StateReason"]
        out["EventSourceArn"] = doc["EventSourceArn"]
        if full:
            out["Destination"] = doc["Destination"]
        out["EventStartTime"] = _dt(doc["EventStartTime"])
        out["EventEndTime"] = _dt(doc["EventEndTime"])
        if doc.get("EventLastReplayedTime") is not None:
            out["EventLastReplayedTime"] = _dt(doc["EventLastReplayedTime"])
        out["ReplayStartTime"] = _dt(doc["ReplayStartTime"])
        if doc.get("ReplayEndTime") is not None:
            out["ReplayEndTime"] = _dt(doc["ReplayEndTime"])
        return out

    async def describe_replay(self, *, ReplayName: str) -> dict[str, Any]:
        return self._replay_shape(self._replay(ReplayName), full=True)

    async def list_replays(
        self,
        *,
        NamePrefix: str | None = None,
        State: str | None = None,
        EventSourceArn: str | None = None,
        NextToken: str | None = None,
        Limit: int | None = None,
    ) -> dict[str, Any]:
        docs = [
            d
            for n, d in sorted(self._replays.items())
            if n.startswith(NamePrefix or "")
            and (State is None or d["State"] == State)
            and (EventSourceArn is None or d["EventSourceArn"] == EventSourceArn)
        ]
        items, token = page(docs, NextToken, Limit)
        out: dict[str, Any] = {"Replays": [self._replay_shape(d, full=False) for d in items]}
        if token:
            out["NextToken"] = token
        return out

    async def cancel_replay(self, *, ReplayName: str) -> dict[str, Any]:
        doc = self._replay(ReplayName)
        if doc["State"] not in ("STARTING", "RUNNING"):
            raise CloudletError(
                f"Replay {ReplayName} is not in a valid state for this operation.",
                code="IllegalStatusException",
            )
        doc = dict(doc, State="CANCELLING")
        await self._store.write([Put(REPLAYS, ReplayName, doc)])
        self._replays[ReplayName] = doc
        return {"ReplayArn": doc["ReplayArn"], "State": "CANCELLING"}

    async def replay_finished(self, name: str) -> None:
        """Wait for the replay task of ``name`` (tests, tools)."""
        task = self._tasks.get(name)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    def _launch(self, name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run_replay(name))
        self._tasks[name] = task
        task.add_done_callback(
            lambda _t: self._tasks.pop(name, None) if self._tasks.get(name) is _t else None
        )

    async def _set_replay(self, name: str, **changes: Any) -> dict[str, Any]:
        doc = dict(self._replays[name], **changes)
        await self._store.write([Put(REPLAYS, name, doc)])
        self._replays[name] = doc
        return doc

    async def _run_replay(self, name: str) -> None:
        doc = self._replays[name]
        try:
            if doc["State"] == "STARTING":
                doc = await self._set_replay(name, State="RUNNING")
            archive_name = parse_arn(doc["EventSourceArn"]).resource_name
            bus = bus_name_of(doc["Destination"]["Arn"])
            only = set(doc["Destination"].get("FilterArns") or ()) or None
            start, end = float(doc["EventStartTime"]), float(doc["EventEndTime"])
            while True:
                if self._replays[name]["State"] == "CANCELLING":
                    await self._set_replay(name, State="CANCELLED", ReplayEndTime=self._service.now())
                    return
                entries = await self._store.read_log(
                    ARCHIVE_LOG, archive_name, after=doc["Cursor"], limit=_PAGE
                )
                if not entries:
                    break
                ops: list[Op] = []
                deliveries: list[dict[str, Any]] = []
                last = doc.get("EventLastReplayedTime")
                now = self._service.now()
                for _seq, entry in entries:
                    if not start <= float(entry["et"]) < end:
                        continue
                    event = dict(entry["event"], **{"replay-name": name})
                    o, d = self._service.route(bus, event, now, only_rules=only, archive=False)
                    ops.extend(o)
                    deliveries.extend(d)
                    last = float(entry["et"])
                doc = dict(self._replays[name], Cursor=entries[-1][0], EventLastReplayedTime=last)
                ops.append(Put(REPLAYS, name, doc))
                await self._service.commit(ops, deliveries)
                self._replays[name] = doc
                await asyncio.sleep(0)
            if self._replays[name]["State"] == "CANCELLING":
                await self._set_replay(name, State="CANCELLED", ReplayEndTime=self._service.now())
            else:
                await self._set_replay(name, State="COMPLETED", ReplayEndTime=self._service.now())
        except asyncio.CancelledError:
            raise
        except CloudletError as exc:
            log.exception("replay failed", extra={"action": "replay", "replay": name})
            await self._set_replay(
                name, State="FAILED", StateReason=exc.message, ReplayEndTime=self._service.now()
            )
