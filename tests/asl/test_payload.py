"""Payload templates (Parameters, ResultSelector, ItemSelector, JSONPath Assign).

https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlet.asl.expressions import EvalContext
from cloudlet.asl.payload import compile_payload, compile_value_expression
from cloudlet.errors import ExecutionError, InvalidDefinition

CTX = EvalContext(
    context={
        "Execution": {"Id": "arn:exec", "Input": {"orig": 1}},
        "Map": {"Item": {"Index": 3, "Value": "v"}},
    },
    variables={"total": 10, "cfg": {"mode": "fast"}},
)

DOC_INPUT = {
    "flagged": 7,
    "vals": [0, 10, 20, 30, 40, 50],
    "comment": "Example for Parameters.",
    "product": {
        "details": {"color": "blue", "size": "small", "material": "cotton"},
        "availability": "in stock",
    },
}

CASES = [
    # the Parameters page example
    (
        {
            "comment": "Selecting what I care about.",
            "MyDetails": {
                "size.$": "$.product.details.size",
                "exists.$": "$.product.availability",
                "StaticValue": "foo",
            },
        },
        DOC_INPUT,
        {
            "comment": "Selecting what I care about.",
            "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
        },
    ),
    # the States Language spec example: indefinite paths give lists
    (
        {"flagged": True, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[3:]"}},
        DOC_INPUT,
        {"flagged": True, "parts": {"first": 0, "last3": [30, 40, 50]}},
    ),
    # context object, variables, intrinsics, arrays holding templates
    (
        {"exec.$": "$$.Execution.Id", "index.$": "$$.Map.Item.Index", "t.$": "$total", "mode.$": "$cfg.mode"},
        {},
        {"exec": "arn:exec", "index": 3, "t": 10, "mode": "fast"},
    ),
    (
        {"msg.$": "States.Format('{} of {}', $.a, $total)", "list": [1, {"x.$": "$.a"}, [{"y.$": "$"}]]},
        {"a": 2},
        {"msg": "2 of 10", "list": [1, {"x": 2}, [{"y": {"a": 2}}]]},
    ),
    # literal payloads, scalars and keys that merely contain "$"
    ({"a": 1, "b": [1, 2], "c": {"d": None}}, {}, {"a": 1, "b": [1, 2], "c": {"d": None}}),
    ("just a string", {}, "just a string"),
    ({"price$": "$.a", "x.$y": 1}, {"a": 1}, {"price$": "$.a", "x.$y": 1}),
    ({"whole.$": "$"}, [1, 2], {"whole": [1, 2]}),
    ({"nul.$": "$.n"}, {"n": None}, {"nul": None}),
]


@pytest.mark.parametrize(("template", "data", "expected"), CASES)
def test_payload(template: Any, data: Any, expected: Any) -> None:
    assert compile_payload(template, where="/States/S/Parameters").evaluate(data, CTX) == expected


def test_literal_payload_is_a_fresh_copy_each_time() -> None:
    payload = compile_payload({"a": {"b": [1]}}, where="/States/S/Parameters")
    assert payload.is_literal
    first = payload.evaluate({}, CTX)
    first["a"]["b"].append(2)
    assert payload.evaluate({}, CTX) == {"a": {"b": [1]}}


def test_literal_parts_of_dynamic_payload_are_fresh_copies() -> None:
    payload = compile_payload({"lit": {"k": [1]}, "v.$": "$"}, where="/x")
    assert not payload.is_literal
    payload.evaluate(1, CTX)["lit"]["k"].append(2)
    assert payload.evaluate(1, CTX)["lit"] == {"k": [1]}


@pytest.mark.parametrize(
    ("template", "data", "cause"),
    [
        (
            {"value.$": "$.no_such_jsonpath"},
            {"a": 1},
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' "
            "could not be found in the input '{\"a\":1}'",
        ),
        (
            {"value.$": "$$.Execution.Input.no_such_jsonpath"},
            {"a": 1},
            "The JSONPath '$$.Execution.Input.no_such_jsonpath' specified for the field 'value.$' "
            "could not be found in the input '{\"a\":1}'",
        ),
        (
            {"outer": {"missing.$": "$.nope.deep"}},
            {"other": 1},
            "The JSONPath '$.nope.deep' specified for the field 'missing.$' "
            "could not be found in the input '{\"other\":1}'",
        ),
    ],
)
def test_missing_path_fails_with_aws_cause(template: Any, data: Any, cause: str) -> None:
    with pytest.raises(ExecutionError) as info:
        compile_payload(template, where="/States/S/Parameters").evaluate(data, CTX)
    assert info.value.error == "States.Runtime"
    assert info.value.cause == cause


def test_intrinsic_failure_propagates() -> None:
    payload = compile_payload({"x.$": "States.ArrayGetItem($.a, 5)"}, where="/x")
    with pytest.raises(ExecutionError) as info:
        payload.evaluate({"a": []}, CTX)
    assert info.value.error == "States.IntrinsicFailure"


@pytest.mark.parametrize(
    "value", ["not a path", 5, None, {"a": 1}, "$.a[", "States.Nope()", "States.Format("]
)
def test_invalid_dollar_values_are_definition_errors(value: Any) -> None:
    with pytest.raises(InvalidDefinition) as info:
        compile_payload({"ok": 1, "bad.$": value}, where="/States/S/Parameters")
    assert info.value.message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field 'bad.$' "
        "must be a valid JSONPath or a valid intrinsic function call at /States/S/Parameters'"
    )


def test_nested_definition_error_names_the_nested_object() -> None:
    with pytest.raises(InvalidDefinition) as info:
        compile_payload({"outer": {"bad.$": "x"}}, where="/States/S/Parameters")
    assert info.value.path == "/States/S/Parameters/outer"


def test_value_expression() -> None:
    expr = compile_value_expression("States.Format('E{}', $.code)", where="/States/F", field="ErrorPath")
    assert expr.evaluate({"code": 7}, CTX) == "E7"
    expr = compile_value_expression("$.cause", where="/States/F", field="CausePath")
    with pytest.raises(ExecutionError) as info:
        expr.evaluate({}, CTX)
    assert (
        info.value.cause
        == "The JSONPath '$.cause' specified for the field 'CausePath' could not be found in the input '{}'"
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="$.ab[]'", max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet="ab.$", max_size=4), children, max_size=3)
    ),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(json_values, json_values)
def test_compiling_and_evaluating_never_crash(template: Any, data: Any) -> None:
    try:
        payload = compile_payload(template, where="/x")
    except InvalidDefinition:
        return
    try:
        payload.evaluate(data, CTX)
    except ExecutionError as exc:
        assert exc.error in ("States.Runtime", "States.IntrinsicFailure")
