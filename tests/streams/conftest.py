"""Run ``async def`` tests in a fresh event loop, and build services on a manual clock."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from cloudlet.clock import Clock, ManualClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import MemoryStore, Store
from cloudlet.streams import Streams


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None


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
