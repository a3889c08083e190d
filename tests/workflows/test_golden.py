"""Golden histories: executions recorded by an earlier build must replay to the same history.

Each file in ``golden/`` holds what the store kept for one finished Standard execution: its
record, its history and its journal (effect results). The test puts the execution back as
RUNNING with its history cut before the end, starts the service with **no** task resources
registered, and checks that the resumed execution replays every effect from the journal and
ends with exactly the recorded history. A change to the engine's effect keys, event bodies or
ids that would break executions already in users' stores fails here (Temporal's Replayer).

Regenerate (only for an intended change of histories) with
``python -m tests.workflows.test_golden``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from cloudlet.clock import ManualClock
from cloudlet.config import ServiceConfig
from cloudlet.errors import TaskFailed
from cloudlet.router import Router
from cloudlet.store import Append, MemoryStore, Put
from cloudlet.workflows import Workflows
from cloudlet.workflows.records import EXECUTIONS, HISTORY, JOURNAL
from tests.workflows.helpers import LAMBDA, ROLE

GOLDEN = Path(__file__).parent / "golden"
START = 1_750_000_000.0
TERMINAL = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}

ORDER = {
    "Comment": "Task, Choice, Wait and Pass",
    "StartAt": "Price",
    "States": {
        "Price": {
            "Type": "Task",
            "Resource": LAMBDA + "price",
            "ResultPath": "$.price",
            "Next": "Expensive?",
        },
        "Expensive?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.price.total", "NumericGreaterThan": 100, "Next": "Hold"}],
            "Default": "Ship",
        },
        "Hold": {"Type": "Wait", "Seconds": 30, "Next": "Ship"},
        "Ship": {
            "Type": "Pass",
            "Parameters": {"shipped.$": "$.price.total", "id.$": "States.UUID()"},
            "End": True,
        },
    },
}

FANOUT = {
    "Comment": "Parallel, Map, lambda:invoke and Retry with backoff",
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "MaxConcurrency": 2,
                            "ItemProcessor": {
                                "StartAt": "Invoke",
                                "States": {
                                    "Invoke": {
                                        "Type": "Task",
                                        "Resource": "arn:aws:states:::lambda:invoke",
                                        "Parameters": {"FunctionName": "double", "Payload.$": "$"},
                                        "OutputPath": "$.Payload",
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Flaky",
                    "States": {
                        "Flaky": {
                            "Type": "Task",
                            "Resource": LAMBDA + "flaky",
                            "Retry": [{"ErrorEquals": ["Glitch"], "IntervalSeconds": 2, "MaxAttempts": 2}],
                            "End": True,
                        }
                    },
                },
            ],
            "End": True,
        }
    },
}

CALLBACK = {
    "Comment": "waitForTaskToken answered with a failure, then caught and failed",
    "StartAt": "Approve",
    "States": {
        "Approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
            "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "Give up"}],
            "End": True,
        },
        "Give up": {"Type": "Fail", "Error": "NotApproved", "CausePath": "$.why.Cause"},
    },
}

CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "order": (ORDER, {"items": ["a", "b"]}),
    "fanout": (FANOUT, {"items": [1, 2, 3]}),
    "callback": (CALLBACK, {}),
}


async def _record(name: str) -> dict[str, Any]:
    """Run case ``name`` once with real resources and return what the store kept."""
    definition, value = CASES[name]
    store, clock, router = MemoryStore(), ManualClock(START), Router()
    attempts = {"flaky": 0}
    service = Workflows(store=store, router=router, clock=clock, config=ServiceConfig())

    def flaky(payload: Any) -> str:
        attempts["flaky"] += 1
        if attempts["flaky"] == 1:
            raise TaskFailed("Glitch", "try again")
        return "steady"

    async def ask(payload: Any) -> None:
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(
                service.send_task_failure(taskToken=payload["token"], error="Rejected", cause="no budget")
            )
        )

    router.register_arn(LAMBDA + "price", lambda payload: {"total": 120})
    router.register_arn(LAMBDA + "double", lambda payload: payload * 2)
    router.register_arn(LAMBDA + "flaky", flaky)
    router.register_arn(LAMBDA + "ask", ask)
    await service.start()
    machine = await service.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    arn = (
        await service.start_execution(
            stateMachineArn=machine["stateMachineArn"], name="golden", input=json.dumps(value)
        )
    )["executionArn"]
    for _ in range(200):
        await clock.advance(1)
        if (await service.describe_execution(executionArn=arn))["status"] != "RUNNING":
            break
    await service.stop()
    return {
        "definition": definition,
        "execution": await store.get(EXECUTIONS, arn),
        "history": [doc for _, doc in await store.read_log(HISTORY, arn)],
        "journal": [[seq, doc] for seq, doc in await store.read_log(JOURNAL, arn)],
    }


def _comparable(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "timestamp"}


async def _replay(golden: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    record = golden["execution"]
    arn = record["arn"]
    store = MemoryStore()
    running = {**record, "status": "RUNNING", "stop_date": None, "output": None, "error": None, "cause": None}
    ops: list[Any] = [Put(EXECUTIONS, arn, running)]
    ops += [Append(HISTORY, arn, e["id"], e) for e in golden["history"] if e["type"] not in TERMINAL]
    ops += [Append(JOURNAL, arn, seq, doc) for seq, doc in golden["journal"]]
    await store.write(ops)
    clock = ManualClock(golden["history"][-1]["timestamp"])
    service = Workflows(store=store, router=Router(), clock=clock, config=ServiceConfig())
    await service.start()
    for _ in range(100):
        if (await service.describe_execution(executionArn=arn))["status"] != "RUNNING":
            break
        await clock.advance(1)
    status = (await service.describe_execution(executionArn=arn))["status"]
    await service.stop()
    return status, [doc for _, doc in await store.read_log(HISTORY, arn)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_history_replays_identically(name: str) -> None:
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    status, history = asyncio.run(_replay(golden))
    assert status == golden["execution"]["status"]
    assert [_comparable(e) for e in history] == [_comparable(e) for e in golden["history"]]


def regenerate() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in CASES:
        recorded = asyncio.run(_record(name))
        (GOLDEN / f"{name}.json").write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        print(name, recorded["execution"]["status"], len(recorded["history"]), "events")


if __name__ == "__main__":
    regenerate()
