"""Durable, at-least-once delivery of matched events to rule targets.

Every (event, target) pair that a rule matched is a *delivery*: a document in the outbox
namespace written in the same store batch that accepted the event, before PutEvents
returns. The dispatcher delivers each through the router, deletes it on success, and on
failure retries with exponential backoff under the target's RetryPolicy, then hands the
event to the target's dead-letter queue. After a kill -9 the outbox is reloaded on start and
every delivery still in it is attempted again.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Iterable
from typing import Any

import orjson

from cloudlet.arns import parse_arn
from cloudlet.clock import Clock
from cloudlet.errors import CloudletError, LimitExceeded, ResourceNotFound, ValidationError
from cloudlet.events.entries import iso_time
from cloudlet.events.transform import RuleContext, apply_input_path, target_payload
from cloudlet.router import Router
from cloudlet.store import Delete, Put, Store

log = logging.getLogger(__name__)

OUTBOX = "events.outbox"
DEFAULT_MAX_RETRY_ATTEMPTS = 185
DEFAULT_MAX_EVENT_AGE = 86400
#: First retry after 1 s, doubling up to 5 minutes between attempts.
_FIRST_DELAY = 1.0
_MAX_DELAY = 300.0
_CONCURRENCY = 128


def retry_delay(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): exponential backoff, capped."""
    return min(_FIRST_DELAY * 2 ** (attempt - 1), _MAX_DELAY)


def new_delivery(
    key: str,
    *,
    event: dict[str, Any],
    rule_arn: str,
    rule_name: str,
    target: dict[str, Any],
    accepted: float,
) -> dict[str, Any]:
    """The outbox document of one pending delivery."""
    return {
        "key": key,
        "event": event,
        "rule_arn": rule_arn,
        "rule_name": rule_name,
        "target": target,
        "accepted": accepted,
        "due": accepted,
        "attempts": 0,
    }


def _error_code(exc: BaseException) -> str:
    """The ERROR_CODE attribute AWS puts on a dead-lettered event."""
    if isinstance(exc, ResourceNotFound):
        return "RESOURCE_NOT_FOUND"
    if isinstance(exc, LimitExceeded):
        return "THROTTLING"
    return "SDK_CLIENT_ERROR"


def _retryable(exc: BaseException) -> bool:
    """AWS does not retry when the target does not exist or the request can never succeed."""
    return not isinstance(exc, ResourceNotFound | ValidationError)


class Dispatcher:
    """Delivers outbox documents through the router; owns the retry and dead-letter logic."""

    def __init__(self, store: Store, router: Router, clock: Clock) -> None:
        self._store = store
        self._router = router
        self._clock = clock
        self._heap: list[tuple[float, int, str]] = []
        self._pending: dict[str, dict[str, Any]] = {}
        self._counter = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._semaphore = asyncio.Semaphore(_CONCURRENCY)
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        """Reload every pending delivery from the store and start delivering."""
        docs = [doc for _, doc in await self._store.scan(OUTBOX)]
        self.enqueue(docs)
        if docs:
            log.info("resuming pending deliveries", extra={"action": "dispatch", "count": len(docs)})
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop delivering; deliveries not finished stay in the outbox for the next start."""
        tasks = [t for t in (self._task, *self._inflight) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        self._inflight.clear()

    def enqueue(self, docs: Iterable[dict[str, Any]]) -> None:
        """Schedule deliveries whose documents the store already holds."""
        for doc in docs:
            self._pending[doc["key"]] = doc
            heapq.heappush(self._heap, (float(doc["due"]), next(self._counter), doc["key"]))
            self._idle.clear()
        self._wake.set()

    @property
    def pending(self) -> int:
        """Deliveries accepted and not yet finished (delivered or dead-lettered)."""
        return len(self._pending)

    async def drained(self) -> None:
        """Wait until no delivery is pending (used by tests and shutdown paths)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock.time()
            while self._heap and self._heap[0][0] <= now:
                _, _, key = heapq.heappop(self._heap)
                doc = self._pending.get(key)
                if doc is None:
                    continue
                await self._semaphore.acquire()
                task = asyncio.get_running_loop().create_task(self._attempt(doc))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            if self._heap:
                await self._wait(self._heap[0][0] - now)
            else:
                await self._wake.wait()

    async def _wait(self, seconds: float) -> None:
        """Sleep on the injected clock until ``seconds`` pass or new work arrives."""
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (sleeper, waker):
                fut.cancel()

    async def _attempt(self, doc: dict[str, Any]) -> None:
        try:
            target = doc["target"]
            ctx = RuleContext(doc["rule_arn"], doc["rule_name"], iso_time(float(doc["accepted"])))
            try:
                payload = target_payload(target, doc["event"], ctx)
                await self._send(target, payload, doc["event"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(doc, exc)
                return
            await self._store.write([Delete(OUTBOX, doc["key"])])
            self._finish(doc["key"])
        except CloudletError as exc:
            # The store failed: the delivery stays in the outbox and is attempted again on restart.
            log.error("delivery bookkeeping failed", extra={"action": "deliver", "error": str(exc)})
            self._finish(doc["key"])
        finally:
            self._semaphore.release()

    async def _send(self, target: dict[str, Any], payload: Any, event: dict[str, Any]) -> None:
        """Hand ``payload`` to the target; a FIFO queue gets SqsParameters' group, the event id dedups."""
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        if group and target["Arn"].startswith("arn:aws:sqs:") and "sqs" in self._router.services:
            arn = parse_arn(target["Arn"])
            url = await self._router.call(
                "sqs", "GetQueueUrl", {"QueueName": arn.resource, "QueueOwnerAWSAccountId": arn.account}
            )
            body = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
            await self._router.call(
                "sqs",
                "SendMessage",
                {
                    "QueueUrl": url["QueueUrl"],
                    "MessageBody": body,
                    "MessageGroupId": group,
                    "MessageDeduplicationId": str(event.get("id", "")),
                },
            )
            return
        if target["Arn"].startswith("arn:aws:kinesis:") and "kinesis" in self._router.services:
            # AWS partitions by KinesisParameters.PartitionKeyPath on the event, else by the event id.
            key_path = (target.get("KinesisParameters") or {}).get("PartitionKeyPath")
            key = apply_input_path(event, key_path) if key_path else None
            body = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
            await self._router.call(
                "kinesis",
                "PutRecord",
                {
                    "StreamName": parse_arn(target["Arn"]).resource_name,
                    "Data": body.encode(),
                    "PartitionKey": str(key if key is not None else event.get("id", "")),
                },
            )
            return
        await self._router.deliver(target["Arn"], payload, invocation_type="Event")

    def _finish(self, key: str) -> None:
        self._pending.pop(key, None)
        if not self._pending:
            self._idle.set()

    async def _failed(self, doc: dict[str, Any], exc: Exception) -> None:
        target = doc["target"]
        policy = target.get("RetryPolicy") or {}
        max_attempts = int(policy.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS))
        max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE))
        now = self._clock.time()
        retries_done = int(doc["attempts"])
        log.warning(
            "delivery failed",
            extra={"action": "deliver", "target": target["Arn"], "attempt": retries_done, "error": str(exc)},
        )
        exhausted: str | None = None
        if not _retryable(exc):
            exhausted = ""
        elif retries_done >= max_attempts:
            exhausted = "MaximumRetryAttempts"
        elif now + retry_delay(retries_done + 1) - float(doc["accepted"]) > max_age:
            exhausted = "MaximumEventAgeInSeconds"
        if exhausted is None:
            updated = dict(doc, attempts=retries_done + 1, due=now + retry_delay(retries_done + 1))
            await self._store.write([Put(OUTBOX, doc["key"], updated)])
            self.enqueue([updated])
            return
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dlq:
            await self._dead_letter(dlq, doc, exc, exhausted, retries_done)
        else:
            log.error(
                "event dropped after failed delivery",
                extra={"action": "deliver", "target": target["Arn"], "event_id": doc["event"].get("id")},
            )
        await self._store.write([Delete(OUTBOX, doc["key"])])
        self._finish(doc["key"])

    async def _dead_letter(
        self, dlq: str, doc: dict[str, Any], exc: Exception, exhausted: str, retries: int
    ) -> None:
        """Send the failed event to the DLQ with AWS's error attributes (SQS message attributes)."""
        attributes = {
            "RULE_ARN": doc["rule_arn"],
            "TARGET_ARN": doc["target"]["Arn"],
            "ERROR_CODE": _error_code(exc),
            "ERROR_MESSAGE": str(exc) or type(exc).__name__,
            "RETRY_ATTEMPTS": str(retries),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        body = orjson.dumps(doc["event"]).decode()
        try:
            arn = parse_arn(dlq)
            if arn.service == "sqs" and "sqs" in self._router.services:
                url = await self._router.call(
                    "sqs", "GetQueueUrl", {"QueueName": arn.resource, "QueueOwnerAWSAccountId": arn.account}
                )
                await self._router.call(
                    "sqs",
                    "SendMessage",
                    {
                        "QueueUrl": url["QueueUrl"],
                        "MessageBody": body,
                        "MessageAttributes": {
                            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                        },
                    },
                )
            else:
                await self._router.deliver(dlq, doc["event"], invocation_type="Event")
        except Exception as dlq_exc:  # a failing DLQ drops the event, as AWS does
            log.error(
                "dead-letter delivery failed",
                extra={"action": "dead_letter", "dlq": dlq, "error": str(dlq_exc)},
            )
