"""Interpreter semantics through the public entry point: input/output processing, Map,
Parallel, variables, error names and history events.

Expected values come from AWS's Step Functions developer guide (sections named per test).
"""

from __future__ import annotations

from typing import Any

import pytest

from cloudlet.asl import StateMachine, TaskFailed


def run(definition: dict[str, Any], input_: Any = None, **kwargs: Any) -> Any:
    kwargs.setdefault("real_time", False)
    return StateMachine.from_definition(definition).run({} if input_ is None else input_, **kwargs)


def one(state: dict[str, Any], input_: Any = None, **kwargs: Any) -> Any:
    return run({"StartAt": "S", "States": {"S": state}}, input_, **kwargs)


# ---------------------------------------------------------------- input and output processing
# https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html


@pytest.mark.parametrize(
    ("fields", "input_", "expected"),
    [
        ({}, {"a": 1}, {"a": 1}),
        ({"Result": {"r": 1}}, {"a": 1}, {"r": 1}),
        ({"Result": 1, "ResultPath": "$.x"}, {"a": 1}, {"a": 1, "x": 1}),
        ({"Result": 1, "ResultPath": "$.x.y"}, {"a": 1}, {"a": 1, "x": {"y": 1}}),
        ({"Result": 1, "ResultPath": None}, {"a": 1}, {"a": 1}),
        ({"InputPath": "$.a"}, {"a": {"b": 2}}, {"b": 2}),
        ({"InputPath": None}, {"a": 1}, {}),
        ({"OutputPath": "$.a"}, {"a": [1]}, [1]),
        ({"OutputPath": None}, {"a": 1}, {}),
        (
            {"Parameters": {"x.$": "$.a", "lit": "v", "n": {"y.$": "$.b"}}},
            {"a": 1, "b": 2},
            {"x": 1, "lit": "v", "n": {"y": 2}},
        ),
        ({"Parameters": {"name.$": "$$.State.Name"}}, {}, {"name": "S"}),
        ({"Parameters": {"s.$": "States.Format('{}-{}', $.a, $.b)"}}, {"a": 1, "b": "x"}, {"s": "1-x"}),
        (
            {"InputPath": "$.a", "Parameters": {"v.$": "$.b"}, "ResultPath": "$.out"},
            {"a": {"b": 5}},
            {"a": {"b": 5}, "out": {"v": 5}},
        ),
    ],
)
def test_pass_jsonpath_processing(fields: dict[str, Any], input_: Any, expected: Any) -> None:
    result = one({"Type": "Pass", "End": True, **fields}, input_)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == expected


def test_task_result_selector_then_result_path_then_output_path() -> None:
    result = one(
        {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "ResultSelector": {"v.$": "$.value"},
            "ResultPath": "$.r",
            "OutputPath": "$.r",
            "End": True,
        },
        {"in": 1},
        resources={"f": lambda p: {"value": p["in"] + 1, "noise": True}},
    )
    assert result.output == {"v": 2}


def test_missing_input_path_is_runtime_error_naming_state_and_event() -> None:
    result = one({"Type": "Pass", "InputPath": "$.nope", "End": True}, {"a": 1})
    assert result.status == "FAILED" and result.error == "States.Runtime"
    assert result.cause.startswith(
        "An error occurred while executing the state 'S' (entered at the event id #2)."
    )


def test_result_path_into_non_object_fails() -> None:
    result = one({"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": True}, {"a": "text"})
    assert result.error == "States.ResultPathMatchFailure"


# ---------------------------------------------------------------- JSONata


def test_jsonata_arguments_output_and_assign() -> None:
    result = run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
                    "Arguments": {"n": "{% $states.input.n %}"},
                    "Assign": {"seen": "{% $states.result %}"},
                    "Output": {"doubled": "{% $states.result %}", "input": "{% $states.input.n %}"},
                    "Next": "Use",
                },
                "Use": {"Type": "Pass", "Output": {"prev": "{% $seen %}"}, "End": True},
            },
        },
        {"n": 4},
        resources={"double": lambda p: p["n"] * 2},
    )
    assert result.output == {"prev": 8}


def test_assign_is_visible_to_later_states_not_the_same_output() -> None:
    result = run(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
                "B": {"Type": "Pass", "Assign": {"x": "{% $x + 1 %}"}, "Output": "{% $x %}", "Next": "C"},
                "C": {"Type": "Pass", "Output": "{% $x %}", "End": True},
            },
        }
    )
    assert result.output == 2


def test_jsonpath_assign_reads_result_and_variables_from_paths() -> None:
    result = run(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Result": {"v": 42}, "Assign": {"answer.$": "$.v"}, "Next": "B"},
                "B": {"Type": "Pass", "Parameters": {"got.$": "$answer"}, "End": True},
            },
        }
    )
    assert result.output == {"got": 42}


def test_map_iterations_read_outer_variables_but_do_not_leak_their_own() -> None:
    result = run(
        {
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"bias": 10}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {
                            "I": {
                                "Type": "Pass",
                                "Assign": {"inner": 1},
                                "Parameters": {"v.$": "States.MathAdd($, $bias)"},
                                "End": True,
                            }
                        },
                    },
                    "Next": "After",
                },
                "After": {"Type": "Pass", "Parameters": {"bias.$": "$bias", "out.$": "$"}, "End": True},
            },
        },
        [1, 2],
    )
    assert result.output == {"bias": 10, "out": [{"v": 11}, {"v": 12}]}
    after = StateMachine.from_definition(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "Assign": {"inner": 1}, "End": True}},
                    },
                    "Next": "After",
                },
                "After": {"Type": "Pass", "Parameters": {"x.$": "$inner"}, "End": True},
            },
        }
    ).run([1], real_time=False)
    assert after.status == "FAILED"


# ---------------------------------------------------------------- Map and Parallel


def test_map_item_selector_with_context_index_and_value() -> None:
    result = one(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "k.$": "$.k"},
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            "End": True,
        },
        {"items": ["a", "b"], "k": 7},
    )
    assert result.output == [{"i": 0, "v": "a", "k": 7}, {"i": 1, "v": "b", "k": 7}]


def test_map_over_non_array_fails() -> None:
    result = one(
        {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}, "End": True},
        {"not": "a list"},
    )
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


def _failing_map(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Map",
        "ItemProcessor": {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Bad"}],
                    "Default": "Ok",
                },
                "Bad": {"Type": "Fail", "Error": "ItemFailed", "Cause": "zero"},
                "Ok": {"Type": "Succeed"},
            },
        },
        "End": True,
        **fields,
    }


def test_map_iteration_failure_fails_the_map_with_its_error() -> None:
    result = one(_failing_map(), [1, 0, 2])
    assert (result.error, result.cause) == ("ItemFailed", "zero")
    types = [e["type"] for e in result.history]
    assert "MapIterationFailed" in types and "MapStateFailed" in types


def test_tolerated_failures_within_threshold_succeed() -> None:
    result = one(_failing_map(ToleratedFailureCount=1), [1, 0, 2])
    assert (result.status, result.output) == ("SUCCEEDED", [1, 2])


def test_exceeding_tolerated_failures() -> None:
    result = one(_failing_map(ToleratedFailurePercentage=10), [1, 0, 0, 2])
    assert result.error == "States.ExceedToleratedFailureThreshold"


def test_map_max_concurrency_keeps_order() -> None:
    result = one(
        {
            "Type": "Map",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "StartAt": "W",
                "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}},
            },
            "End": True,
        },
        [{"s": 3}, {"s": 1}, {"s": 2}],
    )
    assert result.output == [{"s": 3}, {"s": 1}, {"s": 2}]


def test_parallel_branches_get_the_same_input_and_results_are_ordered() -> None:
    result = one(
        {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "A",
                    "States": {"A": {"Type": "Pass", "Parameters": {"a.$": "$.x"}, "End": True}},
                },
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": True}}},
            ],
            "ResultPath": "$.results",
            "End": True,
        },
        {"x": 1},
    )
    assert result.output == {"x": 1, "results": [{"a": 1}, "b"]}


def test_parallel_branch_failure_is_caught_with_the_branch_error() -> None:
    result = run(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "A",
                            "States": {"A": {"Type": "Fail", "Error": "BranchBroke", "Cause": "why"}},
                        },
                        {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}},
                    ],
                    "Catch": [{"ErrorEquals": ["BranchBroke"], "ResultPath": "$.err", "Next": "Done"}],
                    "Next": "Done",
                },
                "Done": {"Type": "Succeed"},
            },
        },
        {"k": 1},
    )
    assert result.output == {"k": 1, "err": {"Error": "BranchBroke", "Cause": "why"}}


def test_parallel_waits_overlap() -> None:
    branches = [
        {"StartAt": f"W{i}", "States": {f"W{i}": {"Type": "Wait", "Seconds": 5, "End": True}}}
        for i in range(3)
    ]
    result = one({"Type": "Parallel", "Branches": branches, "End": True})
    elapsed = (result.history[-1]["timestamp"] - result.history[0]["timestamp"]).total_seconds()
    assert 5 <= elapsed < 6


# ---------------------------------------------------------------- Fail, Wait, errors


def test_fail_state_with_paths() -> None:
    result = one(
        {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('because {}', $.c)"},
        {"e": "E1", "c": "x"},
    )
    assert (result.status, result.error, result.cause) == ("FAILED", "E1", "because x")


def test_wait_seconds_path_validation() -> None:
    result = one({"Type": "Wait", "SecondsPath": "$.s", "End": True}, {"s": -1})
    assert result.error == "States.Runtime" and "references a negative value: $.s == -1" in result.cause


def test_wait_timestamp_in_the_past_does_not_wait() -> None:
    result = one({"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": True}, {}, real_time=True)
    assert result.status == "SUCCEEDED"


def test_data_limit_exceeded() -> None:
    result = one({"Type": "Pass", "Result": "x" * (256 * 1024 + 1), "End": True})
    assert result.error == "States.DataLimitExceeded"


def test_states_all_does_not_catch_runtime_errors() -> None:
    result = run(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Pass",
                    "InputPath": "$.missing",
                    "End": True,
                },
            },
        }
    )
    assert result.error == "States.Runtime"


def test_catch_on_task_failure_with_result_path() -> None:
    def boom(payload: Any) -> Any:
        raise TaskFailed("Custom.Error", "details")

    result = run(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:boom",
                    "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "H"}],
                    "End": True,
                },
                "H": {"Type": "Pass", "End": True},
            },
        },
        {"in": 1},
        resources={"boom": boom},
    )
    assert result.output == {"in": 1, "error": {"Error": "Custom.Error", "Cause": "details"}}


def test_history_events_have_aws_shape() -> None:
    result = run(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                    "Next": "E",
                },
                "E": {"Type": "Succeed"},
            },
        },
        {"a": 1},
        resources={"f": lambda p: p},
    )
    types = [e["type"] for e in result.history]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in result.history] == list(range(1, 10))
    assert result.history[1]["previousEventId"] == 1
    assert result.history[1]["stateEnteredEventDetails"] == {
        "name": "T",
        "input": '{"a":1}',
        "inputDetails": {"truncated": False},
    }
    assert result.history[2]["lambdaFunctionScheduledEventDetails"]["resource"].endswith(":function:f")
    assert result.history[-1]["executionSucceededEventDetails"]["output"] == '{"a":1}'


def _distributed(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
        **fields,
    }


def test_item_batcher_groups_items_with_batch_input() -> None:
    result = one(
        _distributed(ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"k.$": "$.k"}}, ItemsPath="$.items"),
        {"items": [1, 2, 3], "k": 7},
    )
    assert result.output == [
        {"BatchInput": {"k": 7}, "Items": [1, 2]},
        {"BatchInput": {"k": 7}, "Items": [3]},
    ]


def test_item_batcher_byte_limit() -> None:
    result = one(_distributed(ItemBatcher={"MaxInputBytesPerBatch": 10}), ["aaa", "bbb", "c"])
    assert result.output == [{"Items": ["aaa"]}, {"Items": ["bbb", "c"]}]


def test_item_reader_reads_csv_through_the_s3_resource() -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "Parameters": {"Bucket": "b", "Key.$": "$.key"},
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 2},
    }
    asked: list[Any] = []

    def get_object(params: Any) -> Any:
        asked.append(params)
        return "id,name\n1,a\n2,b\n3,c\n"

    result = one(
        _distributed(ItemReader=reader),
        {"key": "k.csv"},
        resources={"arn:aws:states:::s3:getObject": get_object},
    )
    assert asked == [{"Bucket": "b", "Key": "k.csv"}]
    assert result.output == [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]


def test_result_writer_is_visibly_unimplemented() -> None:
    result = one(
        _distributed(
            ResultWriter={"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b"}}
        ),
        [1],
    )
    assert result.error == "States.Runtime" and "ResultWriter" in result.cause
