"""JSONPath, reference paths and ResultPath as Step Functions applies them.

Expectations from https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html,
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html and the
Jayway JsonPath semantics AWS's messages show ("Invalid path '$.x' : No results for path: $['x']").
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlet.asl.expressions import MISSING, EvalContext
from cloudlet.asl.jsonpath import (
    PathSyntaxError,
    apply_result_path,
    compile_path,
    compile_reference_path,
    parse_path,
)
from cloudlet.errors import ExecutionError, InvalidDefinition

# The example document of the AWS paths page, plus a store for filters.
DOC: dict[str, Any] = {
    "foo": 123,
    "bar": ["a", "b", "c"],
    "car": {"cdr": True},
    "a.b": "dotted",
    "store": {
        "book": [
            {"category": "reference", "title": "Sayings", "price": 8.95},
            {"category": "fiction", "title": "Sword", "price": 12.99, "isbn": "0-553"},
            {"category": "fiction", "title": "Moby", "price": 8.99, "isbn": "0-395"},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "nothing": None,
}
CTX = EvalContext(
    context={"Execution": {"Id": "arn:exec", "Input": {"k": 1}}, "State": {"Name": "S"}},
    variables={"answer": 42, "order": {"items": [{"id": "x"}, {"id": "y"}]}, "none": None, "ñame": {"x": 1}},
)

FIND = [
    ("$", DOC),
    ("$.foo", 123),
    ("$.bar", ["a", "b", "c"]),
    ("$.car.cdr", True),
    ("$.bar[0]", "a"),
    ("$.bar[-1]", "c"),
    ("$['foo']", 123),
    ('$["car"]["cdr"]', True),
    ("$['a.b']", "dotted"),
    ("$.nothing", None),
    ("$.bar[*]", ["a", "b", "c"]),
    ("$.bar[0:2]", ["a", "b"]),
    ("$.bar[1:]", ["b", "c"]),
    ("$.bar[-2:]", ["b", "c"]),
    ("$.bar[::2]", ["a", "c"]),
    ("$.bar[0,2]", ["a", "c"]),
    ("$.store.book[*].title", ["Sayings", "Sword", "Moby"]),
    ("$.store.book[?(@.price < 10)].title", ["Sayings", "Moby"]),
    ("$.store.book[?(@.isbn)].title", ["Sword", "Moby"]),
    ("$.store.book[?(@.category == 'fiction' && @.price > 10)].title", ["Sword"]),
    ("$.store.book[?(@.category == 'reference' || @.price > 12)].title", ["Sayings", "Sword"]),
    ("$.store.book[?(@.title =~ /S.*/)].title", ["Sayings", "Sword"]),
    ("$.store.book[?(@.category in ['reference'])].title", ["Sayings"]),
    ("$.store.book[?(@.price > $.foo)]", []),
    ("$..price", [8.95, 12.99, 8.99, 19.95]),
    ("$.store..color", ["red"]),
    ("$.store.*.color", ["red"]),
    ("$.bar.length()", 3),
    ("$$.Execution.Id", "arn:exec"),
    ("$$.Execution.Input.k", 1),
    ("$answer", 42),
    ("$order.items[1].id", "y"),
    ("$order.items[*].id", ["x", "y"]),
    ("$none", None),
    ("$ñame.x", 1),
    ("$.missing", MISSING),
    ("$.bar[7]", MISSING),
    ("$.foo.bar", MISSING),
    ("$.store.book[*].missing", []),
    ("$$.Execution.Nope", MISSING),
    ("$undefinedVariable", MISSING),
]


@pytest.mark.parametrize(("path", "expected"), FIND)
def test_find(path: str, expected: Any) -> None:
    assert compile_path(path, where="/States/S/InputPath").find(DOC, CTX) == expected


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        # recorded on AWS: inside a quoted name only \<quote> is an escape
        ('$[\'Test\\""Name"\']', {'Test\\""Name"': 'Value"\\'}, 'Value"\\'),
        ("$['it\\'s']", {"it's": 1}, 1),
        ('$["say \\"hi\\""]', {'say "hi"': 2}, 2),
    ],
)
def test_quoted_names(path: str, data: Any, expected: Any) -> None:
    assert compile_path(path, where="/x").find(data, CTX) == expected


@pytest.mark.parametrize(
    ("path", "definite", "root", "variable"),
    [
        ("$", True, "input", None),
        ("$.a.b[0]", True, "input", None),
        ("$.a[*]", False, "input", None),
        ("$..a", False, "input", None),
        ("$.a[?(@.b)]", False, "input", None),
        ("$.a[1:2]", False, "input", None),
        ("$$.Execution.Id", True, "context", None),
        ("$myVar.x", True, "variable", "myVar"),
    ],
)
def test_path_shape(path: str, definite: bool, root: str, variable: str | None) -> None:
    p = compile_path(path, where="/x")
    assert (p.definite, p.root, p.variable, p.text) == (definite, root, variable, path)


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("$.missing", "Invalid path '$.missing' : No results for path: $['missing']"),
        ("$.car.nope", "Invalid path '$.car.nope' : No results for path: $['car']['nope']"),
        ("$.nope.deeper", "Invalid path '$.nope.deeper' : Missing property in path $['nope']"),
        ("$.bar[9]", "Invalid path '$.bar[9]' : No results for path: $['bar'][9]"),
    ],
)
def test_get_fails_with_aws_cause(path: str, cause: str) -> None:
    with pytest.raises(ExecutionError) as info:
        compile_path(path, where="/States/S/InputPath").get(DOC, CTX)
    assert info.value.error == "States.Runtime"
    assert info.value.cause == cause


def test_indefinite_get_returns_empty_list() -> None:
    assert compile_path("$.bar[?(@ == 'z')]", where="/x").get(DOC, CTX) == []


@pytest.mark.parametrize(
    "path", ["", "foo", "$.", "$..", "$[", "$[0", "$['a'", "$.a[x]", "$.a[?(@.b ==)]", "$.a[1:2:0]", "$.a b"]
)
def test_invalid_paths_are_definition_errors(path: str) -> None:
    with pytest.raises(InvalidDefinition) as info:
        compile_path(path, where="/States/S/InputPath")
    assert info.value.message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field "
        "'InputPath' must be a valid JSONPath at /States/S/InputPath'"
    )
    assert info.value.path == "/States/S/InputPath"


# --- ResultPath ---------------------------------------------------------------------------

TASK_INPUT = {"comment": "This is a test", "details": "Default example", "who": "Step Functions"}
RESULT = "Hello, Step Functions!"


@pytest.mark.parametrize(
    ("result_path", "data", "expected"),
    [
        # the examples of the ResultPath page
        ("$", TASK_INPUT, RESULT),
        (None, TASK_INPUT, TASK_INPUT),
        ("$.taskresult", TASK_INPUT, {**TASK_INPUT, "taskresult": RESULT}),
        ("$.strings.lambdaresult", {"strings": {"a": 1}}, {"strings": {"a": 1, "lambdaresult": RESULT}}),
        # missing objects on the way are created
        ("$.a.b.c", {}, {"a": {"b": {"c": RESULT}}}),
        ("$['a']['b']", {"x": 1}, {"x": 1, "a": {"b": RESULT}}),
        # an existing value is replaced
        ("$.comment", TASK_INPUT, {**TASK_INPUT, "comment": RESULT}),
        # array elements that exist can be replaced
        ("$.list[1]", {"list": [1, 2, 3]}, {"list": [1, RESULT, 3]}),
        ("$.list[0].x", {"list": [{"y": 1}]}, {"list": [{"y": 1, "x": RESULT}]}),
    ],
)
def test_apply_result_path(result_path: str | None, data: Any, expected: Any) -> None:
    before = copy.deepcopy(data)
    ref = None if result_path is None else compile_reference_path(result_path, where="/States/S/ResultPath")
    assert apply_result_path(data, ref, RESULT) == expected
    assert data == before  # the input is never modified


@pytest.mark.parametrize(
    ("result_path", "data", "step"),
    [
        ("$.x", "a string input", "x"),
        ("$.x", [1, 2], "x"),
        ("$.a.b", {"a": 5}, "b"),
        ("$.a.b", {"a": None}, "b"),
        ("$.list[5]", {"list": [1]}, "5"),
        ("$.obj[0]", {"obj": {}}, "0"),
    ],
)
def test_result_path_match_failure(result_path: str, data: Any, step: str) -> None:
    ref = compile_reference_path(result_path, where="/States/S/ResultPath")
    with pytest.raises(ExecutionError) as info:
        apply_result_path(data, ref, 1)
    assert info.value.error == "States.ResultPathMatchFailure"
    assert info.value.cause is not None
    assert info.value.cause.startswith(f'Unable to apply step "{step}" to input ')


@pytest.mark.parametrize("path", ["$.a[*]", "$..a", "$.a[?(@.b)]", "$.a[1:2]", "$$.Execution", "$var.x", "x"])
def test_reference_paths_reject_non_simple_paths(path: str) -> None:
    with pytest.raises(InvalidDefinition) as info:
        compile_reference_path(path, where="/States/S/ResultPath")
    assert "must be a valid ReferencePath at /States/S/ResultPath" in info.value.message


# --- properties ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=20,
)
path_text = st.text(alphabet="$.[]*?@()'\"=<>!&|:,-0123456789abc ~/", max_size=25)


@settings(max_examples=300, deadline=None)
@given(path_text)
def test_parsing_never_crashes(text: str) -> None:
    try:
        parse_path(text)
    except PathSyntaxError:
        pass
    try:
        compile_path(text, where="/x")
    except InvalidDefinition:
        pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([p for p, _ in FIND]) | path_text, json_values)
def test_evaluation_never_crashes(text: str, data: Any) -> None:
    try:
        path = compile_path(text, where="/x")
    except InvalidDefinition:
        return
    path.find(data, CTX)
    try:
        path.get(data, CTX)
    except ExecutionError as exc:
        assert exc.error == "States.Runtime"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="abc", min_size=1, max_size=2), min_size=1, max_size=4),
    json_values,
    json_values,
)
def test_result_path_then_path_reads_back(keys: list[str], data: Any, value: Any) -> None:
    path = "$." + ".".join(keys)
    ref = compile_reference_path(path, where="/x")
    try:
        out = apply_result_path(data, ref, value)
    except ExecutionError as exc:
        assert exc.error == "States.ResultPathMatchFailure"
        return
    assert compile_path(path, where="/x").find(out, CTX) == value


# --- agreement with an independent implementation -----------------------------------------

step = st.one_of(
    st.sampled_from(["a", "b", "c"]).map(lambda k: f".{k}"),
    st.sampled_from(["a", "b"]).map(lambda k: f"['{k}']"),
    st.integers(-3, 3).map(lambda i: f"[{i}]"),
    st.just("[*]"),
    st.just(".*"),
    st.sampled_from(["[1:]", "[:2]", "[0:2]"]),
    st.sampled_from(["a", "c"]).map(lambda k: f"..{k}"),
)
tree = st.recursive(
    st.integers(0, 9),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abc"), children, max_size=3)
    ),
    max_leaves=15,
)


def _canonical(values: list[Any]) -> list[str]:
    import json

    return sorted(json.dumps(v, sort_keys=True) for v in values)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, min_size=1, max_size=4), tree)
def test_selection_agrees_with_jsonpath_ng(steps: list[str], data: Any) -> None:
    """Names, indexes, wildcards, slices and descent select what jsonpath-ng selects."""
    jsonpath_ng = pytest.importorskip("jsonpath_ng")
    text = "$" + "".join(steps)
    path = compile_path(text, where="/x")
    found = path.find(data, CTX)
    ours = ([] if found is MISSING else [found]) if path.definite else found
    theirs = [m.value for m in jsonpath_ng.parse(text).find(data)]
    assert _canonical(ours) == _canonical(theirs)
