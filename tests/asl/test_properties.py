"""Property tests: parsing and running never fail with anything but the typed errors.

Any JSON document either parses or raises ``InvalidDefinition``; any input to a valid
machine ends as an ``ExecutionResult`` (SUCCEEDED or FAILED with an error name), never as
a Python exception escaping ``run``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlet.asl import InvalidDefinition, StateMachine

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)

paths = st.sampled_from(
    ["$", "$.a", "$.a.b", "$.list[0]", "$.list[*]", "$$.Execution.Id", "$x", "$.nope", "bad", "$..a"]
)
names = st.sampled_from(["A", "B", "C", "D"])
field_values = st.one_of(json_values, paths, names)
FIELDS = [
    "Type",
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "Result",
    "Resource",
    "Choices",
    "Default",
    "Seconds",
    "SecondsPath",
    "Error",
    "Cause",
    "Branches",
    "ItemProcessor",
    "ItemsPath",
    "Retry",
    "Catch",
    "Assign",
    "Output",
    "Arguments",
    "QueryLanguage",
    "Variable",
    "Condition",
]
states = st.dictionaries(
    st.sampled_from(FIELDS),
    st.one_of(
        field_values,
        st.sampled_from(["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"]),
    ),
    max_size=6,
)
documents = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"StartAt": names, "States": st.dictionaries(names, states, max_size=4)},
        optional={
            "QueryLanguage": st.sampled_from(["JSONPath", "JSONata", "XPath"]),
            "TimeoutSeconds": json_scalars,
        },
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_parsing_raises_only_invalid_definition(doc: Any) -> None:
    try:
        StateMachine.from_definition(doc) if isinstance(doc, dict) else StateMachine.from_definition(str(doc))
    except InvalidDefinition as exc:
        assert exc.message.startswith("Invalid State Machine Definition")


def _pass_state(data: st.DrawFn, nxt: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Pass"}
    if data(st.booleans()):
        state["InputPath"] = data(paths.filter(lambda p: p not in ("bad", "$x")))
    if data(st.booleans()):
        state["Parameters"] = {
            "v.$": data(paths.filter(lambda p: p not in ("bad", "$x"))),
            "k": data(json_scalars),
        }
    if data(st.booleans()):
        state["ResultPath"] = data(st.sampled_from(["$.r", "$.a.b", "$", None]))
    if data(st.booleans()):
        state["OutputPath"] = data(st.sampled_from(["$", "$.a", "$.r"]))
    if nxt is None:
        state["End"] = True
    else:
        state["Next"] = nxt
    return state


@st.composite
def machines(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 4))
    states: dict[str, Any] = {}
    for i in range(n):
        nxt = f"S{i + 1}" if i + 1 < n else None
        kind = draw(st.sampled_from(["Pass", "Choice", "Map", "Wait"]))
        if kind == "Pass":
            states[f"S{i}"] = _pass_state(draw, nxt)
        elif kind == "Choice":
            op = draw(st.sampled_from(["StringEquals", "NumericGreaterThan", "IsPresent", "BooleanEquals"]))
            value = {"StringEquals": "x", "NumericGreaterThan": 1, "IsPresent": True, "BooleanEquals": False}[
                op
            ]
            target = nxt or f"End{i}"
            states[f"S{i}"] = {
                "Type": "Choice",
                "Choices": [
                    {"Variable": draw(st.sampled_from(["$.a", "$.list[0]", "$"])), op: value, "Next": target}
                ],
                "Default": target,
            }
            if nxt is None:
                states[target] = {"Type": "Succeed"}
        elif kind == "Map":
            states[f"S{i}"] = {
                "Type": "Map",
                "ItemsPath": draw(st.sampled_from(["$.list", "$.a", "$"])),
                "ItemProcessor": {"StartAt": f"I{i}", "States": {f"I{i}": _pass_state(draw, None)}},
                **({"End": True} if nxt is None else {"Next": nxt}),
            }
        else:
            states[f"S{i}"] = {
                "Type": "Wait",
                "SecondsPath": "$.a",
                **({"End": True} if nxt is None else {"Next": nxt}),
            }
    return {"StartAt": "S0", "States": states}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines(), json_values)
def test_running_yields_a_result_never_an_exception(definition: dict[str, Any], input_: Any) -> None:
    machine = StateMachine.from_definition(definition)
    result = machine.run(input_, real_time=False)
    assert result.status in ("SUCCEEDED", "FAILED")
    if result.status == "FAILED":
        assert isinstance(result.error, str) and result.error
    assert result.history[0]["type"] == "ExecutionStarted"
    assert result.history[-1]["type"] in ("ExecutionSucceeded", "ExecutionFailed")


JSONATA_EXPRESSIONS = [
    "{% $states.input %}",
    "{% $states.input.a %}",
    "{% $states.input.a + 1 %}",
    "{% $count($states.input.list) %}",
    "{% $states.input.list[0] %}",
    "{% $string($states.input) %}",
    "{% $x %}",
    "{% $states.context.State.Name %}",
]


@st.composite
def jsonata_machines(draw: st.DrawFn) -> dict[str, Any]:
    states: dict[str, Any] = {
        "A": {
            "Type": "Pass",
            "Assign": {"x": draw(st.sampled_from(JSONATA_EXPRESSIONS[:6]))},
            "Output": {"v": draw(st.sampled_from(JSONATA_EXPRESSIONS))},
            "Next": "C",
        },
        "C": {
            "Type": "Choice",
            "Choices": [{"Condition": "{% $exists($states.input.v) %}", "Next": "M"}],
            "Default": "M",
        },
        "M": {
            "Type": "Map",
            "Items": draw(st.sampled_from(["{% [1, 2] %}", "{% $states.input.v %}", "{% $x %}"])),
            "ItemProcessor": {
                "StartAt": "I",
                "States": {"I": {"Type": "Pass", "Output": "{% $states.input %}", "End": True}},
            },
            "End": True,
        },
    }
    return {"QueryLanguage": "JSONata", "StartAt": "A", "States": states}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(jsonata_machines(), json_values)
def test_jsonata_runs_yield_a_result_never_an_exception(definition: dict[str, Any], input_: Any) -> None:
    result = StateMachine.from_definition(definition).run(input_, real_time=False)
    assert result.status in ("SUCCEEDED", "FAILED")
    if result.status == "FAILED":
        assert result.error in ("States.QueryEvaluationError", "States.Runtime"), (result.error, result.cause)
