"""The effect requests the ASL interpreter yields, and the protocol a driver follows.

The interpreter never performs I/O. One execution is a **generator** (see
:func:`cloudlet.asl.interpreter.execute` and :meth:`cloudlet.asl.StateMachine.start`)::

    gen = machine.start(input, info=ExecutionInfo(...), entropy=...)
    reply = None
    while True:
        try:
            effect = gen.send(reply)          # first call: gen.send(None)
        except StopIteration as stop:
            outcome: Outcome = stop.value     # the execution finished
            break
        reply = perform(effect)               # or: gen.throw(error) for a failed effect

Each effect is a frozen dataclass below. What the driver sends back:

==================  =========================================================================
effect              driver's reply
==================  =========================================================================
``RecordEvent``     ``(event_id, timestamp)``: the ``int`` id (1, 2, ... in recording order) and
                    ``float`` epoch seconds the driver assigned. The engine uses them in
                    causes ("entered at the event id #2") and as ``$$.State.EnteredTime``.
``InvokeResource``  the resource's JSON result (any JSON value), or ``gen.throw(err)`` with a
                    :class:`cloudlet.errors.ExecutionError` (``TaskFailed`` for a failure the
                    resource reported; ``ExecutionError("States.Timeout")`` /
                    ``("States.HeartbeatTimeout")`` when the driver enforced a timeout).
``WaitUntil``       ``None`` once the wall clock reached ``until``.
``NewTaskToken``    ``str``: a task token (recorded, so a replay gets the same one).
``RunChildren``     ``list[Outcome | None]`` in child order: each child's final
                    :class:`Outcome`, ``None`` for a child never started or cancelled.
==================  =========================================================================

Keys: every effect carries ``key``, a string unique and deterministic within one execution
(``"12.Charge.invoke"``, ``"5.Fan.children/3/2.Validate.invoke"``). A durable driver
journals each reply under its key; after a crash it re-runs the generator from the start and
answers every journalled key from the journal, so no completed task runs twice (replay).
Given the same replies, a generator yields the same effects with the same keys.

Children (Map iterations, Parallel branches): :class:`RunChildren` holds one generator per
child. The driver runs them with at most ``max_concurrency`` alive at once (0 = no limit),
performing their effects exactly as for the parent (their keys are already unique), and
stops starting new children, closing the running ones (``gen.close()``), as soon as
:meth:`RunChildren.should_abort` says the failures are beyond tolerance. Each child
generator records its own events (``MapIterationStarted`` ... ``MapIterationSucceeded``).

What stays with the driver: the execution-level ``TimeoutSeconds`` (see
``StateMachineModel.timeout_seconds``), StopExecution (close the generator and record
``ExecutionAborted``), ``ExecutionTimedOut``, and assigning event ids, ``previousEventId``
and timestamps. The engine builds every other event body in AWS's shape
(:mod:`cloudlet.asl.history`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Effect",
    "ExecutionGenerator",
    "ExecutionInfo",
    "InvokeResource",
    "NewTaskToken",
    "Outcome",
    "RecordEvent",
    "RunChildren",
    "WaitUntil",
]


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """Names the context object (``$$``) and the ARNs the engine builds use.

    Any field left empty is filled by the driver/entry point before starting (the sync
    driver derives them from ``context={...}``, see :meth:`cloudlet.asl.StateMachine.run`).
    """

    execution_arn: str = ""
    execution_name: str = ""
    state_machine_arn: str = ""
    state_machine_name: str = ""
    role_arn: str = ""
    account: str = "000000000000"
    region: str = "us-east-1"
    partition: str = "aws"
    redrive_count: int = 0
    #: ``EXPRESS`` rejects ``.sync`` / ``.waitForTaskToken`` integrations at start.
    state_machine_type: Literal["STANDARD", "EXPRESS"] = "STANDARD"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an execution (or one Map iteration / Parallel branch) ended.

    ``status`` is ``SUCCEEDED`` (``output`` set) or ``FAILED`` (``error`` and ``cause``).
    """

    status: Literal["SUCCEEDED", "FAILED"]
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class RecordEvent:
    """Append one history event. ``details`` is AWS's body for this event type.

    ``details_key`` is the field name AWS nests it under (``stateEnteredEventDetails``,
    ``taskScheduledEventDetails``, ...) or ``None`` for events without details. The driver
    adds ``id``, ``previousEventId`` and ``timestamp`` and replies ``(id, timestamp)``.
    """

    key: str
    type: str
    details_key: str | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class InvokeResource:
    """Call a Task's resource with ``payload`` and reply with its JSON result.

    ``resource`` is what the driver routes: a Lambda function ARN or name (plain Lambda
    ARNs and the ``arn:aws:states:::lambda:invoke`` integration both arrive here as the
    function reference; ``integration`` tells them apart so the engine can shape the
    result), or any other resource ARN (``arn:aws:states:::sqs:sendMessage``, an activity,
    ``arn:aws:states:::states:startExecution.sync``, ...).

    ``pattern`` is the integration pattern: ``request_response`` (reply as soon as the
    call returns), ``sync`` (``.sync`` / ``.sync:2``: reply when the job finished) or
    ``wait_for_task_token`` (reply when SendTaskSuccess/Failure arrives for ``task_token``).
    ``timeout_seconds`` / ``heartbeat_seconds`` are the Task's limits (``None`` when not
    set); the driver enforces them by throwing ``ExecutionError("States.Timeout")`` /
    ``("States.HeartbeatTimeout")``.
    """

    key: str
    state_name: str
    resource: str
    payload: Any
    integration: Literal["lambda", "lambda_invoke", "service", "activity"] = "service"
    pattern: Literal["request_response", "sync", "sync2", "wait_for_task_token"] = "request_response"
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    task_token: str | None = None
    #: The Task's ``Credentials`` after evaluation (``{"RoleArn": ...}``) or ``None``.
    credentials: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WaitUntil:
    """Resume the generator (reply ``None``) once the clock reaches ``until`` (epoch s).

    ``reason`` is ``"wait"`` for a Wait state and ``"retry"`` for retry backoff.
    """

    key: str
    until: float
    seconds: float
    reason: Literal["wait", "retry"] = "wait"


@dataclass(frozen=True, slots=True)
class NewTaskToken:
    """Reply with a fresh task token for a ``.waitForTaskToken`` Task (``$$.Task.Token``)."""

    key: str
    state_name: str


@dataclass(frozen=True, slots=True)
class RunChildren:
    """Run child generators (Map iterations or Parallel branches) and reply with outcomes.

    ``children`` are generators following this same protocol; each returns an
    :class:`Outcome`. Start them in order, at most ``max_concurrency`` running at once
    (0 = all). After each child ends, call :meth:`should_abort` with the failure count so
    far; when it is true, start no more children, ``close()`` the running ones, and reply
    with ``None`` for every child that did not finish.
    """

    key: str
    state_name: str
    kind: Literal["Map", "Parallel"]
    children: tuple[Generator[Effect, Any, Outcome], ...]
    max_concurrency: int = 0
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def should_abort(self, failed: int) -> bool:
        """True when ``failed`` child failures exceed either tolerance (none set: any failure)."""
        if failed == 0:
            return False
        count = self.tolerated_failure_count
        pct = self.tolerated_failure_percentage
        if count is None and pct is None:
            return True
        total = len(self.children)
        if count is not None and failed > count:
            return True
        return pct is not None and failed * 100.0 > pct * total


#: Every effect kind a generator may yield.
Effect = RecordEvent | InvokeResource | WaitUntil | NewTaskToken | RunChildren

#: The type of one execution (or child) generator.
ExecutionGenerator = Generator[Effect, Any, Outcome]
