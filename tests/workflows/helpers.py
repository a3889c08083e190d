"""Helpers for the workflows tests: a service on an in-memory store with a router and clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from cloudlet.clock import Clock, SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import MemoryStore, Store
from cloudlet.workflows import Workflows

ROLE = "arn:aws:iam::000000000000:role/states"
ACCOUNT_REGION = "us-east-1:000000000000"
LAMBDA = "arn:aws:lambda:us-east-1:000000000000:function:"


def machine_arn(name: str) -> str:
    return f"arn:aws:states:{ACCOUNT_REGION}:stateMachine:{name}"


def run_service(
    scenario: Callable[[Workflows, Router], Awaitable[Any]],
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    functions: dict[str, Callable[[Any], Any]] | None = None,
) -> Any:
    """Run ``scenario(service, router)`` against a started service, then stop it."""

    async def main() -> Any:
        router = Router()
        for name, fn in (functions or {}).items():
            router.register_arn(LAMBDA + name, fn)
        service = Workflows(
            store=store or MemoryStore(), router=router, clock=clock or SystemClock(), config=ServiceConfig()
        )
        await service.start()
        try:
            return await scenario(service, router)
        finally:
            await service.stop()

    return asyncio.run(main())


async def create(service: Workflows, name: str, definition: dict[str, Any], type: str = "STANDARD") -> str:
    out = await service.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE, type=type
    )
    return str(out["stateMachineArn"])


async def finished(service: Workflows, arn: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """DescribeExecution once the execution has left RUNNING."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        out = await service.describe_execution(executionArn=arn)
        if out["status"] != "RUNNING":
            return out
        assert loop.time() < deadline, f"{arn} still RUNNING"
        await asyncio.sleep(0.002)


async def settle(rounds: int = 30) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def history_types(service: Workflows, arn: str) -> list[str]:
    out = await service.get_execution_history(executionArn=arn, maxResults=1000)
    return [e["type"] for e in out["events"]]


PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}
