"""Definition validation: AWS-style messages that name the rule and the JSON location."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cloudlet.asl import InvalidDefinition, StateMachine
from cloudlet.asl.model import DEFAULT


def pass_end(**extra: Any) -> dict[str, Any]:
    return {"Type": "Pass", "End": True, **extra}


def reject(definition: Any) -> InvalidDefinition:
    with pytest.raises(InvalidDefinition) as info:
        StateMachine.from_definition(definition)
    assert info.value.message.startswith("Invalid State Machine Definition: '")
    return info.value


CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "missing next target",
        {"StartAt": "Bar", "States": {"Bar": {"Type": "Pass", "Next": "Foo"}}},
        "Missing 'Next' target: Foo at /States/Bar/Next",
    ),
    (
        "missing start target",
        {"StartAt": "Nope", "States": {"A": pass_end()}},
        "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nope at /StartAt, "
        'MISSING_TRANSITION_TARGET: State "A" is not reachable. at /States/A',
    ),
    (
        "no terminal state",
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}},
        "MISSING_END_STATE: Workflow has no terminal state at null",
    ),
    ("no StartAt", {"States": {"A": pass_end()}}, "The field 'StartAt' is required"),
    ("no States", {"StartAt": "A"}, "The field 'States' is required"),
    (
        "unreachable",
        {"StartAt": "A", "States": {"A": pass_end(), "B": pass_end()}},
        'MISSING_TRANSITION_TARGET: State "B" is not reachable. at /States/B',
    ),
    (
        "next and end",
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": True}}},
        "'Next' and 'End' cannot both be set at /States/A",
    ),
    (
        "neither next nor end",
        {"StartAt": "A", "States": {"A": {"Type": "Pass"}}},
        "The field 'Next' or 'End' is required but was missing at /States/A",
    ),
    ("unknown type", {"StartAt": "A", "States": {"A": {"Type": "Nap", "End": True}}}, "/States/A/Type"),
    (
        "unknown field",
        {"StartAt": "A", "States": {"A": pass_end(Resource="arn:aws:lambda:x")}},
        "SCHEMA_VALIDATION_FAILED: Field 'Resource' is not supported at /States/A'",
    ),
    (
        "States.ALL not last",
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}],
                }
            },
        },
        "/States/A/Retry[0]/ErrorEquals",
    ),
    (
        "States.ALL not alone",
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                    "End": True,
                    "Catch": [{"ErrorEquals": ["States.ALL", "X"], "Next": "A"}],
                }
            },
        },
        "States.ALL must appear alone",
    ),
    (
        "bad backoff",
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}],
                }
            },
        },
        "/States/A/Retry[0]/BackoffRate",
    ),
    (
        "JSONPath field in JSONata state",
        {"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": pass_end(InputPath="$.x")}},
        "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' "
        "QueryLanguage at /States/A",
    ),
    (
        "JSONata field in JSONPath state",
        {"StartAt": "A", "States": {"A": pass_end(Output="{% 1 %}")}},
        "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' "
        "QueryLanguage at /States/A",
    ),
    (
        "JSONPath state under JSONata machine",
        {"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": pass_end(QueryLanguage="JSONPath")}},
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine at /States/A",
    ),
    (
        "two wait fields",
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Timestamp": "x", "End": True}}},
        "exactly one of",
    ),
    (
        "credentials without role",
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Credentials": {},
                    "End": True,
                }
            },
        },
        "The field 'RoleArn' is required but was missing at /States/A/Credentials",
    ),
    (
        "heartbeat not below timeout",
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                    "TimeoutSeconds": 5,
                    "HeartbeatSeconds": 5,
                    "End": True,
                }
            },
        },
        "/States/A/HeartbeatSeconds",
    ),
    (
        "map without processor",
        {"StartAt": "M", "States": {"M": {"Type": "Map", "End": True}}},
        "The field 'ItemProcessor' is required",
    ),
    (
        "empty parallel",
        {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [], "End": True}}},
        "'Branches' must be a non-empty array",
    ),
    (
        "next target inside branch",
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "P"}}}],
                }
            },
        },
        "Missing 'Next' target: P at /States/P/Branches[0]/States/X/Next",
    ),
    (
        "duplicate state name across branches",
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [{"StartAt": "P", "States": {"P": pass_end()}}],
                }
            },
        },
        "DUPLICATE_STATE_NAME",
    ),
    (
        "invalid JSONPath",
        {"StartAt": "A", "States": {"A": pass_end(InputPath="not a path")}},
        "/States/A/InputPath",
    ),
    (
        "invalid intrinsic",
        {"StartAt": "A", "States": {"A": pass_end(Parameters={"x.$": "States.NoSuchFunction(1)"})}},
        "/States/A/Parameters",
    ),
    (
        "invalid JSONata",
        {"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": pass_end(Output="{% $$$ ( %}")}},
        "/States/A/Output",
    ),
]


@pytest.mark.parametrize(("label", "definition", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_invalid_definitions(label: str, definition: dict[str, Any], fragment: str) -> None:
    assert fragment in reject(definition).message


def test_invalid_json_text() -> None:
    assert "INVALID_JSON_DESCRIPTION" in reject("{not json").message


def test_every_problem_is_reported() -> None:
    err = reject({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "X"}, "B": pass_end()}})
    assert "/States/A/Next" in err.message and "/States/B" in err.message
    assert err.path == "/States/A/Next"


def test_all_state_types_parse_in_both_languages() -> None:
    jsonpath = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "InputPath": "$", "ResultPath": "$.r", "Next": "T"},
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "ResultSelector": {"p.$": "$.Payload"},
                "TimeoutSecondsPath": "$.t",
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxDelaySeconds": 5, "JitterStrategy": "FULL"}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "F"}],
                "Next": "C",
            },
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "W"}],
                "Default": "M",
            },
            "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "I",
                    "States": {"I": {"Type": "Succeed"}},
                },
                "ToleratedFailurePercentage": 10,
                "Label": "Fan",
                "Next": "Par",
            },
            "Par": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B", "States": {"B": pass_end()}}],
                "Next": "S",
            },
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "States.Format('{}', $.Cause)"},
        },
    }
    sm = StateMachine.from_definition(json.dumps(jsonpath))
    states = sm.model.graph.states
    assert states["P"].input_path is DEFAULT
    assert states["T"].integration is not None and states["T"].integration.kind == "lambda_invoke"
    assert states["M"].distributed and states["M"].label == "Fan"
    assert states["T"].catch[0].result_path is None
    jsonata = {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "Arguments": {"a": "{% $states.input.a %}"},
                "Output": "{% $states.result %}",
                "Assign": {"v": "{% $states.result %}"},
                "TimeoutSeconds": "{% 5 %}",
                "Next": "W",
            },
            "W": {"Type": "Wait", "Seconds": "{% 1 %}", "Next": "M"},
            "M": {
                "Type": "Map",
                "Items": "{% [1, 2] %}",
                "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
                "MaxConcurrency": "{% 2 %}",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                "Next": "C",
            },
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "F"}], "Default": "F"},
            "F": {"Type": "Fail", "Error": "{% 'E' %}", "Cause": "c"},
        },
    }
    assert StateMachine.from_definition(jsonata).model.query_language == "JSONata"


def test_model_is_immutable() -> None:
    sm = StateMachine.from_definition({"StartAt": "A", "States": {"A": pass_end()}})
    with pytest.raises(AttributeError):
        sm.model.graph.states["A"].name = "B"  # type: ignore[misc]
