"""The interpreter: one execution as a generator of effect requests.

See :mod:`cloudlet.asl.effects` for the protocol a driver follows. The interpreter reads the
immutable model, evaluates the compiled expressions, and yields an effect whenever it needs
the outside world: to record a history event, call a resource, wait, or run children.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-states.html
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Generator
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

from cloudlet.asl.choice import Condition, evaluate_rule, parse_timestamp
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
from cloudlet.asl.expressions import MISSING, Entropy, EvalContext, SystemEntropy, to_json, type_name
from cloudlet.asl.history import ENTERED, EXITED, dumps, iso_timestamp
from cloudlet.asl.jsonpath import apply_result_path
from cloudlet.asl.model import DEFAULT, Graph, State, StateMachineModel
from cloudlet.asl.retry import backoff_seconds, find_matching
from cloudlet.errors import ExecutionError

__all__ = ["MAX_PAYLOAD_BYTES", "execute"]

#: Step Functions' limit on any state's input or output (256 KiB).
MAX_PAYLOAD_BYTES = 256 * 1024
#: The longest wait AWS accepts (seconds in a signed 32-bit int).
_MAX_WAIT_SECONDS = 2**31 - 1

_Gen = Generator[Effect, Any, Any]
_NOT_TRUNCATED = {"truncated": False}
_RETRYABLE = frozenset({"Task", "Parallel", "Map"})
_FANOUT = frozenset({"Parallel", "Map"})
_PREFIXED_ERRORS = frozenset({"States.Runtime", "States.QueryEvaluationError"})


class _Propagated(ExecutionError):
    """A failure passed up from a child (Map iteration, Parallel branch): cause kept as is."""


class _Run:
    """What every generator of one execution shares."""

    __slots__ = ("entropy", "execution_ctx", "info", "model", "state_machine_ctx")

    def __init__(self, model: StateMachineModel, info: ExecutionInfo, entropy: Entropy) -> None:
        self.model = model
        self.info = info
        self.entropy = entropy
        self.execution_ctx: dict[str, Any] = {}
        self.state_machine_ctx = {"Id": info.state_machine_arn, "Name": info.state_machine_name}


class _Scope:
    """One generator's key counter and its workflow variables."""

    __slots__ = ("last_id", "last_ts", "prefix", "seq", "variables")

    def __init__(self, prefix: str, variables: dict[str, Any]) -> None:
        self.prefix = prefix
        self.seq = 0
        self.variables = variables
        self.last_ts = 0.0
        self.last_id = 0

    def key(self) -> str:
        self.seq += 1
        return f"{self.prefix}{self.seq}"

    def child(self, key: str, index: int) -> _Scope:
        child = _Scope(f"{key}/{index}/", dict(self.variables))
        child.last_ts = self.last_ts
        return child


def _event(scope: _Scope, type_: str, details_key: str | None = None, details: Any = None) -> RecordEvent:
    return RecordEvent(scope.key(), type_, details_key, details)


class _StateRun:
    """One visit of one state: its entered event, retry count and lazily built context."""

    __slots__ = ("_ctx", "entered_id", "entered_ts", "retry_count", "run", "scope", "state", "task_token")

    def __init__(self, run: _Run, state: State, scope: _Scope, entered_id: int, entered_ts: float) -> None:
        self.run = run
        self.state = state
        self.scope = scope
        self.entered_id = entered_id
        self.entered_ts = entered_ts
        self.retry_count = 0
        self.task_token: str | None = None
        self._ctx: EvalContext | None = None

    def context_object(self, map_item: dict[str, Any] | None = None) -> dict[str, Any]:
        state_ctx: dict[str, Any] = {"EnteredTime": iso_timestamp(self.entered_ts), "Name": self.state.name}
        if self.state.type in _RETRYABLE:
            state_ctx["RetryCount"] = self.retry_count
        obj: dict[str, Any] = {
            "Execution": self.run.execution_ctx,
            "State": state_ctx,
            "StateMachine": self.run.state_machine_ctx,
        }
        if self.task_token is not None:
            obj["Task"] = {"Token": self.task_token}
        if map_item is not None:
            obj["Map"] = {"Item": map_item}
        return obj

    def ctx(self) -> EvalContext:
        if self._ctx is None:
            obj = self.context_object() if self.state.uses_context else None
            self._ctx = EvalContext(obj, self.scope.variables, self.run.entropy, self.entered_ts)
        return self._ctx

    def reset(self) -> None:
        self._ctx = None

    def states(self, input_: Any, **extra: Any) -> dict[str, Any]:
        """The ``$states`` binding for JSONata expressions."""
        ctx = self.ctx().context
        out = {"input": input_, "context": ctx if ctx is not None else self.context_object()}
        out.update(extra)
        return out


# ---------------------------------------------------------------------------- entry point


def execute(
    model: StateMachineModel, input_: Any, info: ExecutionInfo, entropy: Entropy | None = None
) -> Generator[Effect, Any, Outcome]:
    """The generator of one execution; returns its :class:`Outcome` (see effects.py)."""
    run = _Run(model, info, entropy or SystemEntropy())
    scope = _Scope("", {})
    input_text = dumps(input_)
    details: dict[str, Any] = {"input": input_text, "inputDetails": _NOT_TRUNCATED}
    if info.role_arn:
        details["roleArn"] = info.role_arn
    _, ts = yield _event(scope, "ExecutionStarted", "executionStartedEventDetails", details)
    scope.last_ts = ts
    run.execution_ctx = {
        "Id": info.execution_arn,
        "Input": input_,
        "Name": info.execution_name,
        "RoleArn": info.role_arn,
        "StartTime": iso_timestamp(ts),
        "RedriveCount": info.redrive_count,
    }
    outcome = yield from _run_graph(run, model.graph, input_, scope)
    if outcome.status == "SUCCEEDED":
        yield _event(
            scope,
            "ExecutionSucceeded",
            "executionSucceededEventDetails",
            {"output": dumps(outcome.output), "outputDetails": _NOT_TRUNCATED},
        )
    else:
        failed: dict[str, Any] = {}
        if outcome.error is not None:
            failed["error"] = outcome.error
        if outcome.cause is not None:
            failed["cause"] = outcome.cause
        yield _event(scope, "ExecutionFailed", "executionFailedEventDetails", failed)
    return outcome


def _run_graph(run: _Run, graph: Graph, data: Any, scope: _Scope) -> Generator[Effect, Any, Outcome]:
    states = graph.states
    name: str | None = graph.start_at
    while name is not None:
        state = states[name]
        try:
            name, data = yield from _run_state(run, state, data, scope)
        except _Failed as failed:
            return Outcome("FAILED", error=failed.error, cause=failed.cause)
    return Outcome("SUCCEEDED", output=data)


class _Failed(Exception):
    """The state failed and nothing caught it: the enclosing graph fails."""

    def __init__(self, error: str | None, cause: str | None) -> None:
        super().__init__(error)
        self.error = error
        self.cause = cause


# ---------------------------------------------------------------------------- one state


def _run_state(run: _Run, state: State, raw: Any, scope: _Scope) -> _Gen:
    eid, ts = yield _event(
        scope,
        ENTERED[state.type],
        "stateEnteredEventDetails",
        {"name": state.name, "input": dumps(raw), "inputDetails": _NOT_TRUNCATED},
    )
    scope.last_id, scope.last_ts = eid, ts
    sr = _StateRun(run, state, scope, eid, ts)
    handler = _HANDLERS[state.type]
    retry_counts = [0] * len(state.retry)
    while True:
        try:
            next_name, output, assigned = yield from handler(sr, raw)
            output_text = dumps(output)
            if _too_large(output_text):
                raise _Propagated(
                    "States.DataLimitExceeded",
                    f"The state/task '{state.name}' returned a result with a size exceeding "
                    "the maximum number of bytes service limit.",
                )
            break
        except ExecutionError as exc:
            error, cause = exc.error, exc.cause
            evaluation = type(exc) is ExecutionError
            if evaluation and error in _PREFIXED_ERRORS:
                cause = (
                    f"An error occurred while executing the state '{state.name}' "
                    f"(entered at the event id #{eid}). {cause or ''}"
                ).rstrip()
                if error == "States.QueryEvaluationError":
                    failed: dict[str, Any] = {"error": error}
                    if cause is not None:
                        failed["cause"] = cause
                    failed["state"] = state.name
                    yield _event(scope, "EvaluationFailed", "evaluationFailedEventDetails", failed)
        if state.type == "Fail":
            raise _Failed(error, cause)
        idx = find_matching(error, state.retry) if state.retry else None
        if idx is not None:
            retry_counts[idx] += 1
            retrier = state.retry[idx]
            delay = backoff_seconds(
                retrier,
                retry_counts[idx],
                run.entropy.random() if retrier.jitter_strategy == "FULL" else 1.0,
            )
            if delay is not None:
                if delay > 0:
                    yield WaitUntil(scope.key(), scope.last_ts + delay, delay, "retry")
                    scope.last_ts += delay
                sr.retry_count += 1
                sr.reset()
                continue
        if state.type in _FANOUT and not (evaluation and error == "States.Runtime"):
            # a Map/Parallel records its failure once, when it is not retried
            yield _event(scope, f"{state.type}StateFailed")
        cidx = find_matching(error, state.catch) if state.catch else None
        if cidx is None:
            raise _Failed(error, cause)
        catcher = state.catch[cidx]
        error_output: dict[str, Any] = {}
        if error is not None:
            error_output["Error"] = error
        if cause is not None:
            error_output["Cause"] = cause
        try:
            output, assigned = _catch_output(sr, catcher, raw, error_output)
        except ExecutionError as exc:
            error, cause = exc.error, exc.cause
            if error in _PREFIXED_ERRORS:
                cause = (
                    f"An error occurred while executing the state '{state.name}' "
                    f"(entered at the event id #{eid}). {cause or ''}"
                ).rstrip()
            raise _Failed(error, cause) from None
        next_name = catcher.next
        output_text = dumps(output)
        break
    details: dict[str, Any] = {"name": state.name, "output": output_text, "outputDetails": _NOT_TRUNCATED}
    if assigned:
        details["assignedVariables"] = {k: dumps(v) for k, v in assigned.items()}
        details["assignedVariablesDetails"] = _NOT_TRUNCATED
        scope.variables.update(assigned)
    if state.type != "Fail":
        eid2, ts2 = yield _event(scope, EXITED[state.type], "stateExitedEventDetails", details)
        scope.last_id, scope.last_ts = eid2, ts2
    return next_name, output


def _catch_output(sr: _StateRun, catcher: Any, raw: Any, error_output: dict[str, Any]) -> tuple[Any, Any]:
    state = sr.state
    if state.query_language == "JSONata":
        states = sr.states(raw, errorOutput=error_output)
        output = catcher.output.evaluate(states, sr.ctx()) if catcher.output is not None else error_output
        assigned = catcher.assign.evaluate(states, sr.ctx()) if catcher.assign is not None else None
        return output, assigned
    assigned = catcher.assign.evaluate(error_output, sr.ctx()) if catcher.assign is not None else None
    return _result_path(catcher.result_path, raw, error_output), assigned


# ---------------------------------------------------------------------------- JSONPath helpers


def _input_path(state: State, raw: Any, sr: _StateRun) -> Any:
    path = state.input_path
    if path is DEFAULT:
        return raw
    if path is None:
        return {}
    return path.get(raw, sr.ctx())


def _output_path(state: State, data: Any, sr: _StateRun) -> Any:
    path = state.output_path
    if path is DEFAULT:
        return data
    if path is None:
        return {}
    return path.get(data, sr.ctx())


def _result_path(path: Any, raw: Any, result: Any) -> Any:
    if path is DEFAULT:
        return result
    return apply_result_path(raw, path, result)


def _next(state: State) -> str | None:
    return None if state.end else state.next


def _jsonpath_finish(sr: _StateRun, raw: Any, result: Any) -> tuple[Any, Any]:
    """ResultSelector → Assign → ResultPath → OutputPath for a state that produced ``result``."""
    state = sr.state
    if state.result_selector is not None:
        result = state.result_selector.evaluate(result, sr.ctx())
    assigned = state.assign.evaluate(result, sr.ctx()) if state.assign is not None else None
    output = _result_path(state.result_path, raw, result)
    return _output_path(state, output, sr), assigned


def _jsonata_finish(sr: _StateRun, raw: Any, result: Any, default: Any) -> tuple[Any, Any]:
    """Output and Assign of a JSONata state (both see the variables from before the state)."""
    state = sr.state
    if state.output is None and state.assign is None:
        return default, None
    states = sr.states(raw) if result is MISSING else sr.states(raw, result=result)
    ctx = sr.ctx()
    output = state.output.evaluate(states, ctx) if state.output is not None else default
    assigned = state.assign.evaluate(states, ctx) if state.assign is not None else None
    return output, assigned


# ---------------------------------------------------------------------------- state types


def _pass(sr: _StateRun, raw: Any) -> _Gen:
    state = sr.state
    if state.query_language == "JSONata":
        output, assigned = _jsonata_finish(sr, raw, MISSING, raw)
        return _next(state), output, assigned
    if state.result is not DEFAULT:
        result = state.result
        if state.input_path not in (DEFAULT, None):
            _input_path(state, raw, sr)  # an InputPath that selects nothing still fails
    else:
        result = _input_path(state, raw, sr)
        if state.parameters is not None:
            result = state.parameters.evaluate(result, sr.ctx())
    assigned = state.assign.evaluate(result, sr.ctx()) if state.assign is not None else None
    output = _result_path(state.result_path, raw, result)
    return _next(state), _output_path(state, output, sr), assigned
    yield  # a generator


def _succeed(sr: _StateRun, raw: Any) -> _Gen:
    state = sr.state
    if state.query_language == "JSONata":
        output, _ = _jsonata_finish(sr, raw, MISSING, raw)
        return None, output, None
    data = _input_path(state, raw, sr)
    return None, _output_path(state, data, sr), None
    yield


def _fail(sr: _StateRun, raw: Any) -> _Gen:
    state = sr.state
    values: list[Any] = []
    for literal, path, label in (
        (state.error, state.error_path, "Error"),
        (state.cause, state.cause_path, "Cause"),
    ):
        if path is not None:
            value = path.evaluate(raw, sr.ctx())
        elif literal is not None and not isinstance(literal, str):
            value = literal.evaluate(sr.states(raw), sr.ctx())
        else:
            value = literal
        if value is not None and not isinstance(value, str):
            if state.query_language == "JSONata":
                raise ExecutionError(
                    "States.QueryEvaluationError",
                    f"The {label} field must evaluate to a string, but was: {to_json(value)}",
                )
            raise ExecutionError(
                "States.Runtime", f"The {label}Path field must reference a string, but was: {to_json(value)}"
            )
        values.append(value)
    raise _FailState(values[0], values[1])
    yield


class _FailState(ExecutionError):
    """A Fail state's (error, cause), which may both be absent."""

    def __init__(self, error: str | None, cause: str | None) -> None:
        super().__init__(error or "", cause)
        self.error = error  # type: ignore[assignment]
        self.cause = cause


def _choice(sr: _StateRun, raw: Any) -> _Gen:
    state = sr.state
    if state.query_language == "JSONata":
        states = sr.states(raw)
        ctx = sr.ctx()
        for branch in state.choices:
            rule: Condition = branch.rule
            if isinstance(rule.template, bool):
                hit = rule.template
            else:
                hit = rule.template.evaluate(states, ctx)
                if not isinstance(hit, bool):
                    raise ExecutionError(
                        "States.QueryEvaluationError",
                        f"The JSONata expression '{rule.text}' specified for the field '{rule.field}' "
                        "returned an unexpected result type. Expected 'boolean', "
                        f"but was '{type_name(hit)}' for value: {to_json(hit)}",
                    )
            if hit:
                if branch.output is not None:
                    output = branch.output.evaluate(states, ctx)
                elif state.output is not None:
                    output = state.output.evaluate(states, ctx)
                else:
                    output = raw
                state_assigned = state.assign.evaluate(states, ctx) if state.assign is not None else None
                rule_assigned = branch.assign.evaluate(states, ctx) if branch.assign is not None else None
                return branch.next, output, _merge_assigned(state_assigned, rule_assigned)
        if state.default is None:
            raise _no_choice()
        output, assigned = _jsonata_finish(sr, raw, MISSING, raw)
        return state.default, output, assigned
    data = _input_path(state, raw, sr)
    ctx = sr.ctx()
    for branch in state.choices:
        if evaluate_rule(branch.rule, data, ctx):
            state_assigned = state.assign.evaluate(data, ctx) if state.assign is not None else None
            rule_assigned = branch.assign.evaluate(data, ctx) if branch.assign is not None else None
            return branch.next, _output_path(state, data, sr), _merge_assigned(state_assigned, rule_assigned)
    if state.default is None:
        raise _no_choice()
    assigned = state.assign.evaluate(data, ctx) if state.assign is not None else None
    return state.default, _output_path(state, data, sr), assigned
    yield


def _merge_assigned(state_level: Any, rule_level: Any) -> Any:
    """A Choice state's own Assign applies whichever rule matched; the rule's Assign wins."""
    if state_level is None:
        return rule_level
    if rule_level is None:
        return state_level
    return {**state_level, **rule_level}


def _no_choice() -> ExecutionError:
    return _Propagated("States.NoChoiceMatched", "No Matches!")


def _wait(sr: _StateRun, raw: Any) -> _Gen:
    state = sr.state
    kind, value = state.wait_kind, state.wait_value
    jsonata = state.query_language == "JSONata"
    data = raw if jsonata else _input_path(state, raw, sr)
    until: float
    if jsonata and not isinstance(value, int | str):
        value = value.evaluate(sr.states(raw), sr.ctx())
        if kind == "Seconds":
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or value != int(value)
                or value < 0
            ):
                raise ExecutionError(
                    "States.QueryEvaluationError",
                    f"The Seconds field must be a non-negative integer, but was: {to_json(value)}",
                )
            until = sr.entered_ts + int(value)
        else:
            ts = _wait_timestamp(value)
            if ts is None:
                raise ExecutionError(
                    "States.QueryEvaluationError",
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
                    f"string: {value if isinstance(value, str) else to_json(value)}",
                )
            until = ts
    elif kind == "Seconds":
        until = sr.entered_ts + value
    elif kind == "Timestamp":
        ts = _wait_timestamp(value)
        assert ts is not None
        until = ts
    elif kind == "SecondsPath":
        found = value.find(data, sr.ctx())
        if found is MISSING:
            raise ExecutionError(
                "States.Runtime", f"The SecondsPath parameter does not reference an input value: {value.text}"
            )
        if (
            not isinstance(found, int | float)
            or isinstance(found, bool)
            or found != int(found)
            or isinstance(found, float)
        ):
            raise ExecutionError(
                "States.Runtime",
                "The SecondsPath parameter cannot be parsed as a long value: "
                f"{value.text} == {_plain(found)}",
            )
        if found < 0:
            raise ExecutionError(
                "States.Runtime",
                f"The SecondsPath parameter references a negative value: {value.text} == {_plain(found)}",
            )
        until = sr.entered_ts + found
    else:  # TimestampPath
        found = value.find(data, sr.ctx())
        if found is MISSING:
            raise ExecutionError(
                "States.Runtime",
                f"The TimestampPath parameter does not reference an input value: {value.text}",
            )
        ts = _wait_timestamp(found)
        if ts is None:
            raise ExecutionError(
                "States.Runtime",
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time "
                f"format string: {value.text} == {_plain(found)}",
            )
        until = ts
    if until - sr.entered_ts > _MAX_WAIT_SECONDS:
        raise ExecutionError("States.Runtime", "Wait state delay is too long.")
    if until > sr.entered_ts:
        yield WaitUntil(sr.scope.key(), until, until - sr.entered_ts, "wait")
        sr.scope.last_ts = max(sr.scope.last_ts, until)
    if jsonata:
        output, assigned = _jsonata_finish(sr, raw, MISSING, raw)
        return _next(state), output, assigned
    assigned = state.assign.evaluate(data, sr.ctx()) if state.assign is not None else None
    return _next(state), _output_path(state, data, sr), assigned


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else to_json(value)


def _wait_timestamp(value: Any) -> float | None:
    dt = parse_timestamp(value)
    if dt is None:
        return None
    return dt.timestamp()


# ---------------------------------------------------------------------------- Task


def _task(sr: _StateRun, raw: Any) -> _Gen:
    state = sr.state
    scope = sr.scope
    run = sr.run
    integ = state.integration
    assert integ is not None
    jsonata = state.query_language == "JSONata"
    if integ.pattern == "wait_for_task_token" and sr.task_token is None:
        sr.task_token = yield NewTaskToken(scope.key(), state.name)
        sr.reset()
    if jsonata:
        payload = state.arguments.evaluate(sr.states(raw), sr.ctx()) if state.arguments is not None else raw
    else:
        payload = _input_path(state, raw, sr)
        if state.parameters is not None:
            payload = state.parameters.evaluate(payload, sr.ctx())
    timeout = _resolve_seconds(sr, raw, state.timeout_seconds, "TimeoutSeconds")
    heartbeat = _resolve_seconds(sr, raw, state.heartbeat_seconds, "HeartbeatSeconds")
    credentials = None
    if state.credentials is not None:
        credentials = (
            state.credentials.evaluate(sr.states(raw), sr.ctx())
            if jsonata
            else state.credentials.evaluate(raw, sr.ctx())
        )
    region = run.info.region
    if integ.kind in ("lambda", "activity"):
        # plain Lambda ARNs and activities have their own event families
        family, prefix = (
            ("LambdaFunction", "lambdaFunction") if integ.kind == "lambda" else ("Activity", "activity")
        )
        scheduled: dict[str, Any] = {
            "resource": integ.resource,
            "input": dumps(payload),
            "inputDetails": _NOT_TRUNCATED,
        }
        if timeout is not None:
            scheduled["timeoutInSeconds"] = timeout
        if heartbeat is not None and integ.kind == "activity":
            scheduled["heartbeatInSeconds"] = heartbeat
        yield _event(scope, f"{family}Scheduled", f"{prefix}ScheduledEventDetails", scheduled)
        if integ.kind == "lambda":
            yield _event(scope, "LambdaFunctionStarted")
        else:
            yield _event(scope, "ActivityStarted", "activityStartedEventDetails", {"workerName": ""})
        try:
            result = yield InvokeResource(
                scope.key(),
                state.name,
                integ.resource,
                payload,
                integ.kind,
                "request_response",
                timeout,
                heartbeat,
                None,
                credentials,
            )
        except ExecutionError as exc:
            outcome = "TimedOut" if exc.error in ("States.Timeout", "States.HeartbeatTimeout") else "Failed"
            yield _event(scope, f"{family}{outcome}", f"{prefix}{outcome}EventDetails", _failure_details(exc))
            raise _Propagated(exc.error, exc.cause) from None
        result_text = _checked_text(state, result)
        yield _event(
            scope,
            f"{family}Succeeded",
            f"{prefix}SucceededEventDetails",
            {"output": result_text, "outputDetails": _NOT_TRUNCATED},
        )
    else:
        resource_type = integ.service or ("activity" if integ.kind == "activity" else "")
        action = integ.action + {
            "sync": ".sync",
            "sync2": ".sync:2",
            "wait_for_task_token": ".waitForTaskToken",
        }.get(integ.pattern, "")
        target = integ.resource
        call_payload = payload
        if integ.kind == "lambda_invoke":
            if not isinstance(payload, dict) or "FunctionName" not in payload:
                raise ExecutionError(
                    "States.Runtime",
                    "The field 'FunctionName' is required for the 'arn:aws:states:::lambda:invoke' "
                    "integration but was missing",
                )
            target = str(payload["FunctionName"])
            call_payload = _lambda_payload(payload.get("Payload"))
        scheduled = {
            "resourceType": resource_type,
            "resource": action,
            "region": region,
            "parameters": dumps(payload),
        }
        if timeout is not None:
            scheduled["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = heartbeat
        ids = {"resourceType": resource_type, "resource": action}
        yield _event(scope, "TaskScheduled", "taskScheduledEventDetails", scheduled)
        yield _event(scope, "TaskStarted", "taskStartedEventDetails", dict(ids))
        try:
            result = yield InvokeResource(
                scope.key(),
                state.name,
                target,
                call_payload,
                integ.kind,
                integ.pattern,
                timeout,
                heartbeat,
                sr.task_token,
                credentials,
            )
        except ExecutionError as exc:
            if integ.kind == "lambda_invoke":
                exc = _compact_cause(exc)
            if exc.error == "States.Timeout":
                yield _event(
                    scope, "TaskTimedOut", "taskTimedOutEventDetails", {**ids, **_failure_details(exc)}
                )
            else:
                yield _event(scope, "TaskFailed", "taskFailedEventDetails", {**ids, **_failure_details(exc)})
            raise _Propagated(exc.error, exc.cause) from None
        if integ.kind == "lambda_invoke":
            result = _lambda_invoke_result(sr, payload, result)
        result_text = _checked_text(state, result)
        yield _event(
            scope,
            "TaskSucceeded",
            "taskSucceededEventDetails",
            {**ids, "output": result_text, "outputDetails": _NOT_TRUNCATED},
        )
    if jsonata:
        output, assigned = _jsonata_finish(sr, raw, result, result)
    else:
        output, assigned = _jsonpath_finish(sr, raw, result)
    return _next(state), output, assigned


def _compact_cause(exc: ExecutionError) -> ExecutionError:
    """Lambda's error JSON as Step Functions passes it on: re-serialised compactly."""
    cause = exc.cause
    if cause and cause.startswith("{"):
        try:
            parsed = json.loads(cause)
        except ValueError:
            return exc
        return ExecutionError(exc.error, json.dumps(parsed, separators=(",", ":"), ensure_ascii=False))
    return exc


def _failure_details(exc: ExecutionError) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if exc.error is not None:
        out["error"] = exc.error
    if exc.cause is not None:
        out["cause"] = exc.cause
    return out


def _too_large(text: str) -> bool:
    """More than 256 KiB of UTF-8 (only texts over a quarter of that can be)."""
    return len(text) * 4 > MAX_PAYLOAD_BYTES and len(text.encode()) > MAX_PAYLOAD_BYTES


def _checked_text(state: State, result: Any) -> str:
    text = dumps(result)
    if _too_large(text):
        raise _Propagated(
            "States.DataLimitExceeded",
            f"The state/task '{state.name}' returned a result with a size exceeding "
            "the maximum number of bytes service limit.",
        )
    return text


def _lambda_payload(payload: Any) -> Any:
    """What the function receives: Lambda parses a string payload as JSON; none means ``{}``."""
    if payload is None:
        return {}
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    return payload


def _lambda_invoke_result(sr: _StateRun, params: dict[str, Any], payload: Any) -> dict[str, Any]:
    """The ``lambda:invoke`` integration's result: Lambda's Invoke response as the AWS SDK shapes it."""

    request_id = sr.run.entropy.uuid4()
    body = json.dumps(payload)
    date = formatdate(sr.scope.last_ts or datetime.now(UTC).timestamp(), usegmt=True)
    trace = f"Root=1-{int(sr.scope.last_ts):08x}-{request_id.replace('-', '')[:24]};Sampled=0"
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(body.encode())),
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": "$LATEST",
        "X-Amzn-Trace-Id": trace,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    }
    out: dict[str, Any] = {"ExecutedVersion": "$LATEST"}
    if params.get("LogType") == "Tail":
        import base64

        log = base64.b64encode(
            f"START RequestId: {request_id} Version: $LATEST\nEND RequestId: {request_id}\n".encode()
        ).decode()
        headers["X-Amz-Log-Result"] = log
        out["LogResult"] = log
    out["Payload"] = payload
    out["SdkHttpMetadata"] = {
        "AllHttpHeaders": {k: [v] for k, v in headers.items()},
        "HttpHeaders": headers,
        "HttpStatusCode": 200,
    }
    out["SdkResponseMetadata"] = {"RequestId": request_id}
    out["StatusCode"] = 200
    return out


def _resolve_seconds(sr: _StateRun, raw: Any, spec: Any, field: str) -> int | None:
    if spec is None or isinstance(spec, int):
        return spec
    if sr.state.query_language == "JSONata":
        value = spec.evaluate(sr.states(raw), sr.ctx())
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ExecutionError(
                "States.QueryEvaluationError",
                f"The {field} field must be a positive integer, but was: {to_json(value)}",
            )
        return value
    value = spec.find(raw, sr.ctx())
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ExecutionError(
            "States.Runtime",
            f'The {field}Path field refers to value "{_plain(value)}" which is not a valid positive integer: '
            f"{spec.text}",
        )
    return value


# ---------------------------------------------------------------------------- Parallel and Map


def _parallel(sr: _StateRun, raw: Any) -> _Gen:
    state = sr.state
    scope = sr.scope
    jsonata = state.query_language == "JSONata"
    if jsonata:
        data = state.arguments.evaluate(sr.states(raw), sr.ctx()) if state.arguments is not None else raw
    else:
        data = _input_path(state, raw, sr)
        if state.parameters is not None:
            data = state.parameters.evaluate(data, sr.ctx())
    yield _event(scope, "ParallelStateStarted")
    key = scope.key()
    children = tuple(
        _run_graph(sr.run, branch, data, scope.child(key, i)) for i, branch in enumerate(state.branches)
    )
    outcomes = yield RunChildren(key, state.name, "Parallel", children)
    failure = next((o for o in outcomes if o is not None and o.status == "FAILED"), None)
    if failure is not None or any(o is None for o in outcomes):
        if failure is None:
            raise _Propagated("States.BranchFailed", "A branch did not complete")
        raise _Propagated(failure.error, failure.cause)
    result = [o.output for o in outcomes]
    if jsonata:
        output, assigned = _jsonata_finish(sr, raw, result, result)
    else:
        output, assigned = _jsonpath_finish(sr, raw, result)
    return _next(state), output, assigned


def _map_number(sr: _StateRun, raw: Any, data: Any, spec: Any, field: str, kind: str) -> Any:
    """MaxConcurrency / ToleratedFailure* from a literal, a ``...Path`` or a JSONata template."""
    if spec is None or (isinstance(spec, int | float) and not isinstance(spec, bool)):
        return spec
    if sr.state.query_language == "JSONata":
        value = spec.evaluate(sr.states(raw), sr.ctx())
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if kind == "integer" and ok and value != int(value):
            ok = False
        if not ok:
            raise ExecutionError(
                "States.QueryEvaluationError",
                f"The JSONata expression '{_template_text(spec)}' specified for the field '{field}' "
                "returned an "
                f"unexpected result type. Expected '{kind}', but was '{type_name(value)}' for value: "
                f"{to_json(value)}",
            )
        return int(value) if kind == "integer" else float(value)
    value = spec.find(data, sr.ctx())
    if kind == "integer":
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                pass
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    else:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    shown = "null" if value is MISSING else _plain(value)
    raise ExecutionError(
        "States.Runtime",
        f'The {field}Path field refers to value "{shown}" which is not a valid {kind}: {spec.text}',
    )


def _template_text(spec: Any) -> str:
    expressions = getattr(spec, "expressions", None)
    if expressions and len(expressions) == 1:
        return str(expressions[0])
    text = getattr(spec, "text", None)
    if isinstance(text, str):
        return text[2:-2].strip() if text.startswith("{%") else text
    return str(spec)


def _map(sr: _StateRun, raw: Any) -> _Gen:
    state = sr.state
    scope = sr.scope
    run = sr.run
    jsonata = state.query_language == "JSONata"
    data = raw if jsonata else _input_path(state, raw, sr)
    if state.item_reader is not None:
        items = yield from _read_items(sr, raw, data)
    elif jsonata:
        if state.items is not None:
            items = state.items.evaluate(sr.states(raw), sr.ctx())
            if not isinstance(items, list):
                raise ExecutionError(
                    "States.QueryEvaluationError",
                    f"The JSONata expression '{_template_text(state.items)}' specified for the field 'Items' "
                    f"returned an unexpected result type. Expected 'array', but was '{type_name(items)}' for "
                    f"value: {to_json(items)}",
                )
        else:
            items = raw
            if not isinstance(items, list):
                raise ExecutionError(
                    "States.QueryEvaluationError",
                    f"Map state input must be an array but was: {to_json(items)}",
                )
    else:
        items = data if state.items_path is DEFAULT else state.items_path.get(data, sr.ctx())
        if not isinstance(items, list):
            raise ExecutionError(
                "States.Runtime",
                f"Invalid path '{getattr(state.items_path, 'text', '$')}': The Map state's ItemsPath must "
                f"reference a JSON array, but was: {to_json(items)}",
            )
    if state.unsupported:
        raise ExecutionError(
            "States.Runtime",
            f"cloudlet does not implement the Map field(s) {', '.join(state.unsupported)} "
            "(writing Map results to Amazon S3)",
        )
    max_conc = _map_number(sr, raw, data, state.max_concurrency, "MaxConcurrency", "integer") or 0
    yield _event(scope, "MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)})
    tol_count = _map_number(sr, raw, data, state.tolerated_failure_count, "ToleratedFailureCount", "integer")
    tol_pct = _map_number(
        sr, raw, data, state.tolerated_failure_percentage, "ToleratedFailurePercentage", "float"
    )
    if tol_pct is not None and not 0 <= tol_pct <= 100:
        raise ExecutionError("States.Runtime", "ToleratedFailurePercentage must be between 0 and 100.")
    if tol_count is not None and tol_count < 0:
        raise ExecutionError("States.Runtime", "ToleratedFailureCount cannot be negative.")
    if state.distributed:
        yield _event(scope, "MapRunStarted", "mapRunStartedEventDetails", {"mapRunArn": _map_run_arn(sr)})
    key = scope.key()
    inputs: list[Any] = []
    selector = state.item_selector
    for i, item in enumerate(items):
        if selector is None:
            inputs.append(item)
            continue
        map_ctx = EvalContext(
            sr.context_object({"Index": i, "Value": item}), scope.variables, run.entropy, sr.entered_ts
        )
        if jsonata:
            states = {"input": raw, "context": map_ctx.context}
            inputs.append(selector.evaluate(states, map_ctx))
        else:
            inputs.append(selector.evaluate(data, map_ctx))
    if state.item_batcher is not None:
        inputs = _batches(sr, raw, data, inputs)
    assert state.processor is not None
    if state.distributed:
        # each iteration is a child execution with its own history, not part of this one
        children = tuple(
            _silenced(_run_graph(run, state.processor, value, scope.child(key, i)), scope.last_ts)
            for i, value in enumerate(inputs)
        )
    else:
        children = tuple(
            _map_iteration(run, state, state.processor, i, value, scope.child(key, i))
            for i, value in enumerate(inputs)
        )
    outcomes = yield RunChildren(
        key,
        state.name,
        "Map",
        children,
        max_conc,
        tol_count,
        tol_pct,
    )
    failures = [o for o in outcomes if o is not None and o.status == "FAILED"]
    tolerance_set = tol_count is not None or tol_pct is not None
    aborted = any(o is None for o in outcomes)
    exceeded = bool(failures) and (
        not tolerance_set
        or (tol_count is not None and len(failures) > tol_count)
        or (tol_pct is not None and len(failures) * 100.0 > tol_pct * len(items))
    )
    if exceeded or aborted:
        if state.distributed:
            first_failure = failures[0] if failures else None
            run_failed: dict[str, Any] = {}
            if first_failure is not None and first_failure.error is not None:
                run_failed["error"] = first_failure.error
            if first_failure is not None and first_failure.cause is not None:
                run_failed["cause"] = first_failure.cause
            yield _event(scope, "MapRunFailed", "mapRunFailedEventDetails", run_failed)
        if tolerance_set and failures:
            raise _Propagated(
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded",
            )
        first = failures[0] if failures else None
        if first is None:
            raise _Propagated("States.BranchFailed", "A Map iteration did not complete")
        raise _Propagated(first.error, first.cause)
    if state.distributed:
        yield _event(scope, "MapRunSucceeded")
    yield _event(scope, "MapStateSucceeded")
    # a tolerated failure contributes no entry: one result per successful iteration
    result = [o.output for o in outcomes if o is not None and o.status == "SUCCEEDED"]
    if jsonata:
        output, assigned = _jsonata_finish(sr, raw, result, result)
    else:
        output, assigned = _jsonpath_finish(sr, raw, result)
    return _next(state), output, assigned


def _read_items(sr: _StateRun, raw: Any, data: Any) -> _Gen:
    """ItemReader: fetch the items through the driver (S3 GetObject / ListObjectsV2) and parse them."""
    reader = sr.state.item_reader
    scope = sr.scope
    params: Any = {}
    if reader.parameters is not None:
        if sr.state.query_language == "JSONata":
            params = reader.parameters.evaluate(sr.states(raw), sr.ctx())
        else:
            params = reader.parameters.evaluate(data, sr.ctx())
    max_items = _map_number(sr, raw, data, reader.max_items, "MaxItems", "integer")
    reply = yield InvokeResource(scope.key(), sr.state.name, reader.resource, params, "service")
    if reader.resource.endswith(":listObjectsV2"):
        contents = reply.get("Contents", []) if isinstance(reply, dict) else reply
        items: list[Any] = list(contents or [])
    else:
        items = _parse_object(reader, reply)
    return items[:max_items] if max_items else items


def _parse_object(reader: Any, body: Any) -> list[Any]:
    """An S3 object's content as Map items, by ReaderConfig.InputType."""
    if isinstance(body, dict) and "Body" in body:
        body = body["Body"]
    if isinstance(body, bytes):
        body = body.decode()
    kind = reader.input_type
    try:
        if kind == "JSON":
            parsed = json.loads(body) if isinstance(body, str) else body
            if not isinstance(parsed, list):
                raise ValueError("the object is not a JSON array")
            return parsed
        if kind == "JSONL":
            return [json.loads(line) for line in str(body).splitlines() if line.strip()]
        if kind == "MANIFEST":
            return [json.loads(line) for line in str(body).splitlines() if line.strip()]
        rows = list(csv.reader(io.StringIO(str(body)), delimiter=reader.csv_delimiter))
        if reader.csv_header_location == "GIVEN":
            headers = list(reader.csv_headers)
        else:
            headers, rows = (rows[0], rows[1:]) if rows else ([], [])
        return [dict(zip(headers, row, strict=False)) for row in rows if row]
    except ValueError as exc:
        raise ExecutionError(
            "States.ItemReaderFailed", f"Attempting to read items from the {kind} object failed: {exc}"
        ) from None


def _batches(sr: _StateRun, raw: Any, data: Any, inputs: list[Any]) -> list[Any]:
    """Group item inputs as ItemBatcher says: ``{"BatchInput": ..., "Items": [...]}`` per child."""
    batcher = sr.state.item_batcher
    max_items = _map_number(sr, raw, data, batcher.max_items, "MaxItemsPerBatch", "integer")
    max_bytes = _map_number(sr, raw, data, batcher.max_bytes, "MaxInputBytesPerBatch", "integer")
    has_input = batcher.batch_input is not None
    batch_input = None
    if has_input:
        if sr.state.query_language == "JSONata":
            batch_input = batcher.batch_input.evaluate(sr.states(raw), sr.ctx())
        else:
            batch_input = batcher.batch_input.evaluate(data, sr.ctx())
    batches: list[list[Any]] = []
    current: list[Any] = []
    size = 0
    for value in inputs:
        value_size = len(dumps(value).encode()) + 1
        full = bool(max_items) and len(current) >= max_items
        too_big = bool(max_bytes) and size + value_size > max_bytes
        if current and (full or too_big):
            batches.append(current)
            current, size = [], 0
        current.append(value)
        size += value_size
    if current:
        batches.append(current)
    if has_input:
        return [{"BatchInput": batch_input, "Items": batch} for batch in batches]
    return [{"Items": batch} for batch in batches]


def _map_run_arn(sr: _StateRun) -> str:
    info = sr.run.info
    label = sr.state.label or sr.state.name
    exec_part = info.execution_arn.split(":execution:", 1)[-1]
    return f"arn:{info.partition}:states:{info.region}:{info.account}:mapRun:{exec_part}/{label}:0"


def _silenced(gen: Generator[Effect, Any, Outcome], start_ts: float) -> Generator[Effect, Any, Outcome]:
    """Run ``gen`` answering its RecordEvent effects locally (a child execution's own history)."""
    local_id = 1
    now = start_ts
    try:
        effect = gen.send(None)
        while True:
            if type(effect) is RecordEvent:
                local_id += 1
                effect = gen.send((local_id, now))
                continue
            try:
                reply = yield effect
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as exc:
                effect = gen.throw(exc)
                continue
            if type(effect) is WaitUntil:
                now = max(now, effect.until)
            effect = gen.send(reply)
    except StopIteration as stop:
        outcome: Outcome = stop.value
        return outcome


def _map_iteration(
    run: _Run, state: State, graph: Graph, index: int, value: Any, scope: _Scope
) -> Generator[Effect, Any, Outcome]:
    details = {"name": state.name, "index": index}
    yield _event(scope, "MapIterationStarted", "mapIterationStartedEventDetails", details)
    outcome = yield from _run_graph(run, graph, value, scope)
    if outcome.status == "SUCCEEDED":
        yield _event(scope, "MapIterationSucceeded", "mapIterationSucceededEventDetails", details)
    else:
        yield _event(scope, "MapIterationFailed", "mapIterationFailedEventDetails", details)
    return outcome


_HANDLERS = {
    "Pass": _pass,
    "Task": _task,
    "Choice": _choice,
    "Wait": _wait,
    "Succeed": _succeed,
    "Fail": _fail,
    "Parallel": _parallel,
    "Map": _map,
}
