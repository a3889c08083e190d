"""TestState: run one state on its own and report its output, next state and status.

The state runs inside a one-state wrapper machine whose transition targets are terminal
``Succeed`` states named like the real targets, so the state entered after it names
``nextState``. Retry is reported (``RETRIABLE``) instead of retried and Waits do not sleep,
as AWS's TestState does.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.asl.effects import InvokeResource
from cloudlet.errors import TaskFailed, ValidationError
from cloudlet.workflows.definitions import load_definition
from cloudlet.workflows.driver import ExecutionRun, JournalEntropy
from cloudlet.workflows.errors import InvalidExecutionInput, InvalidStateMachineDefinition
from cloudlet.workflows.records import EXPRESS, ExecutionRecord

if TYPE_CHECKING:
    from cloudlet.workflows.service import Workflows

_TEST_NAME = "TestState"


class _NoWaitClock:
    """TestState does not wait: Wait states and backoff end at once."""

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        return None


async def run_test_state(
    service: Workflows,
    *,
    definition: str,
    input: str | None,
    variables: str | None,
    state_name: str | None,
    mock: dict[str, Any] | None,
) -> dict[str, Any]:
    """TestState's response for ``definition`` (one state, or a machine plus ``state_name``)."""
    try:
        document = orjson.loads(definition)
    except orjson.JSONDecodeError as exc:
        raise InvalidStateMachineDefinition(f"INVALID_JSON_DESCRIPTION: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidStateMachineDefinition("SCHEMA_VALIDATION_FAILED: The definition must be a JSON object")
    query_language = document.get("QueryLanguage")
    if "States" in document:
        if state_name is None:
            raise ValidationError("stateName is required when the definition is a state machine")
        state = document["States"].get(state_name)
        if not isinstance(state, dict):
            raise ValidationError(f"State '{state_name}' does not exist in the definition")
        name = state_name
    else:
        state, name = document, _TEST_NAME
    if variables not in (None, "", "{}"):
        raise ValidationError("TestState 'variables' are not supported by cloudlet yet")
    text = input if input is not None else "{}"
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidExecutionInput(str(exc)) from None

    wrapped_state = {k: v for k, v in state.items() if k != "Retry"}
    targets = _targets(state)
    states: dict[str, Any] = {name: wrapped_state}
    for target in targets:
        if target != name:
            states[target] = {"Type": "Succeed"}
    wrapper: dict[str, Any] = {"StartAt": name, "States": states}
    if query_language is not None:
        wrapper["QueryLanguage"] = query_language
    wrapper_text = orjson.dumps(wrapper).decode()
    machine = load_definition(wrapper_text, EXPRESS)

    where = f"{service.config.region}:{service.config.account}"
    record = ExecutionRecord(
        arn=f"arn:aws:states:{where}:express:TestState:test:{int(time.time() * 1000)}",
        machine_arn=f"arn:aws:states:{where}:stateMachine:TestState",
        name="test",
        type=EXPRESS,
        definition=wrapper_text,
        input=text,
        start_date=time.time(),
    )

    async def invoke(run: ExecutionRun, effect: InvokeResource) -> Any:
        if mock is not None:
            if "errorOutput" in mock:
                err = mock["errorOutput"] or {}
                raise TaskFailed(str(err.get("error", "")), err.get("cause"))
            return orjson.loads(mock.get("result", "null"))
        return await service._integrations.invoke(run, effect)

    async def deliver(run: ExecutionRun, effect: InvokeResource) -> None:
        raise TaskFailed("States.Runtime", "TestState does not support '.waitForTaskToken' without a mock")

    def start(entropy: JournalEntropy) -> Any:
        return machine.start(value, entropy=entropy)

    run = ExecutionRun(record, start, clock=_NoWaitClock(), store=None, invoke=invoke, deliver=deliver)
    final = await run.run()
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in run.events
        if e["type"].endswith("StateEntered") and "stateEnteredEventDetails" in e
    ]
    next_state = next((n for n in entered if n != name), None)
    out: dict[str, Any] = {"inspectionData": {"input": text}}
    if final.status == "SUCCEEDED":
        caught = (
            next_state is not None and next_state in _catch_targets(state) and next_state != state.get("Next")
        )
        out["output"] = final.output
        out["status"] = "CAUGHT_ERROR" if caught else "SUCCEEDED"
        if next_state is not None:
            out["nextState"] = next_state
        return out
    if final.error is not None and _retriable(state, final.error):
        out["status"] = "RETRIABLE"
        out["nextState"] = name
    else:
        out["status"] = "FAILED"
    if final.error is not None:
        out["error"] = final.error
    if final.cause is not None:
        out["cause"] = final.cause
    return out


def _targets(state: dict[str, Any]) -> list[str]:
    found: list[str] = []
    if isinstance(state.get("Next"), str):
        found.append(state["Next"])
    if isinstance(state.get("Default"), str):
        found.append(state["Default"])
    for choice in state.get("Choices") or []:
        if isinstance(choice, dict) and isinstance(choice.get("Next"), str):
            found.append(choice["Next"])
    found.extend(_catch_targets(state))
    return list(dict.fromkeys(found))


def _catch_targets(state: dict[str, Any]) -> list[str]:
    catchers = state.get("Catch") or []
    return [c["Next"] for c in catchers if isinstance(c, dict) and isinstance(c.get("Next"), str)]


def _retriable(state: dict[str, Any], error: str) -> bool:
    for retrier in state.get("Retry") or []:
        names = retrier.get("ErrorEquals") or [] if isinstance(retrier, dict) else []
        if retrier.get("MaxAttempts", 3) == 0:
            continue
        if error in names or ("States.ALL" in names and not error.startswith("States.Runtime")):
            return True
    return False
