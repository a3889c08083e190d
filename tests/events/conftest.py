"""A running events service on an in-memory store, a router and a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from cloudlet.clock import ManualClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import MemoryStore, Store

ACCOUNT = "123456789012"
REGION = "us-east-1"
#: 2024-01-01T00:00:00Z, a Monday.
START = 1_704_067_200.0


@dataclass
class Env:
    """What a scenario gets: the service, its clock and router, and helpers to observe targets."""

    events: Any
    clock: ManualClock
    router: Router
    store: Store
    received: dict[str, list[Any]] = field(default_factory=dict)

    def target(self, arn: str, *, fail: int = 0, error: Exception | None = None) -> list[Any]:
        """Register ``arn`` as a target recording its payloads; it fails its first ``fail`` calls."""
        got = self.received.setdefault(arn, [])
        calls = {"n": 0}

        async def receive(_arn: str, payload: Any, invocation_type: str) -> None:
            calls["n"] += 1
            if calls["n"] <= fail:
                raise error or RuntimeError(f"target {arn} is failing")
            got.append(payload)

        self.router.register_arn(arn, receive)
        return got

    async def eventually(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Let background tasks run until ``condition()`` holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.001)

    async def settle(self) -> None:
        """Let queued work run (a few loop turns)."""
        for _ in range(20):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)
        await self.settle()


Scenario = Callable[[Env], Awaitable[Any]]


def run_scenario(scenario: Scenario, *, store: Store | None = None, clock: ManualClock | None = None) -> Any:
    """Start an Events service, run ``scenario`` against it, stop it."""
    from cloudlet.events import Events

    async def main() -> Any:
        the_store = store or MemoryStore()
        the_clock = clock or ManualClock(start=START)
        router = Router()
        events = Events(
            store=the_store,
            router=router,
            clock=the_clock,
            config=ServiceConfig(account=ACCOUNT, region=REGION),
        )
        await events.start()
        try:
            return await scenario(Env(events, the_clock, router, the_store))
        finally:
            await events.stop()

    return asyncio.run(main())


@pytest.fixture
def run() -> Callable[..., Any]:
    return run_scenario
