"""Build services on a manual clock for these tests (async tests run via tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cloudlet.clock import Clock, ManualClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import MemoryStore, Store
from cloudlet.streams import Streams


@asynccontextmanager
async def running_streams(
    store: Store | None = None, clock: Clock | None = None, router: Router | None = None
) -> AsyncIterator[Streams]:
    """A started ``Streams`` service on ``store`` (in memory by default) and a manual clock."""
    service = Streams(
        store=store or MemoryStore(),
        router=router or Router(),
        clock=clock or ManualClock(),
        config=ServiceConfig(),
    )
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
