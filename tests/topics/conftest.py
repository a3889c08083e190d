"""Build services on a manual clock for the topics tests (async tests run via tests/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cloudlet.clock import Clock, ManualClock
from cloudlet.config import ServiceConfig
from cloudlet.queues import Queues
from cloudlet.router import Router
from cloudlet.store import MemoryStore, Store
from cloudlet.topics import Topics


@asynccontextmanager
async def running_messaging(
    store: Store | None = None, clock: Clock | None = None
) -> AsyncIterator[tuple[Router, Queues, Topics]]:
    """Queues and Topics sharing one router and store, as the runtime wires them."""
    store = store or MemoryStore()
    clock = clock or ManualClock()
    router = Router()
    config = ServiceConfig(endpoint_url="http://127.0.0.1:4566")
    queues = Queues(store=store, router=router, clock=clock, config=config)
    topics = Topics(store=store, router=router, clock=clock, config=config)
    await queues.start()
    await topics.start()
    try:
        yield router, queues, topics
    finally:
        await topics.stop()
        await queues.stop()


async def settle(topics: Topics, timeout: float = 5.0) -> None:
    """Wait (real time) until every pending delivery is settled."""
    deadline = asyncio.get_running_loop().time() + timeout
    while topics.dispatcher.pending():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{topics.dispatcher.pending()} deliveries still pending")
        await asyncio.sleep(0.002)
