"""Helpers for the functions tests: a Functions service over a memory store, per test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from cloudlet.clock import Clock, SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.functions import Functions
from cloudlet.router import Router
from cloudlet.store import MemoryStore, Store

FIXTURES = Path(__file__).parent / "fixtures"


def code(name: str = "basic") -> dict[str, str]:
    """Code member for a fixture directory (cloudlet's local-directory form)."""
    return {"S3Bucket": "local", "S3Key": str(FIXTURES / name)}


@pytest.fixture
def run_service(tmp_path: Path) -> Callable[..., Any]:
    """``run_service(body, **options)`` runs ``await body(service)`` against a started service."""

    def run(
        body: Callable[[Functions], Awaitable[Any]],
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        router: Router | None = None,
        **options: Any,
    ) -> Any:
        async def main() -> Any:
            service = Functions(
                store=store or MemoryStore(),
                router=router or Router(),
                clock=clock or SystemClock(),
                config=ServiceConfig(data_dir=tmp_path / "data", endpoint_url="http://127.0.0.1:4566"),
                **options,
            )
            await service.start()
            try:
                return await body(service)
            finally:
                await service.stop()

        return asyncio.run(main())

    return run


async def create(service: Functions, name: str, handler: str, fixture: str = "basic", **params: Any) -> dict:
    return await service.create_function(
        FunctionName=name, Runtime="python3.11", Handler=handler, Code=code(fixture), **params
    )
