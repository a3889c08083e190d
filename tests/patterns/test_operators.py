"""Every operator's documented examples, matching and not matching, through both matchers.

Examples from https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
and the event-ruler README; each row is (pattern, event detail or event, expected).
"""

from __future__ import annotations

from typing import Any

import pytest

from cloudlet.patterns import EventPattern, PatternIndex

ENVELOPE = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
}


def ev(**detail: Any) -> dict[str, Any]:
    return {**ENVELOPE, "detail": detail}


CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # exact values
    ("exact string", {"source": ["aws.ec2"]}, ev(), True),
    ("exact string other", {"source": ["aws.s3"]}, ev(), False),
    ("exact any of list", {"detail": {"state": ["initializing", "running"]}}, ev(state="running"), True),
    ("exact case-sensitive", {"detail": {"state": ["Running"]}}, ev(state="running"), False),
    ("exact number", {"detail": {"n": [5]}}, ev(n=5), True),
    ("exact number by value", {"detail": {"n": [300]}}, ev(n=3.0e2), True),
    ("exact float", {"detail": {"n": [301.8]}}, ev(n=301.8), True),
    ("number is not string", {"detail": {"n": ["5"]}}, ev(n=5), False),
    ("string is not number", {"detail": {"n": [5]}}, ev(n="5"), False),
    ("exact true", {"detail": {"b": [True]}}, ev(b=True), True),
    ("true is not 1", {"detail": {"b": [True]}}, ev(b=1), False),
    ("1 is not true", {"detail": {"b": [1]}}, ev(b=True), False),
    ("exact false", {"detail": {"b": [False]}}, ev(b=False), True),
    ("exact null", {"detail": {"v": [None]}}, ev(v=None), True),
    ("null is not missing", {"detail": {"v": [None]}}, ev(), False),
    ("null is not empty string", {"detail": {"v": [None]}}, ev(v=""), False),
    ("empty string", {"detail": {"v": [""]}}, ev(v=""), True),
    ("empty string is not null", {"detail": {"v": [""]}}, ev(v=None), False),
    ("missing field", {"detail": {"state": ["running"]}}, ev(), False),
    ("object is not a leaf", {"detail": {"state": ["running"]}}, ev(state={"x": "running"}), False),
    # arrays
    (
        "array intersection",
        {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000", "x"]},
        ev(),
        True,
    ),
    ("array no intersection", {"resources": ["x", "y"]}, ev(), False),
    ("empty event array", {"detail": {"a": ["x"]}}, ev(a=[]), False),
    ("nested arrays flatten", {"detail": {"a": [3]}}, ev(a=[[1, 2], [3]]), True),
    ("objects in arrays", {"detail": {"e": {"n": ["Anna"]}}}, ev(e=[{"n": "John"}, {"n": "Anna"}]), True),
    (
        "array consistency",
        {"detail": {"e": {"first": ["Anna"], "last": ["Jones"]}}},
        ev(e=[{"first": "Anna", "last": "Smith"}, {"first": "Peter", "last": "Jones"}]),
        False,
    ),
    (
        "array consistency same element",
        {"detail": {"e": {"first": ["Anna"], "last": ["Smith"]}}},
        ev(e=[{"first": "John", "last": "Doe"}, {"first": "Anna", "last": "Smith"}]),
        True,
    ),
    # nesting and dotted keys
    ("deep nesting", {"detail": {"a": {"b": {"c": ["x"]}}}}, ev(a={"b": {"c": "x"}}), True),
    ("dotted key equals nesting", {"detail": {"a.b": ["x"]}}, ev(a={"b": "x"}), True),
    (
        "detail as JSON text is a string",
        {"detail": {"k": ["v"]}},
        {**ENVELOPE, "detail": '{"k": "v"}'},
        False,
    ),
    # prefix / suffix
    ("prefix", {"time": [{"prefix": "2017-10-02"}]}, ev(), True),
    ("prefix no", {"time": [{"prefix": "2017-10-03"}]}, ev(), False),
    ("prefix empty matches strings", {"source": [{"prefix": ""}]}, ev(), True),
    ("prefix not on numbers", {"detail": {"n": [{"prefix": "1"}]}}, ev(n=12), False),
    (
        "prefix ignore case",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        ev(service="eventbridge"),
        True,
    ),
    (
        "prefix ignore case no",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        ev(service="sns"),
        False,
    ),
    ("suffix", {"detail": {"FileName": [{"suffix": ".png"}]}}, ev(FileName="image.png"), True),
    ("suffix no", {"detail": {"FileName": [{"suffix": ".png"}]}}, ev(FileName="image.PNG"), False),
    (
        "suffix ignore case",
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        ev(FileName="image.PNG"),
        True,
    ),
    # equals-ignore-case
    (
        "equals-ignore-case",
        {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
        ev(),
        True,
    ),
    ("equals-ignore-case no", {"detail-type": [{"equals-ignore-case": "ec2"}]}, ev(), False),
    # anything-but
    (
        "anything-but string",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        ev(state="running"),
        True,
    ),
    (
        "anything-but string no",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        ev(state="initializing"),
        False,
    ),
    (
        "anything-but null matches",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        ev(state=None),
        True,
    ),
    ("anything-but missing", {"detail": {"state": [{"anything-but": "initializing"}]}}, ev(), False),
    ("anything-but number", {"detail": {"x": [{"anything-but": 123}]}}, ev(x=124), True),
    ("anything-but number no", {"detail": {"x": [{"anything-but": 123}]}}, ev(x=123.0), False),
    ("anything-but number vs string", {"detail": {"x": [{"anything-but": 123}]}}, ev(x="123"), True),
    (
        "anything-but list",
        {"detail": {"s": [{"anything-but": ["stopped", "overloaded"]}]}},
        ev(s="running"),
        True,
    ),
    (
        "anything-but list no",
        {"detail": {"s": [{"anything-but": ["stopped", "overloaded"]}]}},
        ev(s="stopped"),
        False,
    ),
    ("anything-but numbers", {"detail": {"x": [{"anything-but": [100, 200, 300]}]}}, ev(x=300), False),
    ("anything-but prefix", {"detail": {"s": [{"anything-but": {"prefix": "init"}}]}}, ev(s="running"), True),
    (
        "anything-but prefix no",
        {"detail": {"s": [{"anything-but": {"prefix": "init"}}]}},
        ev(s="initial"),
        False,
    ),
    ("anything-but prefix number", {"detail": {"s": [{"anything-but": {"prefix": "init"}}]}}, ev(s=12), True),
    (
        "anything-but prefix list",
        {"detail": {"s": [{"anything-but": {"prefix": ["a", "b"]}}]}},
        ev(s="bc"),
        False,
    ),
    ("anything-but suffix", {"detail": {"f": [{"anything-but": {"suffix": ".png"}}]}}, ev(f="a.jpg"), True),
    (
        "anything-but suffix no",
        {"detail": {"f": [{"anything-but": {"suffix": ".png"}}]}},
        ev(f="a.png"),
        False,
    ),
    (
        "anything-but ignore case",
        {"detail": {"s": [{"anything-but": {"equals-ignore-case": "initializing"}}]}},
        ev(s="INITIALIZING"),
        False,
    ),
    (
        "anything-but ignore case list",
        {"detail": {"s": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]}},
        ev(s="C"),
        True,
    ),
    (
        "anything-but wildcard",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        ev(FilePath="/usr/bin/x"),
        True,
    ),
    (
        "anything-but wildcard no",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        ev(FilePath="/usr/lib/x"),
        False,
    ),
    ("anything-but array any element", {"detail": {"s": [{"anything-but": "a"}]}}, ev(s=["a", "b"]), True),
    ("anything-but array all excluded", {"detail": {"s": [{"anything-but": "a"}]}}, ev(s=["a", "a"]), False),
    # numeric
    ("numeric range", {"detail": {"c": [{"numeric": [">", 0, "<=", 5]}]}}, ev(c=5), True),
    ("numeric range open bottom", {"detail": {"c": [{"numeric": [">", 0, "<=", 5]}]}}, ev(c=0), False),
    ("numeric range above", {"detail": {"c": [{"numeric": [">", 0, "<=", 5]}]}}, ev(c=5.000001), False),
    ("numeric lt", {"detail": {"d": [{"numeric": ["<", 10]}]}}, ev(d=9.999999), True),
    ("numeric lt edge", {"detail": {"d": [{"numeric": ["<", 10]}]}}, ev(d=10), False),
    ("numeric ge", {"detail": {"d": [{"numeric": [">=", 10]}]}}, ev(d=10), True),
    ("numeric eq", {"detail": {"x": [{"numeric": ["=", 3.018e2]}]}}, ev(x=301.8), True),
    ("numeric eq no", {"detail": {"x": [{"numeric": ["=", 3.018e2]}]}}, ev(x=301.9), False),
    ("numeric negative", {"detail": {"x": [{"numeric": [">=", -10, "<", -1]}]}}, ev(x=-5.5), True),
    ("numeric not on strings", {"detail": {"x": [{"numeric": [">", 100]}]}}, ev(x="300"), False),
    ("numeric not on booleans", {"detail": {"x": [{"numeric": [">", 0]}]}}, ev(x=True), False),
    ("numeric limit inclusive", {"detail": {"x": [{"numeric": [">=", 5e9]}]}}, ev(x=5_000_000_000), True),
    ("numeric beyond limit", {"detail": {"x": [{"numeric": [">", 0]}]}}, ev(x=5_000_000_001), False),
    ("numeric six decimals", {"detail": {"x": [{"numeric": ["=", 0.1234567]}]}}, ev(x=0.1234568), True),
    (
        "exact big integer",
        {"account": [123456789012345678]},
        {**ENVELOPE, "account": 123456789012345678},
        True,
    ),
    (
        "exact big integer other",
        {"account": [123456789012345678]},
        {**ENVELOPE, "account": 123456789012345679},
        False,
    ),
    ("numeric in array", {"detail": {"x": [{"numeric": [">", 10]}]}}, ev(x=[1, 2, 30]), True),
    # exists
    ("exists true", {"detail": {"c": [{"exists": True}]}}, ev(c=5), True),
    ("exists true null", {"detail": {"c": [{"exists": True}]}}, ev(c=None), True),
    ("exists true missing", {"detail": {"c": [{"exists": True}]}}, ev(), False),
    ("exists true not on objects", {"detail": {"c": [{"exists": True}]}}, ev(c={"c1": 100}), False),
    ("exists true empty array", {"detail": {"c": [{"exists": True}]}}, ev(c=[]), False),
    ("exists false", {"detail": {"c": [{"exists": False}]}}, ev(), True),
    ("exists false present", {"detail": {"c": [{"exists": False}]}}, ev(c=1), False),
    ("exists false null present", {"detail": {"c": [{"exists": False}]}}, ev(c=None), False),
    ("exists false intermediate node", {"detail": {"c": [{"exists": False}]}}, ev(c={"c1": 100}), True),
    ("exists false empty array", {"detail": {"c": [{"exists": False}]}}, ev(c=[]), True),
    (
        "exists false or value",
        {"detail": {"s": [{"anything-but": ["roses"]}, {"exists": False}]}},
        ev(other=1),
        True,
    ),
    # cidr
    ("cidr v4", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, ev(ip="10.0.0.255"), True),
    ("cidr v4 no", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, ev(ip="10.0.1.0"), False),
    ("cidr v4 /8", {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, ev(ip="10.200.1.3"), True),
    ("cidr not an ip", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, ev(ip="hello"), False),
    ("cidr number", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, ev(ip=123), False),
    (
        "cidr v6",
        {"detail": {"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}},
        ev(ip="2001:0db8:1234:1a00:0000:0000:0000:0001"),
        True,
    ),
    (
        "cidr v6 no",
        {"detail": {"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}},
        ev(ip="2001:db8:1234:1a01::"),
        False,
    ),
    ("cidr v4 vs v6", {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, ev(ip="::1"), False),
    (
        "exact ip value is the address",
        {"detail": {"ip": ["2001:db8::1"]}},
        ev(ip="2001:0db8:0:0:0:0:0:1"),
        True,
    ),
    ("exact ip value other", {"detail": {"ip": ["10.0.0.1"]}}, ev(ip="10.0.0.2"), False),
    # wildcard
    ("wildcard", {"source": [{"wildcard": "aws.*"}]}, ev(), True),
    ("wildcard middle", {"detail": {"f": [{"wildcard": "dir/*.png"}]}}, ev(f="dir/a/b.png"), True),
    ("wildcard no", {"detail": {"f": [{"wildcard": "dir/*.png"}]}}, ev(f="dir/a/b.jpg"), False),
    ("wildcard empty run", {"detail": {"f": [{"wildcard": "a*b"}]}}, ev(f="ab"), True),
    ("wildcard whole value", {"detail": {"f": [{"wildcard": "a*b"}]}}, ev(f="abc"), False),
    ("wildcard escaped star", {"detail": {"f": [{"wildcard": "a\\*b"}]}}, ev(f="a*b"), True),
    ("wildcard escaped star literal", {"detail": {"f": [{"wildcard": "a\\*b"}]}}, ev(f="axb"), False),
    ("wildcard escaped backslash", {"detail": {"f": [{"wildcard": "a\\\\*"}]}}, ev(f="a\\bc"), True),
    ("wildcard only star", {"detail": {"f": [{"wildcard": "*"}]}}, ev(f=""), True),
    ("wildcard star tail", {"detail": {"f": [{"wildcard": "*.png"}]}}, ev(f="x.png"), True),
    ("wildcard not on numbers", {"detail": {"f": [{"wildcard": "*"}]}}, ev(f=1), False),
    ("exact star is literal", {"detail": {"f": ["*"]}}, ev(f="abc"), False),
    # $or
    (
        "$or first",
        {"source": ["aws.ec2"], "$or": [{"detail": {"c": [1]}}, {"detail": {"d": [2]}}]},
        ev(c=1),
        True,
    ),
    (
        "$or second",
        {"source": ["aws.ec2"], "$or": [{"detail": {"c": [1]}}, {"detail": {"d": [2]}}]},
        ev(d=2),
        True,
    ),
    (
        "$or none",
        {"source": ["aws.ec2"], "$or": [{"detail": {"c": [1]}}, {"detail": {"d": [2]}}]},
        ev(c=2, d=1),
        False,
    ),
    (
        "$or nested in field",
        {"detail": {"$or": [{"c": [{"numeric": [">", 0, "<=", 5]}]}, {"x": [{"numeric": ["=", 301.8]}]}]}},
        ev(c=0, x=301.8),
        True,
    ),
    (
        "$or nested twice",
        {
            "$or": [
                {"detail": {"a": [1]}},
                {"detail": {"b": [2]}, "$or": [{"detail": {"c": [3]}}, {"detail": {"d": [4]}}]},
            ]
        },
        ev(b=2, d=4),
        True,
    ),
    (
        "$or nested twice no",
        {
            "$or": [
                {"detail": {"a": [1]}},
                {"detail": {"b": [2]}, "$or": [{"detail": {"c": [3]}}, {"detail": {"d": [4]}}]},
            ]
        },
        ev(b=2, d=5),
        False,
    ),
    ("$or as field name", {"detail": {"$or": ["x"]}}, {**ENVELOPE, "detail": {"$or": "x"}}, True),
    # combinations
    (
        "complex example",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
                "source-ip": [{"cidr": "10.0.0.0/8"}],
            },
        },
        ev(**{"c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33", "state": "running"}),
        True,
    ),
    (
        "mixed value kinds",
        {"detail": {"a": ["skyli", {"prefix": "hey"}, {"prefix": "ad"}]}},
        ev(a="admin"),
        True,
    ),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_operator_examples(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert EventPattern(pattern).matches(event) is expected
    index = PatternIndex()
    index.add("rule", pattern)
    index.add("other", {"source": ["nothing-matches-this"]})
    assert index.match(event) == ({"rule"} if expected else set())


def test_event_as_json_text() -> None:
    pattern = EventPattern('{"detail": {"state": ["running"]}}')
    assert pattern.matches('{"detail": {"state": "running"}}')
    assert not pattern.matches('{"detail": {"state": "stopped"}}')
    assert not pattern.matches("[1, 2]")


def test_duplicate_key_last_wins() -> None:
    text = '{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}'
    pattern = EventPattern(text)
    assert pattern.matches(ev(location="eu-central-1"))
    assert not pattern.matches(ev(location="us-east"))
