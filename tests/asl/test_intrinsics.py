"""Intrinsic functions: every example of AWS's intrinsic-functions page, argument checks,
the call grammar, and what AWS recorded (number formatting, StringSplit, MathAdd rounding).

https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlet.asl.expressions import EvalContext
from cloudlet.asl.intrinsics import FUNCTIONS, IntrinsicSyntaxError, compile_intrinsic, parse_intrinsic
from cloudlet.errors import ExecutionError, InvalidDefinition


class FixedEntropy:
    """Deterministic entropy, as a replaying driver would supply."""

    def uuid4(self) -> str:
        return "11111111-2222-4333-8444-555555555555"

    def random(self) -> float:
        return 0.5


CTX = EvalContext(
    context={"Execution": {"Name": "exec-1"}, "StateMachine": {"Id": "arn:sm", "Name": "sm"}},
    variables={"greeting": "Hi", "numbers": [1, 2, 3]},
    entropy=FixedEntropy(),
)


def run(text: str, data: Any = None) -> Any:
    return compile_intrinsic(text, where="/States/S/Parameters/out.$").evaluate(data, CTX, field="out.$")


ONE_TO_NINE = [1, 2, 3, 4, 5, 6, 7, 8, 9]

DOC_EXAMPLES = [
    # States.Format
    ("States.Format('Hello, my name is {}.', $.name)", {"name": "Arnav"}, "Hello, my name is Arnav."),
    (
        "States.Format('{} {} {}', $.s, $.n, $.b)",
        {"s": "x", "n": 1.5, "b": False},
        "x 1.5 false",
    ),
    # States.StringToJson / JsonToString
    ("States.StringToJson($.someString)", {"someString": '{"number": 20}'}, {"number": 20}),
    (
        "States.JsonToString($.someJson)",
        {"someJson": {"name": "Foo", "year": 2020}},
        '{"name":"Foo","year":2020}',
    ),
    # States.Array
    (
        "States.Array('Foo', 2020, $.someJson, null)",
        {"someJson": {"random": "abcdefg"}},
        ["Foo", 2020, {"random": "abcdefg"}, None],
    ),
    # array functions
    ("States.ArrayPartition($.inputArray,4)", {"inputArray": ONE_TO_NINE}, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
    ("States.ArrayContains($.inputArray, $.lookingFor)", {"inputArray": ONE_TO_NINE, "lookingFor": 5}, True),
    ("States.ArrayRange(1, 9, 2)", None, [1, 3, 5, 7, 9]),
    ("States.ArrayGetItem($.inputArray, $.index)", {"inputArray": ONE_TO_NINE, "index": 5}, 6),
    ("States.ArrayLength($.inputArray)", {"inputArray": ONE_TO_NINE}, 9),
    ("States.ArrayUnique($.inputArray)", {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}, [1, 2, 3, 4]),
    # encoding and hashing
    ("States.Base64Encode($.input)", {"input": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
    ("States.Base64Decode($.base64)", {"base64": "RGF0YSB0byBlbmNvZGU="}, "Data to encode"),
    (
        "States.Hash($.Data, $.Algorithm)",
        {"Data": "input data", "Algorithm": "SHA-1"},
        "aaff4a450a104cd177d28d18d74485e8cae074b7",
    ),
    # JSON manipulation
    (
        "States.JsonMerge($.json1, $.json2, false)",
        {"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}},
        {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
    ),
    # math
    ("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}, 110),
    # strings
    (
        "States.StringSplit($.inputString, $.splitter)",
        {"inputString": "1,2,3,4,5", "splitter": ","},
        ["1", "2", "3", "4", "5"],
    ),
    (
        "States.StringSplit($.inputString, $.splitter)",
        {"inputString": "This.is+a,test=string", "splitter": ".+,="},
        ["This", "is", "a", "test", "string"],
    ),
    # UUID from the driver's entropy
    ("States.UUID()", None, "11111111-2222-4333-8444-555555555555"),
]

RECORDED_ON_AWS = [
    # States.Format prints objects and arrays the Java way, numbers as Java prints them
    ("States.Format('fst={}', $.v)", {"v": {"Arg1": 1, "Arg2": []}}, "fst={Arg1=1, Arg2=[]}"),
    ("States.Format('fst={}', $.v)", {"v": None}, "fst=null"),
    ("States.Format('fst={}', $.v)", {"v": 1.1}, "fst=1.1"),
    (
        "States.Format('{} and {}', $$.Execution.Name, $$.StateMachine)",
        None,
        "exec-1 and {Id=arn:sm, Name=sm}",
    ),
    # MathAdd rounds each argument half up (Java Math.round)
    ("States.MathAdd($.a, $.b)", {"a": 1.5, "b": 1.51}, 4),
    ("States.MathAdd($.a, $.b)", {"a": -1.49, "b": -1.5}, -2),
    ("States.MathAdd($.a, $.b)", {"a": -0.5, "b": 0.5}, 1),
    ("States.MathAdd($.a, $.b)", {"a": -3.5, "b": 0}, -3),
    # StringSplit drops empty tokens
    ("States.StringSplit($.a, $.b)", {"a": ", , ,", "b": ","}, [" ", " "]),
    ("States.StringSplit($.a, $.b)", {"a": ",,,,", "b": ","}, []),
    # ArrayRange end is inclusive only when reached
    ("States.ArrayRange($.a, $.b, $.c)", {"a": 0, "b": 10, "c": 3}, [0, 3, 6, 9]),
    ("States.ArrayRange($.a, $.b, $.c)", {"a": 1, "b": 9, "c": 9}, [1]),
    ("States.ArrayPartition($.a, $.b)", {"a": [], "b": 4}, []),
    ("States.ArrayContains($.a, $.b)", {"a": [[1, 2, 3], 2], "b": [1, 2, 3]}, True),
    ("States.ArrayContains($.a, $.b)", {"a": [{"1": 2, "2": []}], "b": []}, False),
    ("States.StringToJson($.a)", {"a": "null"}, None),
    ("States.JsonToString($.a)", {"a": 1.1}, "1.1"),
    ("States.JsonToString($.a)", {"a": None}, "null"),
    ("States.Hash($.a, $.b)", {"a": "input data", "b": "MD5"}, "812f45842bc6d66ee14572ce20db8e86"),
    ("States.Array()", None, []),
]

GRAMMAR = [
    # escapes in string literals
    ("States.Format('\\{\\} is {}', 'x')", None, "{} is x"),
    ("States.Format('it\\'s {}', 'x')", None, "it's x"),
    ("States.Format('back\\\\slash {}', 'x')", None, "back\\slash x"),
    ("States.Array('a,b', 'c)')", None, ["a,b", "c)"]),
    ("States.Array('tab\\tquote\\\"')", None, ['tab\tquote"']),
    # literals
    ("States.Array(1, -2, 3.5, true, false, null)", None, [1, -2, 3.5, True, False, None]),
    # nested calls
    ("States.ArrayGetItem(States.ArrayRange(1, 9, 2), 2)", None, 5),
    ("States.Format('{}', States.ArrayLength(States.Array(1, 2)))", None, "2"),
    ("States.StringToJson(States.JsonToString($.o))", {"o": {"k": [1]}}, {"k": [1]}),
    # paths: input, context, variables, brackets and filters
    ("States.Format('{} {}', $greeting, $$.Execution.Name)", None, "Hi exec-1"),
    ("States.ArrayLength($numbers)", None, 3),
    ("States.Array($['a b'], $.l[0])", {"a b": 1, "l": [2]}, [1, 2]),
    ("States.ArrayLength($.l[?(@ > 1)])", {"l": [1, 2, 3]}, 2),
    ("  States.Array( 1 ,  2 )  ", None, [1, 2]),
    ("States.Format($.t, 'x')", {"t": "a {} b"}, "a x b"),
]


@pytest.mark.parametrize(("text", "data", "expected"), DOC_EXAMPLES + RECORDED_ON_AWS + GRAMMAR)
def test_intrinsic(text: str, data: Any, expected: Any) -> None:
    assert run(text, data) == expected


def test_math_random_is_in_range_and_uses_entropy() -> None:
    assert run("States.MathRandom($.start, $.end)", {"start": 1, "end": 999}) == 1 + int(0.5 * 998)
    seeded = [run("States.MathRandom(1, 1000, 7)") for _ in range(3)]
    assert len(set(seeded)) == 1 and 1 <= seeded[0] < 1000
    # a seed gives java.util.Random's sequence: new Random(42).nextInt(10) == 0
    assert run("States.MathRandom(0, 10, 42)") == 0
    assert run("States.MathRandom(5, 15, 42)") == 5


def test_java_random_matches_the_jvm() -> None:
    """Known outputs of java.util.Random for seed 42."""
    from cloudlet.asl.expressions import JavaRandom

    rng = JavaRandom(42)
    assert [rng.next_int(10) for _ in range(5)] == [0, 3, 8, 4, 0]
    assert JavaRandom(42).next_double() == 0.7275636800328681


def test_uuid_default_entropy_is_a_uuid4() -> None:
    value = compile_intrinsic("States.UUID()", where="/x").evaluate(None, EvalContext())
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value)


FAILURES = [
    ("States.ArrayGetItem($.a, 3)", {"a": [1]}),
    ("States.ArrayGetItem($.a, -1)", {"a": [1]}),
    ("States.ArrayGetItem($.a, 0)", {"a": "str"}),
    ("States.ArrayLength($.a)", {"a": {"k": 1}}),
    ("States.ArrayPartition($.a, 0)", {"a": [1]}),
    ("States.ArrayPartition($.a, 1.5)", {"a": [1]}),
    ("States.ArrayRange(1, 5, 0)", None),
    ("States.ArrayRange(0, 2000, 1)", None),
    ("States.ArrayRange(1, 'x', 1)", None),
    ("States.MathAdd($.a, 1)", {"a": "1"}),
    ("States.MathAdd(true, 1)", None),
    ("States.MathRandom(5, 5)", None),
    ("States.Hash('x', 'SHA-999')", None),
    ("States.JsonMerge($.a, $.a, true)", {"a": {}}),
    ("States.JsonMerge($.a, 1, false)", {"a": {}}),
    ("States.StringToJson('{not json')", None),
    ("States.StringToJson(1)", None),
    ("States.Base64Decode('%%%')", None),
    ("States.Base64Encode($.a)", {"a": "x" * 10001}),
    ("States.Format('{} {}', 'one')", None),
    ("States.Format('{}', 'one', 'two')", None),
    ("States.StringSplit(1, ',')", None),
]


@pytest.mark.parametrize(("text", "data"), FAILURES)
def test_intrinsic_failure(text: str, data: Any) -> None:
    with pytest.raises(ExecutionError) as info:
        run(text, data)
    assert info.value.error == "States.IntrinsicFailure"
    name = text.split("(")[0]
    assert info.value.cause and info.value.cause.startswith(f"Invalid arguments in {name}")


def test_missing_path_argument_is_a_runtime_error_naming_the_field() -> None:
    with pytest.raises(ExecutionError) as info:
        run("States.Format('{}', $.nope)", {"a": 1})
    assert info.value.error == "States.Runtime"
    assert info.value.cause == (
        "The JSONPath '$.nope' specified for the field 'out.$' could not be found in the input '{\"a\":1}'"
    )


INVALID = [
    "States.Nope()",
    "States.Format",
    "States.Format(",
    "States.Format('x'",
    "States.Format('unterminated)",
    "States.Array(1,)",
    "States.Array(,1)",
    "States.Array(1 2)",
    "States.Array(abc)",
    "States.Array(1)x",
    "States.Array($.)",
    "States.ArrayLength()",
    "States.ArrayLength(1, 2)",
    "States.UUID(1)",
    "States.MathRandom(1)",
    "States.JsonMerge($.a, $.b)",
    "States.Hash('x')",
    "Format('x')",
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_calls_are_definition_errors(text: str) -> None:
    with pytest.raises(InvalidDefinition) as info:
        compile_intrinsic(text, where="/States/S/Parameters/out.$")
    assert info.value.message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field 'out.$' "
        "must be a valid JSONPath or a valid intrinsic function call at /States/S/Parameters'"
    )


def test_nesting_limit() -> None:
    ten = "States.Array(" * 10 + "1" + ")" * 10
    assert run(ten) == [[[[[[[[[[1]]]]]]]]]]
    # nine-deep, in the shape of the documented example
    arn = {"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123:image-recipe/name.sub/1.0.0"}}
    text = (
        "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
        "States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit("
        "States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))"
    )
    assert run(text, arn) == "1.0"
    with pytest.raises(InvalidDefinition):
        compile_intrinsic("States.Array(" * 11 + "1" + ")" * 11, where="/States/S/Parameters/x.$")


def test_every_function_of_the_issue_is_implemented() -> None:
    assert set(FUNCTIONS) == {
        "States.Format", "States.StringToJson", "States.JsonToString", "States.Array",
        "States.ArrayPartition", "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem",
        "States.ArrayLength", "States.ArrayUnique", "States.Base64Encode", "States.Base64Decode",
        "States.Hash", "States.JsonMerge", "States.MathRandom", "States.MathAdd",
        "States.StringSplit", "States.UUID",
    }  # fmt: skip


# --- properties ---------------------------------------------------------------------------

call_text = st.text(alphabet="States.FormatArrayLengthUUID()'$,.{}\\ 0123456789-abtruenl[]", max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(-1e3, 1e3) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(call_text | st.builds(lambda n, t: n + t, st.sampled_from(sorted(FUNCTIONS)), call_text))
def test_parsing_never_crashes(text: str) -> None:
    try:
        parse_intrinsic(text)
    except IntrinsicSyntaxError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(FUNCTIONS)), json_values, json_values, json_values)
def test_evaluation_fails_only_with_typed_errors(name: str, a: Any, b: Any, c: Any) -> None:
    f = FUNCTIONS[name]
    count = f.min_args if f.max_args is None else f.max_args
    args = ", ".join(["$.a", "$.b", "$.c"][:count])
    try:
        run(f"{name}({args})", {"a": a, "b": b, "c": c})
    except ExecutionError as exc:
        assert exc.error == "States.IntrinsicFailure"
