"""Build services on a manual clock for these tests (async tests run via tests/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cloudlet.clock import Clock, ManualClock
from cloudlet.config import ServiceConfig
from cloudlet.mappings import EventSourceMappings
from cloudlet.queues import Queues
from cloudlet.router import Router
from cloudlet.store import MemoryStore, Store
from cloudlet.streams import Streams


@asynccontextmanager
async def running_mappings(
    store: Store | None = None, clock: Clock | None = None
) -> AsyncIterator[tuple[Router, Queues, Streams, EventSourceMappings]]:
    """Queues, Streams and EventSourceMappings on one router, as the runtime wires them."""
    store = store or MemoryStore()
    clock = clock or ManualClock()
    router = Router()
    config = ServiceConfig()
    queues = Queues(store=store, router=router, clock=clock, config=config)
    streams = Streams(store=store, router=router, clock=clock, config=config)
    mappings = EventSourceMappings(store=store, router=router, clock=clock, config=config)
    for service in (queues, streams, mappings):
        await service.start()
    try:
        yield router, queues, streams, mappings
    finally:
        for service in (mappings, streams, queues):
            await service.stop()


async def eventually(check, timeout: float = 5.0) -> None:
    """Wait (real time) until ``check()`` is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.002)
