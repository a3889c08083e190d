"""``StateMachine``: the library entry point, and the synchronous in-process driver behind ``run``.

    sm = StateMachine.from_definition(text_or_dict)          # raises InvalidDefinition
    result = sm.run(input, resources={"my-fn": callable})    # Express-style, in process

``run`` performs the effects of :mod:`cloudlet.asl.effects` itself: it calls the Python
callables in ``resources``, sleeps through waits (``real_time=False`` skips them on a virtual
clock), and interleaves Map iterations and Parallel branches cooperatively so that their
waits overlap as they would on AWS. Durable (Standard) executions are driven by
``cloudlet.workflows`` through :meth:`StateMachine.start` instead.
"""

from __future__ import annotations

import heapq
import json
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from cloudlet.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
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
from cloudlet.asl.expressions import Entropy, SystemEntropy
from cloudlet.asl.history import make_event
from cloudlet.asl.interpreter import execute
from cloudlet.asl.model import StateMachineModel
from cloudlet.asl.parser import parse_definition
from cloudlet.errors import ExecutionError, InvalidDefinition, TaskFailed, ValidationError

__all__ = ["ExecutionResult", "StateMachine"]

Resource = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """The end of one ``run``: AWS's status, output or error/cause, and the history."""

    status: Literal["SUCCEEDED", "FAILED", "TIMED_OUT"]
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    execution_arn: str = ""
    start_date: datetime | None = None
    stop_date: datetime | None = None


class StateMachine:
    """A parsed, validated state machine; immutable and reusable across executions."""

    __slots__ = ("model",)

    def __init__(self, model: StateMachineModel) -> None:
        self.model = model

    @classmethod
    def from_definition(cls, definition: str | bytes | Mapping[str, Any]) -> StateMachine:
        """Parse and validate ``definition`` (JSON text or a dict); raises ``InvalidDefinition``."""
        return cls(parse_definition(definition if isinstance(definition, str | bytes) else dict(definition)))

    @property
    def definition(self) -> dict[str, Any]:
        """The definition document as given."""
        return self.model.definition

    def start(
        self, input: Any, *, info: ExecutionInfo | None = None, entropy: Entropy | None = None
    ) -> Generator[Effect, Any, Outcome]:
        """The generator of one execution, for drivers (see :mod:`cloudlet.asl.effects`)."""
        info = info or ExecutionInfo()
        if info.state_machine_type == "EXPRESS":
            self.check_express()
        return execute(self.model, input, info, entropy)

    def check_express(self) -> None:
        """Raise ``InvalidDefinition`` as AWS does for integrations Express machines reject."""
        locs = self.model.pattern_locations
        if "sync" in locs:
            raise InvalidDefinition(
                "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not "
                f"support '.sync' service integration at {locs['sync']}'",
                path=locs["sync"],
            )
        if "wait_for_task_token" in locs:
            where = locs["wait_for_task_token"]
            raise InvalidDefinition(
                "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not "
                f"support '.waitForTaskToken' service integration  at {where}'",
                path=where,
            )

    def run(
        self,
        input: Any = None,
        *,
        resources: Mapping[str, Resource] | None = None,
        context: Mapping[str, Any] | None = None,
        real_time: bool = True,
        entropy: Entropy | None = None,
        history: bool = True,
    ) -> ExecutionResult:
        """Run one Express-style execution in this process and return its result.

        ``resources`` maps a Lambda function name or any ARN to a callable taking the task's
        payload. ``context`` may name ``account``, ``region``, ``state_machine_name``,
        ``state_machine_arn``, ``execution_name``, ``execution_arn`` and ``role_arn``.
        Waits really wait unless ``real_time=False`` (then a virtual clock jumps ahead).
        ``history=False`` keeps no history events (long loops then run in constant memory).
        """
        self.check_express()
        info = _execution_info(context or {})
        try:
            input = _json_copy({} if input is None else input)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"Invalid execution input: {exc}") from None
        gen = execute(self.model, input, info, entropy or SystemEntropy())
        driver = _SyncDriver(dict(resources or {}), info, real_time, self.model.timeout_seconds, history)
        return driver.run(gen)


def _execution_info(ctx: Mapping[str, Any]) -> ExecutionInfo:
    account = str(ctx.get("account") or DEFAULT_ACCOUNT)
    region = str(ctx.get("region") or DEFAULT_REGION)
    sm_name = str(ctx.get("state_machine_name") or "StateMachine")
    sm_arn = str(ctx.get("state_machine_arn") or f"arn:aws:states:{region}:{account}:stateMachine:{sm_name}")
    exec_name = str(ctx.get("execution_name") or uuid.uuid4())
    exec_arn = str(
        ctx.get("execution_arn")
        or f"arn:aws:states:{region}:{account}:express:{sm_name}:{exec_name}:{uuid.uuid4()}"
    )
    role = str(ctx.get("role_arn") or f"arn:aws:iam::{account}:role/StepFunctions-{sm_name}-role")
    partition = sm_arn.split(":", 2)[1] if sm_arn.startswith("arn:") else "aws"
    return ExecutionInfo(
        execution_arn=exec_arn,
        execution_name=exec_name,
        state_machine_arn=sm_arn,
        state_machine_name=sm_name,
        role_arn=role,
        account=account,
        region=region,
        partition=partition,
        state_machine_type="EXPRESS",
    )


class _Task:
    """One generator the driver runs: the execution, a Map iteration or a Parallel branch."""

    __slots__ = ("cancelled", "error", "gen", "group", "index", "last_id", "reply", "running_group")

    def __init__(
        self, gen: Generator[Effect, Any, Outcome], group: _Group | None, index: int, last_id: int
    ) -> None:
        self.gen = gen
        self.group = group
        self.index = index
        self.reply: Any = None
        self.error: BaseException | None = None
        self.last_id = last_id
        self.cancelled = False
        self.running_group: _Group | None = None


class _Group:
    """A RunChildren in progress."""

    __slots__ = ("effect", "failed", "finished", "next_index", "outcomes", "parent", "running")

    def __init__(self, effect: RunChildren, parent: _Task) -> None:
        self.effect = effect
        self.parent = parent
        self.outcomes: list[Outcome | None] = [None] * len(effect.children)
        self.next_index = 0
        self.running: dict[int, _Task] = {}
        self.failed = 0
        self.finished = False


class _TimedOut(Exception):
    pass


#: At most this many resource calls run at once (AWS runs up to 40 inline Map iterations at once).
_MAX_CONCURRENT_CALLS = 40


class _SyncDriver:
    """Performs effects in process.

    Generators are stepped on the calling thread, children interleaved; resource calls run
    inline when nothing else could progress meanwhile, else on a small thread pool so that
    concurrent branches' calls overlap as they do on AWS.
    """

    def __init__(
        self,
        resources: dict[str, Resource],
        info: ExecutionInfo,
        real_time: bool,
        timeout: int | None,
        keep_history: bool = True,
    ):
        self.keep_history = keep_history
        self.events = 0
        self.stamp_ts = -1.0
        self.stamp = datetime.fromtimestamp(0, UTC)
        self.resources = resources
        self.info = info
        self.real_time = real_time
        self.offset = 0.0
        self.history: list[dict[str, Any]] = []
        self.ready: deque[_Task] = deque()
        self.timers: list[tuple[float, int, _Task]] = []
        self.seq = 0
        self.pending: dict[Future[tuple[Any, BaseException | None]], _Task] = {}
        self.pool: ThreadPoolExecutor | None = None
        self.start = self.now()
        self.deadline = self.start + timeout if timeout else None

    def now(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.real_time:
            time.sleep(seconds)
        else:
            self.offset += seconds

    # ------------------------------------------------------------------ main loop

    def run(self, gen: Generator[Effect, Any, Outcome]) -> ExecutionResult:
        try:
            return self._run(gen)
        finally:
            if self.pool is not None:
                # calls of abandoned branches may still be running; their results are dropped
                self.pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, gen: Generator[Effect, Any, Outcome]) -> ExecutionResult:
        root = _Task(gen, None, 0, 0)
        self.ready.append(root)
        outcome: Outcome | None = None
        try:
            while outcome is None:
                if not self.ready:
                    if self.pending:
                        self._wait_for_calls()
                    else:
                        self._wake_next_timer()
                    continue
                task = self.ready.popleft()
                if task.cancelled:
                    continue
                result = self._drive(task)
                if result is not None and task is root:
                    outcome = result
        except _TimedOut:
            self._close(root)
            ts = self.now()
            self.history.append(
                make_event(
                    self.events + 1,
                    self.events,
                    ts,
                    "ExecutionTimedOut",
                    "executionTimedOutEventDetails",
                    {"error": "States.Timeout", "cause": "The execution timed out."},
                )
            )
            return self._result("TIMED_OUT", None, "States.Timeout", "The execution timed out.")
        if outcome.status == "SUCCEEDED":
            return self._result("SUCCEEDED", outcome.output, None, None)
        return self._result("FAILED", None, outcome.error, outcome.cause)

    def _result(self, status: Any, output: Any, error: str | None, cause: str | None) -> ExecutionResult:
        return ExecutionResult(
            status=status,
            output=output,
            error=error,
            cause=cause,
            history=self.history,
            execution_arn=self.info.execution_arn,
            start_date=datetime.fromtimestamp(self.start, UTC),
            stop_date=datetime.fromtimestamp(self.now(), UTC),
        )

    def _wake_next_timer(self) -> None:
        if not self.timers:
            raise RuntimeError("state machine driver stalled: no runnable task and no timer")
        until, _, task = heapq.heappop(self.timers)
        if self.deadline is not None and until > self.deadline:
            self.sleep(self.deadline - self.now())
            raise _TimedOut()
        self.sleep(until - self.now())
        if not task.cancelled:
            task.reply = None
            self.ready.append(task)

    def _drive(self, task: _Task) -> Outcome | None:
        """Run ``task`` until it blocks (None) or finishes (its Outcome)."""
        gen = task.gen
        history = self.history
        effect: Any
        while True:
            try:
                if task.error is not None:
                    err, task.error = task.error, None
                    effect = gen.throw(err)
                else:
                    effect = gen.send(task.reply)
            except StopIteration as stop:
                outcome: Outcome = stop.value
                self._finished(task, outcome)
                return outcome
            kind = type(effect)
            if kind is RecordEvent:
                self.events += 1
                eid = self.events
                # AWS stamps events to the millisecond; events in one millisecond share a datetime
                ts = round(self.now(), 3)
                if self.deadline is not None and ts > self.deadline:
                    raise _TimedOut()
                if self.keep_history:
                    if ts != self.stamp_ts:
                        self.stamp_ts = ts
                        self.stamp = datetime.fromtimestamp(ts, UTC)
                    event = {
                        "timestamp": self.stamp,
                        "type": effect.type,
                        "id": eid,
                        "previousEventId": task.last_id,
                    }
                    if effect.details_key is not None:
                        event[effect.details_key] = effect.details
                    history.append(event)
                task.last_id = eid
                task.reply = (eid, ts)
                if task.group is not None and self.ready:
                    # children take turns event by event, as concurrent branches do on AWS
                    self.ready.append(task)
                    return None
            elif kind is InvokeResource:
                if self.ready or self.pending or self.timers:
                    # something else could progress meanwhile: call on the pool
                    if self.pool is None:
                        self.pool = ThreadPoolExecutor(_MAX_CONCURRENT_CALLS, thread_name_prefix="asl-task")
                    self.pending[self.pool.submit(self._call, effect)] = task
                    return None
                task.reply, task.error = self._call(effect)
            elif kind is WaitUntil:
                if self.deadline is not None and self.now() > self.deadline:
                    raise _TimedOut()
                self.seq += 1
                heapq.heappush(self.timers, (effect.until, self.seq, task))
                return None
            elif kind is NewTaskToken:
                task.reply = str(uuid.uuid4())
            elif kind is RunChildren:
                group = _Group(effect, task)
                task.running_group = group
                if not effect.children:
                    task.reply = []
                    task.running_group = None
                    continue
                self._start_children(group)
                return None
            else:  # pragma: no cover - the interpreter yields nothing else
                raise TypeError(f"unknown effect {effect!r}")

    # ------------------------------------------------------------------ children

    def _start_children(self, group: _Group) -> None:
        effect = group.effect
        limit = effect.max_concurrency or len(effect.children)
        while group.next_index < len(effect.children) and len(group.running) < limit:
            i = group.next_index
            group.next_index += 1
            child = _Task(effect.children[i], group, i, group.parent.last_id)
            group.running[i] = child
            self.ready.append(child)

    def _finished(self, task: _Task, outcome: Outcome) -> None:
        group = task.group
        if group is None or group.finished:
            return
        group.running.pop(task.index, None)
        group.outcomes[task.index] = outcome
        if outcome.status == "FAILED":
            group.failed += 1
            if group.effect.should_abort(group.failed):
                for other in list(group.running.values()):
                    self._close(other)
                group.running.clear()
                self._group_done(group)
                return
        self._start_children(group)
        if not group.running and group.next_index >= len(group.effect.children):
            self._group_done(group)

    def _group_done(self, group: _Group) -> None:
        group.finished = True
        parent = group.parent
        parent.running_group = None
        parent.reply = group.outcomes
        parent.last_id = self.events
        self.ready.append(parent)

    def _close(self, task: _Task) -> None:
        task.cancelled = True
        group = task.running_group
        if group is not None:
            group.finished = True
            for child in list(group.running.values()):
                self._close(child)
        task.gen.close()

    # ------------------------------------------------------------------ resources

    def _wait_for_calls(self) -> None:
        """Block until a resource call finishes or the next timer (or the deadline) is due."""
        timeout: float | None = None
        if self.real_time:
            due = [t[0] for t in self.timers[:1]]
            if self.deadline is not None:
                due.append(self.deadline)
            if due:
                timeout = max(0.0, min(due) - self.now())
        done, _ = wait(self.pending, timeout=timeout, return_when=FIRST_COMPLETED)
        if not done:
            if self.timers and (self.deadline is None or self.timers[0][0] <= self.deadline):
                self._wake_next_timer()
            elif self.deadline is not None and self.now() >= self.deadline:
                raise _TimedOut()
            return
        for future in done:
            task = self.pending.pop(future)
            if not task.cancelled:
                task.reply, task.error = future.result()
                self.ready.append(task)

    def _call(self, effect: InvokeResource) -> tuple[Any, BaseException | None]:
        """Call the resource: ``(result, None)`` or ``(None, error)``. Safe on any thread."""
        fn = self._resolve(effect)
        if fn is None:
            return None, self._not_found(effect)
        started = time.monotonic()
        try:
            # the resource gets its own copy, as it would over the wire
            result = fn(_json_copy(effect.payload))
        except ExecutionError as exc:
            return None, exc
        except Exception as exc:  # the function's own failure, reported as Lambda reports it
            return None, _lambda_error(exc)
        if effect.timeout_seconds is not None and time.monotonic() - started > effect.timeout_seconds:
            return None, ExecutionError("States.Timeout", None)
        try:
            return _json_roundtrip(result), None
        except ExecutionError as exc:
            return None, exc

    def _resolve(self, effect: InvokeResource) -> Resource | None:
        res = self.resources
        ref = effect.resource
        fn = res.get(ref)
        if fn is not None:
            return fn
        if effect.integration in ("lambda", "lambda_invoke"):
            name = _function_name(ref)
            for key in (name, self._function_arn(name)):
                fn = res.get(key)
                if fn is not None:
                    return fn
        return None

    def _function_arn(self, name: str) -> str:
        return f"arn:{self.info.partition}:lambda:{self.info.region}:{self.info.account}:function:{name}"

    def _not_found(self, effect: InvokeResource) -> ExecutionError:
        if effect.integration in ("lambda", "lambda_invoke"):
            ref = effect.resource
            arn = ref if ref.startswith("arn:") else self._function_arn(_function_name(ref))
            if arn.count(":") == 6:
                arn += ":$LATEST"
            return TaskFailed(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error Code: "
                f"ResourceNotFoundException; Request ID: {uuid.uuid4()}; Proxy: null)",
            )
        return TaskFailed(
            "States.Runtime",
            f"No resource is registered for '{effect.resource}': pass a callable for it in "
            "StateMachine.run(resources={...})",
        )


def _function_name(ref: str) -> str:
    """The function name in a name, ``name:alias``, partial or full Lambda ARN."""
    parts = ref.split(":")
    if "function" in parts:
        i = parts.index("function")
        return parts[i + 1] if i + 1 < len(parts) else ref
    return parts[0]


def _lambda_error(exc: BaseException) -> TaskFailed:
    """Error = the exception's class name; Cause = the Python runtime's error JSON."""
    frames = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
    cause = json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": str(uuid.uuid4()),
            "stackTrace": frames,
        }
    )
    return TaskFailed(type(exc).__name__, cause)


def _json_copy(value: Any) -> Any:
    """A deep copy through JSON, as values cross a JSON boundary on AWS (tuples become lists).

    Raises ``TypeError`` / ``ValueError`` for values JSON cannot carry.
    """
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:  # orjson refuses ints beyond 64 bits and non-str keys; the stdlib copes
        return json.loads(json.dumps(value))


def _json_roundtrip(value: Any) -> Any:
    """A resource's result as JSON; anything JSON cannot carry fails the task."""
    try:
        return _json_copy(value)
    except (TypeError, ValueError) as exc:
        raise ExecutionError(
            "States.Runtime", f"The resource returned a value that is not JSON: {exc}"
        ) from None
