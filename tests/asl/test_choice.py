"""Choice rules: every comparison operator, its Path variant, and the logical combinators.

Expected values follow https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html:
comparisons of mismatched types are false, not errors.
"""

from __future__ import annotations

from typing import Any

import pytest

from cloudlet.asl import ExecutionError, InvalidDefinition, StateMachine
from cloudlet.asl.choice import compile_rule, evaluate_rule, parse_timestamp
from cloudlet.asl.expressions import EvalContext

CTX = EvalContext(context={}, variables={"limit": 10})


def holds(rule: dict[str, Any], data: Any) -> bool:
    return evaluate_rule(compile_rule(rule, where="/States/C/Choices[0]", top=False), data, CTX)


ROWS: list[tuple[str, Any, Any, bool]] = [
    # operator, rule value, variable value, expected
    ("StringEquals", "a", "a", True),
    ("StringEquals", "a", "b", False),
    ("StringEquals", "1", 1, False),
    ("StringLessThan", "a", "b", False),
    ("StringLessThan", "b", "a", True),
    ("StringGreaterThan", "a", "b", True),
    ("StringLessThanEquals", "a", "a", True),
    ("StringGreaterThanEquals", "b", "a", False),
    ("NumericEquals", 1, 1.0, True),
    ("NumericEquals", 1, "1", False),
    ("NumericEquals", 1, True, False),
    ("NumericLessThan", 10, 9.5, True),
    ("NumericLessThan", 10, 10, False),
    ("NumericGreaterThan", 10, 11, True),
    ("NumericLessThanEquals", 10, 10, True),
    ("NumericGreaterThanEquals", 10, 9, False),
    ("BooleanEquals", True, True, True),
    ("BooleanEquals", False, 0, False),
    ("BooleanEquals", False, None, False),
    ("TimestampEquals", "2016-08-18T17:33:00Z", "2016-08-18T17:33:00Z", True),
    ("TimestampEquals", "2016-08-18T17:33:00Z", "2016-08-18T19:33:00+02:00", True),
    ("TimestampLessThan", "2016-08-18T17:33:00Z", "2016-08-18T17:32:59Z", True),
    ("TimestampGreaterThan", "2016-08-18T17:33:00Z", "2016-08-18T17:33:00.001Z", True),
    ("TimestampLessThanEquals", "2016-08-18T17:33:00Z", "2016-08-18T17:33:00Z", True),
    ("TimestampGreaterThanEquals", "2016-08-18T17:33:00Z", "not a time", False),
    ("StringMatches", "log-*.txt", "log-2024.txt", True),
    ("StringMatches", "log-*.txt", "log-2024.csv", False),
    ("StringMatches", "*", "", True),
    ("StringMatches", r"a\*b", "a*b", True),
    ("StringMatches", r"a\*b", "axb", False),
    ("StringMatches", r"a\\*", "a\\anything", True),
    ("IsNull", True, None, True),
    ("IsNull", False, None, False),
    ("IsNull", True, 0, False),
    ("IsNumeric", True, 1.5, True),
    ("IsNumeric", True, "1", False),
    ("IsNumeric", True, True, False),
    ("IsString", True, "x", True),
    ("IsString", False, 1, True),
    ("IsBoolean", True, False, True),
    ("IsBoolean", True, "true", False),
    ("IsTimestamp", True, "2016-08-18T17:33:00Z", True),
    ("IsTimestamp", True, "2016-08-18 17:33:00Z", False),
    ("IsTimestamp", False, 1, True),
    ("IsPresent", True, 1, True),
    ("IsPresent", True, None, True),
]


@pytest.mark.parametrize(("operator", "value", "data", "expected"), ROWS)
def test_comparison_operator(operator: str, value: Any, data: Any, expected: bool) -> None:
    assert holds({"Variable": "$.v", operator: value}, {"v": data}) is expected


PATH_ROWS: list[tuple[str, Any, Any, bool]] = [
    ("StringEqualsPath", "a", "a", True),
    ("StringLessThanPath", "a", "b", True),
    ("StringGreaterThanPath", "a", "b", False),
    ("StringLessThanEqualsPath", "b", "b", True),
    ("StringGreaterThanEqualsPath", "c", "b", True),
    ("NumericEqualsPath", 2, 2, True),
    ("NumericLessThanPath", 1, 2, True),
    ("NumericGreaterThanPath", 1, 2, False),
    ("NumericLessThanEqualsPath", 3, 2, False),
    ("NumericGreaterThanEqualsPath", 2, 2, True),
    ("NumericEqualsPath", 2, "2", False),
    ("BooleanEqualsPath", True, True, True),
    ("BooleanEqualsPath", True, False, False),
    ("TimestampEqualsPath", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
    ("TimestampLessThanPath", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", True),
    ("TimestampGreaterThanPath", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", False),
    ("TimestampLessThanEqualsPath", "2021-01-01T00:00:00Z", "2021-01-01T00:00:00Z", True),
    ("TimestampGreaterThanEqualsPath", "2022-01-01T00:00:00Z", "2021-01-01T00:00:00Z", True),
]


@pytest.mark.parametrize(("operator", "left", "right", "expected"), PATH_ROWS)
def test_path_variant_compares_two_input_values(operator: str, left: Any, right: Any, expected: bool) -> None:
    assert holds({"Variable": "$.a", operator: "$.b"}, {"a": left, "b": right}) is expected


def test_path_variant_reads_variables() -> None:
    assert holds({"Variable": "$.n", "NumericLessThanPath": "$limit"}, {"n": 3})


def test_and_or_not() -> None:
    rule = {
        "And": [
            {"Variable": "$.n", "NumericGreaterThan": 1},
            {
                "Or": [
                    {"Not": {"Variable": "$.s", "IsPresent": True}},
                    {"Variable": "$.s", "StringEquals": "x"},
                ]
            },
        ]
    }
    assert holds(rule, {"n": 2, "s": "x"})
    assert holds(rule, {"n": 2})
    assert not holds(rule, {"n": 2, "s": "y"})
    assert not holds(rule, {"n": 1, "s": "x"})


def test_is_present_false_for_missing_path() -> None:
    assert holds({"Variable": "$.missing", "IsPresent": False}, {})


def test_missing_variable_is_a_runtime_error() -> None:
    with pytest.raises(ExecutionError) as info:
        holds({"Variable": "$.missing", "StringEquals": "x"}, {})
    assert info.value.error == "States.Runtime"


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.a", "StringEquals": 1},
        {"Variable": "$.a", "NumericEquals": "1"},
        {"Variable": "$.a", "BooleanEquals": "true"},
        {"Variable": "$.a", "TimestampEquals": "yesterday"},
        {"Variable": "$.a", "IsNull": "yes"},
        {"Variable": "$.a"},
        {"StringEquals": "x"},
        {"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1},
        {"And": []},
        {"Variable": "$.a", "Frobnicates": 1},
    ],
)
def test_invalid_rules_are_rejected(rule: dict[str, Any]) -> None:
    with pytest.raises(InvalidDefinition) as info:
        compile_rule(rule, where="/States/C/Choices[0]", top=False)
    assert "/States/C/Choices[0]" in info.value.message


def test_parse_timestamp_accepts_offsets_and_fractions() -> None:
    assert parse_timestamp("2016-03-05T21:29:29.243167252Z") is not None
    assert parse_timestamp("2016-03-05T21:29:29+05:30") is not None
    assert parse_timestamp("2016-03-05T21:29:29") is None
    assert parse_timestamp("2016-13-05T21:29:29Z") is None


def _machine(choices: list[dict[str, Any]], default: str | None = "Other") -> StateMachine:
    states: dict[str, Any] = {
        "C": {"Type": "Choice", "Choices": choices},
        "Match": {"Type": "Pass", "Result": "match", "End": True},
        "Other": {"Type": "Pass", "Result": "other", "End": True},
    }
    if default:
        states["C"]["Default"] = default
    return StateMachine.from_definition({"StartAt": "C", "States": states})


def test_choice_state_takes_first_matching_rule_else_default() -> None:
    sm = _machine([{"Variable": "$.n", "NumericEquals": 1, "Next": "Match"}])
    assert sm.run({"n": 1}).output == "match"
    assert sm.run({"n": 2}).output == "other"


def test_no_choice_matched_without_default() -> None:
    states = {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Match"}]},
        "Match": {"Type": "Succeed"},
    }
    result = StateMachine.from_definition({"StartAt": "C", "States": states}).run({"n": 2})
    assert (result.status, result.error) == ("FAILED", "States.NoChoiceMatched")


def test_jsonata_condition() -> None:
    sm = StateMachine.from_definition(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "Big", "Output": "big"}],
                    "Default": "Small",
                },
                "Big": {"Type": "Succeed"},
                "Small": {"Type": "Succeed", "Output": "small"},
            },
        }
    )
    assert sm.run({"n": 2}).output == "big"
    assert sm.run({"n": 0}).output == "small"
