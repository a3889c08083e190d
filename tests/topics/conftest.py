"""Run ``async def`` tests in a fresh event loop, and build services on a manual clock."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from cloudlet.clock import Clock, ManualClock
from cloudlet.config import ServiceConfig
from cloudlet.queues import Queues
from cloudlet.router import Router
from cloudlet.store import MemoryStore, Store
from cloudlet.topics import Topics


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None


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
