"""The workflows service: Standard executions persisted on SQLite, Express executions in memory.

    python benchmarks/workflows.py [--repeat 3] [--warmup 1]

Prints one JSON document (section ``standard``):

* ``persisted_transitions_per_s``: a Standard execution of a chain of 100 Pass (or Task) states, every
  history event appended to the SQLite store (WAL, group commit, ``synchronous=NORMAL`` and
  ``FULL``), timed from StartExecution until its final record is durable: one execution at a
  time (``sequential``) and 20 at once (``concurrent``);
* ``express_executions_per_s``: StartSyncExecution of a 3-state Express machine through the
  service, one at a time, and 200 StartExecution calls at once.

Each figure is the mean ± stddev over ``--repeat`` runs after ``--warmup`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from cloudlet.clock import SystemClock
from cloudlet.config import ServiceConfig
from cloudlet.router import Router
from cloudlet.store import SQLiteStore
from cloudlet.workflows import Workflows

ROLE = "arn:aws:iam::000000000000:role/bench"


def chain(n: int) -> dict[str, Any]:
    states = {
        f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} if i < n - 1 else {"Type": "Pass", "End": True}
        for i in range(n)
    }
    return {"StartAt": "P0", "States": states}


FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:echo"


def task_chain(n: int) -> dict[str, Any]:
    states = {
        f"T{i}": {
            "Type": "Task",
            "Resource": FUNCTION,
            **({"Next": f"T{i + 1}"} if i < n - 1 else {"End": True}),
        }
        for i in range(n)
    }
    return {"StartAt": "T0", "States": states}


async def _until_done(service: Workflows, arns: list[str]) -> None:
    pending = set(arns)
    while pending:
        for arn in list(pending):
            run = service._runs.get(arn)
            if run is not None:
                await asyncio.shield(run.done)
            pending.discard(arn)


async def standard(
    db: Path, *, synchronous: str, executions: int, concurrent: bool, tasks: bool = False
) -> float:
    """Persisted transitions per second (states entered) of Standard 100-state executions."""
    store = SQLiteStore(db, synchronous=synchronous)
    router = Router()
    router.register_arn(FUNCTION, lambda payload: payload)
    service = Workflows(store=store, router=router, clock=SystemClock(), config=ServiceConfig())
    await service.start()
    name = f"chain{time.monotonic_ns()}"
    definition = task_chain(100) if tasks else chain(100)
    out = await service.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    machine = out["stateMachineArn"]
    started = time.perf_counter()
    if concurrent:
        arns = [
            (await service.start_execution(stateMachineArn=machine))["executionArn"]
            for _ in range(executions)
        ]
        await _until_done(service, arns)
    else:
        for _ in range(executions):
            arn = (await service.start_execution(stateMachineArn=machine))["executionArn"]
            await _until_done(service, [arn])
    elapsed = time.perf_counter() - started
    status = await service.describe_execution(executionArn=arn if not concurrent else arns[-1])
    assert status["status"] == "SUCCEEDED", status
    await service.stop()
    await store.close()
    return executions * 100 / elapsed


async def express(db: Path, *, executions: int, concurrent: bool) -> float:
    """Express executions per second through the service (3 Pass states each)."""
    store = SQLiteStore(db)
    service = Workflows(store=store, router=Router(), clock=SystemClock(), config=ServiceConfig())
    await service.start()
    name = f"fast{time.monotonic_ns()}"
    out = await service.create_state_machine(
        name=name, definition=json.dumps(chain(3)), roleArn=ROLE, type="EXPRESS"
    )
    machine = out["stateMachineArn"]
    started = time.perf_counter()
    if concurrent:
        arns = [
            (await service.start_execution(stateMachineArn=machine, input='{"n": 1}'))["executionArn"]
            for _ in range(executions)
        ]
        await _until_done(service, arns)
    else:
        for _ in range(executions):
            result = await service.start_sync_execution(stateMachineArn=machine, input='{"n": 1}')
            assert result["status"] == "SUCCEEDED"
    elapsed = time.perf_counter() - started
    await service.stop()
    await store.close()
    return executions / elapsed


def measure(run: Callable[[Path], Awaitable[float]], repeat: int, warmup: int) -> dict[str, float]:
    values: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(warmup + repeat):
            value = asyncio.run(run(Path(tmp) / f"bench{i}.db"))
            if i >= warmup:
                values.append(value)
    return {
        "mean": round(statistics.mean(values), 1),
        "stddev": round(statistics.stdev(values), 1) if len(values) > 1 else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    r, w = args.repeat, args.warmup
    result = {
        "standard": {
            "persisted_transitions_per_s": {
                "sequential_normal": measure(
                    lambda db: standard(db, synchronous="NORMAL", executions=5, concurrent=False), r, w
                ),
                "sequential_full": measure(
                    lambda db: standard(db, synchronous="FULL", executions=5, concurrent=False), r, w
                ),
                "concurrent_20_normal": measure(
                    lambda db: standard(db, synchronous="NORMAL", executions=20, concurrent=True), r, w
                ),
                "task_chain_sequential_normal": measure(
                    lambda db: standard(db, synchronous="NORMAL", executions=2, concurrent=False, tasks=True),
                    r,
                    w,
                ),
                "task_chain_sequential_full": measure(
                    lambda db: standard(db, synchronous="FULL", executions=1, concurrent=False, tasks=True),
                    r,
                    w,
                ),
                "task_chain_concurrent_20_full": measure(
                    lambda db: standard(db, synchronous="FULL", executions=20, concurrent=True, tasks=True),
                    r,
                    w,
                ),
            },
            "express_executions_per_s": {
                "sync_sequential": measure(lambda db: express(db, executions=500, concurrent=False), r, w),
                "async_concurrent_200": measure(
                    lambda db: express(db, executions=200, concurrent=True), r, w
                ),
            },
            "workload": (
                "Standard: chain of 100 Pass states, or (task_chain_*) of 100 Task states calling a Python "
                "function through the router, each Task waiting for its preceding events to be durable; "
                "Express: chain of 3 Pass states"
            ),
        }
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
