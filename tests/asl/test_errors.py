"""Error names, one row per way AWS produces them, and which Retry/Catch names match them.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from cloudlet.asl import StateMachine, TaskFailed

FN = "arn:aws:lambda:us-east-1:123456789012:function:fn"


def machine(*states: tuple[str, dict[str, Any]]) -> StateMachine:
    return StateMachine.from_definition({"StartAt": states[0][0], "States": dict(states)})


def pass_state(**fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", "End": True, **fields}


def raising(error: str) -> Any:
    def fn(payload: Any) -> Any:
        raise TaskFailed(error, "cause text")

    return fn


ERROR_ROWS: list[tuple[str, StateMachine, Any, dict[str, Any], str]] = [
    ("path missing", machine(("A", pass_state(InputPath="$.nope"))), {}, {}, "States.Runtime"),
    (
        "parameter path missing",
        machine(("A", pass_state(Parameters={"x.$": "$.nope"}))),
        {},
        {},
        "States.Runtime",
    ),
    (
        "result path into a string",
        machine(("A", pass_state(Result=1, ResultPath="$.a.b"))),
        {"a": "s"},
        {},
        "States.ResultPathMatchFailure",
    ),
    (
        "intrinsic with bad arguments",
        machine(("A", pass_state(Parameters={"x.$": "States.MathAdd($.s, 1)"}))),
        {"s": "x"},
        {},
        "States.IntrinsicFailure",
    ),
    (
        "no choice matched",
        machine(
            ("C", {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "D"}]}),
            ("D", {"Type": "Succeed"}),
        ),
        {"n": 2},
        {},
        "States.NoChoiceMatched",
    ),
    (
        "JSONata returns nothing",
        StateMachine.from_definition(
            {
                "QueryLanguage": "JSONata",
                "StartAt": "A",
                "States": {"A": pass_state(Output="{% $states.input.x %}")},
            }
        ),
        {},
        {},
        "States.QueryEvaluationError",
    ),
    (
        "output over 256 KiB",
        machine(("A", pass_state(Result="é" * (130 * 1024)))),
        {},
        {},
        "States.DataLimitExceeded",
    ),
    (
        "tolerated failures exceeded",
        machine(
            (
                "M",
                {
                    "Type": "Map",
                    "ToleratedFailureCount": 0,
                    "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}},
                    "End": True,
                },
            )
        ),
        [1],
        {},
        "States.ExceedToleratedFailureThreshold",
    ),
    (
        "task failure reported by the resource",
        machine(("T", {"Type": "Task", "Resource": FN, "End": True})),
        {},
        {"fn": raising("My.Error")},
        "My.Error",
    ),
    ("fail state", machine(("F", {"Type": "Fail", "Error": "Custom", "Cause": "c"})), {}, {}, "Custom"),
]


@pytest.mark.parametrize(
    ("label", "sm", "input_", "resources", "error"), ERROR_ROWS, ids=[r[0] for r in ERROR_ROWS]
)
def test_error_names(
    label: str, sm: StateMachine, input_: Any, resources: dict[str, Any], error: str
) -> None:
    result = sm.run(input_, resources=resources, real_time=False)
    assert (result.status, result.error) == ("FAILED", error), result.cause


def test_task_timeout() -> None:
    def slow(payload: Any) -> Any:
        time.sleep(1.1)
        return payload

    sm = machine(("T", {"Type": "Task", "Resource": FN, "TimeoutSeconds": 1, "End": True}))
    assert sm.run({}, resources={"fn": slow}).error == "States.Timeout"


CATCH_ROWS: list[tuple[str, list[str], bool]] = [
    ("States.Timeout", ["States.ALL"], True),
    ("States.Timeout", ["States.TaskFailed"], False),
    ("States.HeartbeatTimeout", ["States.TaskFailed"], True),
    ("My.Error", ["States.TaskFailed"], True),
    ("My.Error", ["Other", "My.Error"], True),
    ("My.Error", ["Other"], False),
]


@pytest.mark.parametrize(("error", "names", "caught"), CATCH_ROWS)
def test_catch_matching(error: str, names: list[str], caught: bool) -> None:
    sm = machine(
        ("T", {"Type": "Task", "Resource": FN, "Catch": [{"ErrorEquals": names, "Next": "H"}], "End": True}),
        ("H", {"Type": "Pass", "Result": "handled", "End": True}),
    )
    result = sm.run({}, resources={"fn": raising(error)})
    assert (result.status == "SUCCEEDED") is caught
    if caught:
        assert result.output == "handled"


def test_states_all_does_not_catch_runtime_errors() -> None:
    sm = machine(
        ("T", {"Type": "Pass", "InputPath": "$.nope", "End": True}),
    )
    caught = StateMachine.from_definition(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "T", "States": {"T": pass_state(InputPath="$.nope")}}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                    "End": True,
                },
                "H": pass_state(),
            },
        }
    )
    assert sm.run({}).error == "States.Runtime"
    assert caught.run({}).error == "States.Runtime"


def test_error_output_shape_in_catch() -> None:
    sm = machine(
        (
            "T",
            {
                "Type": "Task",
                "Resource": FN,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                "End": True,
            },
        ),
        ("H", pass_state()),
    )
    assert sm.run({}, resources={"fn": raising("E")}).output == {"Error": "E", "Cause": "cause text"}
