"""SNS filter policies reuse the pattern engine with SNS's scopes, operators and limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cloudlet.errors import InvalidFilterPolicy
from cloudlet.patterns import FilterPolicy, PatternIndex
from cloudlet.patterns.filter_policy import SNS_ATTRIBUTES, attributes_event


def attrs(**values: Any) -> dict[str, dict[str, str]]:
    out = {}
    for name, value in values.items():
        if isinstance(value, list):
            out[name] = {"DataType": "String.Array", "StringValue": json.dumps(value)}
        elif isinstance(value, int | float):
            out[name] = {"DataType": "Number", "StringValue": str(value)}
        else:
            out[name] = {"DataType": "String", "StringValue": value}
    return out


@pytest.mark.parametrize(
    ("policy", "attributes", "expected"),
    [
        ({"store": ["example_corp"]}, attrs(store="example_corp"), True),
        ({"store": ["example_corp"]}, attrs(store="other"), False),
        ({"store": ["example_corp"]}, {}, False),
        ({"price_usd": [{"numeric": [">=", 100]}]}, attrs(price_usd=150), True),
        ({"price_usd": [{"numeric": [">=", 100]}]}, attrs(price_usd=99.5), False),
        ({"price_usd": [{"numeric": [">=", 100]}]}, attrs(price_usd="150"), False),  # a String attribute
        ({"customer_interests": ["rugby"]}, attrs(customer_interests=["soccer", "rugby"]), True),
        ({"customer_interests": ["rugby"]}, attrs(customer_interests=["soccer"]), False),
        ({"event": [{"prefix": "order-"}]}, attrs(event="order-placed"), True),
        ({"event": [{"suffix": "-placed"}]}, attrs(event="order-placed"), True),
        ({"event": [{"equals-ignore-case": "ORDER"}]}, attrs(event="order"), True),
        ({"event": [{"anything-but": ["order"]}]}, attrs(event="refund"), True),
        ({"event": [{"anything-but": {"prefix": "ord"}}]}, attrs(event="order"), False),
        ({"store": [{"exists": True}]}, attrs(store="x"), True),
        ({"store": [{"exists": False}]}, attrs(other="x"), True),
        ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, attrs(source_ip="10.0.0.7"), True),
        (
            {
                "source": ["aws.cloudwatch"],
                "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
            },
            attrs(source="aws.cloudwatch", namespace="AWS/EC2"),
            True,
        ),
        ({"blob": [{"exists": True}]}, {"blob": {"DataType": "Binary", "BinaryValue": b"x"}}, False),
    ],
)
def test_attribute_scope(policy: dict[str, Any], attributes: dict[str, Any], expected: bool) -> None:
    assert FilterPolicy(json.dumps(policy)).matches_attributes(attributes) is expected


def test_body_scope_nests() -> None:
    policy = FilterPolicy('{"order": {"status": ["shipped"]}}', scope="MessageBody")
    assert policy.matches_body('{"order": {"status": "shipped", "id": 1}}')
    assert not policy.matches_body('{"order": {"status": "pending"}}')
    assert not policy.matches_body("not json")
    assert policy.matches("", None) is False
    assert policy.matches({"order": {"status": "shipped"}})


@pytest.mark.parametrize(
    ("policy", "scope", "reason"),
    [
        (
            '{"a": {"b": ["x"]}}',
            "MessageAttributes",
            "Filter policy scope MessageAttributes does not support nested filter policy",
        ),
        ('{"a": ["1"], "b": ["1"], "c": ["1"], "d": ["1"], "e": ["1"], "f": ["1"]}', "MessageBody", None),
        ('{"a": [{"wildcard": "x*"}]}', "MessageAttributes", "Unrecognized match type wildcard"),
        ('{"a": "x"}', "MessageAttributes", '"a" must be an object or an array'),
        (json.dumps({"a": list(range(100)), "b": list(range(2))}), "MessageAttributes", None),
    ],
)
def test_invalid_policies(policy: str, scope: Any, reason: str | None) -> None:
    with pytest.raises(InvalidFilterPolicy) as info:
        FilterPolicy(policy, scope=scope)
    assert info.value.code == "InvalidParameter"
    assert info.value.message.startswith("Invalid parameter: FilterPolicy: ")
    if reason:
        assert info.value.message == f"Invalid parameter: FilterPolicy: {reason}"


def test_many_subscriptions_share_an_index() -> None:
    index = PatternIndex(dialect=SNS_ATTRIBUTES)
    index.add("sub-1", '{"store": ["a"]}')
    index.add("sub-2", '{"price": [{"numeric": ["<", 10]}]}')
    event = attributes_event(attrs(store="a", price=5))
    assert index.match(event) == {"sub-1", "sub-2"}
