"""Asynchronous (Event) invocations: a durable queue, retries, destinations and dead-letter queues.

An accepted Event invocation is written to the store before Invoke answers 202, so it survives
a killed runtime and runs after the next start (at least once). Each event is tried once and,
on a function error, retried ``MaximumRetryAttempts`` times (default 2) after a delay that
doubles (one, then two minutes on AWS; ``retry_delay`` here). An event older than
``MaximumEventAgeInSeconds`` is discarded. A throttled attempt does not count as a retry: it
waits and tries again. Success goes to the OnSuccess destination, final failure to OnFailure
and to the function's dead-letter queue (DeadLetterConfig.TargetArn), through the router.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from cloudlet.errors import CloudletError
from cloudlet.functions.errors import TooManyRequests
from cloudlet.functions.model import LATEST, FunctionRef, iso_millis
from cloudlet.store import Delete, Put

if TYPE_CHECKING:
    from cloudlet.functions.service import Functions

logger = logging.getLogger(__name__)

NAMESPACE = "lambda.async"
#: attempts running at once across all functions (each also takes function concurrency)
MAX_RUNNING = 64


class EventQueue:
    """The durable queue of Event invocations of one Functions service."""

    def __init__(self, service: Functions, *, retry_delay: float = 60.0) -> None:
        self.service = service
        self.retry_delay = retry_delay
        #: first wait after a throttled attempt (doubles per throttle, at most five minutes)
        self.throttle_delay = min(1.0, retry_delay)
        self._records: dict[str, dict[str, Any]] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._counter = 0
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_RUNNING)
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        """Reload every accepted, unfinished event from the store and start dispatching."""
        for key, record in await self.service.store.scan(NAMESPACE):
            self._schedule(key, record)
        self._loop_task = asyncio.get_running_loop().create_task(self._dispatch())

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for task in list(self._running):
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def pending(self) -> int:
        """Events accepted and not yet finished."""
        return len(self._records)

    async def drain(self) -> None:
        """Wait until no event is queued or running (tests and shutdown helpers)."""
        while self._records or self._running:
            self._idle.clear()
            await self._idle.wait()

    async def enqueue(self, name: str, qualifier: str | None, payload: bytes) -> str:
        """Durably accept one Event invocation; returns its request id."""
        request_id = str(uuid.uuid4())
        now = self.service.clock.time()
        record = {
            "request_id": request_id,
            "function": name,
            "qualifier": qualifier,
            "payload": payload.decode() if payload else "{}",
            "received": now,
            "attempts": 0,
            "throttles": 0,
            "due": now,
        }
        key = f"{request_id}"
        await self.service.store.write([Put(NAMESPACE, key, record)])
        self._schedule(key, record)
        return request_id

    def _schedule(self, key: str, record: dict[str, Any]) -> None:
        self._records[key] = record
        self._counter += 1
        heapq.heappush(self._heap, (record["due"], self._counter, key))
        self._idle.clear()
        self._wake.set()

    async def _dispatch(self) -> None:
        clock = self.service.clock
        while True:
            now = clock.time()
            while self._heap and self._heap[0][0] <= now:
                due, _, key = heapq.heappop(self._heap)
                record = self._records.get(key)
                if record is None or record["due"] != due or record.get("_running"):
                    continue
                record["_running"] = True
                await self._slots.acquire()
                task = asyncio.get_running_loop().create_task(self._attempt(key, record))
                self._running.add(task)
                task.add_done_callback(self._finished)
            self._wake.clear()
            waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._wake.wait())]
            if self._heap:
                waiters.append(asyncio.ensure_future(clock.sleep(self._heap[0][0] - clock.time())))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            logger.error("async invocation failed inside cloudlet", exc_info=task.exception())
        if not self._records and not self._running:
            self._idle.set()

    async def _attempt(self, key: str, record: dict[str, Any]) -> None:
        service = self.service
        now = service.clock.time()
        name, qualifier = record["function"], record["qualifier"]
        max_retries, max_age, destinations = service.event_settings(name, qualifier)
        record.pop("_running", None)
        if now - record["received"] > max_age:
            await self._fail(key, record, "EventAgeExceeded", None, destinations)
            return
        try:
            doc, version, config, code_dir = service._resolve(FunctionRef(name, qualifier))
            outcome, _ = await service.execute(
                doc,
                version,
                config,
                code_dir,
                record["payload"].encode(),
                record["request_id"],
                service.function_arn(name, qualifier),
            )
        except TooManyRequests:
            record["throttles"] += 1
            record["due"] = now + min(300.0, self.throttle_delay * 2 ** min(record["throttles"] - 1, 9))
            await service.store.write([Put(NAMESPACE, key, record)])
            self._schedule(key, record)
            return
        except CloudletError as exc:  # the function or its alias went away: nothing left to run
            logger.warning(
                "dropping async invocation",
                extra={"action": "async_invoke", "function": name, "error": exc.code},
            )
            await self._fail(key, record, "RetriesExhausted", None, destinations)
            return
        record["attempts"] += 1
        response = {
            "statusCode": 200,
            "executedVersion": version,
            "payload": outcome.payload,
            "functionError": "Unhandled" if outcome.error_type is not None else None,
        }
        if outcome.error_type is None:
            await self._deliver_destination(destinations, "OnSuccess", record, "Success", response)
            await self._forget(key)
            return
        if record["attempts"] <= max_retries:
            record["due"] = now + self.retry_delay * 2 ** (record["attempts"] - 1)
            await service.store.write([Put(NAMESPACE, key, record)])
            self._schedule(key, record)
            return
        await self._fail(key, record, "RetriesExhausted", response, destinations)

    async def _fail(
        self,
        key: str,
        record: dict[str, Any],
        condition: str,
        response: dict[str, Any] | None,
        destinations: dict[str, Any],
    ) -> None:
        await self._deliver_destination(destinations, "OnFailure", record, condition, response)
        doc = self.service._functions.get(record["function"])
        dlq = None
        if doc is not None:
            with contextlib.suppress(CloudletError):
                _, _, config, _ = self.service._resolve_static(
                    FunctionRef(record["function"], record["qualifier"])
                )
                dlq = (config.get("DeadLetterConfig") or {}).get("TargetArn")
        if dlq:
            await self._send(dlq, json.loads(record["payload"]))
        await self._forget(key)

    async def _forget(self, key: str) -> None:
        await self.service.store.write([Delete(NAMESPACE, key)])
        self._records.pop(key, None)

    async def _deliver_destination(
        self,
        destinations: dict[str, Any],
        kind: str,
        record: dict[str, Any],
        condition: str,
        response: dict[str, Any] | None,
    ) -> None:
        target = (destinations.get(kind) or {}).get("Destination")
        if not target:
            return
        service = self.service
        qualifier = record["qualifier"] or LATEST
        document: dict[str, Any] = {
            "version": "1.0",
            "timestamp": iso_millis(service.clock.time()),
            "requestContext": {
                "requestId": record["request_id"],
                "functionArn": service.function_arn(record["function"], qualifier),
                "condition": condition,
                "approximateInvokeCount": record["attempts"],
            },
            "requestPayload": json.loads(record["payload"]),
        }
        if response is not None:
            context: dict[str, Any] = {
                "statusCode": response["statusCode"],
                "executedVersion": response["executedVersion"],
            }
            if response["functionError"]:
                context["functionError"] = response["functionError"]
            document["responseContext"] = context
            raw = response["payload"]
            document["responsePayload"] = json.loads(raw) if raw else None
        await self._send(target, document)

    async def _send(self, arn: str, payload: Any) -> None:
        try:
            await self.service.router.deliver(arn, payload, invocation_type="Event")
        except CloudletError as exc:
            logger.warning(
                "could not deliver to destination",
                extra={"action": "async_destination", "destination": arn, "error": exc.code},
            )
