"""History event sequences, as AWS records them (shapes taken from AWS-recorded executions)."""

from __future__ import annotations

from typing import Any

import pytest

from cloudlet.asl import StateMachine

FAIL_ITEM = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}

ROWS: list[tuple[str, dict[str, Any], Any, list[str]]] = [
    (
        "parallel has no StateSucceeded and branches interleave",
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                    ],
                }
            },
        },
        {},
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered",
            "PassStateEntered",
            "PassStateExited",
            "PassStateExited",
            "ParallelStateExited",
            "ExecutionSucceeded",
        ],
    ),
    (
        "map retried: MapStateFailed only once, at the end",
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": FAIL_ITEM,
                    "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                    "End": True,
                }
            },
        },
        [1],
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "FailStateEntered",
            "MapIterationFailed",
            "MapStateStarted",
            "MapIterationStarted",
            "FailStateEntered",
            "MapIterationFailed",
            "MapStateFailed",
            "ExecutionFailed",
        ],
    ),
    (
        "map caught: MapStateFailed then MapStateExited",
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": FAIL_ITEM,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                    "End": True,
                },
                "H": {"Type": "Succeed"},
            },
        },
        [1],
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "FailStateEntered",
            "MapIterationFailed",
            "MapStateFailed",
            "MapStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ],
    ),
    (
        "JSONata evaluation failure records EvaluationFailed",
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Output": "{% $nope %}", "End": True}},
        },
        {},
        ["ExecutionStarted", "PassStateEntered", "EvaluationFailed", "ExecutionFailed"],
    ),
    (
        "runtime failure in a Map before it starts: no MapStateFailed",
        {
            "StartAt": "M",
            "States": {"M": {"Type": "Map", "ItemsPath": "$.nope", "ItemProcessor": FAIL_ITEM, "End": True}},
        },
        {},
        ["ExecutionStarted", "MapStateEntered", "ExecutionFailed"],
    ),
    (
        "distributed map iterations are child executions",
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            },
        },
        [1, 2],
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded",
        ],
    ),
]


@pytest.mark.parametrize(("label", "definition", "input_", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_history_event_types(
    label: str, definition: dict[str, Any], input_: Any, expected: list[str]
) -> None:
    result = StateMachine.from_definition(definition).run(input_, real_time=False)
    assert [e["type"] for e in result.history] == expected


def test_event_ids_and_previous_ids_form_a_chain_per_branch() -> None:
    result = StateMachine.from_definition(ROWS[0][1]).run({}, real_time=False)
    events = {e["id"]: e for e in result.history}
    assert sorted(events) == list(range(1, len(events) + 1))
    started = next(e for e in result.history if e["type"] == "ParallelStateStarted")
    first_in_branches = [e for e in result.history if e["type"] == "PassStateEntered"]
    assert all(e["previousEventId"] == started["id"] for e in first_in_branches)
