"""JSONata fields: {% %} templates, $states, variables, AWS's extra functions and errors.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html and
https://docs.aws.amazon.com/step-functions/latest/dg/jsonata-functions.html (AWS's functions).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlet.asl.expressions import EvalContext
from cloudlet.asl.jsonata import compile_jsonata, is_jsonata_template, unexpected_type
from cloudlet.errors import ExecutionError, InvalidDefinition


class FixedEntropy:
    def uuid4(self) -> str:
        return "11111111-2222-4333-8444-555555555555"

    def random(self) -> float:
        return 0.25


CONTEXT = {"Execution": {"Name": "exec-1"}, "State": {"Name": "S"}}
CTX = EvalContext(
    context=CONTEXT, variables={"answer": 42, "nothing": None, "items": [3, 1, 2]}, entropy=FixedEntropy()
)
STATES = {
    "input": {"a": 1, "list": [1, 2, 3], "name": "Ada", "n": None, "json": '{"k": [1, 2]}'},
    "context": CONTEXT,
    "result": {"Payload": {"ok": True}},
    "errorOutput": {"Error": "E", "Cause": "C"},
}


def evaluate(value: Any, field: str = "Output") -> Any:
    return compile_jsonata(value, where=f"/States/S/{field}", field=field).evaluate(STATES, CTX)


CASES = [
    # $states and its members
    ("{% $states.input.a + 1 %}", 2),
    ("{% $states.input.name & '!' %}", "Ada!"),
    ("{% $states.result.Payload.ok %}", True),
    ("{% $states.errorOutput.Error %}", "E"),
    ("{% $states.context.Execution.Name %}", "exec-1"),
    ("{% $states.input.n %}", None),
    ("{% $states.input.list[1] %}", 2),
    ("{% $states.input.list.($ * 2) %}", [2, 4, 6]),
    # variables, including null ones
    ("{% $answer %}", 42),
    ("{% $nothing = null %}", True),
    ("{% $sort($items) %}", [1, 2, 3]),
    # numbers as JSONata prints them: integers stay integers
    ("{% 3.0 %}", 3),
    ("{% 6 / 2 %}", 3),
    ("{% 1 / 4 %}", 0.25),
    ("{% $sum($states.input.list) %}", 6),
    # the standard library and regular expressions (recorded on AWS)
    ('{% $contains("hello$world", /^hello\\$/) %}', True),
    ('{% $contains("hello$world", /^hello\\ /) %}', False),
    ("{% $merge([{'a': 1}, {'b': 2}]) %}", {"a": 1, "b": 2}),
    ('{% $number("2") %}', 2),
    ("{% $number('1e3') %}", 1000),
    ("{% $number('0x1F') %}", 31),
    ("{% $states.input.list.$string() %}", ["1", "2", "3"]),
    ("{% $variable := 1 %}", 1),
    # AWS's functions
    ("{% $partition([1, 2, 3, 4], 3) %}", [[1, 2, 3], [4]]),
    ("{% $partition([0], 5) %}", [[0]]),
    ("{% $range(0, 10, 3) %}", [0, 3, 6, 9]),
    ("{% $range(1, 9, 2) %}", [1, 3, 5, 7, 9]),
    ("{% $hash('input data', 'MD5') %}", "812f45842bc6d66ee14572ce20db8e86"),
    ("{% $hash('input data', 'SHA-1') %}", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
    ("{% $parse($states.input.json) %}", {"k": [1, 2]}),
    ("{% $parse('1') %}", 1),
    ("{% $parse('true') %}", True),
    ("{% $parse('\"HelloWorld\"') %}", "HelloWorld"),
    ("{% $parse('null') %}", None),
    ("{% $uuid() %}", "11111111-2222-4333-8444-555555555555"),
    ("{% $random() %}", 0.25),
    # templates nested anywhere, literals untouched
    (
        {
            "greeting": "Hello {% not a template",
            "who": "{% $states.input.name %}",
            "n": [1, "{% $answer %}", {"x": 1}],
        },
        {"greeting": "Hello {% not a template", "who": "Ada", "n": [1, 42, {"x": 1}]},
    ),
    ([1, "{% $number('2') %}", 3], [1, 2, 3]),
    ({"plain": [1, 2]}, {"plain": [1, 2]}),
    (7, 7),
    ("{%$answer%}", 42),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_jsonata(value: Any, expected: Any) -> None:
    assert evaluate(value) == expected


def test_seeded_random_is_reproducible() -> None:
    first = evaluate("{% $random(7) %}")
    assert first == evaluate("{% $random(7) %}") and 0 <= first < 1
    assert evaluate("{% $random(42) %}") == 0.7275636800328681  # new java.util.Random(42).nextDouble()


def test_literal_template_is_copied() -> None:
    template = compile_jsonata({"a": [1]}, where="/x", field="Output")
    assert template.is_literal and template.expressions == ()
    template.evaluate(STATES, CTX)["a"].append(2)
    assert template.evaluate(STATES, CTX) == {"a": [1]}


def test_expressions_are_listed() -> None:
    template = compile_jsonata({"a": "{% 1 %}", "b": ["{% 2 %}"]}, where="/x", field="Arguments")
    assert template.expressions == ("1", "2") and not template.is_literal


def test_undefined_fails_with_aws_cause() -> None:
    with pytest.raises(ExecutionError) as info:
        evaluate({"result": "{% $doesNotExist %}"})
    assert info.value.error == "States.QueryEvaluationError"
    assert info.value.cause == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output/result' "
        "returned nothing (undefined)."
    )


def test_undefined_whole_field() -> None:
    with pytest.raises(ExecutionError) as info:
        evaluate("{% $states.input.missing %}", field="Items")
    assert info.value.cause == (
        "The JSONata expression '$states.input.missing' specified for the field 'Items' "
        "returned nothing (undefined)."
    )


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("{% $states.input.name + 1 %}", "T2001"),
        ("{% $partition('x', 2) %}", "threw an error during evaluation: $partition"),
        ("{% $partition([1], 0) %}", "$partition"),
        ("{% $range(1, 2, 0) %}", "$range"),
        ("{% $range(0, 5000, 1) %}", "1000"),
        ("{% $hash('x', 'SHA-3') %}", "not supported"),
        ("{% $parse('{bad') %}", "$parse"),
        ("{% $number('x') %}", 'D3030: Unable to cast value to a number: "x"'),
        ("{% $number(null) %}", "D3030: Unable to cast value to a number: null"),
        (
            "{% $states.input.a + 'x' %}",
            'T2002: The right side of the "+" operator must evaluate to a number',
        ),
        ("{% $error('custom') %}", "custom"),
        # Step Functions has no $eval: calling it is calling an unbound name (measured on AWS)
        ("{% $eval('1 + 1') %}", "T1006: Attempted to invoke a non-function"),
        # jsonata-js wording, as AWS reports it
        ("{% $abs('x') %}", 'T0410: Argument 1 of function "abs" does not match function signature'),
        ("{% $sum(['a']) %}", 'T0412: Argument 1 of function "sum" must be an array of "numbers"'),
    ],
)
def test_evaluation_errors_are_query_evaluation_errors(value: str, fragment: str) -> None:
    with pytest.raises(ExecutionError) as info:
        evaluate(value)
    assert info.value.error == "States.QueryEvaluationError"
    assert info.value.cause is not None and fragment in info.value.cause


def test_unexpected_type_cause() -> None:
    template = compile_jsonata("{% true %}", where="/States/M/Items", field="Items")
    error = unexpected_type(template, "Items", "array", template.evaluate(STATES, CTX))
    assert error.error == "States.QueryEvaluationError"
    assert error.cause == (
        "The JSONata expression 'true' specified for the field 'Items' returned an unexpected result type. "
        "Expected 'array', but was 'boolean' for value: true"
    )
    error = unexpected_type(template, "Items", "array", {"foo": "bar"})
    assert error.cause is not None and error.cause.endswith('but was \'object\' for value: {"foo":"bar"}')


@pytest.mark.parametrize(
    ("value", "diagnostic"),
    [
        # AWS words parser errors as jsonata-js does, without the S0xxx code (measured on AWS)
        ("{% a[1,2) %}", 'INVALID_JSONATA_EXPRESSION: Expected "]", got "," at /States/S/Output'),
        ("{% 1 + %}", "INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/S/Output"),
        (
            '{% {"a":} %}',
            'INVALID_JSONATA_EXPRESSION: The symbol "}" cannot be used as a unary operator '
            "at /States/S/Output",
        ),
        (
            '{% "unterminated %}',
            "INVALID_JSONATA_EXPRESSION: String literal must be terminated by a matching quote "
            "at /States/S/Output",
        ),
        (
            '{% $match("a", /abc %}',
            "INVALID_JSONATA_EXPRESSION: No terminating / in regular expression at /States/S/Output",
        ),
        (
            {"a": ["{% 1 + %}"]},
            "INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/S/Output/a/0",
        ),
        # no context item in Step Functions: a path may not start with a bare name
        (
            {"v": "{% phone %}"},
            "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported. "
            "at /States/S/Output/v",
        ),
        (
            "{% $count(items) %}",
            "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'items' at the top level is not supported. "
            "at /States/S/Output",
        ),
    ],
)
def test_invalid_jsonata_is_a_definition_error(value: Any, diagnostic: str) -> None:
    with pytest.raises(InvalidDefinition) as info:
        compile_jsonata(value, where="/States/S/Output", field="Output")
    assert info.value.message == f"Invalid State Machine Definition: '{diagnostic}'"


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("phone", ["phone"]),
        ("a + b", ["a", "b"]),
        ("{ 'x': foo }", ["foo"]),
        ("foo ? 1 : 2", ["foo"]),
        ("( $x := foo; $x )", ["foo"]),
        ("[foo, foo]", ["foo"]),
        ("foo.bar[0]", ["foo"]),
        ("$states.input ~> $map(function($v){ bar })", ["bar"]),
        ("$states.input[k = 1] and z", ["z"]),
        # reads relative to an item are fine
        ("$states.input.items[status = 'OPEN'].amount", []),
        ("$map($states.input.l, function($v){ $v.a })", []),
        ("$states.input.l.(a + b)", []),
        ("$states.input.items^(price)", []),
        ("$states.input{ name: value }", []),
        ("[1, 2, 3][$ > 1]", []),
        ("$sum($states.input.l.price) + $x", []),
        ("'literal'", []),
    ],
)
def test_top_level_references(source: str, names: list[str]) -> None:
    from jsonata import Jsonata

    from cloudlet.asl.jsonata import top_level_references

    assert top_level_references(Jsonata(source).ast) == names


@pytest.mark.parametrize(
    ("value", "expected"),
    [("{% 1 %}", True), ("{%%}", True), ("{% 1", False), ("x {% 1 %}", False), (1, False)],
)
def test_is_jsonata_template(value: Any, expected: bool) -> None:
    assert is_jsonata_template(value) is expected


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="$states.input[]()+-*/&'\"{}:=<>?1a ", max_size=20))
def test_compile_and_evaluate_fail_only_with_typed_errors(body: str) -> None:
    try:
        template = compile_jsonata("{% " + body + " %}", where="/x", field="Output")
    except InvalidDefinition:
        return
    try:
        template.evaluate(STATES, CTX)
    except ExecutionError as exc:
        assert exc.error == "States.QueryEvaluationError"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abc"), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    json_values,
    st.sampled_from(["$states.input", "$states.input.a", "$states.input.a.b", "$v.a", "$v", "$w.a"]),
)
def test_member_lookups_agree_with_the_library(data: Any, source: str) -> None:
    """Simple member paths skip the library; they must give what the library gives."""
    from jsonata import Jsonata

    from cloudlet.asl.jsonata import bindings

    states = {"input": data, "context": {}}
    ctx = EvalContext(variables={"v": data}, entropy=FixedEntropy())
    query = Jsonata(source)
    query.set_output_convert_nulls(False)
    try:
        expected: Any = query.evaluate(None, bindings(states, ctx))
    except Exception:
        expected = "error"
    try:
        got: Any = compile_jsonata("{% " + source + " %}", where="/x", field="F").evaluate(states, ctx)
    except ExecutionError:
        got = "error"
    from cloudlet.asl.jsonata import _plain

    assert got == ("error" if expected is None else _plain(expected))


def test_now_and_millis_use_the_drivers_time() -> None:
    ctx = EvalContext(context=CONTEXT, now=1700000000.123)
    template = compile_jsonata({"now": "{% $now() %}", "ms": "{% $millis() %}"}, where="/x", field="Output")
    assert template.evaluate(STATES, ctx) == {"now": "2023-11-14T22:13:20.123Z", "ms": 1700000000123}
    picture = compile_jsonata("{% $now('[Y0001]-[M01]-[D01]') %}", where="/x", field="Output")
    assert picture.evaluate(STATES, ctx) == "2023-11-14"


@pytest.mark.parametrize(
    ("value", "members"),
    [
        ("{% $states.input.a %}", {"input"}),
        ({"e": "{% $states.errorOutput.Error %}", "r": ["{% $states.result %}"]}, {"errorOutput", "result"}),
        ("{% $states.input.items[$states.context.Map.Item.Index = 0] %}", {"input", "context"}),
        ("{% $keys($states) %}", {"*"}),
        ("{% $$ %}", {"$$"}),
        ("{% $x %}", set()),
        ({"plain": 1}, set()),
    ],
)
def test_states_members(value: Any, members: set[str]) -> None:
    assert compile_jsonata(value, where="/x", field="Output").states_members == members
