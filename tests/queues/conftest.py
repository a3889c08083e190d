"""Build services on a manual clock for these tests (async tests run via tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cloudlet.clock import Clock, ManualClock
from cloudlet.config import ServiceConfig
from cloudlet.queues import Queues
from cloudlet.router import Router
from cloudlet.store import MemoryStore, Store


@asynccontextmanager
async def running_queues(
    store: Store | None = None, clock: Clock | None = None, router: Router | None = None
) -> AsyncIterator[Queues]:
    """A started ``Queues`` service on ``store`` (in memory by default) and a manual clock."""
    store = store or MemoryStore()
    service = Queues(
        store=store,
        router=router or Router(),
        clock=clock or ManualClock(),
        config=ServiceConfig(endpoint_url="http://127.0.0.1:4566"),
    )
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
