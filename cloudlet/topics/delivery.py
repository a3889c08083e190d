"""Durable fan-out: every delivery of a published message is an outbox entry in the store.

``publish`` writes one entry per matching subscription before it returns. The dispatcher
delivers due entries concurrently, retries failures with the subscription's retry policy,
sends what cannot be delivered to the subscription's dead-letter queue, and deletes each entry
once it is settled. FIFO topics deliver each (subscription, message group) in order: only the
oldest entry of such a lane is ever in flight.

https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cloudlet.clock import Clock
from cloudlet.store import Delete, Put, Store

log = logging.getLogger(__name__)

NS_OUTBOX = "sns.outbox"
_CONCURRENCY = 32


class DeliveryFailed(Exception):
    """One delivery attempt failed; ``retryable`` says whether SNS would try again."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass
class Delivery:
    """One outbox entry: a notification (or confirmation) for one subscription."""

    seq: int
    subscription_arn: str
    kind: str  # "notification" | "confirmation"
    body: dict[str, Any]
    due: float
    attempt: int = 0
    lane: str | None = None
    version: int = field(default=0, compare=False)

    @property
    def key(self) -> str:
        return f"{self.seq:020d}"

    def to_doc(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "sub": self.subscription_arn,
            "kind": self.kind,
            "body": self.body,
            "due": self.due,
            "attempt": self.attempt,
            "lane": self.lane,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Delivery:
        return cls(doc["seq"], doc["sub"], doc["kind"], doc["body"], doc["due"], doc["attempt"], doc["lane"])


Attempt = Callable[[Delivery], Awaitable[None]]
Retry = Callable[[Delivery, DeliveryFailed], float | None]
GiveUp = Callable[[Delivery, DeliveryFailed], Awaitable[None]]


class Dispatcher:
    """Delivers outbox entries when due; ``attempt`` raises DeliveryFailed on failure."""

    def __init__(
        self, store: Store, clock: Clock, attempt: Attempt, retry_delay: Retry, give_up: GiveUp
    ) -> None:
        self._store = store
        self._clock = clock
        self._attempt = attempt
        self._retry_delay = retry_delay
        self._give_up = give_up
        self._items: dict[int, Delivery] = {}
        self._heap: list[tuple[float, int, int]] = []
        self._lanes: dict[str, deque[int]] = {}
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._limit = asyncio.Semaphore(_CONCURRENCY)
        self.max_seq = 0

    async def start(self) -> None:
        for _, doc in await self._store.scan(NS_OUTBOX):
            self._track(Delivery.from_doc(doc))
        self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        tasks = [t for t in [self._loop_task, *self._running] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._running.clear()
        self._loop_task = None

    def pending(self) -> int:
        """Entries not yet settled (delivered or given up)."""
        return len(self._items)

    def ops_for(self, deliveries: list[Delivery]) -> list[Put]:
        """Store writes that make ``deliveries`` durable (written with the publish)."""
        return [Put(NS_OUTBOX, d.key, d.to_doc()) for d in deliveries]

    def add(self, deliveries: list[Delivery]) -> None:
        """Schedule deliveries that are already durable."""
        for delivery in deliveries:
            self._track(delivery)
        self._wake.set()

    def drop_subscription(self, subscription_arn: str) -> list[Delete]:
        """Forget pending deliveries of a deleted subscription; returns the store deletes."""
        gone = [d for d in self._items.values() if d.subscription_arn == subscription_arn]
        for delivery in gone:
            self._items.pop(delivery.seq, None)
            if delivery.lane:
                self._lanes.pop(delivery.lane, None)
        return [Delete(NS_OUTBOX, d.key) for d in gone]

    def _track(self, delivery: Delivery) -> None:
        self.max_seq = max(self.max_seq, delivery.seq)
        self._items[delivery.seq] = delivery
        if delivery.lane:
            lane = self._lanes.setdefault(delivery.lane, deque())
            lane.append(delivery.seq)
            if len(lane) > 1:
                return  # waits for the entries before it in its lane
        self._push(delivery)

    def _push(self, delivery: Delivery) -> None:
        delivery.version += 1
        heapq.heappush(self._heap, (delivery.due, delivery.seq, delivery.version))

    async def _run(self) -> None:
        while True:
            now = self._clock.time()
            while self._heap and self._heap[0][0] <= now:
                _, seq, version = heapq.heappop(self._heap)
                delivery = self._items.get(seq)
                if delivery is None or delivery.version != version:
                    continue
                task = asyncio.get_running_loop().create_task(self._deliver(delivery))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            self._wake.clear()
            timeout = self._heap[0][0] - now if self._heap else 3600.0
            waiter = asyncio.ensure_future(self._wake.wait())
            sleeper = asyncio.ensure_future(self._clock.sleep(max(timeout, 0.0)))
            try:
                await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                sleeper.cancel()

    async def _deliver(self, delivery: Delivery) -> None:
        async with self._limit:
            try:
                await self._attempt(delivery)
            except DeliveryFailed as failure:
                delay = self._retry_delay(delivery, failure) if failure.retryable else None
                if delay is not None:
                    delivery.attempt += 1
                    delivery.due = self._clock.time() + delay
                    await self._store.write([Put(NS_OUTBOX, delivery.key, delivery.to_doc())])
                    if delivery.seq in self._items:
                        self._push(delivery)
                        self._wake.set()
                    return
                log.warning(
                    "delivery failed",
                    extra={
                        "action": "deliver",
                        "subscription": delivery.subscription_arn,
                        "code": failure.code,
                    },
                )
                await self._give_up(delivery, failure)
            await self._store.write([Delete(NS_OUTBOX, delivery.key)])
            self._settle(delivery)

    def _settle(self, delivery: Delivery) -> None:
        self._items.pop(delivery.seq, None)
        if delivery.lane:
            lane = self._lanes.get(delivery.lane)
            if lane and lane[0] == delivery.seq:
                lane.popleft()
                while lane and lane[0] not in self._items:
                    lane.popleft()
                if lane:
                    self._push(self._items[lane[0]])
                    self._wake.set()
                else:
                    del self._lanes[delivery.lane]
