"""Every operation's response validates against botocore's output shape for EventBridge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from .conftest import ACCOUNT, REGION, START, Env

MODEL = botocore.session.get_session().get_service_model("events")
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"


async def _call(env: Env, operation: str, **params: Any) -> dict[str, Any]:
    op = MODEL.operation_model(operation)
    report = ParamValidator().validate(params, op.input_shape)
    assert not report.has_errors(), report.generate_report()
    result = await env.router.call("events", operation, params)
    if op.output_shape is not None:
        report = ParamValidator().validate(result, op.output_shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"
    return result


def test_responses_match_the_botocore_model(run: Any) -> None:
    async def scenario(env: Env) -> None:
        env.target(f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")
        await _call(env, "CreateEventBus", Name="b", Description="d", Tags=[{"Key": "k", "Value": "v"}])
        await _call(env, "DescribeEventBus", Name="b")
        await _call(env, "ListEventBuses", Limit=1)
        await _call(env, "PutRule", Name="r", EventPattern='{"source": ["a"]}', Description="x")
        await _call(env, "PutRule", Name="s", ScheduleExpression="rate(1 hour)")
        await _call(env, "DescribeRule", Name="r")
        await _call(env, "ListRules", Limit=1)
        await _call(env, "DisableRule", Name="r")
        await _call(env, "EnableRule", Name="r")
        await _call(
            env,
            "PutTargets",
            Rule="r",
            Targets=[
                {
                    "Id": "t",
                    "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q",
                    "InputTransformer": {"InputPathsMap": {"s": "$.source"}, "InputTemplate": '{"s": <s>}'},
                    "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
                    "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"},
                }
            ],
        )
        await _call(env, "ListTargetsByRule", Rule="r")
        await _call(env, "ListRuleNamesByTarget", TargetArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")
        rule_arn = (await _call(env, "DescribeRule", Name="r"))["Arn"]
        await _call(env, "TagResource", ResourceARN=rule_arn, Tags=[{"Key": "a", "Value": "b"}])
        await _call(env, "ListTagsForResource", ResourceARN=rule_arn)
        await _call(env, "UntagResource", ResourceARN=rule_arn, TagKeys=["a"])
        await _call(env, "CreateArchive", ArchiveName="arc", EventSourceArn=BUS, RetentionDays=1)
        await _call(
            env,
            "PutEvents",
            Entries=[
                {"Source": "a", "DetailType": "t", "Detail": "{}", "Time": datetime(2024, 1, 1, tzinfo=UTC)},
                {"Source": "a", "DetailType": "t"},
            ],
        )
        await _call(env, "DescribeArchive", ArchiveName="arc")
        await _call(env, "ListArchives")
        await _call(env, "UpdateArchive", ArchiveName="arc", Description="new")
        await env.advance(60)
        await _call(
            env,
            "StartReplay",
            ReplayName="rep",
            EventSourceArn=f"arn:aws:events:{REGION}:{ACCOUNT}:archive/arc",
            EventStartTime=datetime.fromtimestamp(START - 3600, UTC),
            EventEndTime=datetime.fromtimestamp(START + 30, UTC),
            Destination={"Arn": BUS, "FilterArns": [rule_arn]},
        )
        await env.events.archives.replay_finished("rep")
        await _call(env, "DescribeReplay", ReplayName="rep")
        await _call(env, "ListReplays")
        await _call(
            env,
            "TestEventPattern",
            EventPattern='{"source": ["a"]}',
            Event='{"id": "1", "account": "1", "source": "a", "time": "2024-01-01T00:00:00Z", '
            '"region": "r", "detail-type": "t", "detail": {}}',
        )
        await _call(env, "RemoveTargets", Rule="r", Ids=["t"])
        await _call(env, "DeleteRule", Name="r")
        await _call(env, "DeleteArchive", ArchiveName="arc")
        await _call(env, "DeleteEventBus", Name="b")

    run(scenario)
