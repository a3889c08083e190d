"""Stream -> function: Lambda's Kinesis poller, one reader per shard, with checkpoints.

Each shard is read in order from its checkpoint (the last sequence number whose batch was
settled, kept in the store, so a restarted runtime resumes where it stopped) or else from the
mapping's ``StartingPosition``. A failing batch is retried (bisected first when
``BisectBatchOnFunctionError``) until ``MaximumRetryAttempts`` or ``MaximumRecordAgeInSeconds``
is exceeded; then its description goes to the ``OnFailure`` destination and the shard moves on.
With ``ReportBatchItemFailures`` the shard checkpoints before the lowest reported sequence
number and retries from there.

https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cloudlet.errors import CloudletError, TaskFailed
from cloudlet.mappings.events import filter_view, kinesis_record, stream_failure_record
from cloudlet.store import Put

if TYPE_CHECKING:
    from cloudlet.mappings.service import EventSourceMappings, Mapping

log = logging.getLogger(__name__)

NS_CHECKPOINTS = "lambda.esm.checkpoints"
_ERROR_BACKOFF = 5.0
_IDLE_POLL = 1.0


async def poll_stream(service: EventSourceMappings, mapping: Mapping) -> None:
    """Run until cancelled: one reader per shard of the stream."""
    stream_arn = mapping.config["EventSourceArn"]
    while True:
        try:
            shards = (await service.router.call("kinesis", "ListShards", {"StreamARN": stream_arn}))["Shards"]
            break
        except CloudletError as exc:
            mapping.last_result = f"PROBLEM: {exc.code}: {exc.message}"
            await service.clock.sleep(_ERROR_BACKOFF)
    await asyncio.gather(*(ShardReader(service, mapping, s["ShardId"]).run() for s in shards))


class ShardReader:
    """Reads one shard and hands its records to the function in order."""

    def __init__(self, service: EventSourceMappings, mapping: Mapping, shard_id: str) -> None:
        self.service = service
        self.mapping = mapping
        self.shard_id = shard_id
        self.stream_arn: str = mapping.config["EventSourceArn"]
        self.key = f"{mapping.uuid}/{shard_id}"
        self.iterator: str | None = None
        self.fetched_after: str | None = None  # last sequence number read from the shard
        self.buffer: list[dict[str, Any]] = []

    async def run(self) -> None:
        while True:
            try:
                batch = await self._gather()
                if batch:
                    await self._process(batch)
            except CloudletError as exc:
                self.mapping.last_result = f"PROBLEM: {exc.code}: {exc.message}"
                log.warning(
                    "stream poll failed",
                    extra={"action": "poll_stream", "shard": self.shard_id, "code": exc.code},
                )
                self.iterator = None
                await self.service.clock.sleep(_ERROR_BACKOFF)

    # -- reading ------------------------------------------------------------------------------
    async def _new_iterator(self) -> str:
        params: dict[str, Any] = {"StreamARN": self.stream_arn, "ShardId": self.shard_id}
        after = self.fetched_after
        if after is None:
            checkpoint = await self.service.store.get(NS_CHECKPOINTS, self.key)
            after = checkpoint["seq"] if checkpoint else None
        if after is not None:
            params.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        else:
            position = self.mapping.config.get("StartingPosition")
            if position == "TRIM_HORIZON":
                params["ShardIteratorType"] = "TRIM_HORIZON"
            else:
                # LATEST means "records after the mapping was created", also across restarts
                moment = self.mapping.config.get("StartingPositionTimestamp") or datetime.fromtimestamp(
                    self.mapping.created, UTC
                )
                params.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=moment)
        response = await self.service.router.call("kinesis", "GetShardIterator", params)
        return str(response["ShardIterator"])

    async def _gather(self) -> list[dict[str, Any]]:
        batch_size = self.mapping.config["BatchSize"]
        window = self.mapping.config.get("MaximumBatchingWindowInSeconds", 0) or 0
        clock = self.service.clock
        deadline: float | None = None
        while len(self.buffer) < batch_size:
            if self.iterator is None:
                self.iterator = await self._new_iterator()
            try:
                page = await self.service.router.call(
                    "kinesis",
                    "GetRecords",
                    {"ShardIterator": self.iterator, "Limit": batch_size - len(self.buffer)},
                )
            except CloudletError as exc:
                if exc.code == "ExpiredIteratorException":
                    self.iterator = None
                    continue
                raise
            self.iterator = page["NextShardIterator"]
            records = page["Records"]
            if records:
                self.fetched_after = records[-1]["SequenceNumber"]
                self.buffer += records
            if self.buffer and window == 0:
                break
            if self.buffer and deadline is None:
                deadline = clock.time() + window
            if deadline is not None and clock.time() >= deadline:
                break
            if not records:
                timeout = (
                    _IDLE_POLL if deadline is None else max(0.001, min(_IDLE_POLL, deadline - clock.time()))
                )
                await self._wait(timeout)
        batch, self.buffer = self.buffer[:batch_size], self.buffer[batch_size:]
        return batch

    async def _wait(self, timeout: float) -> None:
        try:
            waiter = getattr(self.service.router.api("kinesis"), "wait_for_records", None)
        except CloudletError:
            waiter = None
        if waiter is not None:
            await waiter(timeout)
        else:
            await self.service.clock.sleep(timeout)

    # -- processing ----------------------------------------------------------------------------
    async def _process(self, batch: list[dict[str, Any]]) -> None:
        config = self.mapping.config
        max_retries = config.get("MaximumRetryAttempts", -1)
        max_age = config.get("MaximumRecordAgeInSeconds", -1)
        bisect = bool(config.get("BisectBatchOnFunctionError"))
        work: list[tuple[list[dict[str, Any]], int]] = [(batch, 0)]
        while work:
            part, attempts = work.pop(0)
            while part:
                now = self.service.clock.time()
                if max_age is not None and max_age >= 0:
                    old = [r for r in part if now - _arrival(r) > max_age]
                    if old:
                        await self._on_failure(old, "RecordAgeExceeded", attempts, None)
                        await self._checkpoint(old[-1])  # records arrive in order: old ones lead
                        part = [r for r in part if r not in old]
                        continue
                outcome, remaining, error = await self._invoke(part)
                if outcome == "ok":
                    break
                attempts += 1
                if outcome == "partial":
                    await self._checkpoint(part[len(part) - len(remaining) - 1])
                    part = remaining
                elif bisect and len(part) > 1:
                    half = len(part) // 2
                    work[:0] = [(part[:half], attempts - 1), (part[half:], attempts - 1)]
                    part = []
                    break
                if max_retries is not None and 0 <= max_retries < attempts:
                    await self._on_failure(part, "RetryAttemptsExhausted", attempts, error)
                    break
                await self.service.clock.sleep(min(0.5 * 2 ** (attempts - 1), 10.0))
            if part:
                await self._checkpoint(part[-1])

    async def _invoke(self, part: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], str | None]:
        """("ok" | "failed" | "partial", records still to retry, error name)."""
        service, mapping = self.service, self.mapping
        records = [
            kinesis_record(r, self.shard_id, self.stream_arn, service.config.region, mapping.role_arn)
            for r in part
        ]
        matched = [r for r in records if mapping.accepts(filter_view(r, "kinesis"))]
        if not matched:
            return "ok", [], None
        try:
            result = await service.router.deliver(
                mapping.function_arn, {"Records": matched}, invocation_type="RequestResponse"
            )
        except TaskFailed as exc:
            mapping.last_result = "OK"
            return "failed", part, exc.error
        mapping.last_result = "OK"
        if "ReportBatchItemFailures" not in (mapping.config.get("FunctionResponseTypes") or []):
            return "ok", [], None
        failed = _lowest_failure(result, {r["SequenceNumber"] for r in part})
        if failed is None:
            return "ok", [], None
        if failed == "":
            return "failed", part, "InvalidBatchItemFailures"
        index = next(i for i, r in enumerate(part) if r["SequenceNumber"] == failed)
        if index == 0:
            return "failed", part, "BatchItemFailure"
        return "partial", part[index:], "BatchItemFailure"

    async def _checkpoint(self, record: dict[str, Any]) -> None:
        await self.service.store.write([Put(NS_CHECKPOINTS, self.key, {"seq": record["SequenceNumber"]})])

    async def _on_failure(
        self, records: list[dict[str, Any]], condition: str, attempts: int, error: str | None
    ) -> None:
        mapping = self.mapping
        destination = ((mapping.config.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        log.warning(
            "stream batch discarded",
            extra={
                "action": "on_failure",
                "shard": self.shard_id,
                "condition": condition,
                "count": len(records),
            },
        )
        if not destination:
            return
        payload = stream_failure_record(
            request_id=str(uuid.uuid4()),
            function_arn=mapping.function_arn,
            condition=condition,
            invoke_count=attempts,
            shard_id=self.shard_id,
            stream_arn=self.stream_arn,
            records=records,
            now=self.service.clock.time(),
            error=error,
        )
        try:
            await self.service.router.deliver(destination, payload, invocation_type="Event")
        except CloudletError as exc:
            log.warning(
                "OnFailure destination unreachable",
                extra={"action": "on_failure", "destination": destination, "code": exc.code},
            )


def _arrival(record: dict[str, Any]) -> float:
    value = record["ApproximateArrivalTimestamp"]
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _lowest_failure(result: Any, sequence_numbers: set[str]) -> str | None:
    """The lowest reported sequence number; None when all succeeded, "" when unreadable."""
    if result is None:
        return None
    if not isinstance(result, dict):
        return ""
    failures = result.get("batchItemFailures")
    if not failures:
        return None
    if not isinstance(failures, list):
        return ""
    reported = []
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in sequence_numbers:
            return ""
        reported.append(ident)
    return min(reported, key=int)
