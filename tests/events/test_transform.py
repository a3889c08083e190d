"""Input, InputPath and InputTransformer: the AWS documentation's examples as a table.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from cloudlet.errors import ValidationError
from cloudlet.events.transform import (
    RuleContext,
    render_template,
    target_payload,
    validate_input_transformer,
)

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "count": 5, "tags": ["a", "b"]},
}
CTX = RuleContext(
    rule_arn="arn:aws:events:us-east-2:123456789012:rule/example",
    rule_name="example",
    ingestion_time="2015-11-11T21:29:55Z",
)
PATHS = {
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "time": "$.time",
    "region": "$.region",
    "count": "$.detail.count",
    "detail": "$.detail",
    "firstTag": "$.detail.tags[0]",
    "resource": "$.resources[0]",
    "missing": "$.detail.nothing",
}

# (case, template, expected text)
TEMPLATE_CASES = [
    ("plain text (API reference)", "<instance> is in state <state>", "i-0123456789 is in state RUNNING"),
    ("simple string", '"<instance> is in state <state>"', '"i-0123456789 is in state RUNNING"'),
    (
        "string with escaped quotes",
        '"<instance> is in state \\"<state>\\""',
        '"i-0123456789 is in state \\"RUNNING\\""',
    ),
    (
        "simple JSON",
        '{"instance" : <instance>, "state": <state>}',
        '{"instance" : "i-0123456789", "state": "RUNNING"}',
    ),
    (
        "JSON with strings and variables",
        '{"instance" : <instance>, "state": "<state>", '
        '"instanceStatus": "instance \\"<instance>\\" is in <state>"}',
        '{"instance" : "i-0123456789", "state": "RUNNING", '
        '"instanceStatus": "instance \\"i-0123456789\\" is in RUNNING"}',
    ),
    (
        "JSON with a mix of variables and static information",
        '{"instance" : [<instance>, "static"], "state": <state>, "region": "<region>"}',
        '{"instance" : ["i-0123456789", "static"], "state": "RUNNING", "region": "us-east-1"}',
    ),
    (
        "reserved variables in JSON",
        '{"ruleArn" : <aws.events.rule-arn>, "ruleName" : <aws.events.rule-name>, '
        '"ingested": <aws.events.event.ingestion-time>}',
        '{"ruleArn" : "arn:aws:events:us-east-2:123456789012:rule/example", "ruleName" : "example", '
        '"ingested": "2015-11-11T21:29:55Z"}',
    ),
    ("reserved variables in a string", '"<aws.events.rule-name> triggered"', '"example triggered"'),
    ("number outside quotes stays a number", '{"n": <count>}', '{"n": 5}'),
    ("number inside quotes is text", '{"n": "count=<count>"}', '{"n": "count=5"}'),
    (
        "object variable outside quotes is JSON",
        '{"detail": <detail>}',
        '{"detail": ' + orjson.dumps(EVENT["detail"]).decode() + "}",
    ),
    (
        "object variable inside a string loses its quotes",
        '{"msg": "Detail is <detail>"}',
        '{"msg": "Detail is {instance-id:i-0123456789,state:RUNNING,count:5,tags:[a,b]}"}',
    ),
    (
        "array index",
        '{"tag": <firstTag>, "res": "<resource>"}',
        '{"tag": "a", "res": "' + EVENT["resources"][0] + '"}',
    ),
    ("missing path outside quotes is null", '{"m": <missing>}', '{"m": null}'),
    ("missing path inside quotes is empty", '{"m": "x<missing>y"}', '{"m": "xy"}'),
    ("unknown placeholder is left alone", '"a <unknown> b"', '"a <unknown> b"'),
]


@pytest.mark.parametrize(("case", "template", "expected"), TEMPLATE_CASES, ids=[c[0] for c in TEMPLATE_CASES])
def test_input_template(case: str, template: str, expected: str) -> None:
    assert render_template(template, PATHS, EVENT, CTX) == expected


def test_event_json_and_event_without_detail() -> None:
    text = render_template(
        '{"original": <aws.events.event.json>, "envelope": <aws.events.event>}', {}, EVENT, CTX
    )
    value = orjson.loads(text)
    assert value["original"] == EVENT
    assert value["envelope"] == {k: v for k, v in EVENT.items() if k != "detail"}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"Id": "t", "Arn": "arn:aws:sqs:us-east-1:1:q"}, EVENT),
        ({"Id": "t", "Arn": "a", "Input": '{"constant": true}'}, {"constant": True}),
        ({"Id": "t", "Arn": "a", "Input": '"just text"'}, "just text"),
        ({"Id": "t", "Arn": "a", "InputPath": "$.detail"}, EVENT["detail"]),
        ({"Id": "t", "Arn": "a", "InputPath": "$.detail.state"}, "RUNNING"),
        ({"Id": "t", "Arn": "a", "InputPath": "$.resources[0]"}, EVENT["resources"][0]),
        (
            {
                "Id": "t",
                "Arn": "a",
                "InputTransformer": {
                    "InputPathsMap": {"s": "$.detail.state"},
                    "InputTemplate": '{"state": <s>}',
                },
            },
            {"state": "RUNNING"},
        ),
        (
            {
                "Id": "t",
                "Arn": "a",
                "InputTransformer": {
                    "InputPathsMap": {"s": "$.detail.state"},
                    "InputTemplate": "state is <s>",
                },
            },
            "state is RUNNING",
        ),
    ],
)
def test_target_payload(target: dict[str, Any], expected: Any) -> None:
    assert target_payload(target, EVENT, CTX) == expected


@pytest.mark.parametrize(
    "transformer",
    [
        {"InputPathsMap": {"a": "$.detail"}},
        {"InputTemplate": ""},
        {"InputPathsMap": {"aws.events.rule-arn": "$.detail"}, "InputTemplate": "<aws.events.rule-arn>"},
        {"InputPathsMap": {"a": "detail.x"}, "InputTemplate": "<a>"},
        {"InputPathsMap": {"bad name!": "$.detail"}, "InputTemplate": "x"},
        {"InputPathsMap": {f"v{i}": "$.detail" for i in range(101)}, "InputTemplate": "x"},
    ],
)
def test_invalid_input_transformers_are_rejected(transformer: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        validate_input_transformer(transformer)


def test_valid_input_transformer_passes() -> None:
    validate_input_transformer(
        {"InputPathsMap": {"a": "$.detail['x'].y[0]", "b": "$.*"}, "InputTemplate": "<a>"}
    )
