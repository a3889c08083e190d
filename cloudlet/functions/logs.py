"""Function logs: Lambda's log lines per invocation, stored per log group and stream.

Each execution environment writes to its own stream of the group ``/aws/lambda/NAME``
(``2026/11/26/[$LATEST]<hex>``), as Lambda does. An invocation's events are its
``START RequestId: ... Version: ...`` line, the process's stdout/stderr line by line, the
``END`` line and the ``REPORT`` line with Duration, Billed Duration, Memory Size, Max Memory
Used and Init Duration (or Restore Duration for snapshot starts).

``FunctionLogs`` stores them in the store's logs and answers with the shapes of the CloudWatch
Logs API (``get_log_events``, ``filter_log_events``, ``describe_log_streams``,
``describe_log_groups``), so the Logs service can map its operations straight onto it;
``follow`` yields new events as they arrive.
https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import shlex
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from cloudlet.clock import Clock
from cloudlet.errors import ResourceNotFound, ValidationError
from cloudlet.functions.environments import Outcome
from cloudlet.functions.model import FunctionSpec, iso_millis
from cloudlet.store import Append, DeleteLog, Op, Store

NAMESPACE = "lambda.logs"
_SEP = "|"
TAIL_BYTES = 4096


@dataclass(slots=True)
class _StreamInfo:
    group: str
    name: str
    next_seq: int
    creation_time: int
    first_event: int | None
    last_event: int | None
    last_ingestion: int | None
    stored_bytes: int


def report_line(
    request_id: str,
    *,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None = None,
    restore_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """Lambda's REPORT line (tab-separated fields, trailing tab)."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(duration_ms + (init_ms or 0.0)))} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if restore_ms is not None:
        parts.append(f"Restore Duration: {restore_ms:.2f} ms")
        parts.append(f"Billed Restore Duration: {max(1, math.ceil(restore_ms))} ms")
    if status is not None:
        parts.append(f"Status: {status}")
    if error_type is not None:
        parts.append(f"Error Type: {error_type}")
    return "\t".join(parts) + "\t\n"


def invocation_lines(
    spec: FunctionSpec, outcome: Outcome, request_id: str, *, now: float, region: str
) -> list[str]:
    """The log events of one invocation, as Lambda writes them to the environment's stream."""
    runtime_line = (
        f"Runtime Version: {spec.runtime.replace('python', 'python:')}.cloudlet\t"
        f"Runtime Version ARN: arn:aws:lambda:{region}::runtime:cloudlet\n"
    )
    lines: list[str] = []
    if outcome.restore_ms is not None:
        lines.append(f"RESTORE_START {runtime_line}")
        lines += output_lines(outcome.init_output)
        lines.append(f"RESTORE_REPORT Restore Duration: {outcome.restore_ms:.2f} ms\n")
    elif outcome.init_ms is not None or outcome.init_output:
        lines.append(f"INIT_START {runtime_line}")
        lines += output_lines(outcome.init_output)
    if outcome.phase == "init":
        init_status = "timeout" if outcome.status == "timeout" else "error"
        lines.append(
            f"INIT_REPORT Init Duration: {outcome.init_ms or 0.0:.2f} ms\tPhase: init\t"
            f"Status: {init_status}\tError Type: {outcome.error_type}\n"
        )
    lines.append(f"START RequestId: {request_id} Version: {spec.version}\n")
    lines += output_lines(outcome.output)
    status: str | None = None
    error_type: str | None = None
    if outcome.status == "timeout" and outcome.phase == "invoke":
        lines.append(f"{iso_millis(now)} {request_id} Task timed out after {spec.timeout:.2f} seconds\n")
        status = "timeout"
    elif outcome.status in ("oom", "crash"):
        message = json.loads(outcome.payload)["errorMessage"]
        lines.append(f"{message}\nRuntime.ExitError\n")
        status = "error"
        error_type = "Runtime.OutOfMemory" if outcome.status == "oom" else "Runtime.ExitError"
    lines.append(f"END RequestId: {request_id}\n")
    lines.append(
        report_line(
            request_id,
            duration_ms=outcome.duration_ms,
            memory_mb=spec.memory_mb,
            max_memory_mb=outcome.max_memory_mb,
            init_ms=outcome.init_ms if outcome.restore_ms is None else None,
            restore_ms=outcome.restore_ms,
            status=status,
            error_type=error_type,
        )
    )
    return lines


def tail(messages: Sequence[str]) -> str:
    """LogType=Tail: the last 4 KB of an invocation's log, base64-encoded."""
    raw = "".join(messages).encode()
    return base64.b64encode(raw[-TAIL_BYTES:]).decode()


def output_lines(output: str) -> list[str]:
    """Split a process's output into log events, one per line, each ending in a newline."""
    return [line if line.endswith("\n") else line + "\n" for line in output.splitlines(keepends=True)]


class FilterPattern:
    """CloudWatch Logs' text filter patterns: terms (all must appear), "quoted phrases", ?any, -not.

    JSON and space-delimited patterns (``{ $.x = 1 }``, ``[ip, user]``) are not implemented and
    raise ``InvalidParameterException`` naming that.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
    """

    def __init__(self, pattern: str | None) -> None:
        self.required: list[str] = []
        self.excluded: list[str] = []
        self.any_of: list[str] = []
        text = (pattern or "").strip()
        if text.startswith(("{", "[")):
            raise ValidationError(
                "cloudlet implements text filter patterns only; JSON and space-delimited patterns are not "
                "implemented",
                code="InvalidParameterException",
            )
        if not text:
            return
        try:
            terms = shlex.split(text)
        except ValueError as exc:
            raise ValidationError(
                f"Invalid filter pattern: {exc}", code="InvalidParameterException"
            ) from None
        for term in terms:
            if term.startswith("?") and len(term) > 1:
                self.any_of.append(term[1:])
            elif term.startswith("-") and len(term) > 1:
                self.excluded.append(term[1:])
            else:
                self.required.append(term)

    def matches(self, message: str) -> bool:
        if any(t not in message for t in self.required):
            return False
        if any(t in message for t in self.excluded):
            return False
        return not self.any_of or any(t in message for t in self.any_of)


class FunctionLogs:
    """Log groups and streams of functions, in the store, with CloudWatch Logs-shaped reads."""

    def __init__(self, store: Store, clock: Clock, *, region: str, account: str) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self._streams: dict[tuple[str, str], _StreamInfo] = {}
        self._pending: list[Op] = []
        self._flusher: asyncio.Task[None] | None = None
        self._followers: list[tuple[str, asyncio.Queue[dict[str, Any]]]] = []

    async def start(self) -> None:
        """Rebuild the stream index from the store."""
        for key in await self.store.streams(NAMESPACE):
            group, _, name = key.partition(_SEP)
            first = await self.store.read_log(NAMESPACE, key, limit=1)
            last = await self.store.read_log(NAMESPACE, key, limit=1, reverse=True)
            if not first:
                continue
            self._streams[(group, name)] = _StreamInfo(
                group,
                name,
                last[0][0] + 1,
                first[0][1]["i"],
                first[0][1]["t"],
                last[0][1]["t"],
                last[0][1]["i"],
                0,
            )

    async def stop(self) -> None:
        await self.flush()

    # -- writing ---------------------------------------------------------------------------------
    def append(
        self, group: str, stream: str, messages: Sequence[str], timestamp_ms: int | None = None
    ) -> None:
        """Add events to a stream; written to the store in the background (``flush`` to wait)."""
        if not messages:
            return
        now = int(self.clock.time() * 1000)
        ts = now if timestamp_ms is None else timestamp_ms
        info = self._streams.get((group, stream))
        if info is None:
            info = _StreamInfo(group, stream, 0, now, None, None, None, 0)
            self._streams[(group, stream)] = info
        key = f"{group}{_SEP}{stream}"
        for message in messages:
            doc = {"t": ts, "m": message, "i": now}
            self._pending.append(Append(NAMESPACE, key, info.next_seq, doc))
            event = self._event(info, info.next_seq, doc)
            for follow_group, queue in self._followers:
                if follow_group == group:
                    queue.put_nowait(event)
            info.next_seq += 1
            info.stored_bytes += len(message.encode())
        info.first_event = ts if info.first_event is None else info.first_event
        info.last_event = ts
        info.last_ingestion = now
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_pending())

    async def _flush_pending(self) -> None:
        while self._pending:
            ops, self._pending = self._pending, []
            await self.store.write(ops)

    async def flush(self) -> None:
        """Wait until every appended event is durable."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        if self._pending:
            await self._flush_pending()

    async def delete_log_group(self, logGroupName: str) -> dict[str, Any]:
        await self.flush()
        streams = [k for k in self._streams if k[0] == logGroupName]
        if not streams:
            raise ResourceNotFound("The specified log group does not exist.")
        await self.store.write([DeleteLog(NAMESPACE, f"{g}{_SEP}{s}") for g, s in streams])
        for key in streams:
            del self._streams[key]
        return {}

    # -- reading (CloudWatch Logs shapes) -----------------------------------------------------------
    def _event(self, info: _StreamInfo, seq: int, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "logStreamName": info.name,
            "timestamp": doc["t"],
            "message": doc["m"],
            "ingestionTime": doc["i"],
            "eventId": f"{doc['t']:013d}{seq:012d}",
        }

    def _group_streams(self, group: str) -> list[_StreamInfo]:
        streams = [info for (g, _), info in self._streams.items() if g == group]
        if not streams and not any(g == group for g, _ in self._streams):
            raise ResourceNotFound("The specified log group does not exist.")
        return streams

    async def get_log_events(
        self,
        logGroupName: str,
        logStreamName: str,
        startTime: int | None = None,
        endTime: int | None = None,
        nextToken: str | None = None,
        limit: int | None = None,
        startFromHead: bool | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """GetLogEvents: events of one stream, newest ``limit`` unless startFromHead; f/ and b/ tokens."""
        await self.flush()
        info = self._streams.get((logGroupName, logStreamName))
        if info is None:
            self._group_streams(logGroupName)
            raise ResourceNotFound("The specified log stream does not exist.")
        limit = limit or 10000
        key = f"{logGroupName}{_SEP}{logStreamName}"
        entries = [
            (seq, doc)
            for seq, doc in await self.store.read_log(NAMESPACE, key)
            if (startTime is None or doc["t"] >= startTime) and (endTime is None or doc["t"] < endTime)
        ]
        forward = bool(startFromHead)
        if nextToken:
            direction, _sep, pos = nextToken.partition("/")
            if direction not in ("f", "b") or not pos.lstrip("-").isdigit():
                raise ValidationError("The specified nextToken is invalid.", code="InvalidParameterException")
            forward = direction == "f"
            cut = int(pos)
            entries = [e for e in entries if (e[0] > cut if forward else e[0] < cut)]
        page = entries[:limit] if forward else entries[-limit:]
        events = [self._event(info, seq, doc) for seq, doc in page]
        for event in events:
            del event["logStreamName"], event["eventId"]
        if page:
            first_seq, last_seq = page[0][0], page[-1][0]
        else:
            token_pos = int(nextToken.partition("/")[2]) if nextToken else info.next_seq - 1
            first_seq = last_seq = token_pos
        return {"events": events, "nextForwardToken": f"f/{last_seq}", "nextBackwardToken": f"b/{first_seq}"}

    async def filter_log_events(
        self,
        logGroupName: str,
        logStreamNames: list[str] | None = None,
        logStreamNamePrefix: str | None = None,
        startTime: int | None = None,
        endTime: int | None = None,
        filterPattern: str | None = None,
        nextToken: str | None = None,
        limit: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """FilterLogEvents: matching events of a group across streams, in time order."""
        await self.flush()
        pattern = FilterPattern(filterPattern)
        streams = self._group_streams(logGroupName)
        if logStreamNames:
            streams = [s for s in streams if s.name in logStreamNames]
        if logStreamNamePrefix:
            streams = [s for s in streams if s.name.startswith(logStreamNamePrefix)]
        events: list[dict[str, Any]] = []
        for info in streams:
            if startTime is not None and (info.last_event or 0) < startTime:
                continue  # nothing new in this stream (followers poll with a moving startTime)
            for seq, doc in await self.store.read_log(NAMESPACE, f"{info.group}{_SEP}{info.name}"):
                if startTime is not None and doc["t"] < startTime:
                    continue
                if endTime is not None and doc["t"] > endTime:
                    continue
                if pattern.matches(doc["m"]):
                    events.append(self._event(info, seq, doc))
        events.sort(key=lambda e: (e["timestamp"], e["eventId"], e["logStreamName"]))
        if nextToken:
            events = [
                e for e in events if (e["timestamp"], e["eventId"], e["logStreamName"]) > _token(nextToken)
            ]
        limit = limit or 10000
        page = events[:limit]
        result: dict[str, Any] = {
            "events": page,
            "searchedLogStreams": [{"logStreamName": s.name, "searchedCompletely": True} for s in streams],
        }
        if len(events) > limit:
            last = page[-1]
            result["nextToken"] = base64.urlsafe_b64encode(
                f"{last['timestamp']}|{last['eventId']}|{last['logStreamName']}".encode()
            ).decode()
        return result

    async def describe_log_streams(
        self,
        logGroupName: str,
        logStreamNamePrefix: str | None = None,
        orderBy: str | None = None,
        descending: bool | None = None,
        nextToken: str | None = None,
        limit: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """DescribeLogStreams of a function's log group."""
        await self.flush()
        streams = self._group_streams(logGroupName)
        if logStreamNamePrefix:
            streams = [s for s in streams if s.name.startswith(logStreamNamePrefix)]
        if orderBy == "LastEventTime":
            streams.sort(key=lambda s: (s.last_event or 0, s.name), reverse=bool(descending))
        else:
            streams.sort(key=lambda s: s.name, reverse=bool(descending))
        start = int(nextToken) if nextToken and nextToken.isdigit() else 0
        limit = limit or 50
        page = streams[start : start + limit]
        result: dict[str, Any] = {
            "logStreams": [
                {
                    "logStreamName": s.name,
                    "creationTime": s.creation_time,
                    "firstEventTimestamp": s.first_event,
                    "lastEventTimestamp": s.last_event,
                    "lastIngestionTime": s.last_ingestion,
                    "arn": f"{self.group_arn(s.group)[:-2]}:log-stream:{s.name}",
                    "storedBytes": 0,
                }
                for s in page
            ]
        }
        if start + limit < len(streams):
            result["nextToken"] = str(start + limit)
        return result

    async def describe_log_groups(self, logGroupNamePrefix: str | None = None, **_: Any) -> dict[str, Any]:
        """DescribeLogGroups over the function log groups that have events."""
        groups = sorted({g for g, _ in self._streams if g.startswith(logGroupNamePrefix or "")})
        return {
            "logGroups": [
                {
                    "logGroupName": g,
                    "creationTime": min(s.creation_time for (gg, _), s in self._streams.items() if gg == g),
                    "arn": self.group_arn(g),
                    "storedBytes": 0,
                }
                for g in groups
            ]
        }

    def group_arn(self, group: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.account}:log-group:{group}:*"

    async def follow(
        self, logGroupName: str, *, startTime: int | None = None, filterPattern: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the group's events from ``startTime`` (default: now) and then each new one as it arrives."""
        pattern = FilterPattern(filterPattern)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        follower = (logGroupName, queue)
        self._followers.append(follower)
        try:
            if startTime is not None and any(g == logGroupName for g, _ in self._streams):
                seen = await self.filter_log_events(
                    logGroupName, startTime=startTime, filterPattern=filterPattern
                )
                ids = {e["eventId"] for e in seen["events"]}
                for event in seen["events"]:
                    yield event
                while not queue.empty():  # events appended while we read the store
                    event = queue.get_nowait()
                    if event["eventId"] not in ids and pattern.matches(event["message"]):
                        yield event
            while True:
                event = await queue.get()
                if pattern.matches(event["message"]):
                    yield event
        finally:
            with contextlib.suppress(ValueError):
                self._followers.remove(follower)


def _token(token: str) -> tuple[int, str, str]:
    try:
        ts, event_id, stream = base64.urlsafe_b64decode(token.encode()).decode().split("|", 2)
        return int(ts), event_id, stream
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(
            "The specified nextToken is invalid.", code="InvalidParameterException"
        ) from None
