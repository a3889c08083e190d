"""Invalid patterns are rejected with AWS's messages; invalid events with ValidationException."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cloudlet.errors import InvalidEventPattern, ValidationError
from cloudlet.patterns import EventPattern, PatternIndex
from cloudlet.patterns import test_event_pattern as aws_test_event_pattern

PREFIX = "Event pattern is not valid. Reason: "

INVALID: list[tuple[Any, str]] = [
    # structure
    ('{"string": "my-value"}', '"string" must be an object or an array'),
    ('{"int": 42}', '"int" must be an object or an array'),
    ('{"a": []}', "Empty arrays are not allowed"),
    ('{"a": [[1]]}', "Match value must be String, number, true, false, or null"),
    ('{"a": [{"bogus": 1}]}', "Unrecognized match type bogus"),
    ('{"a": [{"prefix": "x", "suffix": "y"}]}', "Only one key allowed in match expression"),
    ("[1, 2]", "Filter is not an object"),
    (
        "this is valid json but not a dict",
        "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', "
        "'true' or 'false')",
    ),
    # prefix / suffix / equals-ignore-case
    ('{"time": [{"prefix": 123}]}', "prefix match pattern must be a string"),
    ('{"f": [{"suffix": 123}]}', "suffix match pattern must be a string"),
    ('{"f": [{"suffix": [".png"]}]}', "suffix match pattern must be a string"),
    ('{"f": [{"prefix": {"equals-ignore-case": 5}}]}', "equals-ignore-case match pattern must be a string"),
    (
        '{"f": [{"equals-ignore-case": {"prefix": "ec2"}}]}',
        "equals-ignore-case match pattern must be a string",
    ),
    # anything-but
    (
        '{"s": [{"anything-but": null}]}',
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        '{"s": [{"anything-but": true}]}',
        "Value of anything-but must be an array or single string/number value.",
    ),
    ('{"s": [{"anything-but": [null]}]}', "Inside anything but list, start|null|boolean is not supported."),
    ('{"s": [{"anything-but": {"prefix": 123}}]}', "prefix/suffix match pattern must be a string"),
    ('{"s": [{"anything-but": {"prefix": [123, "t"]}}]}', "prefix/suffix match pattern must be a string"),
    ('{"s": [{"anything-but": {"suffix": ""}}]}', "Null prefix/suffix not allowed"),
    (
        '{"s": [{"anything-but": {"prefix": {"equals-ignore-case": "f"}}}]}',
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        '{"s": [{"anything-but": {"equals-ignore-case": [123, 456]}}]}',
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    ),
    ('{"s": [{"anything-but": {"wildcard": [123, "*/d/*"]}}]}', "wildcard match pattern must be a string"),
    ('{"s": [{"anything-but": {"numeric": [">", 1]}}]}', "Unsupported anything-but pattern: numeric"),
    # numeric
    ('{"c": [{"numeric": 10}]}', "Value of numeric must be an array."),
    ('{"c": [{"numeric": []}]}', "Invalid member in numeric match: ]"),
    ('{"c": [{"numeric": [5]}]}', "Invalid member in numeric match: 5"),
    ('{"c": [{"numeric": ["!=", 5]}]}', "Unrecognized numeric range operator: !="),
    ('{"c": [{"numeric": [">", "5"]}]}', "Value of > must be numeric"),
    ('{"c": [{"numeric": ["=", "5"]}]}', "Value of equals must be numeric"),
    ('{"c": [{"numeric": ["<", 5, ">", 1]}]}', "Too many elements in numeric expression"),
    ('{"c": [{"numeric": [">", 5, ">", 1]}]}', "Bad numeric range operator: >"),
    ('{"c": [{"numeric": [">", 5, 6, 1]}]}', "Bad value in numeric range: 6"),
    ('{"c": [{"numeric": [">", 5, "<", 1]}]}', "Bottom must be less than top"),
    ('{"c": [{"numeric": [">", 5, "<", 10, "<", 11]}]}', "Too many terms in numeric range expression"),
    # exists
    ('{"c": [{"exists": "yes"}]}', "exists match pattern must be either true or false."),
    # cidr
    ('{"ip": [{"cidr": ["bad-type"]}]}', "prefix match pattern must be a string"),
    ('{"ip": [{"cidr": "10.0.0.0"}]}', "Malformed CIDR, one '/' required"),
    ('{"ip": [{"cidr": "10.0.0.0/x"}]}', "Malformed CIDR, mask bits must be an integer"),
    ('{"ip": [{"cidr": "10.0.0.0/33"}]}', "Malformed CIDR, mask bits must be an integer"),
    ('{"ip": [{"cidr": "10.0.0.300/24"}]}', "Nonstandard IP address: 10.0.0.300"),
    # wildcard
    ('{"a": [{"wildcard": ["x*"]}]}', "wildcard match pattern must be a string"),
    (
        '{"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}',
        "Consecutive wildcard characters at pos 26",
    ),
    ('{"a": [{"wildcard": "a\\\\xb"}]}', "Invalid escape character at pos 1"),
    (
        '{"a": [{"wildcard": "*a*b*c*d*e*"}]}',
        "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
        "sequences after a wildcard character",
    ),
    ('{"a": [{}]}', "Match expression name not found"),
    ('{"s": [{"anything-but": {}}]}', "Anything-But expression name not found"),
    (
        '{"s": [{"anything-but": [1, "a"]}]}',
        "Inside anything but list, either all values are number or string, mixed type is not supported",
    ),
    (
        '{"s": [{"anything-but": []}]}',
        "Inside anything but list, either all values are number or string, mixed type is not supported",
    ),
    (
        '{"s": [{"anything-but": {"equals-ignore-case": 5}}]}',
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    ),
    ('{"s": [{"anything-but": "x", "prefix": "y"}]}', "Too many elements in numeric expression"),
    ('{"c": [{"numeric": [">", 0], "prefix": "y"}]}', "Too many elements in numeric expression"),
    ('{"f": [{"prefix": {}}]}', "Prefix expression name not found"),
    ('{"f": [{"suffix": {"wildcard": "x"}}]}', "Unsupported suffix pattern: wildcard"),
    ('{"c": [{"numeric": [">", 5, "<", 1, 7]}]}', "Too many terms in numeric range expression"),
    # objects
    ("{}", "Empty objects are not allowed"),
    ('{"detail": {}}', "Empty objects are not allowed"),
]


@pytest.mark.parametrize(("pattern", "reason"), INVALID, ids=[r for _, r in INVALID])
def test_invalid_pattern_message(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidEventPattern) as info:
        EventPattern(pattern)
    assert info.value.code == "InvalidEventPatternException"
    assert info.value.message == PREFIX + reason
    with pytest.raises(InvalidEventPattern):
        PatternIndex().add("rule", pattern)


def test_first_mistake_in_document_order_is_reported() -> None:
    with pytest.raises(InvalidEventPattern) as info:
        EventPattern('{"a": [{"prefix": 1}], "b": [{"suffix": 2}]}')
    assert info.value.message == PREFIX + "prefix match pattern must be a string"


def test_dict_patterns_validate_like_text() -> None:
    with pytest.raises(InvalidEventPattern) as info:
        EventPattern({"detail": {"c": [{"numeric": 10}]}})
    assert info.value.message == PREFIX + "Value of numeric must be an array."


ENVELOPE = {
    "id": "1",
    "source": "s",
    "detail-type": "t",
    "account": "123456789012",
    "region": "us-east-1",
    "time": "2022-07-13T13:48:01Z",
}


@pytest.mark.parametrize(
    "event",
    [
        '["plain string"]',
        '{"testEvent": "value"}',
        "not json",
        json.dumps({**ENVELOPE, "id": None} | {})[:-1],
    ],
)
def test_invalid_event(event: str) -> None:
    with pytest.raises(ValidationError) as info:
        aws_test_event_pattern(event, '{"source": ["s"]}')
    assert info.value.code == "ValidationException"
    assert info.value.message == "Parameter Event is not valid."


@pytest.mark.parametrize("missing", ["id", "account", "source", "time", "region", "detail-type"])
def test_event_missing_envelope_field(missing: str) -> None:
    event = {k: v for k, v in ENVELOPE.items() if k != missing}
    with pytest.raises(ValidationError):
        aws_test_event_pattern(json.dumps(event), '{"source": ["s"]}')


def test_test_event_pattern_matches() -> None:
    assert aws_test_event_pattern(json.dumps(ENVELOPE), '{"source": ["s"]}') is True
    assert aws_test_event_pattern(ENVELOPE, {"source": ["x"]}) is False


def test_test_event_pattern_length_limit() -> None:
    pattern = json.dumps({"source": ["x" * 5000]})
    with pytest.raises(ValidationError):
        aws_test_event_pattern(json.dumps(ENVELOPE), pattern)
