"""The Amazon States Language engine: parse, validate and interpret state machines (pure).

    from cloudlet.asl import StateMachine, InvalidDefinition, TaskFailed
    sm = StateMachine.from_definition(text_or_dict)          # raises InvalidDefinition
    result = sm.run(input, resources={"my-fn": callable})    # Express-style, in process

Drivers that persist executions use :meth:`StateMachine.start` and the effect protocol of
:mod:`cloudlet.asl.effects`.
"""

from __future__ import annotations

from cloudlet.asl.effects import (
    Effect,
    ExecutionInfo,
    InvokeResource,
    NewTaskToken,
    Outcome,
    RecordEvent,
    RunChildren,
    WaitUntil,
)
from cloudlet.asl.machine import ExecutionResult, StateMachine
from cloudlet.errors import ExecutionError, InvalidDefinition, TaskFailed

__all__ = [
    "Effect",
    "ExecutionError",
    "ExecutionInfo",
    "ExecutionResult",
    "InvalidDefinition",
    "InvokeResource",
    "NewTaskToken",
    "Outcome",
    "RecordEvent",
    "RunChildren",
    "StateMachine",
    "TaskFailed",
    "WaitUntil",
]
